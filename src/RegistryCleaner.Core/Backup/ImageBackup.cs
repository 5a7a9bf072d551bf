using System.Text.Json;
using System.Text.Json.Nodes;
using RegistryCleaner.Registry;

namespace RegistryCleaner.Backup;

/// <summary>The annotations a backup puts on the <c>index.json</c> descriptors it writes.</summary>
public static class BackupAnnotations
{
    /// <summary>The registry the image was backed up from (host[:port]).</summary>
    public const string Registry = "io.registrycleaner.registry";

    /// <summary>The repository the image was backed up from.</summary>
    public const string Repository = "io.registrycleaner.repository";

    /// <summary>The tag; absent for an untagged manifest.</summary>
    public const string Tag = "io.registrycleaner.tag";

    /// <summary>When the image was backed up (ISO 8601, UTC).</summary>
    public const string BackedUp = "io.registrycleaner.backed-up";

    /// <summary>On a descriptor of the manifest exactly as the registry stored it (what a restore puts back).</summary>
    public const string Original = "io.registrycleaner.original";

    /// <summary>On an OCI copy of a Docker manifest (for OCI tools): the digest of the original.</summary>
    public const string ConvertedFrom = "io.registrycleaner.converted-from";

    /// <summary>On a referrer (signature, SBOM, attestation): the manifest it refers to, restored before it.</summary>
    public const string Subject = "io.registrycleaner.subject";
}

/// <summary>One image to back up: a manifest (or index) of a repository and the tags it carries.</summary>
/// <param name="Repository">The repository.</param>
/// <param name="Digest">The manifest digest.</param>
/// <param name="Tags">The tags on it; empty for an untagged manifest.</param>
public sealed record BackupImage(string Repository, string Digest, IReadOnlyList<string> Tags)
{
    /// <summary>Gets the manifest this one refers to, for a referrer (a signature, SBOM or attestation).</summary>
    public string? Subject { get; init; }
}

/// <summary>A manifest with the manifests it references (the children of an index, at any depth).</summary>
/// <param name="Digest">The manifest digest.</param>
/// <param name="MediaType">The manifest media type.</param>
/// <param name="Content">The raw bytes, verified against the digest.</param>
/// <param name="Record">The parsed manifest.</param>
/// <param name="Children">The child manifests of an index.</param>
public sealed record ManifestTree(string Digest, string MediaType, byte[] Content, ManifestRecord Record, IReadOnlyList<ManifestTree> Children)
{
    /// <summary>The deepest nesting of indexes followed; deeper is refused as a loop or an abuse.</summary>
    public const int MaxDepth = 8;

    /// <summary>Gets every manifest of the tree, children before their parents.</summary>
    public IEnumerable<ManifestTree> ChildrenFirst => this.Children.SelectMany(c => c.ChildrenFirst).Append(this);

    /// <summary>Gets every configuration and layer the tree references, once each.</summary>
    public IEnumerable<BlobDescriptor> Blobs => this.ChildrenFirst
        .SelectMany(m => m.Record.Config is null ? m.Record.Layers : m.Record.Layers.Prepend(m.Record.Config))
        .Where(b => !IsExternal(b))
        .DistinctBy(b => b.Digest);

    /// <summary>Reads a manifest and its children from a registry, each by digest (so each is verified).</summary>
    /// <param name="client">The registry.</param>
    /// <param name="repository">The repository.</param>
    /// <param name="digest">The manifest digest.</param>
    /// <param name="cancellationToken">Cancels the reads.</param>
    /// <returns>The tree.</returns>
    public static Task<ManifestTree> ReadAsync(RegistryClient client, string repository, string digest, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        return ReadAsync(
            async d =>
            {
                ManifestContent content = await client.GetManifestAsync(repository, d, cancellationToken).ConfigureAwait(false);
                return (content.MediaType, content.Content.ToArray());
            },
            client.Endpoint.DisplayName,
            repository,
            digest,
            null,
            0);
    }

    /// <summary>Reads a manifest and its children from a backup (each blob verified against its digest).</summary>
    /// <param name="layout">The backup.</param>
    /// <param name="repository">The repository the image belongs to, for messages.</param>
    /// <param name="digest">The manifest digest.</param>
    /// <param name="mediaType">The manifest media type from the descriptor.</param>
    /// <returns>The tree.</returns>
    public static Task<ManifestTree> ReadAsync(OciImageLayout layout, string repository, string digest, string mediaType)
    {
        ArgumentNullException.ThrowIfNull(layout);
        return ReadAsync(d => Task.FromResult((string.Empty, layout.ReadBlob(d))), layout.Path, repository, digest, mediaType, 0);
    }

