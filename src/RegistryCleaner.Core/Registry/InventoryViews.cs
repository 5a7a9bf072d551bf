using RegistryCleaner.Domino;

namespace RegistryCleaner.Registry;

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
        var tally = new LayerTally();

        // Every manifest, tagged or not, marks its repository on the blobs it references.
        foreach (ManifestRecord manifest in inventory.Manifests)
        {
            tally.AddManifest(manifest);
        }

        // Tags are numbered in inventory order; a blob keeps the numbers of the tags that need it, each once.
        foreach (TagRecord tag in inventory.Tags)
        {
            tally.AddTag(tag.Repository, tag.Tag, byKey.GetValueOrDefault((tag.Repository, tag.Digest)), byKey);
        }

        return tally.Layers();
    }

    /// <summary>
    /// Tallies the blobs of a registry tag by tag, as <see cref="EnumerateLayers"/> does from an inventory, while the
    /// tags are read: a streaming read keeps only what the output needs, not the inventory, and keeps it as numbers
    /// (per blob its digest's 32 bytes, size, media type, repositories and tags by number; per tag its repository's
    /// number and the tag string as read). The output's strings are made as they are written out.
    /// </summary>
    public sealed class LayerTally
    {
        private static readonly Dictionary<(string, string), ManifestRecord> NoChildren = [];
        private readonly BlobTable blobs = new();
        private readonly List<string> repositories = [];
        private readonly Dictionary<string, int> repositoryNumbers = new(StringComparer.Ordinal);
        private readonly List<string> mediaTypes = [];
        private readonly Dictionary<string, int> mediaTypeNumbers = new(StringComparer.Ordinal);

        // The repositories and tags of a blob beyond its first: most blobs have none.
        private readonly List<List<int>> lists = [];
        private readonly TagNames tags;

        /// <summary>Initializes a new instance of the <see cref="LayerTally"/> class, with no tags yet.</summary>
        public LayerTally() => this.tags = new TagNames(this.repositories);

        /// <summary>Adds a tag read successfully, in inventory order (repository, then tag): its manifests and its blobs.</summary>
        /// <param name="result">The tag's result; one with an error adds nothing.</param>
        public void Add(TagReadResult result)
        {
            ArgumentNullException.ThrowIfNull(result);
            if (result.Manifest is not { } manifest)
            {
                return;
            }

            this.AddManifest(manifest);
            Dictionary<(string, string), ManifestRecord> byKey = NoChildren;
            if (result.Children.Count > 0)
            {
                byKey = new Dictionary<(string, string), ManifestRecord>(result.Children.Count + 1) { [(manifest.Repository, manifest.Digest)] = manifest };
                foreach (ManifestRecord child in result.Children)
                {
                    this.AddManifest(child);
                    byKey[(child.Repository, child.Digest)] = child;
                }
            }

            this.AddTag(result.Repository, result.Tag, manifest, byKey);
        }

        /// <summary>Builds the blobs, each once, in the order of <see cref="EnumerateLayers"/>; call once, after the last tag.</summary>
        /// <returns>The blobs.</returns>
        public IEnumerable<RegistryLayer> Layers()
        {
            this.blobs.StopAdding();

            // Repository, then tag: each blob with the first image (repository:tag) that needs it, then by digest.
            // A blob without a repository or tag sorts first, as the empty name would.
            int[] repositoryRanks = Ranks(this.repositories);
            int[] tagRanks = this.tags.Ranks();
            long[] keys = new long[this.blobs.Count];
            int[] ordered = new int[this.blobs.Count];
            for (int number = 0; number < ordered.Length; number++)
            {
                ref BlobUse entry = ref this.blobs[number];
                int repository = this.Smallest(entry.FirstRepository, entry.MoreRepositories, repositoryRanks);
                int tag = this.Smallest(entry.FirstTag, entry.MoreTags, tagRanks);
                keys[number] = ((long)(repository + 1) << 32) | (uint)(tag + 1);
                ordered[number] = number;
            }

            Array.Sort(ordered, (x, y) => keys[x] != keys[y] ? keys[x].CompareTo(keys[y]) : this.blobs.CompareDigests(x, y));
            return this.Build(ordered, repositoryRanks, tagRanks);
        }

        /// <summary>Marks the manifest's repository on the blobs it references.</summary>
        /// <param name="manifest">A manifest of the registry.</param>
        internal void AddManifest(ManifestRecord manifest)
        {
            int repository = this.RepositoryNumber(manifest.Repository);
            var origin = new OriginDigest(manifest.Digest);

            // A configuration is known by its place in a manifest, not by its media type (Docker's is
            // application/vnd.docker.container.image.v1+json).
            if (manifest.Config is { } config)
            {
                this.EntryOf(config, repository, origin).IsConfig = true;
            }

            foreach (BlobDescriptor blob in BlobsOf(manifest))
            {
                ref BlobUse entry = ref this.EntryOf(blob, repository, origin);
                if (entry.FirstRepository < 0)
                {
                    entry.FirstRepository = repository;
                }
                else if (entry.FirstRepository != repository)
                {
                    List<int> more = this.ListOf(ref entry.MoreRepositories);
                    if (!more.Contains(repository))
                    {
                        more.Add(repository);
                    }
                }
            }
        }

        /// <summary>Numbers the next tag and adds it to the blobs its images need.</summary>
        /// <param name="repository">The tag's repository.</param>
        /// <param name="tag">The tag.</param>
        /// <param name="manifest">The manifest it points at; <see langword="null"/> when it was not read.</param>
        /// <param name="byKey">The manifests an index's children are found in.</param>
        internal void AddTag(string repository, string tag, ManifestRecord? manifest, Dictionary<(string, string), ManifestRecord> byKey)
        {
            if (manifest is null)
            {
                return;
            }

            int number = this.tags.Add(this.RepositoryNumber(repository), tag);
            foreach (ManifestRecord image in ImagesOf(manifest, byKey))
            {
                int imageRepository = this.RepositoryNumber(image.Repository);
                var origin = new OriginDigest(image.Digest);
                foreach (BlobDescriptor blob in BlobsOf(image))
                {
                    // Tags come in ascending number and a tag adds all its blobs at once, so a repeat is always the last number.
                    ref BlobUse entry = ref this.EntryOf(blob, imageRepository, origin);
                    if (entry.FirstTag < 0)
                    {
                        entry.FirstTag = number;
                    }
                    else if ((entry.MoreTags < 0 ? entry.FirstTag : this.lists[entry.MoreTags][^1]) != number)
                    {
                        this.ListOf(ref entry.MoreTags).Add(number);
                    }
                }
            }
        }

        private static int[] Ranks(List<string> names) => TagNames.Rank(names.Count, (x, y) => string.CompareOrdinal(names[x], names[y]));

        private IEnumerable<RegistryLayer> Build(int[] ordered, int[] repositoryRanks, int[] tagRanks)
        {
            foreach (int number in ordered)
            {
                BlobUse entry = this.blobs[number];

                // Tag names sort as their ranks do; the ObjectIds come from the tags, each once.
                int[] tagNumbers = this.Numbers(entry.FirstTag, entry.MoreTags, tagRanks);
                string[] names = new string[tagNumbers.Length];
                var objectIds = new List<string>(tagNumbers.Length);
                for (int i = 0; i < names.Length; i++)
                {
                    names[i] = this.tags.Name(tagNumbers[i]);
                    if (this.tags.ObjectId(tagNumbers[i]) is { } objectId)
                    {
                        objectIds.Add(objectId);
                    }
                }

                objectIds.Sort(StringComparer.Ordinal);
                string[] distinctIds = [.. objectIds.Where((id, i) => i == 0 || !string.Equals(id, objectIds[i - 1], StringComparison.Ordinal))];
                string[] repositories = [.. this.Numbers(entry.FirstRepository, entry.MoreRepositories, repositoryRanks).Select(r => this.repositories[r])];
                yield return new RegistryLayer(
                    this.blobs.DigestOf(number),
                    entry.Size,
                    this.mediaTypes[entry.MediaType],
                    repositories,
                    names,
                    names.Length,
                    distinctIds,
                    entry.IsConfig ? "Config" : "Layer");
            }
        }

        // The numbers of a first-and-more list, ordered by rank.
        private int[] Numbers(int first, int more, int[] ranks)
        {
            if (first < 0)
            {
                return [];
            }

            int[] numbers = more < 0 ? [first] : [first, .. this.lists[more]];
            int[] keys = [.. numbers.Select(n => ranks[n])];
            Array.Sort(keys, numbers);
            return numbers;
        }

        // The smallest rank in a first-and-more list; -1 for an empty one.
        private int Smallest(int first, int more, int[] ranks)
        {
            if (first < 0)
            {
                return -1;
            }

            int smallest = ranks[first];
            if (more >= 0)
            {
                foreach (int number in this.lists[more])
                {
                    smallest = Math.Min(smallest, ranks[number]);
                }
            }

            return smallest;
        }

        private List<int> ListOf(ref int list)
        {
            if (list < 0)
            {
                list = this.lists.Count;
                this.lists.Add([]);
            }

            return this.lists[list];
        }

        private int RepositoryNumber(string repository) => NumberOf(repository, this.repositoryNumbers, this.repositories);

        // A name's number: its place in names, added at the end the first time it is seen.
        private static int NumberOf(string name, Dictionary<string, int> numbers, List<string> names)
        {
            ref int number = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(numbers, name, out bool found);
            if (!found)
            {
                number = names.Count;
                names.Add(name);
            }

            return number;
        }

        // The blob's entry; a new one takes the descriptor, and one seen before takes it when this manifest comes first
        // in (repository, digest) order.
        private ref BlobUse EntryOf(BlobDescriptor blob, int repository, in OriginDigest origin)
        {
            ref BlobUse entry = ref this.blobs.Find(blob.Digest, out bool added);
            if (added)
            {
                entry.FirstRepository = -1;
                entry.MoreRepositories = -1;
                entry.FirstTag = -1;
                entry.MoreTags = -1;
            }
            else
            {
                int byRepository = string.CompareOrdinal(this.repositories[repository], this.repositories[entry.OriginRepository]);
                if (byRepository > 0 || (byRepository == 0 && this.blobs.CompareOrigin(ref entry, in origin) >= 0))
                {
                    return ref entry;
                }
            }

            entry.Size = blob.Size;
            entry.MediaType = this.MediaTypeNumber(blob.MediaType);
            this.blobs.SetOrigin(ref entry, repository, in origin);
            return ref entry;
        }

        // A streaming read parses each manifest anew: the few media types are kept once, by number.
        private int MediaTypeNumber(string mediaType) => NumberOf(mediaType, this.mediaTypeNumbers, this.mediaTypes);
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
