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
    /// tags are read: a streaming read keeps only what the output needs (per blob its descriptor, repositories, tag
    /// numbers and ObjectIds; per tag its <c>repository:tag</c>), not the inventory.
    /// </summary>
    public sealed class LayerTally
    {
        private static readonly Dictionary<(string, string), ManifestRecord> NoChildren = [];
        private readonly Dictionary<string, BlobUse> blobs = new(StringComparer.Ordinal);
        private readonly List<string?> names = [];
        private readonly Dictionary<string, string> mediaTypes = new(StringComparer.Ordinal);

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
            // Repository, then tag: each blob with the first image (repository:tag) that needs it, then by digest.
            BlobUse[] ordered = [.. this.blobs.Values
                .OrderBy(static e => e.FirstRepository ?? string.Empty, StringComparer.Ordinal)
                .ThenBy(static e => e.FirstName ?? string.Empty, StringComparer.Ordinal)
                .ThenBy(static e => e.Blob.Digest, StringComparer.Ordinal)];
            this.blobs.Clear();
            return Build(ordered, this.names);
        }

        /// <summary>Marks the manifest's repository on the blobs it references.</summary>
        /// <param name="manifest">A manifest of the registry.</param>
        internal void AddManifest(ManifestRecord manifest)
        {
            // A configuration is known by its place in a manifest, not by its media type (Docker's is
            // application/vnd.docker.container.image.v1+json).
            if (manifest.Config is { } config)
            {
                this.EntryOf(config, manifest).IsConfig = true;
            }

            foreach (BlobDescriptor blob in BlobsOf(manifest))
            {
                this.EntryOf(blob, manifest).AddRepository(manifest.Repository);
            }
        }

        /// <summary>Numbers the next tag and adds it to the blobs its images need.</summary>
        /// <param name="repository">The tag's repository.</param>
        /// <param name="tag">The tag.</param>
        /// <param name="manifest">The manifest it points at; <see langword="null"/> when it was not read.</param>
        /// <param name="byKey">The manifests an index's children are found in.</param>
        internal void AddTag(string repository, string tag, ManifestRecord? manifest, Dictionary<(string, string), ManifestRecord> byKey)
        {
            int number = this.names.Count;
            if (manifest is null)
            {
                this.names.Add(null);
                return;
            }

            string name = $"{repository}:{tag}";
            this.names.Add(name);
            string? objectId = ObjectId.FromTag(tag);
            foreach (ManifestRecord image in ImagesOf(manifest, byKey))
            {
                foreach (BlobDescriptor blob in BlobsOf(image))
                {
                    this.EntryOf(blob, image).AddTag(number, name, objectId);
                }
            }
        }

        private static IEnumerable<RegistryLayer> Build(BlobUse[] ordered, List<string?> names)
        {
            foreach (BlobUse entry in ordered)
            {
                string[] tags = entry.Tags(names);
                yield return new RegistryLayer(entry.Blob.Digest, entry.Blob.Size, entry.Blob.MediaType, entry.Repositories(), tags, tags.Length, entry.ObjectIds(), entry.IsConfig ? "Config" : "Layer");
            }
        }

        private BlobUse EntryOf(BlobDescriptor blob, ManifestRecord manifest)
        {
            if (!this.blobs.TryGetValue(blob.Digest, out BlobUse? entry))
            {
                // A streaming read parses each manifest anew: the few media types are kept once, not once per blob.
                ref string? mediaType = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(this.mediaTypes, blob.MediaType, out _);
                mediaType ??= blob.MediaType;
                if (!ReferenceEquals(mediaType, blob.MediaType))
                {
                    blob = blob with { MediaType = mediaType };
                }

                entry = new BlobUse(blob, manifest.Repository, manifest.Digest);
                this.blobs.Add(blob.Digest, entry);
            }
            else if (!ReferenceEquals(entry.Blob, blob))
            {
                entry.Describe(blob, manifest.Repository, manifest.Digest);
            }

            return entry;
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
