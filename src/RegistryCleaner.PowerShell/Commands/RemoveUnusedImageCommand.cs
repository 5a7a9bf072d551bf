using System.Globalization;
using System.Management.Automation;
using System.Text.RegularExpressions;
using RegistryCleaner.Configuration;
using RegistryCleaner.Deletion;
using RegistryCleaner.Planning;
using RegistryCleaner.Registry;
using RegistryCleaner.PowerShell.Completion;

namespace RegistryCleaner.PowerShell.Commands;

/// <summary>
/// Deletes unused registry images safely: one confirmation per image, every protection re-applied, every deleted manifest journaled first.
/// </summary>
[Cmdlet(VerbsCommon.Remove, "UnusedImage", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(OutputTypeNames.ImageDeletion)]
public sealed partial class RemoveUnusedImageCommand : UnusedImageCmdlet
{
    private readonly List<PlanTarget> targets = [];
    private readonly ChangeGate changes;
    private bool summaryWritten;
    private RegistryClient? client;

    /// <summary>Initializes a new instance of the <see cref="RemoveUnusedImageCommand"/> class.</summary>
    public RemoveUnusedImageCommand() => this.changes = new ChangeGate(this, () => this.Force.IsPresent);

    /// <summary>Typed: repositories to clean (wildcards allowed); piped: the repository of each image (by property name).</summary>
    /// <remarks>
    /// Declared again for pipeline input by property name, without [ValidateNotNullOrEmpty]: an empty typed value gets
    /// its own error (ImageTargetInvalid) in <see cref="BeginProcessing"/>, an empty piped one per item.
    /// </remarks>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ValidateRegistryName(RegistryNameKind.Repository)]
    [ArgumentCompleter(typeof(RepositoryCompleter))]
    public new string[]? Repository { get => base.Repository; set => base.Repository = value; }

    /// <summary>Typed: only these tags (wildcards allowed) can be candidates; piped: the exact tag of each image (by property name).</summary>
    /// <remarks>Declared again for pipeline input by property name; an untagged image pipes an empty Tag.</remarks>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ValidateRegistryName(RegistryNameKind.Tag)]
    [ArgumentCompleter(typeof(TagCompleter))]
    public new string[]? Tag { get => base.Tag; set => base.Tag = value; }

    /// <summary>Typed: only these manifests (with -Tag, only the named tags pointing at them), in every repository in scope.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string[]? Digest { get; set; }

    /// <summary>
    /// The piped object itself, only to refuse what must never be a deletion target: Get-WorkloadImage's objects are
    /// the images in use, and binding their Repository and Tag would name exactly those for deletion.
    /// </summary>
    [Parameter(ValueFromPipeline = true, DontShow = true)]
    public PSObject? InputObject { get; set; }

    /// <summary>Accepted for scripts written for earlier versions; it never bypasses -WhatIf or a confirmation.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>The journal (JSON lines) each manifest is appended to before its DELETE. Default: &lt;analysis.output_dir&gt;/deletions-&lt;yyyyMMdd-HHmmss&gt;.jsonl.</summary>
    [Parameter]
    public string? JournalPath { get; set; }

    /// <summary>Gets whether this call deletes nothing: -WhatIf or the dry-run default.</summary>
    private bool IsDryRun => this.changes.IsDryRun;

    /// <inheritdoc />
    protected override void BeginProcessing()
    {
        // Before any remote call: piped objects name their own images, so a typed -Repository, -Tag or -Digest beside
        // them would either be ignored or silently change which image each object names.
        string[] typed = [.. new[] { nameof(this.Repository), nameof(this.Tag), nameof(this.Digest) }.Where(this.MyInvocation.BoundParameters.ContainsKey)];
        if (this.MyInvocation.ExpectingInput && typed.Length > 0)
        {
            throw this.Terminate(
                new ArgumentException(
                    $"-{string.Join(", -", typed)} cannot be typed while images are piped to Remove-UnusedImage: each piped object names its own Repository, Tag and Digest. "
                    + "Narrow the piped images with Where-Object (... | Where-Object Tag -like 'v1*' | Remove-UnusedImage), or type -Repository, -Tag and -Digest without piping."),
                ErrorIds.ImageTargetInvalid,
                ErrorCategory.InvalidArgument,
                typed);
        }

        if (this.MyInvocation.ExpectingInput)
        {
            return;
        }

        // An empty variable ($tags = @()) names nothing; taken as "no narrowing" it would delete the whole plan.
        foreach (string name in typed)
        {
            if (this.MyInvocation.BoundParameters[name] is not string[] { Length: > 0 } values || values.Any(string.IsNullOrWhiteSpace))
            {
                throw this.Terminate(
                    new ArgumentException($"-{name} is empty ($null, @() or ''), so it names nothing and nothing is deleted. Give it the values to delete (wildcards such as 'v1*' for -Tag and -Repository), or leave -{name} out."),
                    ErrorIds.ImageTargetInvalid,
                    ErrorCategory.InvalidArgument,
                    name);
            }
        }

        if (this.Digest?.FirstOrDefault(d => !ManifestDigestPattern().IsMatch(d ?? string.Empty)) is { } bad)
        {
            throw this.Terminate(
                new ArgumentException($"-Digest '{bad}' is not a manifest digest: give algorithm:hex, e.g. sha256: and 64 hexadecimal digits (the Digest property of Get-RegistryImage or Get-UnusedImage)."),
                ErrorIds.ImageTargetInvalid,
                ErrorCategory.InvalidArgument,
                bad);
        }
    }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        if (!this.MyInvocation.ExpectingInput)
        {
            return;
        }

        // Also after Export-Clixml/Import-Clixml ("Deserialized.") or Export-Csv -IncludeTypeInformation ("CSV:").
        if (this.InputObject is { } piped
            && (piped.BaseObject is WorkloadImageEntry || piped.TypeNames.Any(t => t.EndsWith(OutputTypeNames.WorkloadImage, StringComparison.Ordinal))))
        {
            this.WriteError(new ErrorRecord(
                new ArgumentException($"{piped.Properties["Image"]?.Value ?? "This image"} comes from Get-WorkloadImage, which lists the images in use; it is not deleted. Pass workload images as usage instead: Remove-UnusedImage -InUse (Get-WorkloadImage -Path <snapshot>)."),
                ErrorIds.WorkloadImageIsUsage,
                ErrorCategory.InvalidArgument,
                piped));
            return;
        }

        string? tag = this.Tag is [string single] ? single : null;
        string? digest = this.Digest is [string one] ? one : null;
        if (this.Repository is not [string repository] || WildcardPattern.ContainsWildcardCharacters(repository)
            || this.Tag is { Length: > 1 } || this.Digest is { Length: > 1 } || (string.IsNullOrEmpty(tag) && string.IsNullOrEmpty(digest)))
        {
            this.WriteError(new ErrorRecord(
                new ArgumentException("A piped image to delete needs one Repository (no wildcards) and one Tag or one Digest; it is not deleted."),
                ErrorIds.ImageTargetInvalid,
                ErrorCategory.InvalidArgument,
                new { this.Repository, this.Tag, this.Digest }));
            return;
        }

        this.targets.Add(new PlanTarget(repository.Trim('/'), string.IsNullOrEmpty(tag) ? null : tag, string.IsNullOrEmpty(digest) ? null : digest));
    }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        bool targeted = this.MyInvocation.ExpectingInput;
        if (targeted && this.targets.Count == 0)
        {
            // Nothing was piped: an empty pipeline must never turn into "delete everything unused".
            return;
        }

        UnusedImagePlan planned = this.PlanUnusedImages(this.BoundQuery(this.InUse) with
        {
            Repository = targeted ? null : this.Repository,
            Tags = targeted ? [] : this.Tag ?? [],
            Digests = targeted ? [] : this.Digest ?? [],
            Targets = targeted ? this.targets.Distinct().ToArray() : null,
            ForDeletion = true,
        });
        using (planned.Client)
        {
            // Named images (piped, or narrowed by a typed -Tag/-Digest) that a protection keeps are reported.
            this.Delete(planned, targeted || this.Tag is not null || this.Digest is not null);
        }
    }

    /// <summary>Asks whether to delete one image (see <see cref="ChangeGate.ShouldChange"/>).</summary>
    private bool ShouldChange(string target, string action) => this.changes.ShouldChange(target, action);

    [GeneratedRegex("^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-fA-F]{32,}$", RegexOptions.CultureInvariant)]
    private static partial Regex ManifestDigestPattern();

    /// <summary>What ShouldProcess asks: the DELETE, the tags and referrers it takes, and the bytes it frees.</summary>
    private static string DescribeAction(DeletionCandidate[] candidates, string[] otherTags, long bytes)
    {
        DeletionCandidate first = candidates[0];
        if (first.Action == CandidateAction.Untag)
        {
            return $"Delete tag{(candidates.Length > 1 ? "s " + string.Join(", ", candidates.Select(c => c.Tag)) : string.Empty)} only (the manifest stays for its kept tags), freeing 0 bytes";
        }

        string[] referrers = [.. candidates.SelectMany(c => c.TakenAlong).DistinctBy(r => r.Digest).SelectMany(r => r.Tags.Count > 0 ? r.Tags : [r.Digest])];
        string sameDelete = otherTags.Length > 0 ? $" (the same DELETE removes tag{(otherTags.Length > 1 ? "s" : string.Empty)} {string.Join(", ", otherTags)})" : string.Empty;
        string with = referrers.Length > 0 ? $" with its referrer{(referrers.Length > 1 ? "s" : string.Empty)} {string.Join(", ", referrers)}" : string.Empty;
        return $"Delete image{sameDelete}{with}, freeing {ByteCount.Format(bytes)} after garbage collection";
    }

    /// <summary>Rule 10: a tag that left with a DELETE unplanned was put back; each one is an error naming it.</summary>
    private void ReportTagChecks(ManifestDeletion result)
    {
        foreach (TagPutBack putBack in result.TagsPutBack)
        {
            this.WriteError(new ErrorRecord(
                new InvalidOperationException(putBack.Message),
                putBack.Restored ? ErrorIds.RegistryTagPutBack : ErrorIds.RegistryTagPutBackFailed,
                ErrorCategory.WriteError,
                putBack));
        }

        foreach (string problem in result.Problems)
        {
            this.WriteError(new ErrorRecord(new InvalidOperationException(problem), ErrorIds.RegistryTagCheckFailed, ErrorCategory.ReadError, null));
        }
    }

    private void Emit(ImageDeletionResult result, Dictionary<DeletionStatus, int> counts)
    {
        counts[result.Status] = counts.GetValueOrDefault(result.Status) + 1;

        // The row first: under -ErrorAction Stop the error ends the run, and -OutVariable/Export-Csv still get the row.
        this.WriteTyped(result, OutputTypeNames.ImageDeletion);
        if (result.Status == DeletionStatus.Failed)
        {
            this.WriteError(EngineErrorMap.DeletionFailed(result.Reason, result.Refusal, result));
        }
    }

    private void WriteSummary(DeletionJournal journal, Dictionary<DeletionStatus, int> counts, long freed)
    {
        this.summaryWritten = true;
        if (journal.UnreadableLines is { Count: > 0 } unreadable)
        {
            this.WriteWarning(RestoreRegistryImageCommand.JournalWarning(journal.Path, unreadable));
        }

        string nextStep = journal.HasRecords ? this.NextStep() : string.Empty;
        string journalText = journal.HasRecords
            ? $" Journal: {journal.Path}. {nextStep} {ImageDeleter.RestoreCommand(journal.Path, this.GivenRegistry)} puts the images back {(this.client is { } used && !RegistryKinds.NeedsGarbageCollection(used.Kind) ? "while the registry still holds their layers" : "until then")}."
            : " Nothing was attempted, so no journal was written.";
        this.Tell(string.Create(
            CultureInfo.InvariantCulture,
            $"Deleted {counts.GetValueOrDefault(DeletionStatus.Deleted)} images, freeing {ByteCount.Format(freed)} ({freed} bytes){this.AfterCollection()}; skipped {counts.GetValueOrDefault(DeletionStatus.Skipped)}, not found {counts.GetValueOrDefault(DeletionStatus.NotFound)}, failed {counts.GetValueOrDefault(DeletionStatus.Failed)}.{journalText}"));
    }

    /// <summary>The registry as the user gave it (-Registry, else registry.url), for the restore commands the reports print.</summary>
    private string GivenRegistry => (this.Registry ?? this.Configuration.GetString(ConfigSchema.RegistryUrl) ?? string.Empty).Trim();

    /// <summary>" after garbage collection", unless this registry is known to reclaim space without one (ECR, ACR, GAR).</summary>
    private string AfterCollection() =>
        this.client is { } used && !RegistryKinds.NeedsGarbageCollection(used.Kind)
            ? string.Empty
            : " after garbage collection";

    /// <summary>What the admin must do next for this kind of registry (registry.kind, else told from its answers).</summary>
    private string NextStep()
    {
        RegistryClient? used = this.client;
        if (used is null)
        {
            return RegistryKinds.NextStep(RegistryKind.Distribution, "the registry");
        }

        if (!used.Options.Kind.HasValue && !this.StopToken.IsCancellationRequested)
        {
            try
            {
                // Its challenge and Harbor's API, on top of the error codes the deletions met.
                this.RunEngine((_, token) => used.DetectKindAsync(token));
            }
            catch (OperationCanceledException)
            {
                // Stopping: the answers so far still tell.
            }
        }

        RegistryKind kind = used.Kind;
        if (!used.Options.Kind.HasValue)
        {
            try
            {
                this.WriteVerbose($"Registry {used.Endpoint.DisplayName} is {RegistryKinds.DisplayName(kind)} (registry.kind auto; set registry.kind to {RegistryKinds.SettingName(kind)} or another kind if that is wrong).");
            }
            catch (PipelineStoppedException)
            {
                // The run is ending (as in Tell): the summary with the next step still reaches the host.
            }
        }

        return RegistryKinds.NextStep(kind, used.Endpoint.DisplayName);
    }

    /// <summary>
    /// Writes a summary where the person running the command reads it (the host, as Write-Host does) and on the
    /// information stream (tags RegistryCleaner, Summary) for scripts; 6>$null hides it.
    /// </summary>
    private void Tell(string text)
    {
        var record = new InformationRecord(new HostInformationMessage { Message = text }, this.MyInvocation.MyCommand.Name);
        record.Tags.AddRange(["PSHOST", "RegistryCleaner", "Summary"]);
        try
        {
            this.WriteInformation(record);
        }
        catch (PipelineStoppedException)
        {
            // The run is ending (-ErrorAction Stop, Ctrl+C): the pipeline takes no more records, the host still does.
            this.Host.UI.WriteLine(text);
            throw;
        }
    }

    /// <summary>Write-Progress for the deletion: images done of all, bytes, time left; at most four a second, always completed.</summary>
    private sealed class DeletionProgress(RemoveUnusedImageCommand cmdlet, string registry, int images, long bytes, bool dryRun)
    {
        private readonly ProgressThrottle throttle = new(3, $"Deleting unused images from {registry}");
        private int imagesDone;
        private long bytesDone;

        /// <summary>Shows the image about to be deleted with what is done so far (the first always, then throttled).</summary>
        public void Report(string target)
        {
            if (dryRun || !this.throttle.TryShow())
            {
                return;
            }

            long now = (long)this.throttle.Elapsed.TotalMilliseconds;
            int seconds = this.imagesDone == 0 ? -1 : (int)Math.Ceiling(now / 1000.0 / this.imagesDone * (images - this.imagesDone));
            ProgressRecord record = this.throttle.Record(string.Create(CultureInfo.InvariantCulture, $"{this.imagesDone} of {images} images done, {ByteCount.Format(this.bytesDone)} of {ByteCount.Format(bytes)}"));
            record.CurrentOperation = target;
            record.PercentComplete = images == 0 ? 0 : (int)(100L * this.imagesDone / images);
            record.SecondsRemaining = seconds;
            cmdlet.WriteProgress(record);
        }

        public void Advance(int imageCount, long byteCount)
        {
            this.imagesDone += imageCount;
            this.bytesDone = ByteTotal.Add(this.bytesDone, byteCount);
        }

        public void Complete()
        {
            if (dryRun || !this.throttle.EndShown())
            {
                return;
            }

            try
            {
                cmdlet.WriteProgress(this.throttle.Completed());
            }
            catch (PipelineStoppedException)
            {
                // The pipeline is stopping (Select-Object -First, Ctrl+C): that reason is the one that must propagate.
            }
        }
    }

    private string ResolveJournalPath()
    {
        if (this.JournalPath is not null)
        {
            return this.ResolveFilePath(this.JournalPath);
        }

        string folder = this.Configuration.GetString(ConfigSchema.OutputDir) is { Length: > 0 } configured ? configured : "reports";
        string name = string.Create(CultureInfo.InvariantCulture, $"deletions-{DateTime.Now:yyyyMMdd-HHmmss}.jsonl");
        return this.ResolveFilePath(Path.Combine(folder, name));
    }
}
