using RegistryCleaner.Planning;
using RegistryCleaner.Registry;

namespace RegistryCleaner.Deletion;

/// <summary>What happened to one image (tag) or manifest.</summary>
public enum DeletionStatus
{
    /// <summary>The manifest was deleted (the tag with it).</summary>
    Deleted,

    /// <summary>Not deleted on purpose: protected, tag moved, or declined.</summary>
    Skipped,

    /// <summary>Already gone: not a failure.</summary>
    NotFound,

    /// <summary>The registry refused or the check failed; the image may still exist.</summary>
    Failed,
}

/// <summary>The outcome for one tag (or one untagged manifest) of a deletion.</summary>
/// <param name="Registry">The registry.</param>
/// <param name="Repository">The repository.</param>
/// <param name="Tag">The tag; <see langword="null"/> for an untagged manifest.</param>
/// <param name="Digest">The manifest digest.</param>
/// <param name="Status">What happened.</param>
/// <param name="ReclaimableBytes">
/// The bytes garbage collection frees because of this deletion (as planned); 0 unless <see cref="Status"/> is
/// <see cref="DeletionStatus.Deleted"/>, so the sum over deleted images is what garbage collection frees.
/// </param>
/// <param name="Reason">Why, in words.</param>
public sealed record ImageDeletionResult(string Registry, string Repository, string? Tag, string Digest, DeletionStatus Status, long ReclaimableBytes, string Reason);

/// <summary>The outcome for one child manifest deleted with its index.</summary>
/// <param name="Repository">The repository.</param>
/// <param name="Digest">The child digest.</param>
/// <param name="ParentDigest">The deleted index.</param>
/// <param name="Status">What happened.</param>
/// <param name="Reason">Why, in words.</param>
public sealed record ChildDeletionResult(string Repository, string Digest, string ParentDigest, DeletionStatus Status, string Reason);

/// <summary>Everything one DELETE of a manifest did: one result per planned tag, and the children of an index.</summary>
/// <param name="Images">One result per planned tag of the manifest (the primary first).</param>
/// <param name="Children">The child manifests deleted after their index.</param>
public sealed record ManifestDeletion(IReadOnlyList<ImageDeletionResult> Images, IReadOnlyList<ChildDeletionResult> Children);

/// <summary>The registry refuses deletion (405 UNSUPPORTED): nothing more can be deleted, so the run stops.</summary>
public sealed class RegistryDeleteDisabledException : Exception
{
    /// <summary>Initializes the exception with the standard advice.</summary>
    public RegistryDeleteDisabledException()
        : this("The registry has deletion disabled (405 UNSUPPORTED): set storage.delete.enabled: true in its config.yml (or REGISTRY_STORAGE_DELETE_ENABLED=true) and restart it; for a registry StatefulSet (Domino's docker-registry), Enable-RegistryDeletion does that.")
    {
    }

    /// <summary>Initializes the exception.</summary>
    /// <param name="message">What to change.</param>
    public RegistryDeleteDisabledException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes the exception.</summary>
    /// <param name="message">What to change.</param>
    /// <param name="innerException">The cause.</param>
    public RegistryDeleteDisabledException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// Deletes one planned manifest safely: re-resolves its tags right before (a moved tag is skipped), reads and verifies
/// the raw manifest, journals it, DELETEs by digest, records the outcome, then deletes the children of a deleted index
/// the same way. Cancellation is honoured only between manifests: once a manifest is journaled, its DELETE and outcome
/// line complete, so the journal never claims less or more than what was attempted.
/// </summary>
public sealed class ImageDeleter
{
    private readonly RegistryClient client;
    private readonly DeletionJournal journal;

    // Tells this run's journal lines from another run's sharing the file (see ClaimedElsewhere).
    private readonly string run = Guid.NewGuid().ToString("N");

    // The digests of each repository's tags, read all at once and trusted for TagSweepInterval.
    private readonly Dictionary<string, TagSweep> sweeps = new(StringComparer.Ordinal);

    /// <summary>Initializes a deleter.</summary>
    /// <param name="client">The registry client (with delete permission).</param>
    /// <param name="journal">The journal each manifest is appended to before its DELETE.</param>
    public ImageDeleter(RegistryClient client, DeletionJournal journal)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(journal);
        this.client = client;
        this.journal = journal;
    }

    /// <summary>
    /// Gets the digest each tag pointed at when the plan was made (repository to tag to digest). Right before each
    /// DELETE every other tag of the repository is checked, because a DELETE by digest also removes every tag on that
    /// manifest; a tag whose current digest cannot be read is taken at its planned digest, and a tag the plan did not
    /// know that cannot be read stops that manifest's deletion.
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>>? PlannedTags { get; init; }

