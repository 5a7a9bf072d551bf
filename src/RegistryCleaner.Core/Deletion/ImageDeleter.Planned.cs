using RegistryCleaner.Planning;
using RegistryCleaner.Registry;

namespace RegistryCleaner.Deletion;

/// <content>
/// The planned side of a deletion: the re-checks right before each DELETE (every planned tag still on the manifest,
/// no other tag on it), untagging, and the children of a deleted index.
/// </content>
public sealed partial class ImageDeleter
{
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

        // The listing the check needs is read while the planned tags are re-read. The first planned tag is re-read with
        // a GET, which also brings the bytes for the journal: one request where a HEAD and a GET by digest were two. The
        // client checks the body against the digest the registry names (or names it by its own hash), and only the
        // planned digest is taken, so the journal holds exactly what is stored under that digest.
        TagWatch watch = this.Watch(repository);
        Task listed = Observed(watch.WaitListingAfterAsync(watch.Now(), cancellationToken));
        int reader = candidates.ToList().FindIndex(static c => c.Tag is not null);
        Task<ManifestContent>? content = reader < 0 ? this.ReadForJournal(repository, digest, cancellationToken) : null;
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

                string? now;
                if (i == reader)
                {
                    (now, ManifestContent? read) = await this.ReadTagAsync(repository, candidate.Tag, digest, cancellationToken).ConfigureAwait(false);
                    if (read is not null)
                    {
                        content = Task.FromResult(read);
                    }
                }
                else
                {
                    now = await this.client.HeadManifestAsync(repository, candidate.Tag, cancellationToken).ConfigureAwait(false);
                }

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

        // The tag read with a GET moved or left while other planned tags still point at the manifest: its bytes come
        // by digest.
        content ??= this.ReadForJournal(repository, digest, cancellationToken);

        bool serial = watch.Serial;
        if (serial)
        {
            // One DELETE at a time in this repository: the check needs a listing taken after the one before finished.
            await watch.SerialGate.WaitAsync(cancellationToken).ConfigureAwait(false);
            listed = watch.WaitListingAfterAsync(watch.Now(), cancellationToken);
        }

        try
        {
            return await this.DeleteCheckedAsync(candidates, results, stillPointing, listed, content, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (serial)
            {
                watch.SerialGate.Release();
            }
        }
    }

    /// <summary>Deletes the manifest whose planned tags were just re-checked, unless another tag now points at it.</summary>
    private async Task<ManifestDeletion> DeleteCheckedAsync(
        IReadOnlyList<DeletionCandidate> candidates, ImageDeletionResult?[] results, List<int> stillPointing, Task listed, Task<ManifestContent> content, CancellationToken cancellationToken)
    {
        string repository = candidates[0].Repository;
        string digest = candidates[0].Digest;
        long plannedBytes = ByteTotal.Sum(candidates.Select(c => c.ReclaimableBytes));
        string? otherTag;
        var deleting = new HashSet<string>(stillPointing.Select(i => candidates[i].Tag).OfType<string>(), StringComparer.Ordinal);
        try
        {
            await listed.ConfigureAwait(false);
            otherTag = this.Watch(repository).OtherTagOn(digest, deleting);
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
        ManifestStep step = await this.DeleteManifestAsync(repository, digest, tags, null, cancellationToken, content).ConfigureAwait(false);
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
            results[i] = this.Result(candidate, status, reason, status == DeletionStatus.Deleted && isCarrier && !stays ? plannedBytes : 0) with { Refusal = step.Refusal };
        }

        var children = new List<ChildDeletionResult>();
        var putBack = new List<TagPutBack>(step.PutBack);
        var problems = new List<string>(step.Problems);
        if (status == DeletionStatus.Deleted && !stays)
        {
            // Parents go first; a manifest that stays (skipped, failed, put back) keeps everything under it.
            long answered = step.Answered;
            var staying = new HashSet<string>(StringComparer.Ordinal);
            foreach (ChildDeletion child in candidates.SelectMany(c => c.ChildDeletions).DistinctBy(c => c.Digest))
            {
                if (staying.Contains(child.ParentDigest))
                {
                    staying.Add(child.Digest);
                    children.Add(new ChildDeletionResult(child.Repository, child.Digest, child.ParentDigest, DeletionStatus.Skipped, $"{child.ParentDigest} was not deleted and still needs it; not deleted."));
                    continue;
                }

                (ChildDeletionResult childResult, ManifestStep? childStep) = await this.DeleteChildAsync(child, repository, answered).ConfigureAwait(false);
                children.Add(childResult);
                if (childStep is not null)
                {
                    answered = Math.Max(answered, childStep.Answered);
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

                content ??= await this.client.GetManifestAsync(repository, digest, cancellationToken).ConfigureAwait(false);
            }
            catch (RegistryException ex)
            {
                results.Add(this.Result(candidate, DeletionStatus.Failed, $"Could not re-check {Name(candidate)} before deleting: {ex.Message}"));
                continue;
            }

            ManifestStep step = await this.DeleteTagAsync(repository, digest, tag, content, cancellationToken).ConfigureAwait(false);
            putBack.AddRange(step.PutBack);
            problems.AddRange(step.Problems);
            results.Add(this.Result(candidate, step.Status, step.Status == DeletionStatus.Deleted ? candidate.Reason : step.Message) with { Refusal = step.Refusal });
        }

        return new ManifestDeletion(results, []) { TagsPutBack = putBack, Problems = problems };
    }

    private async Task<ManifestStep> DeleteTagAsync(string repository, string digest, string tag, ManifestContent content, CancellationToken cancellationToken)
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
            new JournaledDelete(repository, digest, null, JournalRecord.UntagAction, [tag], this.Watch(repository).Open(digest, [tag], manifest: false), content),
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
    private async Task<(ChildDeletionResult Result, ManifestStep? Step)> DeleteChildAsync(ChildDeletion child, string parentRepository, long answered)
    {
        ChildDeletionResult Outcome(DeletionStatus status, string message) => new(child.Repository, child.Digest, child.ParentDigest, status, message);
        var tags = new List<string>();
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

            string? other = await this.FindOtherTagOnAsync(
                child.Repository, child.Digest, new HashSet<string>(tags, StringComparer.Ordinal), child.Repository == parentRepository && answered > 0 ? answered : null, CancellationToken.None).ConfigureAwait(false);
            if (other is not null)
            {
                return (Outcome(DeletionStatus.Skipped, $"tag {other} now points at {child.Digest} (pushed or moved since the plan), and the DELETE would remove it too; not deleted."), null);
            }
        }
        catch (RegistryException ex)
        {
            return (Outcome(DeletionStatus.Failed, $"Could not re-check {child.Repository}@{child.Digest} before deleting: {ex.Message}"), null);
        }

        ManifestStep step = await this.DeleteManifestAsync(child.Repository, child.Digest, tags, child.ParentDigest, CancellationToken.None).ConfigureAwait(false);
        return (Outcome(step.Status, step.Message) with { Refusal = step.Refusal }, step);
    }

