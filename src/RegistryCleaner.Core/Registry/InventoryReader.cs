using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Threading.Channels;

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

    /// <summary>Gets a progress callback, called from worker threads after each tag; it must be fast and thread-safe.</summary>
    public IProgress<InventoryProgress>? Progress { get; init; }

    /// <summary>
    /// Gets whether to read what refers to each manifest too: its referrers from the registry's referrers API where
    /// the registry offers one (registries without it keep them under tags of the referrers tag schema, which are read
    /// as tags), and the subjects that schema tags and <c>subject</c> fields name when no tag reaches them (an untagged
    /// subject). Planning needs them; listing images does not.
    /// </summary>
    public bool ReadReferrers { get; init; }
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

/// <summary>
/// Reads a registry into a <see cref="RegistryInventory"/>: lists tags, GETs every tagged manifest and index child
/// with bounded concurrency, and reads each distinct image configuration once for its creation time. Results stream
/// in arrival order through <see cref="ReadAsync"/>; <see cref="Inventory"/> is the snapshot once the stream ends.
/// One reader reads once.
/// </summary>
public sealed class InventoryReader
{
    private static readonly IReadOnlyList<ManifestRecord> NoChildren = Array.Empty<ManifestRecord>();
    private readonly RegistryClient client;
    private readonly InventoryReaderOptions options;
    private readonly ConcurrentDictionary<(string Repository, string Digest), Task<ManifestRecord>> manifests = new();
    private readonly ConcurrentDictionary<string, Task<(DateTimeOffset? Created, string? Platform)>> configs = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<TagRecord> tags = new();
    private readonly ConcurrentQueue<TagReadResult> errors = new();
    private readonly ConcurrentQueue<string> graphErrors = new();
    private readonly ConcurrentDictionary<(string Repository, string Digest), byte> referrersListed = new();
    private bool referrersApi;
    private RegistryInventory? inventory;
    private int started;

    /// <summary>Initializes a reader.</summary>
    /// <param name="client">The registry client.</param>
    /// <param name="options">What to read; everything when <see langword="null"/>.</param>
    public InventoryReader(RegistryClient client, InventoryReaderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        this.client = client;
        this.options = options ?? new InventoryReaderOptions();
    }

    /// <summary>Gets the snapshot, once <see cref="ReadAsync"/> has been enumerated to its end.</summary>
    /// <exception cref="InvalidOperationException">The read has not finished.</exception>
    public RegistryInventory Inventory => this.inventory
        ?? throw new InvalidOperationException("The inventory is not available until ReadAsync has been enumerated to its end.");

    /// <summary>Gets the tags that could not be read, once the read has finished.</summary>
    public IReadOnlyList<TagReadResult> Errors => this.errors.ToArray();

    /// <summary>Reads everything and returns the snapshot (per-tag errors are in <see cref="Errors"/>).</summary>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The inventory.</returns>
    public async Task<RegistryInventory> ReadAllAsync(CancellationToken cancellationToken)
    {
        await foreach (TagReadResult _ in this.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
        }

        return this.Inventory;
    }

