using RegistryCleaner.Planning;
using RegistryCleaner.Registry;

namespace RegistryCleaner.Deletion;

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
    private readonly RegistryDeleteOrder order;

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
        this.order = new RegistryDeleteOrder(client);
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
        if (candidates.Any(c => c.Repository != repository || c.Digest != digest || c.Action != first.Action))
        {
            throw new ArgumentException("All candidates must name the same repository, digest and action.", nameof(candidates));
        }

        if (first.Action == CandidateAction.Untag)
        {
            return await this.UntagAsync(candidates, cancellationToken).ConfigureAwait(false);
        }

        long plannedBytes = ByteTotal.Sum(candidates.Select(c => c.ReclaimableBytes));
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
        IReadOnlyList<string> before;
        var deleting = new HashSet<string>(stillPointing.Select(i => candidates[i].Tag).OfType<string>(), StringComparer.Ordinal);
        try
        {
            (otherTag, before) = await this.FindOtherTagOnAsync(repository, digest, deleting, null, cancellationToken).ConfigureAwait(false);
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
        ManifestStep step = await this.DeleteManifestAsync(repository, digest, tags, null, before, cancellationToken).ConfigureAwait(false);
        (DeletionStatus status, string message) = (step.Status, step.Message);
        bool stays = step.PutBack.Count > 0;
        DeletionCandidate carrier = candidates[stillPointing[0]];
        foreach (int i in stillPointing)
        {
            DeletionCandidate candidate = candidates[i];
            bool isCarrier = ReferenceEquals(candidate, carrier);
            string reason = status != DeletionStatus.Deleted
                ? message
                : stays
                    ? $"the tag is deleted, but the manifest stays: {string.Join(", ", step.PutBack.Select(p => p.Tag))} had moved onto it after the last check and left with the DELETE, so {(step.PutBack.Count == 1 ? "it was" : "they were")} put back with the manifest; nothing is freed"
                    : isCarrier ? candidate.Reason : $"deleted with {carrier.Tag ?? digest} (same manifest)";

            // The freed bytes go on the one deleted tag that carries them, so sums over Deleted stay exact.
            results[i] = this.Result(candidate, status, reason, status == DeletionStatus.Deleted && isCarrier && !stays ? plannedBytes : 0);
        }

        var children = new List<ChildDeletionResult>();
        var putBack = new List<TagPutBack>(step.PutBack);
        var problems = new List<string>(step.Problems);
        if (status == DeletionStatus.Deleted && !stays)
        {
            // Parents go first; a manifest that stays (skipped, failed, put back) keeps everything under it.
            IReadOnlyList<string> listing = step.TagsAfter ?? before;
            var staying = new HashSet<string>(StringComparer.Ordinal);
            foreach (ChildDeletion child in candidates.SelectMany(c => c.ChildDeletions).DistinctBy(c => c.Digest))
            {
                if (staying.Contains(child.ParentDigest))
                {
                    staying.Add(child.Digest);
                    children.Add(new ChildDeletionResult(child.Repository, child.Digest, child.ParentDigest, DeletionStatus.Skipped, $"{child.ParentDigest} was not deleted and still needs it; not deleted."));
                    continue;
                }

                (ChildDeletionResult childResult, ManifestStep? childStep) = await this.DeleteChildAsync(child, listing).ConfigureAwait(false);
                children.Add(childResult);
                if (childStep is not null)
                {
                    listing = childStep.TagsAfter ?? listing;
                    putBack.AddRange(childStep.PutBack);
                    problems.AddRange(childStep.Problems);
                }

                if (childResult.Status is DeletionStatus.Skipped or DeletionStatus.Failed || childStep?.PutBack.Count > 0)
                {
                    staying.Add(child.Digest);
                }
            }

            int carrierIndex = stillPointing[0];
            if (staying.Count > 0 && results[carrierIndex] is { ReclaimableBytes: > 0 } carried)
            {
                long kept = BytesKeptBy(candidates, staying);
                results[carrierIndex] = carried with
                {
                    ReclaimableBytes = Math.Max(0, carried.ReclaimableBytes - kept),
                    Reason = $"{carried.Reason}; {string.Join(", ", staying.Order(StringComparer.Ordinal))} did not go with it, so the {kept} bytes only {(staying.Count == 1 ? "it holds" : "they hold")} are not counted",
                };
            }
        }

        return new ManifestDeletion(results.Select(r => r!).ToArray(), children) { TagsPutBack = putBack, Problems = problems };
    }

    /// <summary>
    /// Rule 11: deletes each candidate tag alone (the registry supports it), so the manifest stays for its kept tags.
    /// Each tag is re-resolved first, journaled with the manifest's bytes (so Restore-RegistryImage can put it back),
    /// and the tag list is read again after each DELETE like after any other.
    /// </summary>
    private async Task<ManifestDeletion> UntagAsync(IReadOnlyList<DeletionCandidate> candidates, CancellationToken cancellationToken)
    {
        string repository = candidates[0].Repository;
        string digest = candidates[0].Digest;
        var results = new List<ImageDeletionResult>(candidates.Count);
        var putBack = new List<TagPutBack>();
        var problems = new List<string>();
        IReadOnlyList<string>? listing = null;
        ManifestContent? content = null;
        foreach (DeletionCandidate candidate in candidates)
        {
            string tag = candidate.Tag ?? throw new ArgumentException("An untag candidate needs a tag.", nameof(candidates));
            try
            {
                string? now = await this.client.HeadManifestAsync(repository, tag, cancellationToken).ConfigureAwait(false);
                if (now is null)
                {
                    results.Add(this.Result(candidate, DeletionStatus.NotFound, $"Tag {repository}:{tag} no longer exists."));
                    continue;
                }

                if (!string.Equals(now, digest, StringComparison.Ordinal))
                {
                    results.Add(this.Result(candidate, DeletionStatus.Skipped, $"tag moved from {digest} to {now} since the plan; not deleted."));
                    continue;
                }

                listing ??= await this.ListTagsNowAsync(repository, cancellationToken).ConfigureAwait(false);
                content ??= await this.client.GetManifestAsync(repository, digest, cancellationToken).ConfigureAwait(false);
            }
            catch (RegistryException ex)
            {
                results.Add(this.Result(candidate, DeletionStatus.Failed, $"Could not re-check {Name(candidate)} before deleting: {ex.Message}"));
                continue;
            }

            ManifestStep step = await this.DeleteTagAsync(repository, digest, tag, content, listing, cancellationToken).ConfigureAwait(false);
            listing = step.TagsAfter ?? [.. listing.Where(t => t != tag)];
            putBack.AddRange(step.PutBack);
            problems.AddRange(step.Problems);
            results.Add(this.Result(candidate, step.Status, step.Status == DeletionStatus.Deleted ? candidate.Reason : step.Message));
        }

        return new ManifestDeletion(results, []) { TagsPutBack = putBack, Problems = problems };
    }

    private async Task<ManifestStep> DeleteTagAsync(string repository, string digest, string tag, ManifestContent content, IReadOnlyList<string> tagsBefore, CancellationToken cancellationToken)
    {
        await this.journal.AppendAsync(
            new JournalRecord(
                JournalRecord.AttemptKind,
                DateTimeOffset.UtcNow,
                this.Registry,
                repository,
                digest,
                content.MediaType,
                [tag],
                null,
                Convert.ToBase64String(content.Content.Span),
                Run: this.run)
            {
                Action = JournalRecord.UntagAction,
            },
            cancellationToken).ConfigureAwait(false);

        return await this.SendJournaledDeleteAsync(
            new JournaledDelete(repository, digest, null, JournalRecord.UntagAction, [tag], tagsBefore, content),
            () => this.client.DeleteTagAsync(repository, tag, CancellationToken.None),
            message => this.RecheckTagAsync(repository, tag, digest, message)).ConfigureAwait(false);
    }

    private async Task<Verdict> RecheckTagAsync(string repository, string tag, string digest, string message)
    {
        try
        {
            string? now = await this.client.HeadManifestAsync(repository, tag, CancellationToken.None).ConfigureAwait(false);
            return now is null
                ? new(DeletionStatus.Deleted, $"Deleted tag {this.Registry}/{repository}:{tag} (confirmed with HEAD, since the DELETE's own answer was: {message}); its manifest stays.")
                : new(DeletionStatus.Failed, $"{message} It still points at {now}{(now == digest ? string.Empty : " (it moved)")}.", Present: true);
        }
        catch (RegistryException ex)
        {
            return this.PossiblyDeleted($"tag {this.Registry}/{repository}:{tag}", message, ex);
        }
    }

    /// <summary>
    /// Deletes one manifest that goes with a deleted candidate (an index child, or a referrer with its
    /// <c>sha256-&lt;hex&gt;.sig</c>-style tags): its tags must still point at it, and no other tag may.
    /// </summary>
    private async Task<(ChildDeletionResult Result, ManifestStep? Step)> DeleteChildAsync(ChildDeletion child, IReadOnlyList<string> listing)
    {
        ChildDeletionResult Outcome(DeletionStatus status, string message) => new(child.Repository, child.Digest, child.ParentDigest, status, message);
        var tags = new List<string>();
        IReadOnlyList<string> before;
        try
        {
            foreach (string tag in child.Tags)
            {
                string? now = await this.client.HeadManifestAsync(child.Repository, tag, CancellationToken.None).ConfigureAwait(false);
                if (now is not null && !string.Equals(now, child.Digest, StringComparison.Ordinal))
                {
                    return (Outcome(DeletionStatus.Skipped, $"tag {tag} moved from {child.Digest} to {now} since the plan; not deleted."), null);
                }

                if (now is not null)
                {
                    tags.Add(tag);
                }
            }

            (string? other, before) = await this.FindOtherTagOnAsync(
                child.Repository, child.Digest, new HashSet<string>(tags, StringComparer.Ordinal), listing, CancellationToken.None).ConfigureAwait(false);
            if (other is not null)
            {
                return (Outcome(DeletionStatus.Skipped, $"tag {other} now points at {child.Digest} (pushed or moved since the plan), and the DELETE would remove it too; not deleted."), null);
            }
        }
        catch (RegistryException ex)
        {
            return (Outcome(DeletionStatus.Failed, $"Could not re-check {child.Repository}@{child.Digest} before deleting: {ex.Message}"), null);
        }

        ManifestStep step = await this.DeleteManifestAsync(child.Repository, child.Digest, tags, child.ParentDigest, before, CancellationToken.None).ConfigureAwait(false);
        return (Outcome(step.Status, step.Message), step);
    }

    /// <summary>
    /// Returns a tag of the repository, other than <paramref name="deleting"/>, that points at the digest now, or
    /// <see langword="null"/>. The repository's tags are listed every time; their digests come from a sweep of every
    /// tag that is repeated after <see cref="TagSweepInterval"/>, and tags created since the sweep are read at once.
    /// </summary>
    private async Task<(string? OtherTag, IReadOnlyList<string> Listing)> FindOtherTagOnAsync(
        string repository, string digest, IReadOnlySet<string> deleting, IReadOnlyList<string>? listing, CancellationToken cancellationToken)
    {
        // The listing read right after the previous DELETE of the same item is still current: no need to list again.
        IReadOnlyList<string> now = listing ?? await this.ListTagsNowAsync(repository, cancellationToken).ConfigureAwait(false);
        if (now.Count == 0)
        {
            return (null, now);
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

            // Not swept yet, or gone when swept but listed again (pushed again, or a stale listing): read it now, so the
            // check after the DELETE knows where it pointed.
            if (!sweep.Digests.TryGetValue(tag, out string? current) || current is null)
            {
                current = await this.ResolveAsync(repository, tag, planned, cancellationToken).ConfigureAwait(false);
                sweep.Digests[tag] = current;
            }

            if (string.Equals(current, digest, StringComparison.Ordinal))
            {
                return (tag, now);
            }
        }

        return (null, now);
    }

    private async Task<IReadOnlyList<string>> ListTagsNowAsync(string repository, CancellationToken cancellationToken)
    {
        try
        {
            return await this.client.ListTagsAsync(repository, 1000, cancellationToken).ConfigureAwait(false);
        }
        catch (RepositoryNotFoundException)
        {
            return [];
        }
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

    /// <summary>
    /// The bytes a manifest's candidates counted that the children and referrers that stayed still hold: every blob
    /// such a manifest references that the candidates counted (a layer, the manifest itself, or a config shared with a
    /// referrer that went) is not freed. Without the plan's blob lists (a hand-made plan), a child that stayed holds
    /// what was counted for it.
    /// </summary>
    private static long BytesKeptBy(IReadOnlyList<DeletionCandidate> candidates, HashSet<string> staying)
    {
        var counted = new HashSet<string>(candidates.SelectMany(static c => c.CountedBlobs), StringComparer.Ordinal);
        var held = new HashSet<string>(StringComparer.Ordinal);
        long bytes = 0;
        foreach (ChildDeletion child in candidates.SelectMany(static c => c.ChildDeletions).DistinctBy(static c => c.Digest))
        {
            if (!staying.Contains(child.Digest))
            {
                continue;
            }

            if (child.References.Count == 0 || counted.Count == 0)
            {
                bytes += child.ReclaimableBytes;
                continue;
            }

            foreach (BlobDescriptor blob in child.References)
            {
                if (counted.Contains(blob.Digest) && held.Add(blob.Digest))
                {
                    bytes += blob.Size;
                }
            }
        }

        return bytes;
    }

    private static string Name(DeletionCandidate candidate) =>
        candidate.Tag is null ? $"{candidate.Repository}@{candidate.Digest}" : $"{candidate.Repository}:{candidate.Tag}";

    private ImageDeletionResult Result(DeletionCandidate candidate, DeletionStatus status, string reason, long bytes = 0) =>
        new(this.Registry, candidate.Repository, candidate.Tag, candidate.Digest, status, bytes, reason);

    private async Task<ManifestStep> DeleteManifestAsync(
        string repository, string digest, IReadOnlyList<string> tags, string? parent, IReadOnlyList<string> tagsBefore, CancellationToken cancellationToken)
    {
        ManifestContent content;
        try
        {
            // GET by digest verifies the bytes hash to the digest, so the journal holds exactly what was stored.
            content = await this.client.GetManifestAsync(repository, digest, cancellationToken).ConfigureAwait(false);
        }
        catch (RegistryException ex) when (ex.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return ManifestStep.Only(DeletionStatus.NotFound, $"{repository}@{digest} no longer exists.");
        }
        catch (RegistryException ex)
        {
            return ManifestStep.Only(DeletionStatus.Failed, $"Could not read {repository}@{digest} for the journal, so it was not deleted: {ex.Message}");
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

        return await this.SendJournaledDeleteAsync(
            new JournaledDelete(repository, digest, parent, null, tags, tagsBefore, content),
            () => this.client.DeleteManifestAsync(repository, digest, CancellationToken.None),
            message => this.RecheckAsync(repository, digest, message)).ConfigureAwait(false);
    }

    /// <summary>
    /// Sends a DELETE whose attempt is journaled and finishes it whatever the token says, so the outcome line (with
    /// every tag the DELETE removed, rule 10) always follows; a tag that left with it unplanned is put back. An answer
    /// that is an error or lost says nothing about storage (a 500 may come after the delete took place), so a HEAD
    /// decides: gone is Deleted, present is Failed (journaled as present), and when the HEAD fails too the outcome is
    /// journaled as possibly deleted, which Restore-RegistryImage puts back.
    /// </summary>
    private async Task<ManifestStep> SendJournaledDeleteAsync(
        JournaledDelete delete, Func<Task<ManifestDeleteResult>> send, Func<string, Task<Verdict>> recheck)
    {
        (string repository, string digest, string? parent, string? action, _, _, _) = delete;
        ManifestDeleteResult answer;
        try
        {
            answer = await send().ConfigureAwait(false);

            // Registries beyond distribution refuse some orders (tags before digest, index before child): follow theirs once.
            answer = await this.order.FollowAsync(answer, repository, digest, parent, delete.Tags, delete.TagsBefore, delete.Content, send).ConfigureAwait(false);
        }
        catch (RegistryAuthenticationException ex)
        {
            // Refused credentials or a missing delete permission (401/403: not executed) fail every deletion alike: stop the run.
            await this.journal.AppendAsync(
                new JournalRecord(JournalRecord.OutcomeKind, DateTimeOffset.UtcNow, this.Registry, repository, digest, Parent: parent, Outcome: nameof(DeletionStatus.Failed), Message: ex.Message, Run: this.run) { Action = action },
                CancellationToken.None).ConfigureAwait(false);
            throw;
        }
        catch (RegistryException ex)
        {
            answer = new ManifestDeleteResult(ManifestDeleteOutcome.Failed, ex.StatusCode, ex.Message);
        }

        Verdict verdict = answer.Outcome switch
        {
            ManifestDeleteOutcome.Deleted => new(DeletionStatus.Deleted, answer.Message),
            ManifestDeleteOutcome.NotFound => new(DeletionStatus.NotFound, answer.Message),

            // 405 (and 400 for a tag alone) refuse that way of deleting outright: nothing happened.
            ManifestDeleteOutcome.Unsupported or ManifestDeleteOutcome.Refused => new(DeletionStatus.Failed, answer.Message),
            ManifestDeleteOutcome.Kept => new(DeletionStatus.Skipped, answer.Message),
            _ => await recheck(answer.Message).ConfigureAwait(false),
        };
        DeletionStatus status = verdict.Status;

        // Rule 10: a DELETE by digest takes every tag on the manifest; the tag list now says which went. A DELETE that
        // failed partway or lost its answer may have taken tags too, unless the manifest is known to be still there.
        // The verdict knows: a refused way of deleting (405/400) did nothing, and a HEAD that found the manifest marked it
        // present; every other Failed may have taken the manifest and its tags.
        bool mayBeGone = status == DeletionStatus.Failed && !verdict.Present && answer.Outcome != ManifestDeleteOutcome.Unsupported;
        TagCheck check = status == DeletionStatus.Deleted || mayBeGone
            ? await this.CheckTagsAfterAsync(repository, digest, delete.Tags, delete.TagsBefore).ConfigureAwait(false)
            : TagCheck.NotChecked;
        var outcome = new JournalRecord(JournalRecord.OutcomeKind, DateTimeOffset.UtcNow, this.Registry, repository, digest, Parent: parent, Outcome: verdict.JournalOutcome, Message: verdict.Message, Run: this.run)
        {
            Action = action,
            RemovedTags = check.Removed.Count == 0 ? null : check.Removed,
            Present = verdict.Present ? true : null,
        };

        // Bytes are freed by a manifest's DELETE only: that is where concurrent runs must not both count them.
        JournalRecord written = await this.journal.AppendAsync(outcome, records => action is null ? this.FirstDeletedWins(records, outcome) : outcome, CancellationToken.None).ConfigureAwait(false);
        string message = written.Message!;
        if (!ReferenceEquals(written, outcome))
        {
            status = Enum.Parse<DeletionStatus>(written.Outcome!);
        }

        // 405 is deletion disabled; for a tag alone, 400 only refuses that way of deleting.
        if (answer.Outcome == ManifestDeleteOutcome.Unsupported && (action is null || answer.StatusCode == System.Net.HttpStatusCode.MethodNotAllowed))
        {
            throw new RegistryDeleteDisabledException(answer.Message);
        }

        IReadOnlyList<TagPutBack> putBack = await this.PutBackAsync(repository, digest, delete.Content, check.Unplanned).ConfigureAwait(false);
        return new ManifestStep(status, message, check.After, putBack, check.Problem is null ? [] : [check.Problem]);
    }

    private async Task<Verdict> RecheckAsync(string repository, string digest, string message)
    {
        string name = $"{this.Registry}/{repository}@{digest}";
        try
        {
            string? present = await this.client.HeadManifestAsync(repository, digest, CancellationToken.None).ConfigureAwait(false);
            return present is null
                ? new(DeletionStatus.Deleted, $"Deleted {name} (confirmed with HEAD, since the DELETE's own answer was: {message})")
                : new(DeletionStatus.Failed, $"{message} A HEAD afterwards found it still there: it was not deleted.", Present: true);
        }
        catch (RegistryException ex)
        {
            return this.PossiblyDeleted(name, message, ex);
        }
    }

    /// <summary>Nobody can tell whether the DELETE took place: journaled as possibly deleted, reported Failed with how to undo it.</summary>
    private Verdict PossiblyDeleted(string name, string message, RegistryException headError) =>
        new(
            DeletionStatus.Failed,
            $"{message} Checking with HEAD failed too ({headError.Message}), so {name} may be gone: the journal records it as possibly deleted, and Restore-RegistryImage -JournalPath '{this.journal.Path}' puts it back (harmless if it is still there).",
            JournalRecord.PossiblyDeletedOutcome);

    /// <summary>
    /// Lists the repository's tags again after a DELETE and compares with the listing before it: the planned tags
    /// went, and any other tag that went with them pointed at the manifest (distribution removes exactly those), unless
    /// it was known on another manifest that is gone too (another run deleted that one).
    /// </summary>
    private async Task<TagCheck> CheckTagsAfterAsync(string repository, string digest, IReadOnlyList<string> planned, IReadOnlyList<string> before)
    {
        IReadOnlyList<string> after;
        try
        {
            after = await this.ListTagsNowAsync(repository, CancellationToken.None).ConfigureAwait(false);
        }
        catch (RegistryException ex)
        {
            return new TagCheck(
                null,
                planned,
                [],
                $"The tags of {this.Registry}/{repository} could not be read again after deleting {digest}, so a tag that left with it would go unnoticed: {ex.Message} Compare the repository's tags with the journal.");
        }

        var remaining = new HashSet<string>(after, StringComparer.Ordinal);
        var removed = new List<string>(planned.Where(t => !remaining.Contains(t)));
        var unplanned = new List<string>();
        foreach (string tag in before)
        {
            if (!remaining.Contains(tag) && !planned.Contains(tag, StringComparer.Ordinal) && await this.LeftWithAsync(repository, tag, digest).ConfigureAwait(false))
            {
                unplanned.Add(tag);
                removed.Add(tag);
            }
        }

        return new TagCheck(after, removed, unplanned, null);
    }

    private async Task<bool> LeftWithAsync(string repository, string tag, string digest)
    {
        string? known = this.sweeps.TryGetValue(repository, out TagSweep? sweep) && sweep.Digests.TryGetValue(tag, out string? swept)
            ? swept
            : this.PlannedTags?.GetValueOrDefault(repository)?.GetValueOrDefault(tag);
        if (known is null)
        {
            // Gone at the last check before the DELETE (or never seen): it did not point at our manifest, so putting it
            // back would put a tag on the wrong image. (A tag listed again after that check is read again right before
            // the DELETE, in FindOtherTagOnAsync.)
            return false;
        }

        if (string.Equals(known, digest, StringComparison.Ordinal))
        {
            return true;
        }

        // Last seen on another manifest: it went with ours only if it moved onto ours since, and then that other
        // manifest still exists (a tag goes with its manifest). If that one is gone, another run deleted it.
        try
        {
            return await this.client.HeadManifestAsync(repository, known, CancellationToken.None).ConfigureAwait(false) is not null;
        }
        catch (RegistryException)
        {
            return true;
        }
    }

    /// <summary>Puts back, from the journaled bytes, each tag that left with a DELETE unplanned (the blobs are still there).</summary>
    private async Task<IReadOnlyList<TagPutBack>> PutBackAsync(string repository, string digest, ManifestContent content, IReadOnlyList<string> tags)
    {
        if (tags.Count == 0)
        {
            return [];
        }

        string mediaType = content.MediaType is { Length: > 0 } given
            ? given
            : ManifestParser.Parse(this.Registry, repository, digest, null, content.Content).MediaType;
        var results = new List<TagPutBack>(tags.Count);
        foreach (string tag in tags)
        {
            string name = $"{this.Registry}/{repository}:{tag}";
            TagPutBack result;
            try
            {
                string stored = await this.client.PutManifestAsync(repository, tag, content.Content, mediaType, CancellationToken.None).ConfigureAwait(false);
                result = string.Equals(stored, digest, StringComparison.Ordinal)
                    ? new TagPutBack(this.Registry, repository, tag, digest, true, $"Tag {name} pointed at {digest} when it was deleted (it moved there after the last check) and left with it; it was put back at once from the journal, with the manifest.")
                    : new TagPutBack(this.Registry, repository, tag, digest, false, $"Tag {name} left with the DELETE of {digest}; putting it back stored {stored} instead. Run Restore-RegistryImage -JournalPath '{this.journal.Path}'.");
            }
            catch (Exception ex) when (ex is RegistryException or ArgumentException)
            {
                result = new TagPutBack(this.Registry, repository, tag, digest, false, $"Tag {name} pointed at {digest} when it was deleted and left with it; putting it back failed ({ex.Message}). Run Restore-RegistryImage -JournalPath '{this.journal.Path}' now.");
            }

            await this.journal.AppendAsync(
                new JournalRecord(
                    JournalRecord.RetagKind,
                    DateTimeOffset.UtcNow,
                    this.Registry,
                    repository,
                    digest,
                    Tags: [tag],
                    Outcome: result.Restored ? "Restored" : nameof(DeletionStatus.Failed),
                    Message: result.Message,
                    Run: this.run),
                CancellationToken.None).ConfigureAwait(false);
            results.Add(result);
        }

        return results;
    }

    /// <summary>What a DELETE did as far as anyone can tell, and the outcome the journal records for it.</summary>
    /// <param name="Status">What the cmdlet reports.</param>
    /// <param name="Message">Why, in words.</param>
    /// <param name="Outcome">The journal's outcome when it is not <paramref name="Status"/> (possibly deleted).</param>
    /// <param name="Present">Whether a HEAD found it still there after the DELETE failed.</param>
    private sealed record Verdict(DeletionStatus Status, string Message, string? Outcome = null, bool Present = false)
    {
        public string JournalOutcome => this.Outcome ?? this.Status.ToString();
    }

    /// <summary>A DELETE already journaled: what it names, the tags it is to remove and the listing before it.</summary>
    private sealed record JournaledDelete(
        string Repository, string Digest, string? Parent, string? Action, IReadOnlyList<string> Tags, IReadOnlyList<string> TagsBefore, ManifestContent Content);

    /// <summary>What one DELETE (of a manifest or a tag) did, with the tag listing read right after it.</summary>
    private sealed record ManifestStep(DeletionStatus Status, string Message, IReadOnlyList<string>? TagsAfter, IReadOnlyList<TagPutBack> PutBack, IReadOnlyList<string> Problems)
    {
        public static ManifestStep Only(DeletionStatus status, string message) => new(status, message, null, [], []);
    }

    /// <summary>The tag list after a DELETE: the tags it removed (planned and unplanned) and those to put back.</summary>
    private sealed record TagCheck(IReadOnlyList<string>? After, IReadOnlyList<string> Removed, IReadOnlyList<string> Unplanned, string? Problem)
    {
        public static TagCheck NotChecked { get; } = new(null, [], [], null);
    }

    private sealed class TagSweep
    {
        public System.Diagnostics.Stopwatch Age { get; } = System.Diagnostics.Stopwatch.StartNew();

        public System.Collections.Concurrent.ConcurrentDictionary<string, string?> Digests { get; } = new(StringComparer.Ordinal);
    }
}