    /// <summary>
    /// Gets how long the digests of a repository's tags, all read at once, are trusted before they are read again
    /// (tags created since are always read right before the DELETE). Default 30 seconds.
    /// </summary>
    public TimeSpan TagSweepInterval { get; init; } = TimeSpan.FromSeconds(30);

    private string Registry => this.client.Endpoint.DisplayName;

    /// <summary>
    /// Deletes the manifest of <paramref name="candidates"/>: candidates of the same repository and digest (one per
    /// planned tag), which one DELETE removes together.
    /// </summary>
    /// <param name="candidates">The planned candidates of one manifest, the primary first.</param>
    /// <param name="cancellationToken">Cancels before the manifest is journaled.</param>
    /// <returns>One result per candidate, and the children's results.</returns>
    /// <exception cref="RegistryDeleteDisabledException">The registry answered 405.</exception>
    public async Task<ManifestDeletion> DeleteAsync(IReadOnlyList<DeletionCandidate> candidates, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        if (candidates.Count == 0)
        {
            throw new ArgumentException("At least one candidate is needed.", nameof(candidates));
        }

        DeletionCandidate first = candidates[0];
        string repository = first.Repository;
        string digest = first.Digest;
        if (candidates.Any(c => c.Repository != repository || c.Digest != digest))
        {
            throw new ArgumentException("All candidates must name the same repository and digest.", nameof(candidates));
        }

        long plannedBytes = candidates.Sum(c => c.ReclaimableBytes);
        var results = new ImageDeletionResult?[candidates.Count];
        var stillPointing = new List<int>();
        try
        {
            // Rule 5: right before the DELETE, every planned tag must still point at the planned digest.
            for (int i = 0; i < candidates.Count; i++)
            {
                DeletionCandidate candidate = candidates[i];
                if (candidate.Tag is null)
                {
                    string? present = await this.client.HeadManifestAsync(repository, digest, cancellationToken).ConfigureAwait(false);
                    if (present is null)
                    {
                        results[i] = this.Result(candidate, DeletionStatus.NotFound, $"{repository}@{digest} no longer exists.");
                    }
                    else
                    {
                        stillPointing.Add(i);
                    }

                    continue;
                }

                string? now = await this.client.HeadManifestAsync(repository, candidate.Tag, cancellationToken).ConfigureAwait(false);
                if (now is null)
                {
                    results[i] = this.Result(candidate, DeletionStatus.NotFound, $"Tag {repository}:{candidate.Tag} no longer exists.");
                }
                else if (!string.Equals(now, digest, StringComparison.Ordinal))
                {
                    results[i] = this.Result(candidate, DeletionStatus.Skipped, $"tag moved from {digest} to {now} since the plan; not deleted.");
                }
                else
                {
                    stillPointing.Add(i);
                }
            }
        }
        catch (RegistryException ex)
        {
            return new ManifestDeletion(candidates.Select(c => this.Result(c, DeletionStatus.Failed, $"Could not re-check {Name(c)} before deleting: {ex.Message}")).ToArray(), []);
        }

        if (stillPointing.Count == 0)
        {
            return new ManifestDeletion(results.Select(r => r!).ToArray(), []);
        }

        string? otherTag;
        var deleting = new HashSet<string>(stillPointing.Select(i => candidates[i].Tag).OfType<string>(), StringComparer.Ordinal);
        try
        {
            otherTag = await this.FindOtherTagOnAsync(repository, digest, deleting, cancellationToken).ConfigureAwait(false);
        }
        catch (RegistryException ex)
        {
            return new ManifestDeletion(candidates.Select(c => this.Result(c, DeletionStatus.Failed, $"Could not re-check the tags of {repository} before deleting: {ex.Message}")).ToArray(), []);
        }

        if (otherTag is not null)
        {
            foreach (int i in stillPointing)
            {
                results[i] = this.Result(candidates[i], DeletionStatus.Skipped, $"tag {otherTag} now points at the same manifest (pushed or moved since the plan), and the DELETE would remove it too; not deleted.");
            }

            return new ManifestDeletion(results.Select(r => r!).ToArray(), []);
        }

        string[] tags = stillPointing.Select(i => candidates[i].Tag).OfType<string>().ToArray();
        (DeletionStatus status, string message) = await this.DeleteManifestAsync(repository, digest, tags, null, cancellationToken).ConfigureAwait(false);
        DeletionCandidate carrier = candidates[stillPointing[0]];
        foreach (int i in stillPointing)
        {
            DeletionCandidate candidate = candidates[i];
            bool isCarrier = ReferenceEquals(candidate, carrier);
            string reason = status == DeletionStatus.Deleted
                ? isCarrier ? candidate.Reason : $"deleted with {carrier.Tag ?? digest} (same manifest)"
                : message;

            // The freed bytes go on the one deleted tag that carries them, so sums over Deleted stay exact.
            results[i] = this.Result(candidate, status, reason, status == DeletionStatus.Deleted && isCarrier ? plannedBytes : 0);
        }

        var children = new List<ChildDeletionResult>();
        if (status == DeletionStatus.Deleted)
        {
            foreach (ChildDeletion child in candidates.SelectMany(c => c.ChildDeletions).DistinctBy(c => c.Digest))
            {
                (DeletionStatus childStatus, string childMessage) = await this.DeleteManifestAsync(child.Repository, child.Digest, [], child.ParentDigest, CancellationToken.None).ConfigureAwait(false);
                children.Add(new ChildDeletionResult(child.Repository, child.Digest, child.ParentDigest, childStatus, childMessage));
            }
        }

        return new ManifestDeletion(results.Select(r => r!).ToArray(), children);
    }

