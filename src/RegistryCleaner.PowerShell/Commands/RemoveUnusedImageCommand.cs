using System.Diagnostics;
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
/// <para type="synopsis">Deletes unused registry images safely: one confirmation per image, every protection re-applied, every deleted manifest journaled first.</para>
/// <para type="description">With no input, deletes what Get-UnusedImage plans for the same parameters; a typed -Tag or -Digest narrows that plan. With input (UnusedImage, RegistryImage, ArchivedEnvTag or any object with Repository, Tag and Digest), deletes only those exact images, and still skips any that is in use or shares its manifest with a kept tag. Right before each DELETE the tag is re-resolved (a moved tag is skipped) and the raw manifest is appended to the journal, so Restore-RegistryImage can put it back until garbage collection runs. An image's index children and referrers (signatures, SBOMs) go with it on the same confirmation; after every DELETE the tags are listed again and a tag that left with it unplanned is put back at once and reported. Where the registry deletes tags alone, a tag sharing a kept manifest is untagged. Nothing is deleted when usage cannot be read completely.</para>
/// </summary>
[Cmdlet(VerbsCommon.Remove, "UnusedImage", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(OutputTypeNames.ImageDeletion)]
public sealed partial class RemoveUnusedImageCommand : DestructiveCmdlet, IMongoConnectionParameters
{
    private readonly List<PlanTarget> targets = [];
    private bool summaryWritten;

    /// <summary><para type="description">Repositories to clean (wildcards allowed) when nothing is piped; the repository of each piped image (by property name). Default: registry.repository with registry.images.</para></summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ValidateRegistryName(RegistryNameKind.Repository)]
    [ArgumentCompleter(typeof(RepositoryCompleter))]
    public string[]? Repository { get; set; }

    /// <summary><para type="description">Typed: only these tags (wildcards allowed, case-insensitive) of the repositories -Repository names, or of the configured ones; with -Include, a tag must match both. Piped: the exact tag of each image (by property name).</para></summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ValidateRegistryName(RegistryNameKind.Tag)]
    [ArgumentCompleter(typeof(TagCompleter))]
    public string[]? Tag { get; set; }

    /// <summary><para type="description">Typed: only these manifests (with -Tag, only the named tags pointing at them), in every repository in scope. Piped: the digest of each image (by property name); with a tag, the tag must still point at it, alone, the manifest and every tag on it are targeted.</para></summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string[]? Digest { get; set; }

    /// <summary>
    /// The piped object itself, only to refuse what must never be a deletion target: Get-WorkloadImage's objects are
    /// the images in use, and binding their Repository and Tag would name exactly those for deletion.
    /// </summary>
    [Parameter(ValueFromPipeline = true, DontShow = true)]
    public PSObject? InputObject { get; set; }

    /// <summary><para type="description">Only tags of these Domino ObjectIds.</para></summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? ObjectId { get; set; }

    /// <summary><para type="description">A file of ObjectIds, one per line; a file that lists none is refused.</para></summary>
    [Parameter]
    [Alias("File")]
    [ValidateNotNullOrEmpty]
    public string? ObjectIdPath { get; set; }

    /// <summary><para type="description">Tag wildcards a candidate must match.</para></summary>
    [Parameter]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[]? Include { get; set; }

    /// <summary><para type="description">Tag wildcards that are never deleted.</para></summary>
    [Parameter]
    [SupportsWildcards]
    public string[]? Exclude { get; set; }

    /// <summary><para type="description">Keeps the newest N tags per ObjectId and repository.</para></summary>
    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int KeepLatest { get; set; }

    /// <summary><para type="description">Only images created longer ago than this: a bare number is days (90), or a TimeSpan ('90.00:00:00', '12:00:00', (New-TimeSpan -Days 90)); at least one minute. Images of unknown age are kept.</para></summary>
    [Parameter]
    [AgeTransformation]
    public TimeSpan? OlderThan { get; set; }

    /// <summary><para type="description">A workload reference protects an image only when its host is this registry.</para></summary>
    [Parameter]
    public SwitchParameter StrictHost { get; set; }

    /// <summary><para type="description">The images in use, instead of reading Kubernetes (Get-WorkloadImage output or its import).</para></summary>
    [Parameter]
    [AllowEmptyCollection]
    public PSObject[]? InUse { get; set; }

    /// <summary><para type="description">The kubeconfig file for reading usage. Default: kubernetes.kubeconfig (KUBECONFIG).</para></summary>
    [Parameter]
    public string? KubeConfig { get; set; }

    /// <summary><para type="description">kubeconfig contexts to read and merge. Default: kubernetes.contexts, else the current context.</para></summary>
    [Parameter]
    [ArgumentCompleter(typeof(KubeContextCompleter))]
    public string[]? Context { get; set; }

    /// <summary><para type="description">Namespaces to read. Default: kubernetes.namespaces, else all namespaces.</para></summary>
    [Parameter]
    [ArgumentCompleter(typeof(KubeNamespaceCompleter))]
    public string[]? Namespace { get; set; }

    /// <summary><para type="description">Protects the images Domino's MongoDB records pin (runs, workspaces and their sessions, project, organization and user default environments, scheduled jobs, live apps, versions of live, deployed (sagas) or unknown models, active revisions of live environments, the clone chain), on top of Kubernetes usage. Default: mongo.usage (auto: whenever a Domino repository, registry.repository/environment or /model, is in scope). If MongoDB cannot be read, nothing is planned. -MongoUsage:$false plans without them and says so.</para></summary>
    [Parameter]
    public SwitchParameter MongoUsage { get; set; }

    /// <summary><para type="description">Only runs that started or ended in the last N days (or have not started yet, or have no completed time: still running) protect the environment revision they ran on. Default: every run. Every other Domino record protects regardless of age.</para></summary>
    [Parameter]
    [ValidateRange(1, 36500)]
    public int UnusedSince { get; set; }

    /// <summary><para type="description">The MongoDB connection string for Domino's records. Default: mongo.uri (MONGODB_URI), else mongo.host, mongo.port and mongo.replica_set.</para></summary>
    [Parameter]
    public string? MongoUri { get; set; }

    /// <summary><para type="description">MongoDB credentials for Domino's records. Default: mongo.username (MONGODB_USERNAME) and mongo.password (MONGODB_PASSWORD).</para></summary>
    [Parameter]
    [Credential]
    public PSCredential? MongoCredential { get; set; }

    /// <summary><para type="description">Domino's database. Default: mongo.database (domino).</para></summary>
    [Parameter]
    public string? Database { get; set; }

    /// <summary><para type="description">The journal (JSON lines) each manifest is appended to before its DELETE. Default: &lt;analysis.output_dir&gt;/deletions-&lt;yyyyMMdd-HHmmss&gt;.jsonl. Not created under -WhatIf.</para></summary>
    [Parameter]
    public string? JournalPath { get; set; }

    /// <summary><para type="description">The registry's filesystem storage: the rootdirectory of its storage.filesystem configuration, read-only. Adds the manifests no tag reaches (an overwritten tag's old manifest) to the plan as candidates by digest, so the freed bytes are exact.</para></summary>
    [Parameter]
    public string? StoragePath { get; set; }

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
                "ImageTargetInvalid",
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
                    "ImageTargetInvalid",
                    ErrorCategory.InvalidArgument,
                    name);
            }
        }

        if (this.Digest?.FirstOrDefault(d => !ManifestDigestPattern().IsMatch(d ?? string.Empty)) is { } bad)
        {
            throw this.Terminate(
                new ArgumentException($"-Digest '{bad}' is not a manifest digest: give algorithm:hex, e.g. sha256: and 64 hexadecimal digits (the Digest property of Get-RegistryImage or Get-UnusedImage)."),
                "ImageTargetInvalid",
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
                "WorkloadImageIsUsage",
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
                "ImageTargetInvalid",
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

        UnusedImagePlan planned = this.PlanUnusedImages(new UnusedImageQuery
        {
            Repository = targeted ? null : this.Repository,
            Include = this.Include ?? [],
            Tags = targeted ? [] : this.Tag ?? [],
            Digests = targeted ? [] : this.Digest ?? [],
            Exclude = this.Exclude ?? [],
            ObjectId = this.ObjectId,
            ObjectIdPath = this.ObjectIdPath,
            KeepLatest = this.KeepLatest,
            OlderThan = this.OlderThan,
            StrictHost = this.StrictHost.IsPresent,
            InUse = this.InUse,
            KubeConfig = this.KubeConfig,
            Context = this.Context,
            Namespace = this.Namespace,
            Mongo = this.ResolveMongoUsage(this.MongoUsage, this.MyInvocation.BoundParameters.ContainsKey(nameof(this.UnusedSince)) ? this.UnusedSince : null, this),
            Targets = targeted ? this.targets.Distinct().ToArray() : null,
            ForDeletion = true,
            StoragePath = this.StoragePath,
        });
        using (planned.Client)
        {
            // Named images (piped, or narrowed by a typed -Tag/-Digest) that a protection keeps are reported.
            this.Delete(planned, targeted || this.Tag is not null || this.Digest is not null);
        }
    }

    [GeneratedRegex("^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-fA-F]{32,}$", RegexOptions.CultureInvariant)]
    private static partial Regex ManifestDigestPattern();

    private static string ShortDigest(string digest) =>
        digest.Length > 19 && digest.StartsWith("sha256:", StringComparison.Ordinal) ? digest[..19] + "…" : digest;

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
                putBack.Restored ? "RegistryTagPutBack" : "RegistryTagPutBackFailed",
                ErrorCategory.WriteError,
                putBack));
        }

        foreach (string problem in result.Problems)
        {
            this.WriteError(new ErrorRecord(new InvalidOperationException(problem), "RegistryTagCheckFailed", ErrorCategory.ReadError, null));
        }
    }

    private void Emit(ImageDeletionResult result, Dictionary<DeletionStatus, int> counts)
    {
        counts[result.Status] = counts.GetValueOrDefault(result.Status) + 1;

        // The row first: under -ErrorAction Stop the error ends the run, and -OutVariable/Export-Csv still get the row.
        this.WriteTyped(result, OutputTypeNames.ImageDeletion);
        if (result.Status == DeletionStatus.Failed)
        {
            this.WriteError(new ErrorRecord(new InvalidOperationException(result.Reason), "RegistryManifestDeleteFailed", ErrorCategory.WriteError, result));
        }
    }

    private void WriteSummary(DeletionJournal journal, Dictionary<DeletionStatus, int> counts, long freed)
    {
        this.summaryWritten = true;
        if (journal.UnreadableLines is { Count: > 0 } unreadable)
        {
            this.WriteWarning(RestoreRegistryImageCommand.JournalWarning(journal.Path, unreadable));
        }

        string journalText = journal.HasRecords
            ? $" Journal: {journal.Path}. Run the registry's garbage-collect with Invoke-RegistryGarbageCollection to free the space; until then Restore-RegistryImage -JournalPath '{journal.Path}' puts the images back."
            : " Nothing was attempted, so no journal was written.";
        this.Tell(string.Create(
            CultureInfo.InvariantCulture,
            $"Deleted {counts.GetValueOrDefault(DeletionStatus.Deleted)} images, freeing {ByteCount.Format(freed)} ({freed} bytes) after garbage collection; skipped {counts.GetValueOrDefault(DeletionStatus.Skipped)}, not found {counts.GetValueOrDefault(DeletionStatus.NotFound)}, failed {counts.GetValueOrDefault(DeletionStatus.Failed)}.{journalText}"));
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
        private const int ActivityId = 3;
        private readonly string activity = $"Deleting unused images from {registry}";
        private readonly Stopwatch clock = Stopwatch.StartNew();
        private long lastShown = -1;
        private int imagesDone;
        private long bytesDone;

        /// <summary>Shows the image about to be deleted with what is done so far (the first always, then throttled).</summary>
        public void Report(string target)
        {
            long now = this.clock.ElapsedMilliseconds;
            if (dryRun || (this.lastShown >= 0 && now - this.lastShown < 250))
            {
                return;
            }

            this.lastShown = now;
            int seconds = this.imagesDone == 0 ? -1 : (int)Math.Ceiling(now / 1000.0 / this.imagesDone * (images - this.imagesDone));
            cmdlet.WriteProgress(new ProgressRecord(
                ActivityId,
                this.activity,
                string.Create(CultureInfo.InvariantCulture, $"{this.imagesDone} of {images} images done, {ByteCount.Format(this.bytesDone)} of {ByteCount.Format(bytes)}"))
            {
                CurrentOperation = target,
                PercentComplete = images == 0 ? 0 : (int)(100L * this.imagesDone / images),
                SecondsRemaining = seconds,
            });
        }

        public void Advance(int imageCount, long byteCount)
        {
            this.imagesDone += imageCount;
            this.bytesDone = ByteTotal.Add(this.bytesDone, byteCount);
        }

        public void Complete()
        {
            if (dryRun || this.lastShown < 0)
            {
                return;
            }

            this.lastShown = -1;
            try
            {
                cmdlet.WriteProgress(new ProgressRecord(ActivityId, this.activity, "Done") { RecordType = ProgressRecordType.Completed });
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
