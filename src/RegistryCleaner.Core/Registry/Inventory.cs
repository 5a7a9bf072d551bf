namespace RegistryCleaner.Registry;

/// <summary>A content-addressed blob a manifest references: a layer or an image configuration.</summary>
/// <param name="Digest">The blob digest, <c>sha256:…</c>.</param>
/// <param name="Size">The blob size in bytes, as the manifest declares it.</param>
/// <param name="MediaType">The descriptor's media type.</param>
public sealed record BlobDescriptor(string Digest, long Size, string MediaType)
{
    /// <summary>Gets the URLs a foreign layer is downloaded from (the descriptor's <c>urls</c>); <see langword="null"/> when it has none.</summary>
    public IReadOnlyList<string>? Urls { get; init; }

    /// <summary>
    /// Gets whether the blob is a foreign layer: a nondistributable media type (<see cref="MediaTypes.IsNondistributable"/>)
    /// or a descriptor with <see cref="Urls"/>. Such a layer may live outside the registry (Windows base layers), so
    /// garbage collection is never counted on to free it.
    /// </summary>
    public bool IsForeign => this.Urls is { Count: > 0 } || MediaTypes.IsNondistributable(this.MediaType);
}

/// <summary>A child manifest of an image index or Docker manifest list.</summary>
/// <param name="Digest">The child manifest digest.</param>
/// <param name="Size">The child manifest size in bytes.</param>
/// <param name="MediaType">The child manifest media type.</param>
/// <param name="Platform">The platform as <c>os/architecture[/variant]</c>, when the index names one.</param>
public sealed record ChildDescriptor(string Digest, long Size, string MediaType, string? Platform);

/// <summary>
/// One manifest stored in one repository. A manifest is itself a blob of <see cref="ManifestSize"/> bytes in the
/// registry's blob store; an image manifest references a config and layers, an index references child manifests.
/// </summary>
/// <param name="Repository">The repository that holds the manifest, e.g. <c>dominodatalab/environment</c>.</param>
/// <param name="Digest">The manifest digest.</param>
/// <param name="MediaType">The manifest media type (Docker v2 schema 2 manifest or list, OCI manifest or index).</param>
/// <param name="ManifestSize">The size of the manifest JSON in bytes.</param>
/// <param name="Config">The image configuration blob; <see langword="null"/> for an index.</param>
/// <param name="Layers">The layer blobs, in order; empty for an index.</param>
/// <param name="Children">The child manifests of an index; empty for an image manifest.</param>
/// <param name="Created">The image creation time from its configuration, when known.</param>
public sealed record ManifestRecord(
    string Repository,
    string Digest,
    string MediaType,
    long ManifestSize,
    BlobDescriptor? Config,
    IReadOnlyList<BlobDescriptor> Layers,
    IReadOnlyList<ChildDescriptor> Children,
    DateTimeOffset? Created)
{
    /// <summary>Gets whether this manifest is an image index or manifest list.</summary>
    public bool IsIndex => this.Children.Count > 0 || MediaTypes.IsIndex(this.MediaType);

    /// <summary>
    /// Gets the platform (<c>os/architecture[/variant]</c>) from the image configuration, when known; <see langword="null"/> for an index.
    /// </summary>
    public string? Platform { get; init; }

    /// <summary>Gets the digest of the manifest this one refers to (its OCI 1.1 <c>subject</c>), when it has one.</summary>
    public string? Subject { get; init; }

    /// <summary>
    /// Gets what kind of artifact this is (the manifest's <c>artifactType</c>, else the media type that tells it
    /// from an image: an artifact config's, or a signature's or SBOM's layer); <see langword="null"/> for an image.
    /// </summary>
    public string? ArtifactType { get; init; }
}

/// <summary>A tag and the manifest digest it points at, in one repository.</summary>
/// <param name="Repository">The repository.</param>
/// <param name="Tag">The tag.</param>
/// <param name="Digest">The manifest digest the tag resolves to.</param>
public sealed record TagRecord(string Repository, string Tag, string Digest);

