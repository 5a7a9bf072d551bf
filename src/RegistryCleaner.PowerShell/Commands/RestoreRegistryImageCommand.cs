using System.Management.Automation;
using RegistryCleaner.Backup;
using RegistryCleaner.Deletion;
using RegistryCleaner.Registry;

namespace RegistryCleaner.PowerShell.Commands;

/// <summary>
/// Puts images deleted by Remove-UnusedImage back: from its journal until the registry's garbage collection has run, from its backup (-BackupPath) also after it.
/// </summary>
[Cmdlet(VerbsData.Restore, "RegistryImage", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = BackupSet)]
[OutputType(OutputTypeNames.ImageRestore)]
public sealed partial class RestoreRegistryImageCommand : DestructiveCmdlet
{
    /// <summary>The journal written by Remove-UnusedImage -JournalPath (JSON lines).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = JournalSet)]
    [Alias("Path")]
    public string JournalPath { get; set; } = string.Empty;

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        if (this.ParameterSetName == BackupSet)
        {
            this.RestoreFromBackup();
            return;
        }

        string path = this.ResolveFilePath(this.JournalPath);
        IReadOnlyList<JournaledImage> images;
        try
        {
            JournalContents contents = DeletionJournal.ReadContents(path);
            images = JournaledImage.FromRecords(contents.Records);
            if (contents.UnreadableLines.Count > 0)
            {
                this.WriteWarning(JournalWarning(path, contents.UnreadableLines));
            }
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            throw this.Terminate(ex, ex is FileNotFoundException or DirectoryNotFoundException ? ErrorIds.JournalNotFound : ErrorIds.JournalUnreadable, ErrorCategory.ReadError, path);
        }

        RegistryEndpoint endpoint = this.ResolveEndpoint();
        using RegistryClient client = this.CreateRegistryClient(endpoint);
        var restorer = new ImageRestorer(client);
        BackupRestorer? fromBackup = this.OpenBackup(client);
        foreach (JournaledImage image in images)
        {
            JournalRecord attempt = image.Attempt;
            string tags = attempt.Tags is { Count: > 0 } t ? ":" + string.Join(", ", t) : string.Empty;
            if (!string.Equals(attempt.Registry, endpoint.DisplayName, StringComparison.OrdinalIgnoreCase))
            {
                // Restoring into a different registry than the one deleted from would push images nobody asked for.
                this.Emit(image, endpoint, RestoreStatus.Skipped, $"Journaled for registry {attempt.Registry}; pass -Registry for it to restore this image.");
                continue;
            }

            if (!this.ShouldChange($"{endpoint.DisplayName}/{attempt.Repository}{tags} ({attempt.Digest})", "Restore image from the deletion journal"))
            {
                continue;
            }

            IReadOnlyList<ImageRestoreResult> results = image.MayBeDeleted && fromBackup?.Holds(attempt.Digest) == true
                ? this.RunEngine((_, token) => fromBackup.RestoreAsync(FromJournal(image, endpoint), token))
                : this.RunEngine((_, token) => restorer.RestoreAsync(image, token));
            if (results.FirstOrDefault(r => r.Status == RestoreStatus.Failed) is { } failed)
            {
                this.WriteError(new ErrorRecord(new InvalidOperationException(failed.Reason), ErrorIds.RegistryImageRestoreFailed, ErrorCategory.WriteError, failed));
            }

            foreach (ImageRestoreResult result in results)
            {
                this.WriteTyped(result, OutputTypeNames.ImageRestore);
            }
        }
    }

    /// <summary>The warning for lines of a journal that are not records (torn by a run that stopped mid-write, or a full disk).</summary>
    internal static string JournalWarning(string path, IReadOnlyList<int> lines) =>
        $"Journal '{path}' line{(lines.Count == 1 ? string.Empty : "s")} {string.Join(", ", lines.Take(20))}{(lines.Count > 20 ? ", ..." : string.Empty)} {(lines.Count == 1 ? "is" : "are")} not a deletion record (torn by a run that stopped mid-write or a full disk) and {(lines.Count == 1 ? "is" : "are")} skipped; every other line is used.";

    private void Emit(JournaledImage image, RegistryEndpoint endpoint, RestoreStatus status, string reason)
    {
        IReadOnlyList<string?> tags = image.Attempt.Tags is { Count: > 0 } t ? t.Cast<string?>().ToArray() : [null];
        foreach (string? tag in tags)
        {
            this.WriteTyped(new ImageRestoreResult(endpoint.DisplayName, image.Attempt.Repository, tag, image.Attempt.Digest, status, reason), OutputTypeNames.ImageRestore);
        }
    }
}
