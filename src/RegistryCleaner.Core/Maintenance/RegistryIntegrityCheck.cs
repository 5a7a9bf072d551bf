using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using RegistryCleaner.Registry;

namespace RegistryCleaner.Maintenance;

/// <summary>One image to check: a tag, a digest, or both (the digest is checked, the tag names it).</summary>
/// <param name="Repository">The repository.</param>
/// <param name="Tag">The tag, or <see langword="null"/>.</param>
/// <param name="Digest">The manifest digest, or <see langword="null"/> to check what the tag points at now.</param>
public sealed record IntegrityTarget(string Repository, string? Tag, string? Digest);

/// <summary>What is wrong with one manifest or blob an image needs.</summary>
/// <param name="Registry">The registry.</param>
/// <param name="Repository">The repository.</param>
/// <param name="Tag">The image's tag, when it has one.</param>
/// <param name="ImageDigest">The image's manifest digest, when it could be read.</param>
/// <param name="Kind"><c>Manifest</c> (the image's own), <c>Child</c> (of an index), <c>Config</c> or <c>Layer</c>.</param>
/// <param name="Digest">The digest of what is broken.</param>
/// <param name="Problem"><c>Missing</c> (404), <c>SizeMismatch</c>, <c>Corrupt</c> (content does not match its digest or is not a manifest) or <c>Unreadable</c> (any other answer).</param>
/// <param name="ExpectedSize">The size the referencing descriptor names, when there is one.</param>
/// <param name="ActualSize">The size the registry reports, when it answered.</param>
/// <param name="Reason">What was asked and answered, in words.</param>
public sealed record IntegrityProblem(
    string Registry,
    string Repository,
    string? Tag,
    string? ImageDigest,
    string Kind,
    string Digest,
    string Problem,
    long? ExpectedSize,
    long? ActualSize,
    string Reason);

/// <summary>What an integrity check looked at and found.</summary>
/// <param name="Registry">The registry.</param>
/// <param name="Repositories">The repositories checked.</param>
/// <param name="Images">The images (tags or digests) checked.</param>
/// <param name="Manifests">The distinct manifests read (images and index children).</param>
/// <param name="Blobs">The distinct blobs whose data was checked (configurations and layers, per repository).</param>
/// <param name="Problems">The problems found.</param>
/// <param name="BrokenImages">The images with at least one problem: pulling them fails.</param>
/// <param name="Healthy">Whether nothing is wrong.</param>
/// <param name="Duration">How long the check took.</param>
public sealed record IntegritySummary(
    string Registry,
    int Repositories,
    int Images,
    int Manifests,
    int Blobs,
    int Problems,
    int BrokenImages,
    bool Healthy,
    TimeSpan Duration);

/// <summary>Progress of a check, reported after each image.</summary>
/// <param name="ImagesDone">Images checked so far.</param>
/// <param name="ImagesTotal">Images to check.</param>
/// <param name="Problems">Problems found so far.</param>
public sealed record IntegrityProgress(int ImagesDone, int ImagesTotal, int Problems);

/// <summary>
/// Checks that everything a pull needs is there: for each image, its manifest (read by digest, so its content is
/// verified), every child of an index at any depth (whose size must be what the index says), and every configuration
/// and layer, whose last byte the registry must send from storage (a ranged GET, see
/// <see cref="RegistryClient.CheckBlobDataAsync"/>: HEAD can be answered from a cache) with the size the manifest
/// declares. What several images share is asked once per repository. Finds what garbage collection, a lost volume or a hand-deleted file broke before a pod meets
/// <c>ImagePullBackOff</c>.
/// </summary>
public sealed class RegistryIntegrityChecker
{
    private readonly RegistryClient client;
    private readonly ConcurrentDictionary<(string Repository, string Digest), Task<ManifestCheck>> manifests = new();
    private readonly ConcurrentDictionary<(string Repository, string Digest, long Size), Task<BlobCheck>> blobs = new();

    /// <summary>Initializes a checker.</summary>
    /// <param name="client">The registry (pull permission suffices).</param>
    public RegistryIntegrityChecker(RegistryClient client)
    {
        ArgumentNullException.ThrowIfNull(client);
        this.client = client;
    }

    /// <summary>Gets where progress goes (a worker thread reports it).</summary>
    public IProgress<IntegrityProgress>? Progress { get; init; }

    private string Registry => this.client.Endpoint.DisplayName;