    /// <summary>
    /// Streams one result per tag in a stable order: repository, then tag (ordinal), each as soon as it and every
    /// tag before it have been read (the tags are read in parallel; a slow tag holds back only the ones after it).
    /// Names the registry listed that are not names come first. Per-tag problems arrive as results with an
    /// <see cref="TagReadResult.Error"/>; whole-read problems (credentials refused, registry unreachable, a named
    /// repository missing, cancellation) end the stream with an exception.
    /// </summary>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The per-tag results.</returns>
    public async IAsyncEnumerable<TagReadResult> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref this.started, 1) != 0)
        {
            throw new InvalidOperationException("An InventoryReader reads once; create a new one to read again.");
        }

        bool fromCatalog = this.options.Repositories is null;
        IReadOnlyList<string> repositories = this.options.Repositories
            ?? await this.client.GetCatalogAsync(1000, cancellationToken).ConfigureAwait(false);
        repositories = repositories.Distinct(StringComparer.Ordinal).ToArray();
        // Repositories and tags that are not names, and repositories whose tag list broke a limit, are errors of the
        // read (yielded first); nothing else of them is requested.
        List<TagReadResult> rejected = this.RejectInvalidNames(ref repositories);
        List<(string Repository, string Tag)> work = await this.ListTagsAsync(repositories, fromCatalog, rejected, cancellationToken).ConfigureAwait(false);
        this.referrersApi = this.options.ReadReferrers && work.Count > 0
            && await this.client.SupportsReferrersApiAsync(work[0].Repository, cancellationToken).ConfigureAwait(false);

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // Unbounded: results that arrive ahead of their turn wait in the consumer's buffer, not in the workers.
        var channel = Channel.CreateUnbounded<(int Index, TagReadResult Result)>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = false });
        int done = 0;
        int concurrency = Math.Max(1, this.options.MaxConcurrency ?? this.client.Options.MaxConcurrency);
        Exception? failure = null;
        Task producer = Task.Run(
            async () =>
            {
                try
                {
                    await Parallel.ForEachAsync(
                        Enumerable.Range(0, work.Count),
                        new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = stop.Token },
                        async (index, ct) =>
                        {
                            TagReadResult result = await this.ReadTagAsync(work[index].Repository, work[index].Tag, ct).ConfigureAwait(false);
                            await channel.Writer.WriteAsync((index, result), ct).ConfigureAwait(false);
                            this.options.Progress?.Report(new InventoryProgress(repositories.Count, repositories.Count, Interlocked.Increment(ref done), work.Count));
                        }).ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    failure = ex;
                }
                finally
                {
                    channel.Writer.TryComplete();
                }
            },
            CancellationToken.None);

        try
        {
            foreach (TagReadResult result in rejected)
            {
                yield return result;
            }

            var early = new Dictionary<int, TagReadResult>();
            int next = 0;
            await foreach ((int index, TagReadResult result) in channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                early.Add(index, result);
                while (early.Remove(next, out TagReadResult? due))
                {
                    next++;
                    yield return due;
                }
            }
        }
        finally
        {
            // The consumer may stop early (Select-Object -First): stop the workers and wait for them.
            await stop.CancelAsync().ConfigureAwait(false);
            await producer.ConfigureAwait(false);
        }

        if (failure is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        }

        if (this.options.ReadReferrers)
        {
            await this.ReadUntaggedSubjectsAsync(concurrency, cancellationToken).ConfigureAwait(false);
        }

        this.inventory = this.BuildInventory(repositories, fromCatalog);
    }

    /// <summary>
    /// Takes the repositories that are not names by the distribution grammar out of the read (a hostile catalog's
    /// <c>x/%2E%2E/app</c> would leave <c>/v2/</c>): each is an error for that repository, naming it escaped.
    /// </summary>
    private List<TagReadResult> RejectInvalidNames(ref IReadOnlyList<string> repositories)
    {
        var rejected = new List<TagReadResult>();
        if (repositories.All(RegistryNames.IsRepository))
        {
            return rejected;
        }

        foreach (string repository in repositories)
        {
            if (RegistryNames.RepositoryError(repository) is { } error)
            {
                rejected.Add(this.Rejected(RegistryNames.Quote(repository), string.Empty, $"Registry {this.client.Endpoint.DisplayName} listed a repository that is not a repository name, so it is not read: {error}."));
            }
        }

        repositories = repositories.Where(RegistryNames.IsRepository).ToArray();
        return rejected;
    }

    private TagReadResult Rejected(string repository, string tag, string message)
    {
        var result = new TagReadResult(repository, tag, null, NoChildren, new RegistryNameException(this.client.Endpoint.DisplayName, message));
        this.errors.Enqueue(result);
        return result;
    }

    private async Task<List<(string Repository, string Tag)>> ListTagsAsync(IReadOnlyList<string> repositories, bool fromCatalog, List<TagReadResult> rejected, CancellationToken cancellationToken)
    {
        var perRepository = new IReadOnlyList<string>[repositories.Count];
        int listed = 0;
        await Parallel.ForEachAsync(
            Enumerable.Range(0, repositories.Count),
            new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = cancellationToken },
            async (i, ct) =>
            {
                try
                {
                    perRepository[i] = await this.client.ListTagsAsync(repositories[i], 1000, ct).ConfigureAwait(false);
                }
                catch (RepositoryNotFoundException) when (fromCatalog)
                {
                    // A catalog entry can outlive its last tag; it simply has nothing to read.
                    perRepository[i] = Array.Empty<string>();
                }
                catch (RegistryLimitException ex)
                {
                    // A tag list over its limits is an error for that repository: none of its tags is read, and the
                    // inventory is incomplete, so no plan deletes anything from it.
                    perRepository[i] = Array.Empty<string>();
                    var unlisted = new TagReadResult(repositories[i], string.Empty, null, NoChildren, new RegistryLimitException(ex.Registry, ex.Limit, $"{repositories[i]}: {ex.Message}", ex));
                    this.errors.Enqueue(unlisted);
                    lock (rejected)
                    {
                        rejected.Add(unlisted);
                    }
                }

                this.options.Progress?.Report(new InventoryProgress(Interlocked.Increment(ref listed), repositories.Count, 0, 0));
            }).ConfigureAwait(false);

        var work = new List<(string, string)>();
        Func<string, string, bool>? filter = this.options.TagFilter;
        foreach (int i in Enumerable.Range(0, repositories.Count).OrderBy(i => repositories[i], StringComparer.Ordinal))
        {
            foreach (string tag in perRepository[i].Order(StringComparer.Ordinal))
            {
                if (RegistryNames.TagError(tag) is { } error)
                {
                    // Never a URL: a tag such as a/../../b%2F.. would leave the repository's endpoint.
                    rejected.Add(this.Rejected(repositories[i], RegistryNames.Quote(tag), $"Registry {this.client.Endpoint.DisplayName} listed a tag of {repositories[i]} that is not a tag, so it is not read: {error}."));
                    continue;
                }

                if (filter is null || filter(repositories[i], tag))
                {
                    work.Add((repositories[i], tag));
                }
            }
        }

        return work;
    }

    private async Task<TagReadResult> ReadTagAsync(string repository, string tag, CancellationToken cancellationToken)
    {
        try
        {
            ManifestContent content = await this.client.GetManifestAsync(repository, tag, cancellationToken).ConfigureAwait(false);
            ManifestRecord manifest = await this.manifests.GetOrAdd(
                (repository, content.Digest),
                static (key, state) => state.Reader.BuildManifestAsync(key.Repository, state.Content, state.Tag, state.Token),
                (Reader: this, Content: content, Tag: tag, Token: cancellationToken)).ConfigureAwait(false);

            IReadOnlyList<ManifestRecord> children = manifest.Children.Count == 0
                ? NoChildren
                : await this.DescendantsAsync(repository, tag, manifest, cancellationToken).ConfigureAwait(false);
            if (this.referrersApi)
            {
                await this.ReadReferrersAsync(repository, tag, [manifest, .. children], 1, cancellationToken).ConfigureAwait(false);
            }

            this.tags.Enqueue(new TagRecord(repository, tag, manifest.Digest));
            return new TagReadResult(repository, tag, manifest, children, null);
        }
        catch (RegistryException ex) when (ex is not (RegistryAuthenticationException or RegistryUnreachableException or RegistryCertificateException))
        {
            // The error must name the tag the user knows, also when an index child failed.
            if (ex is ManifestGraphException)
            {
                this.graphErrors.Enqueue(ex.Message);
            }

            RegistryException wrapped = ex switch
            {
                ManifestGraphException => ex,
                ManifestFormatException format when format.Reference == tag => ex,
                ManifestFormatException => new ManifestFormatException(ex.Registry, repository, tag, "a child manifest is malformed: " + ex.Message, ex),
                RegistryLimitException limit => new RegistryLimitException(ex.Registry, limit.Limit, $"{repository}:{tag}: {ex.Message}", ex),
                BlobContentException => new BlobContentException(ex.Registry, $"{repository}:{tag}: {ex.Message}", ex),
                _ => new RegistryException(ex.Registry, $"{repository}:{tag}: {ex.Message}", ex.StatusCode, ex),
            };
            var failed = new TagReadResult(repository, tag, null, NoChildren, wrapped);
            this.errors.Enqueue(failed);
            return failed;
        }
    }

    /// <summary>
    /// Reads every manifest under an index at any depth, each once, parents first. An index that contains itself, or
    /// nesting deeper than <see cref="ManifestGraphException.MaxIndexDepth"/>, is an error for the tag.
    /// </summary>
    private async Task<IReadOnlyList<ManifestRecord>> DescendantsAsync(string repository, string tag, ManifestRecord index, CancellationToken cancellationToken)
    {
        var found = new List<ManifestRecord>();
        var heights = new Dictionary<string, int>(StringComparer.Ordinal);
        var path = new HashSet<string>(StringComparer.Ordinal) { index.Digest };
        await this.WalkAsync(repository, tag, index, 1, path, heights, found, cancellationToken).ConfigureAwait(false);
        return found;
    }

    // Returns how many index levels the walked index spans (1 for an index of images).
    private async Task<int> WalkAsync(
        string repository, string tag, ManifestRecord index, int depth, HashSet<string> path, Dictionary<string, int> heights, List<ManifestRecord> found, CancellationToken cancellationToken)
    {
        int limit = ManifestGraphException.MaxIndexDepth;
        if (depth > limit)
        {
            throw new ManifestGraphException(this.client.Endpoint.DisplayName, $"{repository}:{tag}: its indexes nest deeper than {limit} levels (at {index.Digest}), so nothing under it can be judged.");
        }

        var pending = new Task<ManifestRecord>[index.Children.Count];
        for (int i = 0; i < pending.Length; i++)
        {
            pending[i] = this.manifests.GetOrAdd(
                (repository, index.Children[i].Digest),
                static (key, state) => state.Reader.FetchManifestAsync(key.Repository, key.Digest, state.Token),
                (Reader: this, Token: cancellationToken));
        }

        ManifestRecord[] children = await Task.WhenAll(pending).ConfigureAwait(false);
        int tallest = 0;
        foreach (ManifestRecord child in children)
        {
            if (path.Contains(child.Digest))
            {
                throw new ManifestGraphException(this.client.Endpoint.DisplayName, $"{repository}:{tag}: index {index.Digest} contains {child.Digest}, which contains it again (a cycle), so nothing under it can be judged.");
            }

            if (heights.TryGetValue(child.Digest, out int height))
            {
                // Reached again by another path: only its depth on this path needs checking.
                if (depth + height > limit)
                {
                    throw new ManifestGraphException(this.client.Endpoint.DisplayName, $"{repository}:{tag}: its indexes nest deeper than {limit} levels (at {child.Digest}), so nothing under it can be judged.");
                }
            }
            else
            {
                found.Add(child);
                height = 0;
                if (child.Children.Count > 0)
                {
                    path.Add(child.Digest);
                    height = await this.WalkAsync(repository, tag, child, depth + 1, path, heights, found, cancellationToken).ConfigureAwait(false);
                    path.Remove(child.Digest);
                }

                heights[child.Digest] = height;
            }

            tallest = Math.Max(tallest, height);
        }

        return tallest + 1;
    }

    /// <summary>
    /// Reads the referrers of each manifest from the referrers API, with their own index trees and referrers (a
    /// signature of an SBOM), each subject listed once per read.
    /// </summary>
    private async Task ReadReferrersAsync(string repository, string tag, IReadOnlyList<ManifestRecord> subjects, int depth, CancellationToken cancellationToken)
    {
        var next = new List<ManifestRecord>();
        foreach (ManifestRecord subject in subjects)
        {
            if (!this.referrersListed.TryAdd((repository, subject.Digest), 0))
            {
                continue;
            }

            IReadOnlyList<ReferrerDescriptor>? listed = await this.client.GetReferrersAsync(repository, subject.Digest, cancellationToken).ConfigureAwait(false);
            if (listed is null || listed.Count == 0)
            {
                continue;
            }

            if (depth > ManifestGraphException.MaxIndexDepth)
            {
                throw new ManifestGraphException(this.client.Endpoint.DisplayName, $"{repository}:{tag}: referrers refer to referrers deeper than {ManifestGraphException.MaxIndexDepth} levels (at {subject.Digest}), so nothing under it can be judged.");
            }

            foreach (ReferrerDescriptor referrer in listed.DistinctBy(r => r.Digest))
            {
                ManifestRecord manifest = await this.manifests.GetOrAdd(
                    (repository, referrer.Digest),
                    static (key, state) => state.Reader.FetchManifestAsync(key.Repository, key.Digest, state.Token),
                    (Reader: this, Token: cancellationToken)).ConfigureAwait(false);
                next.Add(manifest);
                if (manifest.Children.Count > 0)
                {
                    next.AddRange(await this.DescendantsAsync(repository, tag, manifest, cancellationToken).ConfigureAwait(false));
                }
            }
        }

        if (next.Count > 0)
        {
            await this.ReadReferrersAsync(repository, tag, next, depth + 1, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Reads the subjects that referrer tags (<c>sha256-&lt;hex&gt;.sig</c> and the like) and <c>subject</c> fields name
    /// when no tag reached them: an untagged subject still exists and keeps its referrers; one that is gone (404)
    /// leaves them without a subject.
    /// </summary>
    private async Task ReadUntaggedSubjectsAsync(int concurrency, CancellationToken cancellationToken)
    {
        var wanted = new HashSet<(string Repository, string Digest)>();
        foreach (TagRecord tag in this.tags)
        {
            if (ReferrerTagSchema.TryParse(tag.Tag, out string? subject, out _))
            {
                wanted.Add((tag.Repository, subject));
            }
        }

        foreach (Task<ManifestRecord> task in this.manifests.Values)
        {
            if (task.IsCompletedSuccessfully && task.Result.Subject is { } subject)
            {
                wanted.Add((task.Result.Repository, subject));
            }
        }

        wanted.RemoveWhere(this.manifests.ContainsKey);
        await Parallel.ForEachAsync(
            wanted,
            new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = cancellationToken },
            async (key, token) =>
            {
                try
                {
                    ManifestRecord subject = await this.manifests.GetOrAdd(
                        key,
                        static (k, state) => state.Reader.FetchManifestAsync(k.Repository, k.Digest, state.Token),
                        (Reader: this, Token: token)).ConfigureAwait(false);
                    IReadOnlyList<ManifestRecord> children = subject.Children.Count == 0
                        ? NoChildren
                        : await this.DescendantsAsync(key.Repository, key.Digest, subject, token).ConfigureAwait(false);
                    if (this.referrersApi)
                    {
                        await this.ReadReferrersAsync(key.Repository, key.Digest, [subject, .. children], 1, token).ConfigureAwait(false);
                    }
                }
                catch (RegistryException ex) when (ex.StatusCode == System.Net.HttpStatusCode.NotFound && ex is not RepositoryNotFoundException)
                {
                    // The subject is gone: its referrers have none.
                    this.manifests.TryRemove(key, out _);
                }
                catch (RegistryException ex) when (ex is not (RegistryAuthenticationException or RegistryUnreachableException or RegistryCertificateException))
                {
                    if (ex is ManifestGraphException)
                    {
                        this.graphErrors.Enqueue(ex.Message);
                    }

                    this.errors.Enqueue(new TagReadResult(
                        key.Repository,
                        key.Digest,
                        null,
                        NoChildren,
                        new RegistryException(ex.Registry, $"{key.Repository}@{key.Digest} (the subject of a referrer): {ex.Message}", ex.StatusCode, ex)));
                }
            }).ConfigureAwait(false);
    }

    private async Task<ManifestRecord> FetchManifestAsync(string repository, string digest, CancellationToken cancellationToken)
    {
        ManifestContent content = await this.client.GetManifestAsync(repository, digest, cancellationToken).ConfigureAwait(false);
        return await this.BuildManifestAsync(repository, content, digest, cancellationToken).ConfigureAwait(false);
    }

    private async Task<ManifestRecord> BuildManifestAsync(string repository, ManifestContent content, string reference, CancellationToken cancellationToken)
    {
        ManifestRecord manifest = ManifestParser.Parse(this.client.Endpoint.DisplayName, repository, content.Digest, content.MediaType, content.Content, reference);
        if (manifest.Config is not { } config || !IsImageConfig(config.MediaType))
        {
            return manifest;
        }

        (DateTimeOffset? created, string? platform) = await this.configs.GetOrAdd(
            config.Digest,
            static (digest, state) => state.Reader.FetchConfigAsync(state.Repository, digest, state.Size, state.Token),
            (Reader: this, Repository: repository, config.Size, Token: cancellationToken)).ConfigureAwait(false);
        return manifest with { Created = created, Platform = platform };
    }

    private async Task<(DateTimeOffset? Created, string? Platform)> FetchConfigAsync(string repository, string digest, long size, CancellationToken cancellationToken)
    {
        ImageConfigCache? cache = this.options.ConfigCache;
        if (cache is not null && cache.TryGet(digest, out ImageConfigFacts known))
        {
            return (known.Created, known.Platform);
        }

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
        ManifestRecord[] manifestRecords = this.manifests.Values
            .Where(static task => task.IsCompletedSuccessfully)
            .Select(static task => task.Result)
            .OrderBy(static m => m.Repository, StringComparer.Ordinal)
            .ThenBy(static m => m.Digest, StringComparer.Ordinal)
            .ToArray();
        bool complete = fromCatalog && this.options.TagFilter is null && this.errors.IsEmpty;
        return new RegistryInventory(this.client.Endpoint.DisplayName, repositories, tagRecords, manifestRecords, complete)
        {
            GraphErrors = this.graphErrors.ToArray(),
        };
    }
}
