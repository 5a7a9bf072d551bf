using System.Globalization;
using System.Management.Automation;
using RegistryCleaner.Deletion;
using RegistryCleaner.Planning;
using RegistryCleaner.Registry;

namespace RegistryCleaner.PowerShell.Commands;

/// <content>
/// The deletion itself: one confirmation per image on the pipeline thread, in plan order; the network work of each
/// confirmed image (re-checks, journal lines, DELETE, the tag check after it, put-backs) on a pool of -ThrottleLimit
/// workers; results written back in plan order. Ctrl+C, -ErrorAction Stop or a stop downstream hands out no more
/// work, lets every DELETE already journaled finish and be journaled, and counts it in the closing summary.
/// </content>
public sealed partial class RemoveUnusedImageCommand
{
    private long freed;

    private void Delete(UnusedImagePlan planned, bool targeted)
    {
        DeletionPlan plan = planned.Plan;
        string registry = planned.Client.Endpoint.DisplayName;
        var counts = new Dictionary<DeletionStatus, int>();
        foreach (ProtectedImage kept in plan.Protected)
        {
            string name = $"{kept.Repository}{(kept.Tag is null ? "@" + kept.Digest : ":" + kept.Tag)}";
            this.WriteVerbose($"kept: {name} — {kept.Reason}");
            if (targeted)
            {
                // A named image (piped, or by a typed -Tag/-Digest) that a protection keeps is reported, so scripts see
                // why it stayed, and counted in the summary like every other row.
                this.Emit(
                    new ImageDeletionResult(registry, kept.Repository, kept.Tag, kept.Digest ?? string.Empty, kept.Digest is null ? DeletionStatus.NotFound : DeletionStatus.Skipped, 0, kept.Reason),
                    counts);
            }
        }

        var journal = new DeletionJournal(this.ResolveJournalPath());
        var deleter = new ImageDeleter(planned.Client, journal)
        {
            PlannedTags = planned.PlannedTags,
            TrustPlannedTags = true,
            GivenRegistry = this.GivenRegistry,
        };
        this.client = planned.Client;
        this.OpenBackup(planned.Client);
        int wouldDelete = 0;
        long wouldFree = 0;
        var progress = new DeletionProgress(this, registry, plan.Candidates.Count, plan.TotalReclaimableBytes, this.IsDryRun);
        using var pool = new DeletionPool(this.EffectiveThrottleLimit, this.StopToken);
        try
        {
            foreach (IGrouping<(string Repository, string Digest), DeletionCandidate> group in plan.Candidates.GroupBy(c => (c.Repository, c.Digest)))
            {
                DeletionCandidate[] candidates = group.ToArray();
                DeletionCandidate first = candidates[0];
                long bytes = ByteTotal.Sum(candidates.Select(c => c.ReclaimableBytes));
                string[] otherTags = candidates.Skip(1).Select(c => c.Tag).OfType<string>().ToArray();
                string target = first.Tag is null
                    ? $"{registry}/{first.Repository}@{first.Digest}"
                    : $"{registry}/{first.Repository}:{first.Tag} ({RegistryNames.ShortDigest(first.Digest)})";
                string action = DescribeAction(candidates, otherTags, bytes);
                progress.Report(target);
                progress.Advance(candidates.Length, bytes);
                if (!this.ShouldChange(target, action))
                {
                    if (this.IsDryRun)
                    {
                        wouldDelete += candidates.Length;
                        wouldFree = ByteTotal.Add(wouldFree, bytes);
                        this.BackUp(candidates, registry, counts);
                    }
                    else
                    {
                        pool.Add(new ManifestDeletion(
                            [.. candidates.Select(declined => new ImageDeletionResult(registry, declined.Repository, declined.Tag, declined.Digest, DeletionStatus.Skipped, 0, "Not confirmed."))],
                            []));
                        this.WriteReady(pool, journal, registry, counts, all: false);
                    }

                    continue;
                }

                if (this.backupFolder is not null)
                {
                    // The backup writes its own rows: everything before it is written first, so rows stay in plan order.
                    this.WriteReady(pool, journal, registry, counts, all: true);
                    if (!this.BackUp(candidates, registry, counts))
                    {
                        continue;
                    }
                }

                pool.Start(token => deleter.DeleteAsync(candidates, token));
                this.WriteReady(pool, journal, registry, counts, all: false);
            }

            this.WriteReady(pool, journal, registry, counts, all: true);
        }
        catch (Exception) when (!this.IsDryRun && !this.summaryWritten)
        {
            // -ErrorAction Stop (or $ErrorActionPreference = 'Stop') ends the run at the first error, Ctrl+C at any
            // point, after images may already be gone: no more work is handed out, the DELETEs already journaled finish
            // and are counted, and the person still needs what was done, the journal and the restore command.
            this.CountUnwritten(pool, counts);
            progress.Complete();
            this.WriteSummary(journal, counts, this.freed);
            throw;
        }
        finally
        {
            progress.Complete();
        }

        if (this.IsDryRun)
        {
            this.Tell(string.Create(CultureInfo.InvariantCulture, $"What if: would delete {wouldDelete} images, freeing {ByteCount.Format(wouldFree)} ({wouldFree} bytes){this.AfterCollection()}."));
            this.WriteBackupEstimate(planned.Client);
            return;
        }

        this.WriteVerbose(string.Create(CultureInfo.InvariantCulture, $"{deleter.TagListings} tag listings were shared by the checks before and after the DELETEs."));
        this.WriteSummary(journal, counts, this.freed);
    }

