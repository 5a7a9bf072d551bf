using System.Diagnostics;
using System.Globalization;
using RegistryCleaner.Registry;

namespace RegistryCleaner.Maintenance;

/// <summary>The run was refused before anything changed (for example --delete-untagged on distribution 2.x).</summary>
public sealed class GarbageCollectionRefusedException : Exception
{
    /// <summary>Initializes the exception.</summary>
    public GarbageCollectionRefusedException()
    {
    }

    /// <summary>Initializes the exception.</summary>
    /// <param name="message">Why, and what to do.</param>
    public GarbageCollectionRefusedException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes the exception.</summary>
    /// <param name="message">Why, and what to do.</param>
    /// <param name="innerException">The cause.</param>
    public GarbageCollectionRefusedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// Runs a registry's garbage collection the safe way, each step undone if a later one fails: switch the registry to
/// read-only and wait until it answers again (confirmed: a blob upload is refused), run <c>garbage-collect
/// --dry-run</c> and measure the blobs it names, run <c>garbage-collect</c>, measure what is gone, restart the
/// registry with its own settings (which also drops its blob descriptor cache, so it stops serving blobs that are
/// gone) and confirm it accepts writes again, then check every image. <c>--delete-untagged</c> is never passed to a
/// registry that deletes the children of multi-architecture indexes with it.
/// </summary>
public sealed class RegistryGarbageCollector
{
    private const int ProblemsKept = 1000;
    private readonly IRegistryHost host;
    private readonly RegistryClient client;
    private readonly GarbageCollectionOptions options;
    private readonly List<string> steps = [];
    private readonly Stopwatch clock = new();
    private int step;
    private bool dryRun;
    private RegistryVersion? version;

    /// <summary>Initializes a collector.</summary>
    /// <param name="host">Where the registry runs.</param>
    /// <param name="client">The registry's API (push permission, to confirm the read-only switch).</param>
    /// <param name="options">How to run.</param>
    public RegistryGarbageCollector(IRegistryHost host, RegistryClient client, GarbageCollectionOptions options)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(options);
        this.host = host;
        this.client = client;
        this.options = options;
    }

    private int StepCount => this.dryRun ? 3 : 8 + (this.options.Verify ? 1 : 0);

    /// <summary>
    /// Finds the registry and reads its version; changes nothing. Refuses options that are unsafe for that version.
    /// </summary>
    /// <param name="cancellationToken">Cancels the inspection.</param>
    /// <returns>The registry's version.</returns>
    /// <exception cref="RegistryHostException">The registry's host cannot be used.</exception>
    /// <exception cref="GarbageCollectionRefusedException">The options are unsafe for this registry.</exception>
    public async Task<RegistryVersion> PrepareAsync(CancellationToken cancellationToken)
    {
        this.clock.Start();
        this.Begin($"Inspecting {this.host.Target}");
        await this.host.InspectAsync(cancellationToken).ConfigureAwait(false);
        this.Done($"found it; config {this.host.ConfigPath}");
        if (this.host.LeftoverWindow is { } leftover)
        {
            this.Log($"An earlier run left the registry read-only ({leftover}); this run restores its settings from before that window.");
        }

        this.Begin("Reading the registry's version");
        RegistryVersion found = await this.VersionAsync(cancellationToken).ConfigureAwait(false);
        this.Done(found.ToString());
        if (this.options.DeleteUntagged && !found.DeleteUntaggedKeepsIndexChildren)
        {
            throw new GarbageCollectionRefusedException(found.PreRelease is not null && found.Version is { Major: 3 }
                ? $"The registry is the pre-release {found} ('{found.Text}'): the fix that keeps the children of tagged multi-architecture images from garbage-collect --delete-untagged (distribution#3004, #3178) landed during the 3.0 pre-releases, so this one may delete them. -DeleteUntagged is refused for it; run without it (untagged manifests and their blobs stay), or upgrade the registry to distribution 3.0.0 or later."
                : $"The registry is version {found} ('{found.Text}'): its garbage-collect --delete-untagged deletes the children of multi-architecture images that are still tagged (distribution#3004, #3178). -DeleteUntagged is refused for it; run without it (untagged manifests and their blobs stay), or upgrade the registry to distribution 3.0.0 or later.");
        }

        this.version = found;
        return found;
    }