    /// <summary>
    /// Returns a tag of the repository, other than <paramref name="deleting"/>, that points at the digest now, or
    /// <see langword="null"/>. The repository's tags are listed every time; their digests come from a sweep of every
    /// tag that is repeated after <see cref="TagSweepInterval"/>, and tags created since the sweep are read at once.
    /// </summary>
    private async Task<string?> FindOtherTagOnAsync(string repository, string digest, IReadOnlySet<string> deleting, CancellationToken cancellationToken)
    {
        IReadOnlyList<string> now;
        try
        {
            now = await this.client.ListTagsAsync(repository, 1000, cancellationToken).ConfigureAwait(false);
        }
        catch (RepositoryNotFoundException)
        {
            return null;
        }

        IReadOnlyDictionary<string, string>? planned = this.PlannedTags?.GetValueOrDefault(repository);
        if (!this.sweeps.TryGetValue(repository, out TagSweep? sweep) || sweep.Age.Elapsed > this.TagSweepInterval)
        {
            sweep = new TagSweep();
            await Parallel.ForEachAsync(
                now.Where(t => !deleting.Contains(t)),
                new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, this.client.Options.MaxConcurrency), CancellationToken = cancellationToken },
                async (tag, token) => sweep.Digests[tag] = await this.ResolveAsync(repository, tag, planned, token).ConfigureAwait(false)).ConfigureAwait(false);
            this.sweeps[repository] = sweep;
        }

        foreach (string tag in now)
        {
            if (deleting.Contains(tag))
            {
                continue;
            }

            if (!sweep.Digests.TryGetValue(tag, out string? current))
            {
                current = await this.ResolveAsync(repository, tag, planned, cancellationToken).ConfigureAwait(false);
                sweep.Digests[tag] = current;
            }

            if (string.Equals(current, digest, StringComparison.Ordinal))
            {
                return tag;
            }
        }

        return null;
    }

    /// <summary>A tag's digest now; when it cannot be read, its digest at planning time, else the error (fail closed).</summary>
    private async Task<string?> ResolveAsync(string repository, string tag, IReadOnlyDictionary<string, string>? planned, CancellationToken cancellationToken)
    {
        try
        {
            return await this.client.HeadManifestAsync(repository, tag, cancellationToken).ConfigureAwait(false);
        }
        catch (RegistryException) when (planned is not null && planned.TryGetValue(tag, out string? known))
        {
            return known;
        }
    }

    /// <summary>
    /// Another run sharing the journal may DELETE the same manifest at the same time, and the registry may answer both
    /// with 202 (or neither, when answers are lost and HEAD only shows it gone). The first Deleted outcome line written
    /// after our attempt wins; ours then becomes NotFound, so the sum of Deleted bytes over the runs stays the plan's.
    /// </summary>
    private JournalRecord FirstDeletedWins(IReadOnlyList<JournalRecord> records, JournalRecord outcome)
    {
        if (outcome.Outcome != nameof(DeletionStatus.Deleted))
        {
            return outcome;
        }

        bool Same(JournalRecord r) => r.Registry == outcome.Registry && r.Repository == outcome.Repository && r.Digest == outcome.Digest;
        int ours = records.Count - 1;
        while (ours >= 0 && !(records[ours].Kind == JournalRecord.AttemptKind && records[ours].Run == this.run && Same(records[ours])))
        {
            ours--;
        }

        bool taken = ours >= 0 && records.Skip(ours + 1).Any(r =>
            r.Kind == JournalRecord.OutcomeKind && r.Run is not null && r.Run != this.run && Same(r) && r.Outcome == nameof(DeletionStatus.Deleted));
        return taken
            ? outcome with { Outcome = nameof(DeletionStatus.NotFound), Message = $"{outcome.Registry}/{outcome.Repository}@{outcome.Digest} was deleted by another run at the same time, which counts it." }
            : outcome;
    }

    private static string Name(DeletionCandidate candidate) =>
        candidate.Tag is null ? $"{candidate.Repository}@{candidate.Digest}" : $"{candidate.Repository}:{candidate.Tag}";

    private ImageDeletionResult Result(DeletionCandidate candidate, DeletionStatus status, string reason, long bytes = 0) =>
        new(this.Registry, candidate.Repository, candidate.Tag, candidate.Digest, status, bytes, reason);

    private async Task<(DeletionStatus Status, string Message)> DeleteManifestAsync(
        string repository, string digest, IReadOnlyList<string> tags, string? parent, CancellationToken cancellationToken)
    {
        ManifestContent content;
        try
        {
            // GET by digest verifies the bytes hash to the digest, so the journal holds exactly what was stored.
            content = await this.client.GetManifestAsync(repository, digest, cancellationToken).ConfigureAwait(false);
        }
        catch (RegistryException ex) when (ex.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return (DeletionStatus.NotFound, $"{repository}@{digest} no longer exists.");
        }
        catch (RegistryException ex)
        {
            return (DeletionStatus.Failed, $"Could not read {repository}@{digest} for the journal, so it was not deleted: {ex.Message}");
        }

        await this.journal.AppendAsync(
            new JournalRecord(
                JournalRecord.AttemptKind,
                DateTimeOffset.UtcNow,
                this.Registry,
                repository,
                digest,
                content.MediaType,
                tags,
                parent,
                Convert.ToBase64String(content.Content.Span),
                Run: this.run),
            cancellationToken).ConfigureAwait(false);

        // From here on the attempt is journaled: finish it whatever the token says, so the outcome line follows.
        ManifestDeleteResult answer;
        try
        {
            answer = await this.client.DeleteManifestAsync(repository, digest, CancellationToken.None).ConfigureAwait(false);
        }
        catch (RegistryException ex)
        {
            await this.journal.AppendAsync(
                new JournalRecord(JournalRecord.OutcomeKind, DateTimeOffset.UtcNow, this.Registry, repository, digest, Parent: parent, Outcome: nameof(DeletionStatus.Failed), Message: ex.Message, Run: this.run),
                CancellationToken.None).ConfigureAwait(false);
            if (ex is RegistryAuthenticationException)
            {
                // Refused credentials or a missing delete permission fail every deletion alike: stop the run.
                throw;
            }

            return (DeletionStatus.Failed, ex.Message);
        }

        (DeletionStatus status, string message) = answer.Outcome switch
        {
            ManifestDeleteOutcome.Deleted => (DeletionStatus.Deleted, answer.Message),
            ManifestDeleteOutcome.NotFound => (DeletionStatus.NotFound, answer.Message),
            ManifestDeleteOutcome.NoAnswer => await this.RecheckAsync(repository, digest, answer.Message).ConfigureAwait(false),
            _ => (DeletionStatus.Failed, answer.Message),
        };
        var outcome = new JournalRecord(JournalRecord.OutcomeKind, DateTimeOffset.UtcNow, this.Registry, repository, digest, Parent: parent, Outcome: status.ToString(), Message: message, Run: this.run);
        JournalRecord written = await this.journal.AppendAsync(outcome, records => this.FirstDeletedWins(records, outcome), CancellationToken.None).ConfigureAwait(false);
        (status, message) = (Enum.Parse<DeletionStatus>(written.Outcome!), written.Message!);
        if (answer.Outcome == ManifestDeleteOutcome.Unsupported)
        {
            throw new RegistryDeleteDisabledException(answer.Message);
        }

        return (status, message);
    }

    private async Task<(DeletionStatus, string)> RecheckAsync(string repository, string digest, string message)
    {
        try
        {
            string? present = await this.client.HeadManifestAsync(repository, digest, CancellationToken.None).ConfigureAwait(false);
            return present is null
                ? (DeletionStatus.Deleted, $"Deleted {this.Registry}/{repository}@{digest} (confirmed with HEAD after the DELETE got no answer).")
                : (DeletionStatus.Failed, message + " It still exists.");
        }
        catch (RegistryException ex)
        {
            return (DeletionStatus.Failed, $"{message} Checking it failed too: {ex.Message}");
        }
    }

    private sealed class TagSweep
    {
        public System.Diagnostics.Stopwatch Age { get; } = System.Diagnostics.Stopwatch.StartNew();

        public System.Collections.Concurrent.ConcurrentDictionary<string, string?> Digests { get; } = new(StringComparer.Ordinal);
    }
}