    /// <summary>
    /// Writes the results that are ready in plan order; with <paramref name="all"/> waits for every one, otherwise
    /// only while the pool has no room for the next image. A deletion that stops the run (deletion disabled, refused
    /// credentials, no journal) first lets the others in flight finish and writes them, then ends the run.
    /// </summary>
    private void WriteReady(DeletionPool pool, DeletionJournal journal, string registry, Dictionary<DeletionStatus, int> counts, bool all)
    {
        while (pool.Next(all) is { } entry)
        {
            ManifestDeletion result;
            try
            {
                result = entry.GetAwaiter().GetResult();
            }
            catch (OperationCanceledException) when (this.StopToken.IsCancellationRequested)
            {
                throw new PipelineStoppedException();
            }
            catch (Exception ex) when (ex is RegistryDeleteDisabledException or RegistryAuthenticationException or IOException or UnauthorizedAccessException)
            {
                pool.Stop();
                while (pool.Next(all: true) is { } other)
                {
                    if (other.IsCompletedSuccessfully)
                    {
                        this.WriteResult(other.Result, counts);
                    }
                }

                this.WriteSummary(journal, counts, this.freed);
                if (ex is RegistryDeleteDisabledException)
                {
                    throw this.Terminate(ex, ErrorIds.RegistryDeleteDisabled, ErrorCategory.InvalidOperation, registry);
                }

                if (ex is RegistryAuthenticationException auth)
                {
                    this.ThrowTerminatingError(RegistryErrorRecord(auth, registry));
                }

                // The journal comes before every DELETE: without it nothing more may be deleted.
                throw this.Terminate(
                    new IOException($"The deletion journal '{journal.Path}' cannot be written, so nothing more is deleted: {ex.Message} Give a writable -JournalPath.", ex),
                    ErrorIds.DeletionJournalUnwritable,
                    ErrorCategory.WriteError,
                    journal.Path);
            }

            this.WriteResult(result, counts);
        }
    }

    private void WriteResult(ManifestDeletion result, Dictionary<DeletionStatus, int> counts)
    {
        foreach (ImageDeletionResult image in result.Images)
        {
            this.freed = ByteTotal.Add(this.freed, image.Status == DeletionStatus.Deleted ? image.ReclaimableBytes : 0);
            this.Emit(image, counts);
        }

        foreach (ChildDeletionResult child in result.Children)
        {
            if (child.Status == DeletionStatus.Failed)
            {
                this.WriteError(EngineErrorMap.DeletionFailed(child.Reason, child.Refusal, child));
            }
            else
            {
                this.WriteVerbose($"{child.Status}: {child.Repository}@{child.Digest} with {child.ParentDigest}: {child.Reason}");
            }
        }

        this.ReportTagChecks(result);
    }

    /// <summary>The run is ending: every DELETE in flight finishes, and what it did is counted though it cannot be written.</summary>
    private void CountUnwritten(DeletionPool pool, Dictionary<DeletionStatus, int> counts)
    {
        pool.Stop();
        while (pool.Next(all: true) is { } entry)
        {
            if (!entry.IsCompletedSuccessfully)
            {
                continue;
            }

            foreach (ImageDeletionResult image in entry.Result.Images)
            {
                counts[image.Status] = counts.GetValueOrDefault(image.Status) + 1;
                this.freed = ByteTotal.Add(this.freed, image.Status == DeletionStatus.Deleted ? image.ReclaimableBytes : 0);
            }
        }
    }

    /// <summary>
    /// The images handed to workers, in plan order: at most the throttle limit run at once; the pipeline thread takes
    /// them back in the same order. Stopping cancels what has not been journaled yet and waits for the rest.
    /// </summary>
    private sealed class DeletionPool(int limit, CancellationToken stopToken) : IDisposable
    {
        private readonly Queue<Task<ManifestDeletion>> order = new();
        private readonly CancellationTokenSource stopping = CancellationTokenSource.CreateLinkedTokenSource(stopToken);
        private readonly List<Task<ManifestDeletion>> running = [];

        /// <summary>Adds a result already known (a declined image) in its place.</summary>
        public void Add(ManifestDeletion result) => this.order.Enqueue(Task.FromResult(result));

        /// <summary>Hands one image to a worker; the caller made room first (<see cref="Next"/>).</summary>
        public void Start(Func<CancellationToken, Task<ManifestDeletion>> work)
        {
            CancellationToken token = this.stopping.Token;
            Task<ManifestDeletion> task = Task.Run(() => work(token), CancellationToken.None);
            this.order.Enqueue(task);
            this.running.Add(task);
        }

        /// <summary>
        /// The next result in plan order once it is complete; <see langword="null"/> when none is left, or (unless
        /// <paramref name="all"/>) when the next is still running and there is room for another image.
        /// </summary>
        public Task<ManifestDeletion>? Next(bool all)
        {
            while (this.order.TryPeek(out Task<ManifestDeletion>? head))
            {
                if (head.IsCompleted)
                {
                    return this.order.Dequeue();
                }

                this.running.RemoveAll(t => t.IsCompleted);
                if (!all && this.running.Count < Math.Max(1, limit))
                {
                    return null;
                }

                // Once stopping, in-flight DELETEs are waited for whatever the token says: each finishes its journal line.
                if (this.stopping.IsCancellationRequested)
                {
                    Task.WaitAny([.. this.running]);
                }
                else
                {
                    try
                    {
                        Task.WaitAny([.. this.running], stopToken);
                    }
                    catch (OperationCanceledException)
                    {
                        this.stopping.Cancel();
                        throw new PipelineStoppedException();
                    }
                }
            }

            return null;
        }

        /// <summary>Hands out nothing more: what has not been journaled yet is cancelled.</summary>
        public void Stop() => this.stopping.Cancel();

        public void Dispose() => this.stopping.Dispose();
    }
}
