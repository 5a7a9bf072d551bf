namespace RegistryCleaner.Registry;

/// <summary>How an <see cref="InventoryReader"/> builds manifests, reads configurations and assembles the snapshot.</summary>
public sealed partial class InventoryReader
{
    private async Task<ManifestRecord> FetchManifestAsync(string repository, string digest, CancellationToken cancellationToken)
    {
        ManifestContent content = await this.client.GetManifestAsync(repository, digest, cancellationToken).ConfigureAwait(false);
        return await this.BuildManifestAsync(repository, content, digest, cancellationToken).ConfigureAwait(false);
    }

    private async Task<ManifestRecord> BuildManifestAsync(string repository, ManifestContent content, string reference, CancellationToken cancellationToken)
    {
        ManifestRecord manifest = ManifestParser.Parse(this.client.Endpoint.DisplayName, repository, content.Digest, content.MediaType, content.Content, reference);
        if (this.Keeps)
        {
            manifest = this.Compact(manifest);
        }

        if (!this.options.ReadConfigurations || manifest.Config is not { } config || !IsImageConfig(config.MediaType))
        {
            return manifest;
        }

        (DateTimeOffset? created, string? platform) = await this.ConfigFactsAsync(repository, config, cancellationToken).ConfigureAwait(false);
        return manifest with { Created = created, Platform = this.Intern(platform) };
    }

    // Each distinct configuration is read once per read. The cache is asked first, and a configuration downloaded and
    // cached is answered by the cache from then on, so a read remembers nothing per configuration but the cache's
    // entry (32 bytes of digest and the facts); the table here holds only the downloads in flight, and those the
    // cache refused.
    private async Task<(DateTimeOffset? Created, string? Platform)> ConfigFactsAsync(string repository, BlobDescriptor config, CancellationToken cancellationToken)
    {
        ImageConfigCache? cache = this.options.ConfigCache;
        if (cache is not null && cache.TryGet(config.Digest, out ImageConfigFacts known))
        {
            return (known.Created, known.Platform);
        }

        Task<(DateTimeOffset? Created, string? Platform)> download = this.configs.GetOrAdd(
            config.Digest,
            static (digest, state) => state.Reader.FetchConfigAsync(state.Repository, digest, state.Size, state.Token),
            (Reader: this, Repository: repository, config.Size, Token: cancellationToken));
        (DateTimeOffset? Created, string? Platform) facts = await download.ConfigureAwait(false);
        if (cache is not null && cache.TryGet(config.Digest, out _))
        {
            this.configs.TryRemove(new KeyValuePair<string, Task<(DateTimeOffset? Created, string? Platform)>>(config.Digest, download));
        }

        return facts;
    }

    /// <summary>
    /// Makes a manifest that the snapshot keeps share what it has in common with the others: one descriptor (and one
    /// digest string) per distinct blob, one string per media type, platform and artifact type, and an array sized to
    /// its layers. A tag keeps only what is its own: its manifest digest and its unique blobs.
    /// </summary>
    private ManifestRecord Compact(ManifestRecord manifest)
    {
        BlobDescriptor? config = manifest.Config is { } c ? this.Share(c) : null;
        IReadOnlyList<BlobDescriptor> layers = manifest.Layers;
        if (layers.Count > 0)
        {
            var shared = new BlobDescriptor[layers.Count];
            for (int i = 0; i < shared.Length; i++)
            {
                shared[i] = this.Share(layers[i]);
            }

            layers = shared;
        }

        IReadOnlyList<ChildDescriptor> children = manifest.Children;
        if (children.Count > 0)
        {
            var shared = new ChildDescriptor[children.Count];
            for (int i = 0; i < shared.Length; i++)
            {
                ChildDescriptor child = children[i];
                shared[i] = new ChildDescriptor(this.Intern(child.Digest), child.Size, this.Intern(child.MediaType), this.Intern(child.Platform));
            }

            children = shared;
        }

        return manifest with
        {
            MediaType = this.Intern(manifest.MediaType),
            Config = config,
            Layers = layers,
            Children = children,
            Subject = this.Intern(manifest.Subject),
            ArtifactType = this.Intern(manifest.ArtifactType),
        };
    }

