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
    public static IReadOnlyList<RegistryImage> Images(RegistryInventory inventory) => [.. EnumerateImages(inventory)];

    /// <summary>Builds the <see cref="RegistryImage"/> objects of <see cref="Images"/>, in the same order, one at a time.</summary>
    /// <param name="inventory">The inventory.</param>
    /// <returns>The images.</returns>
    public static IEnumerable<RegistryImage> EnumerateImages(RegistryInventory inventory)
    {
        ArgumentNullException.ThrowIfNull(inventory);
        return ImagesIn(inventory);
    }

    /// <summary>
    /// Builds the <see cref="RegistryImage"/> of one tag from its own manifests alone (what <see cref="Images"/> builds
    /// for it from an inventory holding them), so a tag can be shown as soon as it is read.
    /// </summary>
    /// <param name="registry">The registry (host[:port]).</param>
    /// <param name="repository">The repository.</param>
    /// <param name="tag">The tag.</param>
    /// <param name="manifest">The tagged manifest.</param>
    /// <param name="children">The manifests under it when it is an index (any depth), else empty.</param>
    /// <returns>The image.</returns>
    public static RegistryImage Image(string registry, string repository, string tag, ManifestRecord manifest, IReadOnlyList<ManifestRecord> children)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(children);

        // An image manifest resolves nothing: only an index needs its children by key.
        var byKey = new Dictionary<(string, string), ManifestRecord>(children.Count + 1);
        if (children.Count > 0)
        {
            byKey[(manifest.Repository, manifest.Digest)] = manifest;
            foreach (ManifestRecord child in children)
            {
                byKey[(child.Repository, child.Digest)] = child;
            }
        }

        return ImageOf(registry, new TagRecord(repository, tag, manifest.Digest), manifest, byKey);
    }

    private static IEnumerable<RegistryImage> ImagesIn(RegistryInventory inventory)
    {
        Dictionary<(string, string), ManifestRecord> byKey = Index(inventory);
        foreach (TagRecord tag in inventory.Tags)
        {
            if (byKey.TryGetValue((tag.Repository, tag.Digest), out ManifestRecord? manifest))
            {
                yield return ImageOf(inventory.Registry, tag, manifest, byKey);
            }
        }
    }

    private static RegistryImage ImageOf(string registry, TagRecord tag, ManifestRecord manifest, Dictionary<(string, string), ManifestRecord> byKey)
    {
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

        return new RegistryImage(
            registry,
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
        };
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
    public static IReadOnlyList<RegistryLayer> Layers(RegistryInventory inventory) => [.. EnumerateLayers(inventory)];

    /// <summary>
    /// Builds the <see cref="RegistryLayer"/> objects of <see cref="Layers"/>, in the same order, one at a time: each
    /// is built when it is asked for, so only the per-blob tallies (tag numbers, not names) are held at once.
    /// </summary>
    /// <param name="inventory">The inventory.</param>
    /// <returns>The blobs.</returns>
    public static IEnumerable<RegistryLayer> EnumerateLayers(RegistryInventory inventory)
    {
        ArgumentNullException.ThrowIfNull(inventory);
        return LayersOf(inventory);
    }

    private static IEnumerable<RegistryLayer> LayersOf(RegistryInventory inventory)
    {
        Dictionary<(string, string), ManifestRecord> byKey = Index(inventory);
        var blobs = new Dictionary<string, BlobUse>(StringComparer.Ordinal);

        BlobUse EntryOf(BlobDescriptor blob)
        {
            if (!blobs.TryGetValue(blob.Digest, out BlobUse? entry))
            {
                entry = new BlobUse(blob);
                blobs.Add(blob.Digest, entry);
            }

            return entry;
        }

        // Every manifest, tagged or not, marks its repository on the blobs it references. A configuration is known by
        // its place in a manifest, not by its media type (Docker's is application/vnd.docker.container.image.v1+json).
        foreach (ManifestRecord manifest in inventory.Manifests)
        {
            if (manifest.Config is { } config)
            {
                EntryOf(config).IsConfig = true;
            }

            foreach (BlobDescriptor blob in BlobsOf(manifest))
            {
                EntryOf(blob).AddRepository(manifest.Repository);
            }
        }

        // Tags are numbered in inventory order; a blob keeps the numbers of the tags that need it, each once.
        var names = new string?[inventory.Tags.Count];
        for (int number = 0; number < names.Length; number++)
        {
            TagRecord tag = inventory.Tags[number];
            if (!byKey.TryGetValue((tag.Repository, tag.Digest), out ManifestRecord? manifest))
            {
                continue;
            }

            string name = $"{tag.Repository}:{tag.Tag}";
            names[number] = name;
            string? objectId = ObjectId.FromTag(tag.Tag);
            foreach (ManifestRecord image in ImagesOf(manifest, byKey))
            {
                foreach (BlobDescriptor blob in BlobsOf(image))
                {
                    EntryOf(blob).AddTag(number, name, objectId);
                }
            }
        }

        // Repository, then tag: each blob with the first image (repository:tag) that needs it, then by digest.
        BlobUse[] ordered = [.. blobs.Values
            .OrderBy(static e => e.FirstRepository ?? string.Empty, StringComparer.Ordinal)
            .ThenBy(static e => e.FirstName ?? string.Empty, StringComparer.Ordinal)
            .ThenBy(static e => e.Blob.Digest, StringComparer.Ordinal)];
        blobs.Clear();
        foreach (BlobUse entry in ordered)
        {
            string[] tags = entry.Tags(names);
            yield return new RegistryLayer(entry.Blob.Digest, entry.Blob.Size, entry.Blob.MediaType, entry.Repositories(), tags, tags.Length, entry.ObjectIds(), entry.IsConfig ? "Config" : "Layer");
        }
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

/// <summary>
/// What <see cref="InventoryViews.EnumerateLayers"/> tallies for one blob: the repositories, tag numbers and ObjectIds
/// that use it, the first of each kept inline (most blobs have one), the smallest repository and name kept for the order.
/// </summary>
internal sealed class BlobUse
{
    private string? firstRepository;
    private List<string>? moreRepositories;
    private int firstTag = -1;
    private List<int>? moreTags;
    private string? firstObjectId;
    private List<string>? moreObjectIds;

    public BlobUse(BlobDescriptor blob) => this.Blob = blob;

    public BlobDescriptor Blob { get; }

    public bool IsConfig { get; set; }

    public string? FirstRepository { get; private set; }

    public string? FirstName { get; private set; }

    public void AddRepository(string repository)
    {
        if (this.firstRepository is null)
        {
            this.firstRepository = repository;
        }
        else if (!string.Equals(this.firstRepository, repository, StringComparison.Ordinal) && !(this.moreRepositories?.Contains(repository) ?? false))
        {
            (this.moreRepositories ??= []).Add(repository);
        }

        if (this.FirstRepository is null || string.CompareOrdinal(repository, this.FirstRepository) < 0)
        {
            this.FirstRepository = repository;
        }
    }

    // Tags come in ascending number and a tag adds all its blobs at once, so a repeat is always the last number.
    public void AddTag(int number, string name, string? objectId)
    {
        int last = this.moreTags is { Count: > 0 } more ? more[^1] : this.firstTag;
        if (last == number)
        {
            return;
        }

        if (this.firstTag < 0)
        {
            this.firstTag = number;
        }
        else
        {
            (this.moreTags ??= []).Add(number);
        }

        if (this.FirstName is null || string.CompareOrdinal(name, this.FirstName) < 0)
        {
            this.FirstName = name;
        }

        if (objectId is null)
        {
            return;
        }

        string? lastId = this.moreObjectIds is { Count: > 0 } ids ? ids[^1] : this.firstObjectId;
        if (lastId is null)
        {
            this.firstObjectId = objectId;
        }
        else if (!string.Equals(lastId, objectId, StringComparison.Ordinal))
        {
            (this.moreObjectIds ??= []).Add(objectId);
        }
    }

    public string[] Repositories() => Sorted(this.firstRepository, this.moreRepositories);

    public string[] ObjectIds() => Sorted(this.firstObjectId, this.moreObjectIds);

    public string[] Tags(string?[] names)
    {
        if (this.firstTag < 0)
        {
            return [];
        }

        var tags = new string[1 + (this.moreTags?.Count ?? 0)];
        tags[0] = names[this.firstTag]!;
        for (int i = 1; i < tags.Length; i++)
        {
            tags[i] = names[this.moreTags![i - 1]]!;
        }

        // Numbers follow (repository, tag); names sort as repository:tag, which can differ ("a-b:x" before "a:x").
        Array.Sort(tags, StringComparer.Ordinal);
        return tags;
    }

    private static string[] Sorted(string? first, List<string>? more)
    {
        if (first is null)
        {
            return [];
        }

        if (more is null)
        {
            return [first];
        }

        // Distinct: ObjectIds repeat when tags of one ObjectId sit in two repositories.
        var all = new SortedSet<string>(more, StringComparer.Ordinal) { first };
        return [.. all];
    }
}