    // Windows base layers live elsewhere (the descriptor's urls): registries do not store them.
    private static bool IsExternal(BlobDescriptor blob) => MediaTypes.IsNondistributable(blob.MediaType);

    private static async Task<ManifestTree> ReadAsync(
        Func<string, Task<(string MediaType, byte[] Content)>> read, string source, string repository, string digest, string? mediaType, int depth)
    {
        if (depth > MaxDepth)
        {
            throw new ManifestFormatException(source, repository, digest, $"indexes are nested more than {MaxDepth} deep");
        }

        (string servedType, byte[] content) = await read(digest).ConfigureAwait(false);
        ManifestRecord record = ManifestParser.Parse(source, repository, digest, servedType.Length > 0 ? servedType : mediaType, content);
        var children = new List<ManifestTree>(record.Children.Count);
        foreach (ChildDescriptor child in record.Children.DistinctBy(c => c.Digest))
        {
            children.Add(await ReadAsync(read, source, repository, child.Digest, child.MediaType, depth + 1).ConfigureAwait(false));
        }

        return new ManifestTree(digest, record.MediaType, content, record, children);
    }
}

/// <summary>
/// Backs images up from a registry into an <see cref="OciImageLayout"/> before they are deleted: every manifest
/// exactly as stored (so a restore gives back the same digests), the children of an index, every configuration and
/// layer, each blob once however many images share it. Docker manifests also get an OCI copy that carries the
/// reference name, so <c>skopeo copy oci:&lt;dir&gt;:&lt;repository&gt;:&lt;tag&gt;</c> reads every backed-up image.
/// </summary>
public sealed class ImageBackupWriter
{
    private readonly RegistryClient client;
    private readonly OciImageLayout layout;

