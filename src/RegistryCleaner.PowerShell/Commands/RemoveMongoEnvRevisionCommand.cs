using System.Globalization;
using System.Management.Automation;
using RegistryCleaner.Configuration;
using RegistryCleaner.Deletion;
using RegistryCleaner.Domino;
using RegistryCleaner.Registry;
using RegistryCleaner.PowerShell.Completion;

namespace RegistryCleaner.PowerShell.Commands;

/// <summary>
/// Deletes Domino environment revision records (environment_revisions) whose images are gone and that no Domino record still uses, with a backup.
/// </summary>
[Cmdlet(VerbsCommon.Remove, "MongoEnvRevision", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = TagSet)]
[OutputType(OutputTypeNames.MongoEnvRevisionDeletion)]
public sealed partial class RemoveMongoEnvRevisionCommand : DominoRegistryCmdlet
{
    private const string TagSet = "Tag";
    private const string PathSet = "Path";

    private readonly ChangeGate changes;
    private readonly HashSet<string> handled = new(StringComparer.Ordinal);
    private readonly HashSet<string> gone = new(StringComparer.Ordinal);
    private readonly List<EnvironmentRevision> waitingForClones = [];
    private RevisionRecordPins? recordPins;
    private IReadOnlyList<RevisionListEntry>? listed;
    private MongoConnectionSettings? settings;
    private MongoConnection? connection;
    private RegistryEndpoint? endpoint;
    private RegistryClient? registryClient;
    private RevisionBackupWriter? backup;
    private string backupPath = string.Empty;

    /// <summary>Initializes a new instance of the <see cref="RemoveMongoEnvRevisionCommand"/> class.</summary>
    public RemoveMongoEnvRevisionCommand() => this.changes = new ChangeGate(this, () => this.Force.IsPresent);

    /// <summary>Image tags whose revisions to delete, e.g. 659c7bce85f6381e675bb205-12.</summary>
    [Parameter(ParameterSetName = TagSet, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(TagCompleter))]
    public string[]? Tag { get; set; }

    /// <summary>The image repository of -Tag (a registry host in front is ignored); only revisions recorded with this repository match.</summary>
    [Parameter(ParameterSetName = TagSet, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(RepositoryCompleter))]
    public string? Repository { get; set; }

    /// <summary>The environment: with -Tag, only its revisions match; alone, every revision of the environment is selected.</summary>
    [Parameter(ParameterSetName = TagSet, ValueFromPipelineByPropertyName = true)]
    public string? EnvironmentId { get; set; }

    /// <summary>The Status of a piped RegistryCleaner.ImageDeletion: anything but Deleted skips the item, because its image may still exist.</summary>
    [Parameter(ParameterSetName = TagSet, ValueFromPipelineByPropertyName = true)]
    public string? Status { get; set; }