    /// <summary>
    /// Runs, after <see cref="PrepareAsync"/>. Problems found before anything changes throw; once the registry has
    /// been switched, every outcome is a result (a failed step is undone and reported in it), and cancellation is
    /// honoured only between steps.
    /// </summary>
    /// <param name="dryRun">Run only <c>garbage-collect --dry-run</c>: nothing is switched or deleted.</param>
    /// <param name="cancellationToken">Stops the run at the next step boundary (the registry is restored first).</param>
    /// <returns>What happened.</returns>
    /// <exception cref="RegistryException">The registry's API cannot be used to confirm the switch.</exception>
    public async Task<GarbageCollectionResult> RunAsync(bool dryRun, CancellationToken cancellationToken)
    {
        RegistryVersion found = this.version ?? throw new InvalidOperationException("Prepare the run first.");
        this.dryRun = dryRun;
        var result = new GarbageCollectionResult
        {
            Registry = this.client.Endpoint.DisplayName,
            Mode = this.host.Mode,
            Target = this.host.Target,
            RegistryVersion = found.ToString(),
        };

        if (dryRun)
        {
            this.Begin("Running garbage-collect --dry-run (the registry stays as it is)");
            (GarbageCollectOutput preview, IReadOnlyDictionary<string, long>? sizes) = await this.DryRunAsync(cancellationToken).ConfigureAwait(false);
            long? bytes = sizes is null ? null : preview.EligibleBlobs.Sum(d => sizes.GetValueOrDefault(d));
            this.Done(Describe(preview.EligibleBlobs.Count, bytes));
            return this.Finish(result with
            {
                Status = GarbageCollectionStatus.WhatIf,
                BlobsEligible = preview.EligibleBlobs.Count,
                BytesEligible = bytes,
                BytesFreed = 0,
                Verification = "Skipped",
                Reason = $"What if: garbage collection would delete {Describe(preview.EligibleBlobs.Count, bytes)}{(preview.ManifestsEligible > 0 ? $" and {preview.ManifestsEligible} untagged manifests" : string.Empty)}. Nothing was changed.",
            });
        }

        // Fail closed before changing anything: the switch must be confirmable with these credentials.
        this.Begin($"Checking that the registry answers and that {this.options.ProbeRepository} can confirm the switch");
        await this.client.PingAsync(cancellationToken).ConfigureAwait(false);
        bool writableBefore = await this.client.IsWritableAsync(this.options.ProbeRepository, cancellationToken).ConfigureAwait(false);

        // A window an interrupted run left makes the registry read-only now, but not by its own settings.
        bool leftover = this.host.LeftoverWindow is not null;
        this.Done(writableBefore ? "writable" : "read-only already");

        DateTimeOffset? readOnlySince = null;
        GarbageCollectOutput? collected = null;
        IReadOnlyDictionary<string, long>? before = null;
        IReadOnlyDictionary<string, long>? after = null;
        GarbageCollectOutput? rehearsal = null;
        string? failure = null;
        bool stopped = false;
        try
        {
            this.Begin("Switching the registry to read-only and restarting it");
            readOnlySince = DateTimeOffset.UtcNow;
            await this.host.RestartAsync(readOnly: true, cancellationToken).ConfigureAwait(false);
            this.Done(this.host.ProcessId is { } pid ? $"process {pid}" : "restarted");

            this.Begin("Waiting until the registry answers, read-only");
            await RegistryReadiness.WaitUntilAnswersAsync(this.client, this.options.RestartTimeout, this.host.Target, cancellationToken).ConfigureAwait(false);
            if (await this.client.IsWritableAsync(this.options.ProbeRepository, cancellationToken).ConfigureAwait(false))
            {
                throw new RegistryHostException($"The registry still accepts writes after the switch to read-only ({ReadOnlyWindow.Variable} did not take effect on {this.host.Target}), so garbage collection was not run: it would delete layers of pushes in progress.");
            }

            this.Done("refuses uploads (405)");
            cancellationToken.ThrowIfCancellationRequested();

            this.Begin("Running garbage-collect --dry-run and measuring what it names");
            (rehearsal, before) = await this.DryRunAsync(cancellationToken).ConfigureAwait(false);
            this.Done(Describe(rehearsal.EligibleBlobs.Count, before is null ? null : rehearsal.EligibleBlobs.Sum(d => before.GetValueOrDefault(d))));
            cancellationToken.ThrowIfCancellationRequested();

            // From here garbage-collect runs to its end whatever the token says: stopping it half-way helps nobody.
            this.Begin("Running garbage-collect");
            collected = new GarbageCollectOutput();
            int exit = await this.host.RunRegistryAsync(this.GarbageCollectArguments(dryRun: false), collected.Add, CancellationToken.None).ConfigureAwait(false);
            if (exit != 0 || !collected.Summarised)
            {
                throw new RegistryHostException($"garbage-collect exited with {exit}{(collected.Summarised ? string.Empty : " before its summary")}: {collected.Tail}");
            }

            after = await this.host.MeasureBlobsAsync(collected.EligibleBlobs, CancellationToken.None).ConfigureAwait(false);
            this.Done($"{collected.EligibleBlobs.Count} blobs deleted");
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            stopped = true;
            this.Done("stopped");
        }
#pragma warning disable CA1031 // Whatever failed inside the window, the registry must get its settings back below.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            failure = ex is RegistryHostException or RegistryException or TimeoutException ? ex.Message : $"{ex.GetType().Name}: {ex.Message}";
            this.Done("failed: " + failure);
        }

