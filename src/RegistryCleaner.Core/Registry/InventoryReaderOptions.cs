namespace RegistryCleaner.Registry;

/// <summary>Options of an <see cref="InventoryReader"/>.</summary>
public sealed class InventoryReaderOptions
{
    /// <summary>
    /// Gets the repositories to read; <see langword="null"/> reads every repository of the catalog. A named repository
    /// that does not exist stops the read with <see cref="RepositoryNotFoundException"/>. Only a catalog read, without
    /// tag filter and without per-tag errors, yields <see cref="RegistryInventory.Complete"/>: blobs are shared across
    /// repositories, so exact reclaimable bytes need every repository even when only some are cleaned.
    /// </summary>
    public IReadOnlyList<string>? Repositories { get; init; }

    /// <summary>Gets a filter on (repository, tag); <see langword="null"/> reads every tag. A filter makes the inventory incomplete.</summary>
    public Func<string, string, bool>? TagFilter { get; init; }

    /// <summary>Gets the number of tags read concurrently; <see langword="null"/> uses the client's <see cref="RegistryClientOptions.MaxConcurrency"/>.</summary>
    public int? MaxConcurrency { get; init; }

    /// <summary>
    /// Gets a cache of image configurations by digest; a configuration found there is not downloaded, one downloaded
    /// is added to it (the caller saves it). <see langword="null"/> downloads every distinct configuration.
    /// </summary>
    public ImageConfigCache? ConfigCache { get; init; }

    /// <summary>
    /// Gets whether each image configuration is read for <see cref="ManifestRecord.Created"/> and
    /// <see cref="ManifestRecord.Platform"/> (the default), from <see cref="ConfigCache"/> or downloaded. Without it
    /// neither is read, and both stay <see langword="null"/>: a caller that needs only manifests and their blobs saves a
    /// request per configuration not cached, and the cache.
    /// </summary>
    public bool ReadConfigurations { get; init; } = true;

    /// <summary>Gets a progress callback, called from worker threads after each tag; it must be fast and thread-safe.</summary>
    public IProgress<InventoryProgress>? Progress { get; init; }

    /// <summary>
    /// Gets whether to read what refers to each manifest too: its referrers from the registry's referrers API where
    /// the registry offers one (registries without it keep them under tags of the referrers tag schema, which are read
    /// as tags), and the subjects that schema tags and <c>subject</c> fields name when no tag reaches them (an untagged
    /// subject). Planning needs them; listing images does not.
    /// </summary>
    public bool ReadReferrers { get; init; }

    /// <summary>
    /// Gets whether the reader keeps what it reads for <see cref="InventoryReader.Inventory"/> (the default). Without
    /// it, a tag's manifests live only as long as its <see cref="TagReadResult"/>: memory stays flat however many tags
    /// stream through, and <see cref="InventoryReader.Inventory"/> is not available. Index children and image
    /// configurations are still read once per read.
    /// </summary>
    public bool KeepInventory { get; init; } = true;
}

/// <summary>How far an inventory read has come.</summary>
/// <param name="RepositoriesListed">Repositories whose tags have been listed.</param>
/// <param name="RepositoriesTotal">Repositories to list.</param>
/// <param name="TagsDone">Tags read (successfully or not).</param>
/// <param name="TagsTotal">Tags to read; known once every repository is listed, 0 before.</param>
public sealed record InventoryProgress(int RepositoriesListed, int RepositoriesTotal, int TagsDone, int TagsTotal);

/// <summary>The result of reading one tag: its manifest and (for an index) resolved children, or an error.</summary>
/// <param name="Repository">The repository.</param>
/// <param name="Tag">The tag.</param>
/// <param name="Manifest">The tagged manifest; <see langword="null"/> on error.</param>
/// <param name="Children">The manifests under an index at any depth (children, their children, ...), each once, parents first; empty for an image manifest or on error.</param>
/// <param name="Error">What went wrong for this tag only (malformed manifest, missing blob, tag deleted meanwhile, a limit hit).</param>
/// <remarks>A repository whose tags could not be listed (a listing limit hit) is one result with an empty <see cref="Tag"/>.</remarks>
public sealed record TagReadResult(string Repository, string Tag, ManifestRecord? Manifest, IReadOnlyList<ManifestRecord> Children, RegistryException? Error)
{
    /// <summary>Gets the manifest digest the tag resolved to, when it was read.</summary>
    public string? Digest => this.Manifest?.Digest;

    /// <summary>Gets the tag as <c>repository:tag</c>; a whole repository that could not be read is its name alone.</summary>
    public string Name => this.Tag.Length == 0 ? this.Repository : $"{this.Repository}:{this.Tag}";
}