    /// <summary>A revision list file: the first token of each line is repository/image:tag, image:tag, tag, or a 24-hex environment id (all of its revisions); blank and # lines are skipped.</summary>
    [Parameter(ParameterSetName = PathSet, Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public string? Path { get; set; }

    /// <summary>The backup file (JSON lines, canonical Extended JSON) each document is appended to before it is deleted.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? BackupPath { get; set; }

    /// <summary>Deletes revisions even when their image tag still exists in the registry (no registry call is made).</summary>
    [Parameter]
    public SwitchParameter SkipRegistryCheck { get; set; }

    /// <summary>Only runs that started or ended in the last N days (or have not started yet, or have no completed time: still running) keep the environment revision they ran on, as Get-UnusedImage -UnusedSince counts them.</summary>
    [Parameter]
    [ValidateRange(1, 36500)]
    public int UnusedSince { get; set; }

    /// <summary>Accepted for scripts written for earlier versions; it never bypasses -WhatIf or a confirmation.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    private bool IsDryRun => this.changes.IsDryRun;

    private string DefaultRepository => this.BelowPrefix("environment");

    /// <inheritdoc />
    protected override void BeginProcessing()
    {
        // Every input that can be checked up front is, so a bad file line stops the command before any change.
        if (this.Path is not null)
        {
            string file = this.ResolveFilePath(this.Path);
            try
            {
                this.listed = RevisionListFile.Read(file);
            }
            catch (RevisionListFormatException ex)
            {
                this.ThrowTerminatingError(new ErrorRecord(ex, ErrorIds.RevisionListInvalid, ErrorCategory.InvalidData, file));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                this.ThrowTerminatingError(new ErrorRecord(
                    new IOException($"Revision list '{file}' cannot be read: {ex.Message}", ex),
                    ex is FileNotFoundException or DirectoryNotFoundException ? ErrorIds.RevisionListNotFound : ErrorIds.RevisionListUnreadable,
                    ex is FileNotFoundException or DirectoryNotFoundException ? ErrorCategory.ObjectNotFound : ErrorCategory.ReadError,
                    file));
            }
        }

        this.backupPath = this.ResolveFilePath(this.BackupPath ?? System.IO.Path.Combine(
            this.Configuration.GetString(ConfigSchema.OutputDir) ?? "reports",
            string.Create(CultureInfo.InvariantCulture, $"mongo-revisions-{DateTime.Now:yyyyMMdd-HHmmss}.jsonl")));
        if (!this.SkipRegistryCheck)
        {
            this.endpoint = this.ResolveEndpoint();
        }

        this.settings = MongoConnectionParameters.ToSettings(this, this.Configuration, this.EffectiveTimeout);
        this.connection = MongoConnectionParameters.Open(this, this.settings);
        if (this.endpoint is not null)
        {
            this.registryClient = this.CreateRegistryClient(this.endpoint);
        }
    }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        if (this.ParameterSetName == PathSet)
        {
            return;
        }

        if (this.Status is { Length: > 0 } status && !string.Equals(status, nameof(DeletionStatus.Deleted), StringComparison.OrdinalIgnoreCase))
        {
            foreach (string tag in this.Tag ?? [])
            {
                this.Emit(new MongoEnvRevisionDeletion(null, this.EnvironmentId, tag, this.Repository, DeletionStatus.Skipped, $"the image deletion's status is {status}, not Deleted: its image may still exist, so its revision records stay.", null));
            }

            return;
        }

        string? environmentFilter = null;
        if (this.EnvironmentId is { Length: > 0 } environmentId)
        {
            if (!Domino.ObjectId.IsValid(environmentId))
            {
                this.WriteError(new ErrorRecord(
                    new ArgumentException($"'{environmentId}' is not an environment id: an ObjectId is exactly 24 hexadecimal characters."),
                    ErrorIds.EnvironmentIdInvalid,
                    ErrorCategory.InvalidArgument,
                    environmentId));
                return;
            }

            environmentFilter = environmentId.ToLowerInvariant();
        }

        if (this.Tag is not { Length: > 0 } tags)
        {
            if (environmentFilter is not null)
            {
                this.Process(RevisionSelector.ForEnvironment(environmentFilter), null);
            }

            return;
        }

        foreach (string tag in tags)
        {
            RevisionSelector selector;
            try
            {
                selector = RevisionSelector.ForTag(tag.Trim(), string.IsNullOrWhiteSpace(this.Repository) ? null : this.Repository.Trim('/'));
            }
            catch (FormatException ex)
            {
                this.WriteError(new ErrorRecord(new ArgumentException(ex.Message, nameof(this.Tag), ex), ErrorIds.RevisionTagInvalid, ErrorCategory.InvalidArgument, tag));
                continue;
            }

            this.Process(selector, environmentFilter);
        }
    }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        foreach (RevisionListEntry entry in this.listed ?? [])
        {
            this.Process(entry.Selector, null);
        }

        this.ProcessClonedSources();
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            this.backup?.Dispose();
            this.registryClient?.Dispose();
            this.connection?.Dispose();
        }