        // Whatever happened, the registry gets its own settings back (and drops its blob descriptor cache).
        TimeSpan? readOnlyDuration = null;
        string? restoreFailure = null;
        if (readOnlySince is not null)
        {
            this.Begin("Restarting the registry with its own settings");
            try
            {
                await this.host.RestartAsync(readOnly: false, CancellationToken.None).ConfigureAwait(false);
                await RegistryReadiness.WaitUntilAnswersAsync(this.client, this.options.RestartTimeout, this.host.Target, CancellationToken.None).ConfigureAwait(false);
                readOnlyDuration = DateTimeOffset.UtcNow - readOnlySince.Value;
                bool writable = await this.client.IsWritableAsync(this.options.ProbeRepository, CancellationToken.None).ConfigureAwait(false);
                if (writable != writableBefore && !leftover)
                {
                    restoreFailure = $"the registry {(writable ? "accepts" : "refuses")} writes after the restart, but {(writableBefore ? "accepted" : "refused")} them before the run.";
                }

                this.Done(restoreFailure ?? (writable ? "accepts writes again" : "read-only, as before the run"));
            }
#pragma warning disable CA1031 // A failed restore is reported with what to do, never lost.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                restoreFailure = ex.Message;
                this.Done("failed: " + ex.Message);
            }
        }

        int removed = 0;
        long? freed = null;
        if (collected is not null)
        {
            if (before is not null && after is not null)
            {
                string[] gone = collected.EligibleBlobs.Where(d => before.ContainsKey(d) && !after.ContainsKey(d)).Distinct(StringComparer.Ordinal).ToArray();
                removed = gone.Length;
                freed = gone.Sum(d => before[d]);
            }
            else
            {
                removed = collected.EligibleBlobs.Count;
            }
        }

        result = result with
        {
            BlobsEligible = rehearsal?.EligibleBlobs.Count ?? 0,
            BytesEligible = before is null || rehearsal is null ? null : rehearsal.EligibleBlobs.Sum(d => before.GetValueOrDefault(d)),
            BlobsRemoved = removed,
            BytesFreed = collected is null ? 0 : freed,
            ManifestsRemoved = collected?.ManifestsEligible ?? 0,
            ReadOnlyDuration = readOnlyDuration,
        };

        if (restoreFailure is not null)
        {
            return this.Finish(result with
            {
                Status = GarbageCollectionStatus.Failed,
                Reason = $"{(failure is null ? string.Empty : failure + " ")}Restoring the registry failed: {restoreFailure} It may still be read-only: check {this.host.Target}, or run Invoke-RegistryGarbageCollection again, which finds the read-only window and restores the settings from before it.",
            });
        }

        if (failure is not null || stopped)
        {
            return this.Finish(result with
            {
                Status = stopped ? GarbageCollectionStatus.Stopped : GarbageCollectionStatus.Failed,
                Reason = (stopped ? "Stopped before garbage-collect ran." : failure!) + " The registry was restarted with its own settings and accepts writes as before.",
            });
        }

        if (!this.options.Verify)
        {
            return this.Finish(result with { Status = GarbageCollectionStatus.Completed, Verification = "Skipped", Reason = Freed(result) + " Verification skipped." });
        }

        try
        {
            this.Begin("Verifying every image of the registry");
            (IntegritySummary summary, IReadOnlyList<IntegrityProblem> problems) = await this.VerifyAsync(cancellationToken).ConfigureAwait(false);
            this.Done(summary.Healthy ? $"{summary.Images} images, all whole" : $"{summary.Problems} problems in {summary.BrokenImages} of {summary.Images} images");
            return this.Finish(result with
            {
                Status = GarbageCollectionStatus.Completed,
                Verification = summary.Healthy ? "Passed" : "Failed",
                VerificationProblems = summary.Problems,
                Problems = problems,
                Reason = Freed(result) + (summary.Healthy
                    ? string.Create(CultureInfo.InvariantCulture, $" Verified: {summary.Images} images, {summary.Manifests} manifests and {summary.Blobs} blobs answer as their manifests say.")
                    : string.Create(CultureInfo.InvariantCulture, $" Verification found {summary.Problems} problems in {summary.BrokenImages} of {summary.Images} images (see Problems); those images cannot be pulled.")),
            });
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            this.Done("stopped");
            return this.Finish(result with { Status = GarbageCollectionStatus.Stopped, Verification = "NotRun", Reason = Freed(result) + " Stopped during the verification." });
        }
        catch (RegistryException ex)
        {
            this.Done("failed: " + ex.Message);
            return this.Finish(result with { Status = GarbageCollectionStatus.Completed, Verification = "NotRun", Reason = Freed(result) + $" The verification could not run: {ex.Message}" });
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            // Garbage collection is done and the registry restored: whatever broke the check, the result must come out.
            this.Done($"failed: {ex.GetType().Name}: {ex.Message}");
            return this.Finish(result with { Status = GarbageCollectionStatus.Completed, Verification = "NotRun", Reason = Freed(result) + $" The verification stopped with an unexpected error ({ex.GetType().Name}: {ex.Message}); run Test-RegistryImage -Repository * to check the images." });
        }
    }

    private static string Describe(int blobs, long? bytes) => bytes is { } b
        ? string.Create(CultureInfo.InvariantCulture, $"{blobs} blobs, {b} bytes")
        : string.Create(CultureInfo.InvariantCulture, $"{blobs} blobs (bytes unknown: the storage cannot be measured from here)");

    private static string Freed(GarbageCollectionResult result) =>
        $"Garbage collection removed {Describe(result.BlobsRemoved, result.BytesFreed)}{(result.ManifestsRemoved > 0 ? $" and {result.ManifestsRemoved} untagged manifests" : string.Empty)}; the registry was read-only for {result.ReadOnlyDuration?.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture)} s.";

    private IReadOnlyList<string> GarbageCollectArguments(bool dryRun)
    {
        var arguments = new List<string> { "garbage-collect" };
        if (dryRun)
        {
            arguments.Add("--dry-run");
        }

        if (this.options.DeleteUntagged)
        {
            arguments.Add("--delete-untagged");
        }

        arguments.Add(this.host.ConfigPath);
        return arguments;
    }

    private async Task<RegistryVersion> VersionAsync(CancellationToken cancellationToken)
    {
        var text = new System.Text.StringBuilder();
        int exit = await this.host.RunRegistryAsync(["--version"], line => text.AppendLine(line), cancellationToken).ConfigureAwait(false);
        return exit == 0 ? RegistryVersion.Parse(text.ToString()) : new RegistryVersion(string.Empty, null);
    }

    private async Task<(GarbageCollectOutput Output, IReadOnlyDictionary<string, long>? Sizes)> DryRunAsync(CancellationToken cancellationToken)
    {
        var output = new GarbageCollectOutput();
        int exit = await this.host.RunRegistryAsync(this.GarbageCollectArguments(dryRun: true), output.Add, cancellationToken).ConfigureAwait(false);
        if (exit != 0 || !output.Summarised)
        {
            throw new RegistryHostException($"garbage-collect --dry-run exited with {exit}{(output.Summarised ? string.Empty : " before its summary")}: {output.Tail}");
        }

        IReadOnlyDictionary<string, long>? sizes = await this.host.MeasureBlobsAsync(output.EligibleBlobs, cancellationToken).ConfigureAwait(false);
        if (sizes is null)
        {
            this.Log("The registry's storage cannot be measured from here (not the filesystem driver, or no stat in the container): blobs are counted, bytes are not.");
        }

        return (output, sizes);
    }

    private async Task<(IntegritySummary Summary, IReadOnlyList<IntegrityProblem> Problems)> VerifyAsync(CancellationToken cancellationToken)
    {
        IReadOnlyList<string> repositories = await this.client.GetCatalogAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        IReadOnlyList<IntegrityTarget> targets = await RegistryIntegrityChecker.TagsOfAsync(this.client, repositories, cancellationToken).ConfigureAwait(false);
        var problems = new List<IntegrityProblem>();
        var checker = new RegistryIntegrityChecker(this.client);
        IntegritySummary summary = await checker.CheckAsync(
            targets,
            problem =>
            {
                if (problems.Count < ProblemsKept)
                {
                    problems.Add(problem);
                }

                this.options.OnProblem?.Invoke(problem);
            },
            cancellationToken).ConfigureAwait(false);
        return (summary, problems);
    }

    private void Begin(string activity)
    {
        this.step++;
        this.options.Progress?.Report(new GarbageCollectionProgress(this.step, Math.Max(this.step, this.StepCount), activity));
        this.Log($"Step {this.step}: {activity}.");
        this.steps.Add(string.Create(CultureInfo.InvariantCulture, $"{this.clock.Elapsed:hh\\:mm\\:ss} {activity}"));
    }

    private void Done(string outcome)
    {
        this.steps[^1] += ": " + outcome;
        this.Log($"Step {this.step}: {outcome}.");
    }

    private void Log(string line) => this.options.Log?.Invoke(line);

    private GarbageCollectionResult Finish(GarbageCollectionResult result) => result with
    {
        Duration = this.clock.Elapsed,
        Steps = this.steps.ToArray(),
        ProcessId = this.host.ProcessId,
    };
}

/// <summary>Waits for a registry to answer after a restart.</summary>
public static class RegistryReadiness
{
    /// <summary>Polls <c>GET /v2/</c> until the registry answers 200.</summary>
    /// <param name="client">The registry.</param>
    /// <param name="timeout">How long to wait.</param>
    /// <param name="what">What was restarted, for the message.</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <returns>A task that completes when it answers.</returns>
    /// <exception cref="TimeoutException">It did not answer in time.</exception>
    public static async Task WaitUntilAnswersAsync(RegistryClient client, TimeSpan timeout, string what, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        var waited = Stopwatch.StartNew();
        Exception? last = null;
        while (waited.Elapsed < timeout)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                await client.PingAsync(cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (RegistryException ex) when (ex is not RegistryAuthenticationException)
            {
                last = ex;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken).ConfigureAwait(false);
        }

        throw new TimeoutException($"The registry did not answer GET /v2/ within {timeout.TotalSeconds:0} s of the restart of {what}: {last?.Message}");
    }
}