    /// <summary>Lists every tag of the repositories as targets; a repository that does not exist has none.</summary>
    /// <param name="client">The registry.</param>
    /// <param name="repositories">The repositories.</param>
    /// <param name="cancellationToken">Cancels the listing.</param>
    /// <returns>One target per tag.</returns>
    public static async Task<IReadOnlyList<IntegrityTarget>> TagsOfAsync(RegistryClient client, IReadOnlyList<string> repositories, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(repositories);
        var targets = new List<IntegrityTarget>();
        foreach (string repository in repositories)
        {
            IReadOnlyList<string> tags;
            try
            {
                tags = await client.ListTagsAsync(repository, 1000, cancellationToken).ConfigureAwait(false);
            }
            catch (RepositoryNotFoundException)
            {
                continue;
            }

            targets.AddRange(tags.Select(tag => new IntegrityTarget(repository, tag, null)));
        }

        return targets;
    }

    /// <summary>Checks the images; each problem is handed to <paramref name="onProblem"/> as soon as it is found.</summary>
    /// <param name="targets">The images.</param>
    /// <param name="onProblem">Receives each problem (called from worker threads, one at a time).</param>
    /// <param name="cancellationToken">Cancels the check.</param>
    /// <returns>The summary.</returns>
    public async Task<IntegritySummary> CheckAsync(IReadOnlyList<IntegrityTarget> targets, Action<IntegrityProblem> onProblem, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentNullException.ThrowIfNull(onProblem);
        var clock = Stopwatch.StartNew();
        object gate = new();
        int done = 0;
        int problems = 0;
        int broken = 0;
        void Report(IntegrityProblem problem)
        {
            lock (gate)
            {
                problems++;
                onProblem(problem);
            }
        }

        await Parallel.ForEachAsync(
            targets,
            new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, this.client.Options.MaxConcurrency), CancellationToken = cancellationToken },
            async (target, token) =>
            {
                bool healthy = await this.CheckImageAsync(target, Report, token).ConfigureAwait(false);
                lock (gate)
                {
                    done++;
                    broken += healthy ? 0 : 1;
                    this.Progress?.Report(new IntegrityProgress(done, targets.Count, problems));
                }
            }).ConfigureAwait(false);

        return new IntegritySummary(
            this.Registry,
            targets.Select(t => t.Repository).Distinct(StringComparer.Ordinal).Count(),
            targets.Count,
            this.manifests.Count,
            this.blobs.Keys.Select(static k => (k.Repository, k.Digest)).Distinct().Count(),
            problems,
            broken,
            problems == 0,
            clock.Elapsed);
    }

    private static string Name(IntegrityTarget target) =>
        target.Tag is null ? $"{target.Repository}@{target.Digest}" : $"{target.Repository}:{target.Tag}";

    private async Task<bool> CheckImageAsync(IntegrityTarget target, Action<IntegrityProblem> report, CancellationToken cancellationToken)
    {
        string? digest = target.Digest;
        if (digest is null)
        {
            try
            {
                digest = await this.client.HeadManifestAsync(target.Repository, target.Tag!, cancellationToken).ConfigureAwait(false);
            }
            catch (RegistryException ex) when (ex is not RegistryAuthenticationException)
            {
                report(new IntegrityProblem(this.Registry, target.Repository, target.Tag, null, "Manifest", target.Tag!, "Unreadable", null, null, $"HEAD of tag {Name(target)} failed: {ex.Message}"));
                return false;
            }

            if (digest is null)
            {
                // Listed by tags/list but not resolvable: its tag link points at a manifest that is gone.
                report(new IntegrityProblem(this.Registry, target.Repository, target.Tag, null, "Manifest", target.Tag!, "Missing", null, null, $"Tag {Name(target)} is listed but its manifest answers 404."));
                return false;
            }
        }

        bool healthy = true;
        void Report(IntegrityProblem problem)
        {
            healthy = false;
            report(problem with { Tag = target.Tag, ImageDigest = digest });
        }

        await this.CheckManifestAsync(target.Repository, digest, "Manifest", null, 0, Report, cancellationToken).ConfigureAwait(false);
        return healthy;
    }

    private async Task CheckManifestAsync(string repository, string digest, string kind, long? expectedSize, int depth, Action<IntegrityProblem> report, CancellationToken cancellationToken)
    {
        ManifestCheck check = await this.manifests.GetOrAdd((repository, digest), key => this.ReadManifestAsync(key.Repository, key.Digest, cancellationToken)).ConfigureAwait(false);
        if (check.Problem is { } problem)
        {
            report(new IntegrityProblem(this.Registry, repository, null, null, kind, digest, problem, expectedSize, check.Size, check.Reason!));
            return;
        }

        if (expectedSize is { } expected && check.Size != expected)
        {
            report(new IntegrityProblem(this.Registry, repository, null, null, kind, digest, "SizeMismatch", expected, check.Size, $"{repository}@{digest} is {check.Size} bytes; its index says {expected}."));
        }

        ManifestRecord record = check.Record!;
        if (record.Children.Count > 0 && depth >= Backup.ManifestTree.MaxDepth)
        {
            report(new IntegrityProblem(this.Registry, repository, null, null, kind, digest, "Corrupt", null, null, $"Indexes under {repository}@{digest} are nested more than {Backup.ManifestTree.MaxDepth} deep."));
            return;
        }

        foreach (ChildDescriptor child in record.Children.DistinctBy(c => c.Digest))
        {
            await this.CheckManifestAsync(repository, child.Digest, "Child", child.Size, depth + 1, report, cancellationToken).ConfigureAwait(false);
        }

        IEnumerable<(BlobDescriptor Blob, string Kind)> needed = record.Layers.Select(l => (l, "Layer"));
        if (record.Config is not null)
        {
            needed = needed.Prepend((record.Config, "Config"));
        }

        foreach ((BlobDescriptor blob, string blobKind) in needed.DistinctBy(b => b.Blob.Digest))
        {
            if (MediaTypes.IsNondistributable(blob.MediaType))
            {
                continue; // stored outside registries, by design
            }

            // Keyed by size too: two manifests that declare different sizes for one digest are each checked.
            BlobCheck answer = await this.blobs.GetOrAdd((repository, blob.Digest, blob.Size), key => this.CheckBlobAsync(key.Repository, key.Digest, key.Size, cancellationToken)).ConfigureAwait(false);
            if (answer.Problem is { } blobProblem)
            {
                string reason = blobProblem == "SizeMismatch" ? $"{answer.Reason} Manifest {digest} says {blob.Size} bytes." : answer.Reason!;
                report(new IntegrityProblem(this.Registry, repository, null, null, blobKind, blob.Digest, blobProblem, blob.Size, answer.Size, reason));
            }
        }
    }

    private async Task<ManifestCheck> ReadManifestAsync(string repository, string digest, CancellationToken cancellationToken)
    {
        try
        {
            // By digest: the client checks that the content hashes to it.
            ManifestContent content = await this.client.GetManifestAsync(repository, digest, cancellationToken).ConfigureAwait(false);
            ManifestRecord record = ManifestParser.Parse(this.Registry, repository, digest, content.MediaType, content.Content);
            return new ManifestCheck(record, content.Content.Length, null, null);
        }
        catch (ManifestFormatException ex)
        {
            return new ManifestCheck(null, null, "Corrupt", ex.Message);
        }
        catch (RegistryException ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            return new ManifestCheck(null, null, "Missing", $"GET {repository}@{digest} answered 404: the manifest is gone.");
        }
        catch (RegistryException ex) when (ex is not RegistryAuthenticationException)
        {
            return new ManifestCheck(null, null, "Unreadable", $"GET {repository}@{digest} failed: {ex.Message}");
        }
    }

    private async Task<BlobCheck> CheckBlobAsync(string repository, string digest, long size, CancellationToken cancellationToken)
    {
        if (size < 0)
        {
            return new BlobCheck(null, "Corrupt", $"The manifest declares a negative size ({size}) for {repository}@{digest}.");
        }

        try
        {
            BlobDataCheck answer = await this.client.CheckBlobDataAsync(repository, digest, size, cancellationToken).ConfigureAwait(false);
            return answer.Outcome switch
            {
                BlobDataOutcome.Readable => new BlobCheck(answer.Size, null, null),
                BlobDataOutcome.NotFound or BlobDataOutcome.NoData => new BlobCheck(answer.Size, "Missing", answer.Reason),
                BlobDataOutcome.SizeDiffers => new BlobCheck(answer.Size, "SizeMismatch", answer.Reason),
                _ => new BlobCheck(answer.Size, "Unreadable", answer.Reason),
            };
        }
        catch (RegistryException ex) when (ex is not RegistryAuthenticationException)
        {
            return new BlobCheck(null, "Unreadable", $"GET {repository}@{digest} failed: {ex.Message}");
        }
    }

    private sealed record ManifestCheck(ManifestRecord? Record, long? Size, string? Problem, string? Reason);

    private sealed record BlobCheck(long? Size, string? Problem, string? Reason);
}