    /// <summary>
    /// Returns a tag of the repository, other than <paramref name="deleting"/>, that points at the digest as far as a
    /// listing taken after <paramref name="after"/> (default: now) and the digests known since the plan tell, or
    /// <see langword="null"/>. The listing is shared with every other DELETE waiting for one; tags it shows for the
    /// first time are read with one HEAD each.
    /// </summary>
    private async Task<string?> FindOtherTagOnAsync(
        string repository, string digest, IReadOnlySet<string> deleting, long? after, CancellationToken cancellationToken)
    {
        TagWatch watch = this.Watch(repository);
        await watch.WaitListingAfterAsync(after ?? watch.Now(), cancellationToken).ConfigureAwait(false);
        return watch.OtherTagOn(digest, deleting);
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

    /// <summary>Starts reading a manifest by digest for the journal; a failure is seen by whoever awaits it.</summary>
    private Task<ManifestContent> ReadForJournal(string repository, string digest, CancellationToken cancellationToken) =>
        Observed(this.client.GetManifestAsync(repository, digest, cancellationToken));

    /// <summary>
    /// A task started ahead that may not be awaited (the check before it failed): its failure is observed here, so it
    /// is never an unobserved exception, and still seen by whoever awaits it.
    /// </summary>
    private static T Observed<T>(T task)
        where T : Task
    {
        _ = task.ContinueWith(static t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        return task;
    }

    /// <summary>
    /// Re-reads a planned tag with a GET: the digest it points at now (<see langword="null"/> when the manifest endpoint
    /// answers 404, as a HEAD would say) and, when that is the planned digest, the manifest's bytes. Any other digest,
    /// another algorithm's name for the same bytes included, is a move, as it was for a HEAD: the checks around the
    /// DELETE know a manifest by one name. A tag this client cannot read whole (larger than the manifest limit, a body
    /// that does not match its digest, an algorithm it cannot verify) is resolved with a HEAD instead: moved is a move,
    /// and on the planned manifest the error stands, so nothing is deleted without the bytes for the journal.
    /// </summary>
    private async Task<(string? Now, ManifestContent? Content)> ReadTagAsync(string repository, string tag, string planned, CancellationToken cancellationToken)
    {
        try
        {
            ManifestContent? read = await this.client.TryGetManifestAsync(repository, tag, cancellationToken).ConfigureAwait(false);
            return (read?.Digest, read is not null && string.Equals(read.Digest, planned, StringComparison.Ordinal) ? read : null);
        }
        catch (RegistryException ex) when (ex is RegistryLimitException or ManifestFormatException)
        {
            string? now = await this.client.HeadManifestAsync(repository, tag, cancellationToken).ConfigureAwait(false);
            if (string.Equals(now, planned, StringComparison.Ordinal))
            {
                throw;
            }

            return (now, null);
        }
    }

    private static string Name(DeletionCandidate candidate) =>
        candidate.Tag is null ? $"{candidate.Repository}@{candidate.Digest}" : $"{candidate.Repository}:{candidate.Tag}";

    private ImageDeletionResult Result(DeletionCandidate candidate, DeletionStatus status, string reason, long bytes = 0) =>
        new(this.Registry, candidate.Repository, candidate.Tag, candidate.Digest, status, bytes, reason);
}
