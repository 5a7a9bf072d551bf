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

/// <summary>Pure views over a <see cref="RegistryInventory"/>: per tag and per blob.</summary>
public static class InventoryViews
{
    /// <summary>Builds one <see cref="RegistryImage"/> per tag, in inventory order.</summary>
    /// <param name="inventory">The inventory.</param>
    /// <returns>The images.</returns>
    public static IReadOnlyList<RegistryImage> Images(RegistryInventory inventory)
    {
        ArgumentNullException.ThrowIfNull(inventory);
        Dictionary<(string, string), ManifestRecord> byKey = Index(inventory);
        var images = new List<RegistryImage>(inventory.Tags.Count);
        foreach (TagRecord tag in inventory.Tags)
        {
            if (!byKey.TryGetValue((tag.Repository, tag.Digest), out ManifestRecord? manifest))
            {
                continue;
            }

            var blobs = new Dictionary<string, long>(StringComparer.Ordinal);
            var layers = new List<string>();
            var platforms = new List<string>();
            DateTimeOffset? created = manifest.Created;
            foreach (ManifestRecord image in ImagesOf(manifest, byKey))
            {
                if (image.Config is { } config)
                {
                    blobs.TryAdd(config.Digest, config.Size);
                }

                foreach (BlobDescriptor layer in image.Layers)
                {
                    if (blobs.TryAdd(layer.Digest, layer.Size))
                    {
                        layers.Add(layer.Digest);
                    }
                }

                if (image.Created is { } c && (created is null || c > created))
                {
                    created = c;
                }

                if (!manifest.IsIndex && image.Platform is { } platform)
                {
                    platforms.Add(platform);
                }
            }

            AddPlatforms(manifest, byKey, platforms, new HashSet<string>(StringComparer.Ordinal) { manifest.Digest });

            images.Add(new RegistryImage(
                inventory.Registry,
                tag.Repository,
                tag.Tag,
                tag.Digest,
                manifest.MediaType,
                ByteTotal.Sum(blobs.Values),
                layers.Count,
                layers,
                platforms,
                created,
                ObjectId.FromTag(tag.Tag))
            {
                Subject = manifest.Subject ?? (ReferrerTagSchema.TryParse(tag.Tag, out string? subject, out _) ? subject : null),
                ArtifactType = manifest.ArtifactType,
            });
        }

        return images;
    }

    // The platforms of an index's leaves: a child index's own children name theirs.
    private static void AddPlatforms(ManifestRecord index, Dictionary<(string, string), ManifestRecord> byKey, List<string> platforms, HashSet<string> seen)
    {
        foreach (ChildDescriptor child in index.Children)
        {
            if (!seen.Add(child.Digest))
            {
                continue;
            }

            byKey.TryGetValue((index.Repository, child.Digest), out ManifestRecord? resolved);
            if (resolved is { IsIndex: true } || (resolved is null && MediaTypes.IsIndex(child.MediaType)))
            {
                if (resolved is not null)
                {
                    AddPlatforms(resolved, byKey, platforms, seen);
                }

                continue;
            }

            string? platform = child.Platform ?? resolved?.Platform;
            if (platform is not null && !platforms.Contains(platform))
            {
                platforms.Add(platform);
            }
        }
    }

    /// <summary>Builds one <see cref="RegistryLayer"/> per distinct blob (layers and configs), ordered by digest.</summary>
    /// <param name="inventory">The inventory.</param>
    /// <returns>The blobs.</returns>
    public static IReadOnlyList<RegistryLayer> Layers(RegistryInventory inventory)
    {
        ArgumentNullException.ThrowIfNull(inventory);
        Dictionary<(string, string), ManifestRecord> byKey = Index(inventory);
        var blobs = new Dictionary<string, (BlobDescriptor Blob, SortedSet<string> Repositories, SortedSet<string> Tags, SortedSet<string> ObjectIds)>(StringComparer.Ordinal);

        (BlobDescriptor, SortedSet<string>, SortedSet<string>, SortedSet<string>) EntryOf(BlobDescriptor blob)
        {
            if (!blobs.TryGetValue(blob.Digest, out var entry))
            {
                entry = (blob, new SortedSet<string>(StringComparer.Ordinal), new SortedSet<string>(StringComparer.Ordinal), new SortedSet<string>(StringComparer.Ordinal));
                blobs.Add(blob.Digest, entry);
            }

            return entry;
        }

        // Every manifest, tagged or not, marks its repository on the blobs it references. A configuration is known by
        // its place in a manifest, not by its media type (Docker's is application/vnd.docker.container.image.v1+json).
        var configs = new HashSet<string>(StringComparer.Ordinal);
        foreach (ManifestRecord manifest in inventory.Manifests)
        {
            if (manifest.Config is { } config)
            {
                configs.Add(config.Digest);
            }

            foreach (BlobDescriptor blob in BlobsOf(manifest))
            {
                EntryOf(blob).Item2.Add(manifest.Repository);
            }
        }

        foreach (TagRecord tag in inventory.Tags)
        {
            if (!byKey.TryGetValue((tag.Repository, tag.Digest), out ManifestRecord? manifest))
            {
                continue;
            }

            string name = $"{tag.Repository}:{tag.Tag}";
            string? objectId = ObjectId.FromTag(tag.Tag);
            foreach (ManifestRecord image in ImagesOf(manifest, byKey))
            {
                foreach (BlobDescriptor blob in BlobsOf(image))
                {
                    var entry = EntryOf(blob);
                    entry.Item3.Add(name);
                    if (objectId is not null)
                    {
                        entry.Item4.Add(objectId);
                    }
                }
            }
        }

        // Repository, then tag: each blob with the first image (repository:tag) that needs it, then by digest.
        return blobs.Values
            .OrderBy(static e => e.Repositories.Min ?? string.Empty, StringComparer.Ordinal)
            .ThenBy(static e => e.Tags.Min ?? string.Empty, StringComparer.Ordinal)
            .ThenBy(static e => e.Blob.Digest, StringComparer.Ordinal)
            .Select(e => new RegistryLayer(e.Blob.Digest, e.Blob.Size, e.Blob.MediaType, e.Repositories.ToArray(), e.Tags.ToArray(), e.Tags.Count, e.ObjectIds.ToArray(), configs.Contains(e.Blob.Digest) ? "Config" : "Layer"))
            .ToArray();
    }