/// <summary>
/// An immutable snapshot of a registry: every tag of the inventoried repositories and every manifest they reach
/// (tagged manifests and the children of indexes), keyed by repository and digest.
/// </summary>
/// <param name="Registry">The registry as the user named it (host[:port]).</param>
/// <param name="Repositories">The repositories inventoried.</param>
/// <param name="Tags">Every tag of those repositories.</param>
/// <param name="Manifests">Every manifest reached, one per repository and digest.</param>
/// <param name="Complete">
/// Whether every repository of the registry's catalog was inventoried. Reclaimable bytes are exact only on a complete
/// inventory, because blobs are shared across repositories.
/// </param>
public sealed record RegistryInventory(
    string Registry,
    IReadOnlyList<string> Repositories,
    IReadOnlyList<TagRecord> Tags,
    IReadOnlyList<ManifestRecord> Manifests,
    bool Complete)
{
    /// <summary>
    /// Gets whether the inventory holds every manifest revision of the registry's storage, also those without a tag
    /// (read with <see cref="RegistryStorage"/>). The distribution API cannot list untagged manifests, so without it
    /// an overwritten tag's old manifest is unseen while it still holds blobs.
    /// </summary>
    public bool IncludesUntaggedManifests { get; init; }

    /// <summary>
    /// Gets the tags whose index tree could not be walked (an index containing itself, or nesting deeper than
    /// <see cref="ManifestGraphException.MaxIndexDepth"/>); the planner refuses an inventory with any.
    /// </summary>
    public IReadOnlyList<string> GraphErrors { get; init; } = [];
}

/// <summary>The manifest media types the registry client accepts.</summary>
public static class MediaTypes
{
    /// <summary>Docker image manifest, schema 2.</summary>
    public const string DockerManifest = "application/vnd.docker.distribution.manifest.v2+json";

    /// <summary>Docker manifest list (multi-architecture).</summary>
    public const string DockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";

    /// <summary>OCI image manifest.</summary>
    public const string OciManifest = "application/vnd.oci.image.manifest.v1+json";

    /// <summary>OCI image index.</summary>
    public const string OciIndex = "application/vnd.oci.image.index.v1+json";

    /// <summary>The Accept header value for manifest requests: all four media types.</summary>
    public const string AcceptAll = DockerManifest + ", " + DockerManifestList + ", " + OciManifest + ", " + OciIndex;

    /// <summary>Docker's foreign layer: stored outside registries, at the descriptor's <c>urls</c>.</summary>
    public const string DockerForeignLayer = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";

    /// <summary>The prefix of the OCI nondistributable layer media types (deprecated in OCI 1.1, still in use).</summary>
    public const string OciNondistributableLayerPrefix = "application/vnd.oci.image.layer.nondistributable.";

    /// <summary>
    /// Returns whether a layer media type is one that registries do not store (Docker's foreign layer, OCI's
    /// nondistributable layers): pushes skip it, so a registry never has it to back up, check or free.
    /// </summary>
    /// <param name="mediaType">The layer descriptor's media type.</param>
    /// <returns><see langword="true"/> for a foreign or nondistributable layer.</returns>
    public static bool IsNondistributable(string? mediaType) =>
        string.Equals(mediaType, DockerForeignLayer, StringComparison.Ordinal)
        || (mediaType is not null && mediaType.StartsWith(OciNondistributableLayerPrefix, StringComparison.Ordinal));

    /// <summary>Returns whether a media type is an index or manifest list.</summary>
    /// <param name="mediaType">The media type.</param>
    /// <returns><see langword="true"/> for an index.</returns>
    public static bool IsIndex(string? mediaType) =>
        string.Equals(mediaType, DockerManifestList, StringComparison.Ordinal)
        || string.Equals(mediaType, OciIndex, StringComparison.Ordinal);
}