        base.Dispose(disposing);
    }

    /// <summary>An image name without '/' (the image:tag form) is an image below registry.repository, as Domino records it.</summary>
    private string BelowPrefix(string image) =>
        ((this.Configuration.GetString(ConfigSchema.RegistryRepository) ?? string.Empty).Trim('/') is { Length: > 0 } prefix ? prefix + "/" : string.Empty) + image;

    private RevisionSelector Qualify(RevisionSelector selector) =>
        selector.Repository is { } repository && !repository.Contains('/', StringComparison.Ordinal)
            ? RevisionSelector.ForTag(selector.Tag!, this.BelowPrefix(repository))
            : selector;

    private void Emit(MongoEnvRevisionDeletion result) => this.WriteTyped(result, OutputTypeNames.MongoEnvRevisionDeletion);

    /// <summary>Finds the revisions of one selector and acts on each; every step's I/O runs through RunEngine.</summary>
    private void Process(RevisionSelector selector, string? environmentFilter)
    {
        selector = this.Qualify(selector);
        DominoDatabase domino = this.connection!.Domino;
        IReadOnlyList<EnvironmentRevision> revisions;
        try
        {
            revisions = this.RunEngine((_, token) => domino.FindRevisionsAsync(selector, token));
        }
        catch (DominoDatabaseException ex) when (ex.Error is DominoDatabaseError.Unreachable or DominoDatabaseError.AuthenticationFailed or DominoDatabaseError.InvalidSettings)
        {
            // Nothing further can work without the database: stop instead of failing every item the same way.
            this.ThrowTerminatingError(MongoConnectionParameters.ErrorRecord(ex, this.settings!.Target));
            throw;
        }
        catch (DominoDatabaseException ex)
        {
            this.WriteError(MongoConnectionParameters.ErrorRecord(ex, selector.ToString()));
            this.Emit(new MongoEnvRevisionDeletion(null, environmentFilter ?? selector.EnvironmentId, selector.Tag, selector.Repository, DeletionStatus.Failed, ex.Message, null));
            return;
        }

        List<EnvironmentRevision> matching = revisions.Where(r => environmentFilter is null || r.EnvironmentId == environmentFilter).ToList();
        if (matching.Count == 0)
        {
            string what = selector.EnvironmentId is { } id ? $"environment {id}" : $"tag {selector}" + (environmentFilter is null ? string.Empty : $" of environment {environmentFilter}");
            this.Emit(new MongoEnvRevisionDeletion(null, environmentFilter ?? selector.EnvironmentId, selector.Tag, selector.Repository, DeletionStatus.NotFound, $"No environment revision records {what}.", null));
            return;
        }

        foreach (EnvironmentRevision revision in matching)
        {
            if (this.handled.Add(revision.RevisionId))
            {
                this.ProcessRevision(revision, selector.Repository);
            }
        }
    }

    /// <summary>
    /// Reads Domino's records once per command, at the first revision that gets this far (so before any deletion), or
    /// stops the command: a revision no read could vouch for is never deleted.
    /// </summary>
    private RevisionRecordPins ReadRecordPins()
    {
        if (this.recordPins is { } read)
        {
            return read;
        }

        DominoDatabase domino = this.connection!.Domino;
        DateTimeOffset? since = this.MyInvocation.BoundParameters.ContainsKey(nameof(this.UnusedSince)) ? DateTimeOffset.UtcNow.AddDays(-this.UnusedSince) : null;
        var options = new DominoUsageOptions { RunsSince = since, EnvironmentRepository = this.Configuration.DominoRepositories()[0] };
        this.WriteVerbose($"Reading the Domino records that pin environment revisions from MongoDB {this.settings!.Target}, once for this command{(since is { } s ? string.Create(CultureInfo.InvariantCulture, $" (runs since {s:yyyy-MM-dd})") : string.Empty)}.");
        DominoUsageReport report;
        try
        {
            report = this.RunEngine((_, token) => domino.ReadImageUsageAsync(options, token));
        }
        catch (DominoDatabaseException ex)
        {
            this.ThrowTerminatingError(EngineErrorMap.Find(ex, EngineOperation.RevisionPins, new EngineErrorContext { Target = this.settings.Target })!);
            throw;
        }

        foreach (string note in report.Notes)
        {
            this.WriteVerbose("Domino: " + note);
        }

        return this.recordPins = new RevisionRecordPins(report);
    }

    /// <summary>Asks, re-checks the active revision after a possibly long confirmation, backs the document up and deletes it.</summary>
    private void Delete(EnvironmentRevision revision)
    {
        DominoDatabase domino = this.connection!.Domino;
        if (!this.ShouldChange(Target(revision), "Delete MongoDB document"))
        {
            if (this.IsDryRun)
            {
                // The dry run shows the clone sources that deleting this revision would free.
                this.gone.Add(revision.RevisionId);
            }

            return;
        }

        // Checked again after a possibly long confirmation: the environment may have been switched meanwhile.
        (DominoEnvironment? liveNow, bool deleted) = this.RunEngine(async (_, token) =>
        {
            DominoEnvironment? active = await domino.FindLiveEnvironmentWithActiveRevisionAsync(revision.RevisionId, token).ConfigureAwait(false);
            if (active is not null)
            {
                return (active, false);
            }

            this.backup ??= RevisionBackupWriter.Open(this.backupPath);
            await this.backup.AppendAsync(revision, token).ConfigureAwait(false);
            return ((DominoEnvironment?)null, await domino.DeleteRevisionAsync(revision.RevisionId, token).ConfigureAwait(false));
        });
        if (liveNow is not null)
        {
            this.Emit(MongoEnvRevisionDeletion.Of(revision, DeletionStatus.Skipped, ActiveReason(liveNow)));
            return;
        }

        this.gone.Add(revision.RevisionId);
        this.Emit(deleted
            ? MongoEnvRevisionDeletion.Of(revision, DeletionStatus.Deleted, string.Empty, this.backup!.Path)
            : MongoEnvRevisionDeletion.Of(revision, DeletionStatus.NotFound, "The revision was deleted by someone else in the meantime.", this.backup!.Path));
    }

    /// <summary>Runs one revision's step; a MongoDB, registry or backup failure is reported the same way for every step.</summary>
    private void Guarded(EnvironmentRevision revision, Action step)
    {
        string target = Target(revision);
        try
        {
            step();
        }
        catch (DominoDatabaseException ex) when (ex.Error is DominoDatabaseError.Unreachable or DominoDatabaseError.AuthenticationFailed)
        {
            this.ThrowTerminatingError(MongoConnectionParameters.ErrorRecord(ex, this.settings!.Target));
        }
        catch (DominoDatabaseException ex)
        {
            this.WriteError(MongoConnectionParameters.ErrorRecord(ex, target));
            this.Emit(MongoEnvRevisionDeletion.Of(revision, DeletionStatus.Failed, ex.Message));
        }
        catch (RegistryException ex)
        {
            this.WriteError(RegistryErrorRecord(ex, target));
            this.Emit(MongoEnvRevisionDeletion.Of(revision, DeletionStatus.Failed, $"Could not check whether the image still exists: {ex.Message}"));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Without a backup nothing is deleted, and later items would fail the same way.
            this.ThrowTerminatingError(new ErrorRecord(
                new IOException($"Cannot write the backup file '{this.backupPath}': {ex.Message} Nothing was deleted without its backup.", ex),
                ErrorIds.MongoBackupFailed,
                ErrorCategory.WriteError,
                this.backupPath));
        }
    }

    private bool ShouldChange(string target, string action) => this.changes.ShouldChange(target, action);

    private static string Target(EnvironmentRevision revision) =>
        $"environment_revisions {revision.RevisionId} (tag {revision.Tag ?? "none"}, environment {revision.EnvironmentId})";
}
