using System.Globalization;
using System.Management.Automation;
using RegistryCleaner.Configuration;
using RegistryCleaner.Deletion;
using RegistryCleaner.Planning;
using RegistryCleaner.Registry;

namespace RegistryCleaner.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Deletes unused registry images safely: one confirmation per image, every protection re-applied, every deleted manifest journaled first.</para>
/// <para type="description">With no input, deletes what Get-UnusedImage plans for the same parameters. With input (UnusedImage, RegistryImage, ArchivedEnvTag or any object with Repository, Tag and Digest), deletes only those images, and still skips any that is in use or shares its manifest with a kept tag. Right before each DELETE the tag is re-resolved (a moved tag is skipped) and the raw manifest is appended to the journal, so Restore-RegistryImage can put it back until garbage collection runs. Nothing is deleted when usage cannot be read completely.</para>
/// </summary>
[Cmdlet(VerbsCommon.Remove, "UnusedImage", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(OutputTypeNames.ImageDeletion)]
public sealed partial class RemoveUnusedImageCommand : DestructiveCmdlet, IMongoConnectionParameters
{
    private readonly List<PlanTarget> targets = [];

    /// <summary><para type="description">Repositories to clean (wildcards allowed) when nothing is piped; the repository of each piped image (by property name). Default: registry.repository with registry.images.</para></summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    public string[]? Repository { get; set; }

    /// <summary><para type="description">The tag of a piped image (by property name), or one tag to delete with -Repository.</para></summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Tag { get; set; }

    /// <summary><para type="description">The digest of a piped image (by property name). With a tag, the tag must still point at it; alone, the untagged manifest (or every tag of it) is targeted.</para></summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Digest { get; set; }

    /// <summary><para type="description">Only tags of these Domino ObjectIds.</para></summary>
    [Parameter]
    public string[]? ObjectId { get; set; }

    /// <summary><para type="description">A file of ObjectIds, one per line.</para></summary>
    [Parameter]
    [Alias("File")]
    public string? ObjectIdPath { get; set; }

    /// <summary><para type="description">Tag wildcards a candidate must match.</para></summary>
    [Parameter]
    [SupportsWildcards]
    public string[]? Include { get; set; }

    /// <summary><para type="description">Tag wildcards that are never deleted.</para></summary>
    [Parameter]
    [SupportsWildcards]
    public string[]? Exclude { get; set; }

    /// <summary><para type="description">Keeps the newest N tags per ObjectId and repository.</para></summary>
    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int KeepLatest { get; set; }

    /// <summary><para type="description">Only images older than this; images of unknown age are kept.</para></summary>
    [Parameter]
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
    public string[]? Context { get; set; }

    /// <summary><para type="description">Namespaces to read. Default: kubernetes.namespaces, else all namespaces.</para></summary>
    [Parameter]
    public string[]? Namespace { get; set; }

    /// <summary><para type="description">Protects the images Domino's MongoDB records pin (runs, workspaces and their sessions, project, organization and user default environments, scheduled jobs, live apps, versions of live models, active revisions of live environments, the clone chain), on top of Kubernetes usage. Default: mongo.usage (auto: whenever a Domino repository, registry.repository/environment or /model, is in scope). If MongoDB cannot be read, nothing is planned. -MongoUsage:$false plans without them and says so.</para></summary>
    [Parameter]
    public SwitchParameter MongoUsage { get; set; }

    /// <summary><para type="description">Only runs that started or ended in the last N days (or have not started yet) protect the environment revision they ran on. Default: every run. Every other Domino record protects regardless of age.</para></summary>
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

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        bool named = this.MyInvocation.BoundParameters.ContainsKey(nameof(this.Tag)) || this.MyInvocation.BoundParameters.ContainsKey(nameof(this.Digest));
        if (!this.MyInvocation.ExpectingInput && !named)
        {
            return;
        }

        if (this.Repository is not [string repository] || WildcardPattern.ContainsWildcardCharacters(repository) || (this.Tag is null && this.Digest is null))
        {
            this.WriteError(new ErrorRecord(
                new ArgumentException("An image to delete needs one Repository (no wildcards) and a Tag or a Digest."),
                "ImageTargetInvalid",
                ErrorCategory.InvalidArgument,
                new { this.Repository, this.Tag, this.Digest }));
            return;
        }

        this.targets.Add(new PlanTarget(repository.Trim('/'), string.IsNullOrEmpty(this.Tag) ? null : this.Tag, string.IsNullOrEmpty(this.Digest) ? null : this.Digest));
    }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        bool targeted = this.MyInvocation.ExpectingInput || this.targets.Count > 0;
        if (targeted && this.targets.Count == 0)
        {
            // Nothing was piped: an empty pipeline must never turn into "delete everything unused".
            return;
        }

        UnusedImagePlan planned = this.PlanUnusedImages(new UnusedImageQuery
        {
            Repository = targeted ? null : this.Repository,
            Include = this.Include ?? [],
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
        });
        using (planned.Client)
        {
            this.Delete(planned, targeted);
        }
    }

    private static string ShortDigest(string digest) =>
        digest.Length > 19 && digest.StartsWith("sha256:", StringComparison.Ordinal) ? digest[..19] + "…" : digest;

    private void Delete(UnusedImagePlan planned, bool targeted)
    {
        DeletionPlan plan = planned.Plan;
        string registry = planned.Client.Endpoint.DisplayName;
        foreach (ProtectedImage kept in plan.Protected)
        {
            string name = $"{kept.Repository}{(kept.Tag is null ? "@" + kept.Digest : ":" + kept.Tag)}";
            this.WriteVerbose($"kept: {name} — {kept.Reason}");
            if (targeted)
            {
                // A piped image that a protection keeps is reported, so scripts see why it stayed.
                this.WriteTyped(
                    new ImageDeletionResult(registry, kept.Repository, kept.Tag, kept.Digest ?? string.Empty, kept.Digest is null ? DeletionStatus.NotFound : DeletionStatus.Skipped, 0, kept.Reason),
                    OutputTypeNames.ImageDeletion);
            }
        }

        var journal = new DeletionJournal(this.ResolveJournalPath());
        var deleter = new ImageDeleter(planned.Client, journal) { PlannedTags = planned.PlannedTags };
        this.OpenBackup(planned.Client);
        var counts = new Dictionary<DeletionStatus, int>();
        long freed = 0;
        int wouldDelete = 0;
        long wouldFree = 0;
        foreach (IGrouping<(string Repository, string Digest), DeletionCandidate> group in plan.Candidates.GroupBy(c => (c.Repository, c.Digest)))
        {
            DeletionCandidate[] candidates = group.ToArray();
            DeletionCandidate first = candidates[0];
            long bytes = candidates.Sum(c => c.ReclaimableBytes);
            string[] otherTags = candidates.Skip(1).Select(c => c.Tag).OfType<string>().ToArray();
            string target = first.Tag is null
                ? $"{registry}/{first.Repository}@{first.Digest}"
                : $"{registry}/{first.Repository}:{first.Tag} ({ShortDigest(first.Digest)})";
            string action = $"Delete image{(otherTags.Length > 0 ? $" (the same DELETE removes tag{(otherTags.Length > 1 ? "s" : string.Empty)} {string.Join(", ", otherTags)})" : string.Empty)}, freeing {ByteCount.Format(bytes)} after garbage collection";
            if (!this.ShouldChange(target, action))
            {
                if (this.IsDryRun)
                {
                    wouldDelete += candidates.Length;
                    wouldFree += bytes;
                    this.BackUp(candidates, registry, counts);
                }
                else
                {
                    foreach (DeletionCandidate declined in candidates)
                    {
                        this.Emit(new ImageDeletionResult(registry, declined.Repository, declined.Tag, declined.Digest, DeletionStatus.Skipped, 0, "Not confirmed."), counts);
                    }
                }

                continue;
            }

            if (!this.BackUp(candidates, registry, counts))
            {
                continue;
            }

            ManifestDeletion result;
            try
            {
                result = this.RunEngine((_, token) => deleter.DeleteAsync(candidates, token));
            }
            catch (RegistryDeleteDisabledException ex)
            {
                this.WriteSummary(journal, counts, freed);
                throw this.Terminate(ex, "RegistryDeleteDisabled", ErrorCategory.InvalidOperation, registry);
            }
            catch (RegistryAuthenticationException ex)
            {
                this.WriteSummary(journal, counts, freed);
                this.ThrowTerminatingError(RegistryErrorRecord(ex, registry));
                throw;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // The journal comes before every DELETE: without it nothing more may be deleted.
                this.WriteSummary(journal, counts, freed);
                throw this.Terminate(
                    new IOException($"The deletion journal '{journal.Path}' cannot be written, so nothing more is deleted: {ex.Message} Give a writable -JournalPath.", ex),
                    "DeletionJournalUnwritable",
                    ErrorCategory.WriteError,
                    journal.Path);
            }

            foreach (ImageDeletionResult image in result.Images)
            {
                freed += image.Status == DeletionStatus.Deleted ? image.ReclaimableBytes : 0;
                this.Emit(image, counts);
            }

            foreach (ChildDeletionResult child in result.Children)
            {
                if (child.Status == DeletionStatus.Failed)
                {
                    this.WriteError(new ErrorRecord(new InvalidOperationException(child.Reason), "RegistryManifestDeleteFailed", ErrorCategory.WriteError, child));
                }
                else
                {
                    this.WriteVerbose($"{child.Status}: child {child.Repository}@{child.Digest} of {child.ParentDigest}.");
                }
            }
        }

        if (this.IsDryRun)
        {
            this.WriteInformation(
                string.Create(CultureInfo.InvariantCulture, $"What if: would delete {wouldDelete} images, freeing {ByteCount.Format(wouldFree)} ({wouldFree} bytes) after garbage collection."),
                ["RegistryCleaner", "Summary"]);
            this.WriteBackupEstimate(planned.Client);
            return;
        }

        this.WriteSummary(journal, counts, freed);
    }

    private void Emit(ImageDeletionResult result, Dictionary<DeletionStatus, int> counts)
    {
        counts[result.Status] = counts.GetValueOrDefault(result.Status) + 1;
        if (result.Status == DeletionStatus.Failed)
        {
            this.WriteError(new ErrorRecord(new InvalidOperationException(result.Reason), "RegistryManifestDeleteFailed", ErrorCategory.WriteError, result));
        }

        this.WriteTyped(result, OutputTypeNames.ImageDeletion);
    }

    private void WriteSummary(DeletionJournal journal, Dictionary<DeletionStatus, int> counts, long freed)
    {
        string journalText = journal.HasRecords
            ? $" Journal: {journal.Path}. Run the registry's garbage collection (Invoke-RegistryGarbageCollection) to free the space; until then Restore-RegistryImage -JournalPath '{journal.Path}' puts the images back."
            : " Nothing was attempted, so no journal was written.";
        this.WriteInformation(
            string.Create(
                CultureInfo.InvariantCulture,
                $"Deleted {counts.GetValueOrDefault(DeletionStatus.Deleted)} images, freeing {ByteCount.Format(freed)} ({freed} bytes) after garbage collection; skipped {counts.GetValueOrDefault(DeletionStatus.Skipped)}, not found {counts.GetValueOrDefault(DeletionStatus.NotFound)}, failed {counts.GetValueOrDefault(DeletionStatus.Failed)}.{journalText}"),
            ["RegistryCleaner", "Summary"]);
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
