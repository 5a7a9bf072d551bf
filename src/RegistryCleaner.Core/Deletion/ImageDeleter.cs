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
/// line complete, so the journal never claims less or more than what was attempted. Several manifests may be deleted
/// at once, in the same repository too: each repository's tags are watched by one <see cref="TagWatch"/> whose
/// listings every DELETE in flight shares.
/// </summary>
public sealed partial class ImageDeleter
{
    private readonly RegistryClient client;
    private readonly DeletionJournal journal;
    private readonly RegistryDeleteOrder order;

    // Tells this run's journal lines from another run's sharing the file (see ClaimedElsewhere).
    private readonly string run = Guid.NewGuid().ToString("N");

    // What is known of each repository's tags, shared by the DELETEs running in it.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, TagWatch> watches = new(StringComparer.Ordinal);

    /// <summary>Initializes a deleter.</summary>
    /// <param name="client">The registry client (with delete permission).</param>
    /// <param name="journal">The journal each manifest is appended to before its DELETE.</param>
    public ImageDeleter(RegistryClient client, DeletionJournal journal)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(journal);
        this.client = client;
        this.journal = journal;
        this.order = new RegistryDeleteOrder(client, this.PutBackAsync);
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
    /// (tags created since are always read right before the DELETE). Default 30 seconds. A sweep after the first is done
    /// only while it costs at most <see cref="TagWatch.SweepHeadsPerDelete"/> HEADs per DELETE since the last one, so its
    /// cost grows like the DELETEs'; otherwise the digests known are kept, and a tag moved onto a manifest since is
    /// caught by the check after its DELETE and put back.
    /// </summary>
    public TimeSpan TagSweepInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Gets whether <see cref="PlannedTags"/> were read moments ago by this run, so the first check of each repository
    /// trusts them instead of reading every tag again. Default: every tag is read at the first check.
    /// </summary>
    public bool TrustPlannedTags { get; init; }

    /// <summary>
    /// Gets the registry as the user gave it (-Registry or registry.url), for the restore commands the reports print;
    /// the registry's display name when not set.
    /// </summary>
    public string? GivenRegistry { get; init; }

    /// <summary>Gets how many tag listings were read (each shared by every DELETE waiting for it).</summary>
    public int TagListings => this.watches.Values.Sum(w => w.Listings);

    private string Registry => this.client.Endpoint.DisplayName;