    /// <summary>
    /// Returns, per tag, the bytes of the blobs that only that tag's image references (no other tag of the inventory).
    /// Two tags on one digest share everything, so both get 0.
    /// </summary>
    /// <param name="inventory">The inventory.</param>
    /// <returns>Unique bytes per tag; tags without unique blobs map to 0.</returns>
    public static IReadOnlyDictionary<TagRecord, long> UniqueBytesByTag(RegistryInventory inventory)
    {
        ArgumentNullException.ThrowIfNull(inventory);
        return UniqueBytesByTag(inventory, Index(inventory));
    }

    private static Dictionary<TagRecord, long> UniqueBytesByTag(RegistryInventory inventory, Dictionary<(string, string), ManifestRecord> byKey)
    {
        // For each blob: its size and the single tag that needs it, or null once a second tag needs it too.
        var owners = new Dictionary<string, (long Size, TagRecord? Owner)>(StringComparer.Ordinal);
        var result = new Dictionary<TagRecord, long>();
        foreach (TagRecord tag in inventory.Tags)
        {
            result[tag] = 0;
            if (!byKey.TryGetValue((tag.Repository, tag.Digest), out ManifestRecord? manifest))
            {
                continue;
            }

            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (ManifestRecord image in ImagesOf(manifest, byKey))
            {
                foreach (BlobDescriptor blob in BlobsOf(image))
                {
                    if (!seen.Add(blob.Digest))
                    {
                        continue;
                    }

                    owners[blob.Digest] = owners.TryGetValue(blob.Digest, out var existing) ? (existing.Size, null) : (blob.Size, tag);
                }
            }
        }

        foreach ((long size, TagRecord? owner) in owners.Values)
        {
            if (owner is not null)
            {
                result[owner] = ByteTotal.Add(result[owner], size);
            }
        }

        return result;
    }

    private static Dictionary<(string, string), ManifestRecord> Index(RegistryInventory inventory)
    {
        var byKey = new Dictionary<(string, string), ManifestRecord>(inventory.Manifests.Count);
        foreach (ManifestRecord manifest in inventory.Manifests)
        {
            byKey[(manifest.Repository, manifest.Digest)] = manifest;
        }

        return byKey;
    }

    // An image manifest is its own image; an index stands for the images under it (at any depth) found in the same
    // repository, each once. The reader refuses trees deeper than ManifestGraphException.MaxIndexDepth.
    private static IEnumerable<ManifestRecord> ImagesOf(ManifestRecord manifest, Dictionary<(string, string), ManifestRecord> byKey)
    {
        if (!manifest.IsIndex)
        {
            yield return manifest;
            yield break;
        }

        var seen = new HashSet<string>(StringComparer.Ordinal) { manifest.Digest };
        var pending = new Stack<IEnumerator<ChildDescriptor>>();
        pending.Push(manifest.Children.GetEnumerator());
        try
        {
            while (pending.TryPeek(out IEnumerator<ChildDescriptor>? children))
            {
                if (!children.MoveNext())
                {
                    pending.Pop().Dispose();
                    continue;
                }

                ChildDescriptor child = children.Current;
                if (!seen.Add(child.Digest) || !byKey.TryGetValue((manifest.Repository, child.Digest), out ManifestRecord? resolved))
                {
                    continue;
                }

                if (resolved.IsIndex)
                {
                    if (pending.Count < ManifestGraphException.MaxIndexDepth)
                    {
                        pending.Push(resolved.Children.GetEnumerator());
                    }
                }
                else
                {
                    yield return resolved;
                }
            }
        }
        finally
        {
            while (pending.TryPop(out IEnumerator<ChildDescriptor>? left))
            {
                left.Dispose();
            }
        }
    }

    private static IEnumerable<BlobDescriptor> BlobsOf(ManifestRecord image)
    {
        if (image.Config is { } config)
        {
            yield return config;
        }

        foreach (BlobDescriptor layer in image.Layers)
        {
            yield return layer;
        }
    }
}