    /// <summary>Initializes a writer.</summary>
    /// <param name="client">The registry to read from.</param>
    /// <param name="layout">The backup to write to.</param>
    public ImageBackupWriter(RegistryClient client, OciImageLayout layout)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(layout);
        this.client = client;
        this.layout = layout;
    }

    /// <summary>Gets the backup.</summary>
    public OciImageLayout Layout => this.layout;

    /// <summary>Gets the reference name OCI tools find an image under: <c>repository:tag</c>, or <c>repository@digest</c> when untagged.</summary>
    /// <param name="repository">The repository.</param>
    /// <param name="tag">The tag, or <see langword="null"/>.</param>
    /// <param name="digest">The manifest digest.</param>
    /// <returns>The reference name.</returns>
    public static string RefName(string repository, string? tag, string digest) => tag is null ? $"{repository}@{digest}" : $"{repository}:{tag}";

    /// <summary>
    /// Backs one image up. Nothing is named in <c>index.json</c> until every blob it reaches is stored and verified,
    /// so an image whose backup failed is never listed as backed up.
    /// </summary>
    /// <param name="image">The image.</param>
    /// <param name="cancellationToken">Cancels the backup.</param>
    /// <returns>What was written.</returns>
    /// <exception cref="RegistryException">A manifest or blob could not be read.</exception>
    /// <exception cref="OciLayoutException">The registry sent content that does not match its digest or size.</exception>
    public async Task<ImageBackupResult> BackUpAsync(BackupImage image, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(image);
        ManifestTree tree = await ManifestTree.ReadAsync(this.client, image.Repository, image.Digest, cancellationToken).ConfigureAwait(false);
        int written = 0;
        int present = 0;
        long bytes = 0;
        object gate = new();
        await Parallel.ForEachAsync(
            tree.Blobs,
            new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, this.client.Options.MaxConcurrency), CancellationToken = cancellationToken },
            async (blob, token) =>
            {
                bool stored = await this.layout.WriteBlobAsync(
                    blob.Digest,
                    blob.Size,
                    (stream, t) => this.client.CopyBlobAsync(image.Repository, blob.Digest, stream, t, blob.Size),
                    token).ConfigureAwait(false);
                lock (gate)
                {
                    (written, present, bytes) = stored ? (written + 1, present, ByteTotal.Add(bytes, blob.Size)) : (written, present + 1, bytes);
                }
            }).ConfigureAwait(false);

        foreach (ManifestTree manifest in tree.ChildrenFirst)
        {
            bool stored = await this.layout.WriteBlobAsync(manifest.Digest, manifest.Content, cancellationToken).ConfigureAwait(false);
            (written, present, bytes) = stored ? (written + 1, present, bytes + manifest.Content.Length) : (written, present + 1, bytes);
        }

        // Docker media types are not OCI: tools that read layouts look references up on OCI manifests only.
        (string Digest, string MediaType, long Size)? converted = null;
        if (!IsOci(tree))
        {
            converted = await this.WriteOciCopyAsync(tree, cancellationToken).ConfigureAwait(false);
        }

        string registry = this.client.Endpoint.DisplayName;
        string time = DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);
        var entries = new List<OciLayoutEntry>();
        foreach (string? tag in image.Tags.Count == 0 ? [null] : image.Tags.Cast<string?>())
        {
            var annotations = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                [BackupAnnotations.Registry] = registry,
                [BackupAnnotations.Repository] = image.Repository,
                [BackupAnnotations.BackedUp] = time,
                [BackupAnnotations.Original] = "true",
            };
            if (tag is not null)
            {
                annotations[BackupAnnotations.Tag] = tag;
            }

            if (image.Subject is not null)
            {
                annotations[BackupAnnotations.Subject] = image.Subject;
            }

            if (converted is { } copy)
            {
                entries.Add(new OciLayoutEntry(tree.MediaType, tree.Digest, tree.Content.Length, annotations));
                var copyAnnotations = new Dictionary<string, string>(annotations, StringComparer.Ordinal) { [RefNameAnnotationKey] = RefName(image.Repository, tag, image.Digest), [BackupAnnotations.ConvertedFrom] = tree.Digest };
                copyAnnotations.Remove(BackupAnnotations.Original);
                entries.Add(new OciLayoutEntry(copy.MediaType, copy.Digest, copy.Size, copyAnnotations));
            }
            else
            {
                annotations[RefNameAnnotationKey] = RefName(image.Repository, tag, image.Digest);
                entries.Add(new OciLayoutEntry(tree.MediaType, tree.Digest, tree.Content.Length, annotations));
            }
        }

        this.layout.AddToIndex(entries);
        return new ImageBackupResult(image.Repository, image.Digest, written, bytes, present);
    }

    /// <summary>Reads the manifests of the images (small) and sums the blobs the backup does not have yet.</summary>
    /// <param name="images">The images.</param>
    /// <param name="cancellationToken">Cancels the reads.</param>
    /// <returns>The estimate.</returns>
    public Task<BackupEstimate> EstimateAsync(IReadOnlyList<BackupImage> images, CancellationToken cancellationToken) =>
        EstimateAsync(this.client, this.layout.Path, d => this.layout.BlobSize(d) is not null, images, cancellationToken);

    /// <summary>
    /// Estimates a backup into a folder that may not be a backup yet (nothing is created: what <c>-WhatIf</c> needs).
    /// </summary>
    /// <param name="client">The registry to read manifests from.</param>
    /// <param name="path">The backup folder.</param>
    /// <param name="images">The images.</param>
    /// <param name="cancellationToken">Cancels the reads.</param>
    /// <returns>The estimate.</returns>
    /// <exception cref="OciLayoutException">The folder exists and is not an OCI image layout.</exception>
    public static Task<BackupEstimate> EstimateAsync(RegistryClient client, string path, IReadOnlyList<BackupImage> images, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(path);
        OciImageLayout? existing = File.Exists(Path.Combine(path, "oci-layout")) ? OciImageLayout.Open(path, create: false) : null;
        if (existing is null && Directory.Exists(path) && Directory.EnumerateFileSystemEntries(path).Any())
        {
            throw new OciLayoutException($"'{path}' is a folder with other files in it, not an OCI image layout: give an empty or new folder, or an existing backup.");
        }

        return EstimateAsync(client, path, d => existing?.BlobSize(d) is not null, images, cancellationToken);
    }

    private static async Task<BackupEstimate> EstimateAsync(RegistryClient client, string path, Func<string, bool> present, IReadOnlyList<BackupImage> images, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(images);
        var sizes = new System.Collections.Concurrent.ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        await Parallel.ForEachAsync(
            images.DistinctBy(i => (i.Repository, i.Digest)),
            new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, client.Options.MaxConcurrency), CancellationToken = cancellationToken },
            async (image, token) =>
            {
                ManifestTree tree = await ManifestTree.ReadAsync(client, image.Repository, image.Digest, token).ConfigureAwait(false);
                foreach (BlobDescriptor blob in tree.Blobs)
                {
                    sizes[blob.Digest] = blob.Size;
                }

                bool docker = !IsOci(tree);
                foreach (ManifestTree manifest in tree.ChildrenFirst)
                {
                    sizes[manifest.Digest] = manifest.Content.Length;
                    if (docker)
                    {
                        sizes["oci-copy:" + manifest.Digest] = manifest.Content.Length;
                    }
                }
            }).ConfigureAwait(false);

        int missing = 0;
        int already = 0;
        long bytes = 0;
        foreach ((string digest, long size) in sizes)
        {
            if (!digest.StartsWith("oci-copy:", StringComparison.Ordinal) && present(digest))
            {
                already++;
            }
            else
            {
                missing++;
                bytes = ByteTotal.Add(bytes, size);
            }
        }

        return new BackupEstimate(images.Count, missing, bytes, already, AvailableBytes(path));
    }

    /// <summary>Gets the free space of the file system a folder is on, when it can be told.</summary>
    /// <param name="path">The folder (or a folder that will hold it).</param>
    /// <returns>The bytes available to this user, or <see langword="null"/>.</returns>
    public static long? AvailableBytes(string path)
    {
        try
        {
            string? existing = Path.GetFullPath(path);
            while (existing is not null && !Directory.Exists(existing))
            {
                existing = Path.GetDirectoryName(existing);
            }

            return existing is null ? null : new DriveInfo(existing).AvailableFreeSpace;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }
    }

    private const string RefNameAnnotationKey = OciImageLayout.RefNameAnnotation;

    private static bool IsOci(ManifestTree tree) =>
        tree.ChildrenFirst.All(m => m.MediaType is MediaTypes.OciManifest or MediaTypes.OciIndex);

    private static string OciType(string mediaType) => mediaType switch
    {
        MediaTypes.DockerManifest => MediaTypes.OciManifest,
        MediaTypes.DockerManifestList => MediaTypes.OciIndex,
        "application/vnd.docker.container.image.v1+json" => "application/vnd.oci.image.config.v1+json",
        "application/vnd.docker.image.rootfs.diff.tar.gzip" => "application/vnd.oci.image.layer.v1.tar+gzip",
        "application/vnd.docker.image.rootfs.diff.tar" => "application/vnd.oci.image.layer.v1.tar",
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip" => "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
        _ => mediaType,
    };

    /// <summary>Writes the OCI form of a Docker manifest (and of its children): the same blobs, OCI media types.</summary>
    private async Task<(string Digest, string MediaType, long Size)> WriteOciCopyAsync(ManifestTree tree, CancellationToken cancellationToken)
    {
        var copies = new Dictionary<string, (string Digest, string MediaType, long Size)>(StringComparer.Ordinal);
        foreach (ManifestTree manifest in tree.ChildrenFirst)
        {
            if (copies.ContainsKey(manifest.Digest))
            {
                continue;
            }

            if (manifest.MediaType is MediaTypes.OciManifest or MediaTypes.OciIndex && manifest.Children.All(c => copies.TryGetValue(c.Digest, out var same) && same.Digest == c.Digest))
            {
                copies[manifest.Digest] = (manifest.Digest, manifest.MediaType, manifest.Content.Length);
                continue;
            }

            JsonNode root = JsonNode.Parse(manifest.Content) ?? throw new ManifestFormatException(this.layout.Path, string.Empty, manifest.Digest, "the manifest is JSON null");
            string type = OciType(manifest.MediaType);
            root["mediaType"] = type;
            if (root["config"] is JsonObject config && config["mediaType"]?.GetValue<string>() is { } configType)
            {
                config["mediaType"] = OciType(configType);
            }

            foreach (JsonNode? layer in root["layers"] as JsonArray ?? [])
            {
                if (layer is JsonObject descriptor && descriptor["mediaType"]?.GetValue<string>() is { } layerType)
                {
                    descriptor["mediaType"] = OciType(layerType);
                }
            }

            foreach (JsonNode? child in root["manifests"] as JsonArray ?? [])
            {
                if (child is JsonObject descriptor && descriptor["digest"]?.GetValue<string>() is { } childDigest && copies.TryGetValue(childDigest, out var childCopy))
                {
                    descriptor["mediaType"] = childCopy.MediaType;
                    descriptor["digest"] = childCopy.Digest;
                    descriptor["size"] = childCopy.Size;
                }
            }

            byte[] content = JsonSerializer.SerializeToUtf8Bytes(root);
            string digest = ManifestParser.ComputeDigest(content);
            await this.layout.WriteBlobAsync(digest, content, cancellationToken).ConfigureAwait(false);
            copies[manifest.Digest] = (digest, type, content.Length);
        }

        return copies[tree.Digest];
    }
}
