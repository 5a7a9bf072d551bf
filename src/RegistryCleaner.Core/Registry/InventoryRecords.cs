using RegistryCleaner.Domino;

namespace RegistryCleaner.Registry;

/// <summary>One tag as <c>Get-RegistryImage</c> shows it.</summary>
/// <param name="Registry">The registry (host[:port]).</param>
/// <param name="Repository">The repository.</param>
/// <param name="Tag">The tag.</param>
/// <param name="Digest">The manifest digest the tag points at.</param>
/// <param name="MediaType">The manifest media type.</param>
/// <param name="Size">Bytes of the distinct blobs the image needs: config and layers; for an index, those of all children, each counted once.</param>
/// <param name="LayerCount">The number of distinct layers.</param>
/// <param name="Layers">The distinct layer digests, in manifest order (children in index order).</param>
/// <param name="Platforms">The platforms (<c>os/architecture[/variant]</c>): an index's children, or the image's own.</param>
/// <param name="Created">The image creation time; for an index, the newest child's.</param>
/// <param name="ObjectId">The Domino ObjectId the tag belongs to, when it starts with one.</param>
public sealed record RegistryImage(
    string Registry,
    string Repository,
    string Tag,
    string Digest,
    string MediaType,
    long Size,
    int LayerCount,
    TextList Layers,
    TextList Platforms,
    DateTimeOffset? Created,
    string? ObjectId)
{
    /// <summary>
    /// Gets the manifest this one refers to, for a referrer: its <c>subject</c>, or the digest a tag of the referrers
    /// tag schema names (<c>sha256-&lt;hex&gt;.sig</c> is a signature of <c>sha256:&lt;hex&gt;</c>).
    /// </summary>
    public string? Subject { get; init; }

    /// <summary>Gets what kind of artifact it is (signature, SBOM, chart...); <see langword="null"/> for an image.</summary>
    public string? ArtifactType { get; init; }

    /// <summary>Gets the Domino environment of the image (for a model image, the one it was built on), when Domino's records were read.</summary>
    public string? EnvironmentName { get; init; }

    /// <summary>Gets the Domino project of a model image, when Domino's records were read.</summary>
    public string? Project { get; init; }

    /// <summary>Gets the login of the image's Domino owner (the revision's author or the model version's creator), when Domino's records were read.</summary>
    public string? Owner { get; init; }
}

/// <summary>One distinct blob (layer or image configuration) as <c>Get-RegistryLayer</c> shows it.</summary>
/// <param name="Digest">The blob digest.</param>
/// <param name="Size">The blob size in bytes (counted once, however many manifests share it).</param>
/// <param name="MediaType">The descriptor media type (layer or config).</param>
/// <param name="Repositories">The repositories with a manifest that references the blob.</param>
/// <param name="Tags">The tags (<c>repository:tag</c>) whose image needs the blob.</param>
/// <param name="TagCount">The number of such tags.</param>
/// <param name="ObjectIds">The Domino ObjectIds of those tags.</param>
/// <param name="Kind"><c>Config</c> for an image configuration, <c>Layer</c> for a filesystem layer (or an artifact's blob).</param>
public sealed record RegistryLayer(
    string Digest,
    long Size,
    string MediaType,
    TextList Repositories,
    TextList Tags,
    int TagCount,
    TextList ObjectIds,
    string Kind);
