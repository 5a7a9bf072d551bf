using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace RegistryCleaner.Registry;

/// <summary>
/// Reads a registry into a <see cref="RegistryInventory"/>: lists tags, GETs every tagged manifest and index child
/// with bounded concurrency, and reads each distinct image configuration once for its creation time. Results stream
/// in arrival order through <see cref="ReadAsync"/>; <see cref="Inventory"/> is the snapshot once the stream ends.
/// One reader reads once.
/// </summary>
public sealed partial class InventoryReader
{
    private static readonly IReadOnlyList<ManifestRecord> NoChildren = Array.Empty<ManifestRecord>();
    private readonly RegistryClient client;
    private readonly InventoryReaderOptions options;
    private readonly ConcurrentDictionary<(string Repository, string Digest), Task<ManifestRecord>> manifests = new();
    private readonly ConcurrentDictionary<string, Task<(DateTimeOffset? Created, string? Platform)>> configs = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, BlobDescriptor> blobs = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Digest, long Size, string MediaType), BlobDescriptor> blobVariants = new();
    private readonly ConcurrentDictionary<string, string> strings = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<TagRecord> tags = new();
    private readonly ConcurrentQueue<TagReadResult> errors = new();
    private readonly ConcurrentQueue<string> graphErrors = new();
    private readonly ConcurrentDictionary<(string Repository, string Digest), byte> referrersListed = new();
    private bool referrersApi;
    private RegistryInventory? inventory;
    private int started;
    private bool finished;

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
        ?? throw new InvalidOperationException(this.finished
            ? "The inventory is not kept by a read with KeepInventory off."
            : "The inventory is not available until ReadAsync has been enumerated to its end.");

    // Whether tagged manifests and tags are kept: for the snapshot, and for the untagged subjects referrers name.
    private bool Keeps => this.options.KeepInventory || this.options.ReadReferrers;

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
        // Results that arrive ahead of their turn wait in the consumer's buffer, not in the workers; the channel is
        // bounded so that a consumer that stops taking (its own output is behind) stops the reading too.
        int done = 0;
        int concurrency = Math.Max(1, this.options.MaxConcurrency ?? this.client.Options.MaxConcurrency);
        var channel = Channel.CreateBounded<(int Index, TagReadResult Result)>(new BoundedChannelOptions(Math.Max(256, 4 * concurrency)) { SingleReader = true, SingleWriter = false });
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

        if (this.Keeps)
        {
            this.inventory = this.BuildInventory(repositories, fromCatalog);
        }

        // What was shared while reading is now held by the snapshot alone; the working tables (an entry per manifest,
        // configuration and blob) end with the read, however long the caller keeps the reader.
        this.blobs.Clear();
        this.blobVariants.Clear();
        this.strings.Clear();
        this.manifests.Clear();
        this.configs.Clear();
        this.tags.Clear();
        this.referrersListed.Clear();
        this.finished = true;
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
            // A streaming read keeps no tagged manifest: two tags on one digest each parse it (no second request).
            ManifestRecord manifest = await (this.Keeps
                ? this.manifests.GetOrAdd(
                    (repository, content.Digest),
                    static (key, state) => state.Reader.BuildManifestAsync(key.Repository, state.Content, state.Tag, state.Token),
                    (Reader: this, Content: content, Tag: tag, Token: cancellationToken))
                : this.BuildManifestAsync(repository, content, tag, cancellationToken)).ConfigureAwait(false);

            IReadOnlyList<ManifestRecord> children = manifest.Children.Count == 0
                ? NoChildren
                : await this.DescendantsAsync(repository, tag, manifest, cancellationToken).ConfigureAwait(false);
            if (this.referrersApi)
            {
                await this.ReadReferrersAsync(repository, tag, [manifest, .. children], 1, cancellationToken).ConfigureAwait(false);
            }

            if (this.Keeps)
            {
                this.tags.Enqueue(new TagRecord(repository, tag, manifest.Digest));
            }

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
}