    private async Task<ManifestStep> DeleteManifestAsync(
        string repository, string digest, IReadOnlyList<string> tags, string? parent, CancellationToken cancellationToken, Task<ManifestContent>? read = null)
    {
        ManifestContent content;
        try
        {
            // Read by digest here, or by the planned tag just before (checked against the planned digest): either way the
            // bytes hash to the digest, so the journal holds exactly what was stored.
            content = await (read ?? this.client.GetManifestAsync(repository, digest, cancellationToken)).ConfigureAwait(false);
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
            new JournaledDelete(repository, digest, parent, null, tags, this.Watch(repository).Open(digest, tags, manifest: true), content),
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
        DeleteRefusal refusal = DeleteRefusal.None;
        try
        {
            answer = await send().ConfigureAwait(false);
            ManifestDeleteOutcome first = answer.Outcome;

            // Registries beyond distribution refuse some orders (tags before digest, index before child): follow theirs once.
            answer = await this.order.FollowAsync(answer, repository, digest, parent, delete.Tags, tag => this.Watch(repository).IsListedElsewhere(tag, digest), delete.Content, send).ConfigureAwait(false);

            // A refusal that keeps the manifest is carried as data: the final answer's, or the first one's it was kept for.
            refusal = DeleteRefusals.Of(answer.Outcome == ManifestDeleteOutcome.Kept ? first : answer.Outcome);
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
        TagCheck check = await this.CheckTagsAfterAsync(delete, status == DeletionStatus.Deleted || mayBeGone).ConfigureAwait(false);
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

        var problems = new List<string>(check.Problems);
        foreach (UndecidedTag undecided in check.Undecided)
        {
            // Not put back, and not among the removed tags, so Restore-RegistryImage does not put it onto this manifest
            // on a guess either; the line says where it would go, and the attempt line holds the manifest.
            string tag = undecided.Tag;
            string report = this.DescribeUndecided(repository, undecided, digest);
            await this.journal.AppendAsync(
                new JournalRecord(JournalRecord.RetagKind, DateTimeOffset.UtcNow, this.Registry, repository, digest, Tags: [tag], Outcome: JournalRecord.NotPutBackOutcome, Message: report, Run: this.run),
                CancellationToken.None).ConfigureAwait(false);
            problems.Add(report);
        }

        IReadOnlyList<TagPutBack> putBack = await this.PutBackAsync(
            repository, digest, delete.Content, check.Unplanned, $"pointed at {RegistryNames.ShortDigest(digest)} when last read and left with its DELETE").ConfigureAwait(false);
        return new ManifestStep(status, message, delete.Window.Done, putBack, problems) { Refusal = refusal };
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
            $"{message} Checking with HEAD failed too ({headError.Message}), so {name} may be gone: the journal records it as possibly deleted, and {this.RestoreCommand()} puts it back (it offers every image this run deleted, one confirmation each; harmless if it is still there).",
            JournalRecord.PossiblyDeletedOutcome);

    /// <summary>
    /// After a DELETE, waits for a listing of the repository's tags that started after its answer (shared with every
    /// other DELETE waiting), which accounts for each tag that left: the planned tags went, and any other tag that went
    /// pointed at the manifest (distribution removes exactly those) unless it was known on another manifest that is
    /// gone too (another run deleted that one). A tag that cannot be told apart between several DELETEs is reported.
    /// </summary>
    private async Task<TagCheck> CheckTagsAfterAsync(JournaledDelete delete, bool check)
    {
        TagWatch watch = this.Watch(delete.Repository);
        TagWindow window = delete.Window;
        watch.Close(window);
        if (!check)
        {
            window.Collected = true;
            return TagCheck.NotChecked;
        }

        try
        {
            await watch.WaitListingAfterAsync(window.Done, CancellationToken.None).ConfigureAwait(false);
        }
        catch (RegistryException ex)
        {
            window.Collected = true;
            return new TagCheck(
                delete.Tags,
                [],
                [$"The tags of {this.Registry}/{delete.Repository} could not be read again after deleting {delete.Digest}, so a tag that left with it would go unnoticed: {ex.Message} Compare the repository's tags with the journal."]);
        }

        var removed = new List<string>(delete.Tags.Where(t => !watch.IsListed(t)));
        string[] unplanned = [.. window.Unplanned.Distinct(StringComparer.Ordinal).Where(t => !delete.Tags.Contains(t, StringComparer.Ordinal))];
        removed.AddRange(unplanned);
        string[] problems = [.. window.Problems];
        UndecidedTag[] undecided = [.. window.Undecided.DistinctBy(u => u.Tag, StringComparer.Ordinal)];
        window.Collected = true;
        return new TagCheck(removed, unplanned, problems) { Undecided = undecided };
    }

    /// <summary>The ambiguity report: a tag left while several DELETEs of this run could have taken it.</summary>
    private string DescribeAmbiguity(string repository, string tag, IReadOnlyList<TagWindow> candidates, string why) =>
        $"Tag {this.Registry}/{repository}:{tag} left the registry while DELETEs of {string.Join(", ", candidates.Select(c => c.Digest).Distinct(StringComparer.Ordinal))} were in flight ({why}); "
        + $"which of them took it cannot be told, so it was not put back, and the rest of {repository} is deleted one manifest at a time. "
        + $"Each of those manifests is in the journal: {this.RestoreCommand()} offers every image this run deleted, one confirmation each; answer Yes for those, then point the tag at the right one with:\n"
        + $"skopeo copy docker://{this.Registry}/{repository}@<digest> docker://{this.Registry}/{repository}:{tag}";

    private TagWatch Watch(string repository) =>
        this.watches.GetOrAdd(repository, r => new TagWatch(
            this.client,
            r,
            this.PlannedTags?.GetValueOrDefault(r),
            this.TrustPlannedTags,
            this.TagSweepInterval,
            (tag, candidates, why) => this.DescribeAmbiguity(r, tag, candidates, why)));

    /// <summary>
    /// The report for a tag that left during one DELETE of ours while last known on another manifest that still exists
    /// (or could not be read). The full digest is named once, then shortened; the skopeo command, which needs it whole,
    /// stands on its own line.
    /// </summary>
    private string DescribeUndecided(string repository, UndecidedTag undecided, string digest)
    {
        string deleted = RegistryNames.ShortDigest(digest);
        string lastKnown = undecided.Unread is null
            ? $"It pointed at {RegistryNames.ShortDigest(undecided.LastKnown)} when last read, which still exists"
            : $"It pointed at {RegistryNames.ShortDigest(undecided.LastKnown)} when last read, which could not be read now ({undecided.Unread}; if it is gone, the tag went with it)";
        return $"Tag {this.Registry}/{repository}:{undecided.Tag} left the registry while the DELETE of {digest} was in flight, and was not put back. "
            + $"{lastKnown}: it may have been moved onto {deleted} and gone with our DELETE, or been deleted by someone else (alone, or with an image it was moved onto). "
            + $"Putting it onto {deleted} could point it at an image it never pointed at. "
            + $"If it had moved onto {deleted}: {this.RestoreCommand()} offers every image this run deleted, one confirmation each; answer Yes for {deleted} only, then:\n"
            + $"skopeo copy docker://{this.Registry}/{repository}@{digest} docker://{this.Registry}/{repository}:{undecided.Tag}\n"
            + "If it was deleted on purpose, nothing is to be done.";
    }

    /// <summary>The restore command for a journal and a registry, as the user can type it in PowerShell.</summary>
    /// <param name="journalPath">The journal.</param>
    /// <param name="registry">The registry as the user gave it.</param>
    /// <returns>The command.</returns>
    public static string RestoreCommand(string journalPath, string registry) =>
        $"Restore-RegistryImage -JournalPath {Quote(journalPath)} -Registry {Quote(registry)}";

    /// <summary>The restore command for this run's journal and registry.</summary>
    private string RestoreCommand() => RestoreCommand(this.journal.Path, this.GivenRegistry ?? this.Registry);

    /// <summary>A PowerShell single-quoted string.</summary>
    private static string Quote(string text) => "'" + text.Replace("'", "''", StringComparison.Ordinal) + "'";

    /// <summary>
    /// The one put-back: puts each tag back onto the manifest from its journaled bytes (the blobs are still there),
    /// tells the repository's watch where it points now, and journals a retag line for it.
    /// </summary>
    private async Task<IReadOnlyList<TagPutBack>> PutBackAsync(string repository, string digest, ManifestContent content, IReadOnlyList<string> tags, string cause)
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
                this.Watch(repository).Learn(tag, stored);
                result = string.Equals(stored, digest, StringComparison.Ordinal)
                    ? new TagPutBack(this.Registry, repository, tag, digest, true, $"Tag {name} {cause}; it was put back at once from the journal, with the manifest.")
                    : new TagPutBack(this.Registry, repository, tag, digest, false, $"Tag {name} {cause}; putting it back stored {stored} instead. {this.RestoreCommand()} offers every image this run deleted, one confirmation each; answer Yes for {RegistryNames.ShortDigest(digest)}.");
            }
            catch (Exception ex) when (ex is RegistryException or ArgumentException)
            {
                result = new TagPutBack(this.Registry, repository, tag, digest, false, $"Tag {name} {cause}; putting it back failed ({ex.Message}). Run {this.RestoreCommand()} now: it offers every image this run deleted, one confirmation each; answer Yes for {RegistryNames.ShortDigest(digest)}.");
            }

            await this.journal.AppendAsync(
                new JournalRecord(
                    JournalRecord.RetagKind,
                    DateTimeOffset.UtcNow,
                    this.Registry,
                    repository,
                    digest,
                    Tags: [tag],
                    Outcome: result.Restored ? JournalRecord.RestoredOutcome : nameof(DeletionStatus.Failed),
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

    /// <summary>A DELETE already journaled: what it names, the tags it is to remove and its place among the DELETEs in flight.</summary>
    private sealed record JournaledDelete(
        string Repository, string Digest, string? Parent, string? Action, IReadOnlyList<string> Tags, TagWindow Window, ManifestContent Content);

    /// <summary>What one DELETE (of a manifest or a tag) did, and when its answer came (on its repository's watch).</summary>
    private sealed record ManifestStep(DeletionStatus Status, string Message, long Answered, IReadOnlyList<TagPutBack> PutBack, IReadOnlyList<string> Problems)
    {
        /// <summary>Gets the kind of refusal the registry answered with, for the result.</summary>
        public DeleteRefusal Refusal { get; init; }

        public static ManifestStep Only(DeletionStatus status, string message) => new(status, message, 0, [], []);
    }

    /// <summary>The tags a DELETE removed (planned and unplanned), those to put back, and what could not be told.</summary>
    private sealed record TagCheck(IReadOnlyList<string> Removed, IReadOnlyList<string> Unplanned, IReadOnlyList<string> Problems)
    {
        /// <summary>Gets the tags last known on another manifest that left with no other DELETE of ours in flight (reported, not put back).</summary>
        public IReadOnlyList<UndecidedTag> Undecided { get; init; } = [];

        public static TagCheck NotChecked { get; } = new([], [], []);
    }
}