    // One descriptor per distinct blob: the same digest with the same size and media type is the same descriptor.
    // Keyed by digest alone, the table's entry per blob is a quarter smaller; the rare descriptor that declares a known
    // digest with another size or media type is shared through a second table keyed by all three. Foreign layers (with
    // URLs) keep their own.
    private BlobDescriptor Share(BlobDescriptor blob)
    {
        if (blob.Urls is not null)
        {
            return blob;
        }

        BlobDescriptor shared = this.blobs.GetOrAdd(blob.Digest, static (_, state) => state.Reader.Interned(state.Blob), (Reader: this, Blob: blob));
        return shared.Size == blob.Size && string.Equals(shared.MediaType, blob.MediaType, StringComparison.Ordinal)
            ? shared
            : this.blobVariants.GetOrAdd((blob.Digest, blob.Size, blob.MediaType), static (_, state) => state.Reader.Interned(state.Blob), (Reader: this, Blob: blob));
    }

    private BlobDescriptor Interned(BlobDescriptor blob) => blob with { MediaType = this.Intern(blob.MediaType) };

    // Media types, child digests, platforms and artifact types repeat across manifests; each is kept once.
    [return: System.Diagnostics.CodeAnalysis.NotNullIfNotNull(nameof(value))]
    private string? Intern(string? value) => value is null ? null : this.strings.GetOrAdd(value, value);

    private async Task<(DateTimeOffset? Created, string? Platform)> FetchConfigAsync(string repository, string digest, long size, CancellationToken cancellationToken)
    {
        ImageConfigCache? cache = this.options.ConfigCache;
        long max = this.client.Options.MaxConfigBytes;
        if (size < 0 || size > max)
        {
            throw new RegistryLimitException(
                this.client.Endpoint.DisplayName,
                nameof(RegistryClientOptions.MaxConfigBytes),
                string.Create(System.Globalization.CultureInfo.InvariantCulture, $"The image configuration {repository}@{digest} is {size} bytes by its descriptor, over {BoundedContent.Format(max)} (MaxConfigBytes); it was not downloaded."));
        }

        // Read up to its descriptor's size and checked against its digest before it is parsed or cached.
        byte[] blob = await this.client.GetBlobAsync(repository, digest, size, cancellationToken).ConfigureAwait(false);
        (DateTimeOffset? created, string? platform) = ManifestParser.ParseConfig(blob);
        cache?.Add(digest, blob, new ImageConfigFacts(created, platform));
        return (created, platform);
    }

    // Artifact configs (Helm charts, signatures, the OCI empty descriptor) carry no image creation time.
    private static bool IsImageConfig(string mediaType) =>
        mediaType is "application/vnd.docker.container.image.v1+json" or "application/vnd.oci.image.config.v1+json" or "";

    private RegistryInventory BuildInventory(IReadOnlyList<string> repositories, bool fromCatalog)
    {
        TagRecord[] tagRecords = this.tags.ToArray();
        Array.Sort(tagRecords, static (a, b) =>
        {
            int byRepository = string.CompareOrdinal(a.Repository, b.Repository);
            return byRepository != 0 ? byRepository : string.CompareOrdinal(a.Tag, b.Tag);
        });
        // Sorted in place: repository and digest are the table's key, so the order is total without a stable sort,
        // and no key arrays or buffers as large as the table are allocated beside it.
        var manifestRecords = new List<ManifestRecord>(this.manifests.Count);
        foreach (KeyValuePair<(string Repository, string Digest), Task<ManifestRecord>> entry in this.manifests)
        {
            if (entry.Value.IsCompletedSuccessfully)
            {
                manifestRecords.Add(entry.Value.Result);
            }
        }

        manifestRecords.Sort(static (a, b) =>
        {
            int byRepository = string.CompareOrdinal(a.Repository, b.Repository);
            return byRepository != 0 ? byRepository : string.CompareOrdinal(a.Digest, b.Digest);
        });
        bool complete = fromCatalog && this.options.TagFilter is null && this.errors.IsEmpty;
        return new RegistryInventory(this.client.Endpoint.DisplayName, repositories, tagRecords, manifestRecords.ToArray(), complete)
        {
            GraphErrors = this.graphErrors.ToArray(),
        };
    }
}
