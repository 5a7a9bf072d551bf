using System.Globalization;
using System.Management.Automation;
using RegistryCleaner.Backup;
using RegistryCleaner.Deletion;
using RegistryCleaner.Planning;
using RegistryCleaner.Registry;

namespace RegistryCleaner.PowerShell.Commands;

/// <content>
/// -BackupPath: each image goes into an OCI image layout before its DELETE, and is not deleted when that fails; under
/// -WhatIf, the space the backup needs is shown instead.
/// </content>
public sealed partial class RemoveUnusedImageCommand
{
    private ImageBackupWriter? backup;
    private string? backupFolder;
    private readonly List<BackupImage> wouldBackUp = [];

    /// <summary>An OCI image layout folder (new, empty, or an earlier backup) each image is written to before its DELETE: manifest as stored, index children, configuration and layers, each blob once.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? BackupPath { get; set; }

    /// <summary>Opens the backup before the first image (never under -WhatIf, which writes nothing).</summary>
    /// <param name="client">The registry the images come from.</param>
    private void OpenBackup(RegistryClient client)
    {
        if (this.BackupPath is null)
        {
            return;
        }

        this.backupFolder = this.ResolveFilePath(this.BackupPath);
        if (this.IsDryRun)
        {
            return;
        }

        try
        {
            this.backup = new ImageBackupWriter(client, OciImageLayout.Open(this.backupFolder, create: true));
        }
        catch (Exception ex) when (ex is OciLayoutException or IOException or UnauthorizedAccessException)
        {
            throw this.Terminate(
                new IOException($"-BackupPath '{this.backupFolder}' cannot hold a backup, so nothing was deleted: {ex.Message}", ex),
                ErrorIds.BackupPathInvalid,
                ErrorCategory.WriteError,
                this.backupFolder);
        }
    }

    /// <summary>
    /// Backs the manifest of <paramref name="candidates"/> up; under -WhatIf only remembers it for the estimate.
    /// Returns <see langword="false"/> (and reports every candidate Failed) when the backup failed.
    /// </summary>
    private bool BackUp(IReadOnlyList<DeletionCandidate> candidates, string registry, Dictionary<DeletionStatus, int> counts)
    {
        if (this.backupFolder is null)
        {
            return true;
        }

        DeletionCandidate first = candidates[0];
        if (candidates.All(c => c.Action == CandidateAction.Untag))
        {
            return true; // the manifest stays for its kept tags: nothing is lost
        }

        // The image, then its referrers (signatures, SBOMs, attestations), which a DELETE of it takes along.
        BackupImage[] images =
        [
            new BackupImage(first.Repository, first.Digest, candidates.Select(c => c.Tag).OfType<string>().Distinct(StringComparer.Ordinal).ToArray()),
            .. candidates.SelectMany(c => c.Referrers).DistinctBy(r => r.Digest).Select(r => new BackupImage(r.Repository, r.Digest, r.Tags) { Subject = r.ParentDigest }),
        ];
        if (this.backup is null)
        {
            this.wouldBackUp.AddRange(images);
            return true;
        }

        try
        {
            foreach (BackupImage image in images)
            {
                ImageBackupResult written = this.RunEngine((_, token) => this.backup.BackUpAsync(image, token));
                this.WriteVerbose(string.Create(CultureInfo.InvariantCulture, $"Backed up {image.Repository}@{image.Digest}{(image.Subject is null ? string.Empty : $" (a referrer of {image.Subject})")} to {this.backupFolder}: {written.BlobsWritten} blobs ({written.BytesWritten} bytes) written, {written.BlobsPresent} already there."));
            }

            return true;
        }
        catch (Exception ex) when (ex is RegistryException or OciLayoutException or IOException or UnauthorizedAccessException)
        {
            string reason = $"The backup to '{this.backupFolder}' failed, so it was not deleted: {ex.Message}";
            foreach (DeletionCandidate candidate in candidates)
            {
                var result = new ImageDeletionResult(registry, candidate.Repository, candidate.Tag, candidate.Digest, DeletionStatus.Failed, 0, reason);
                counts[DeletionStatus.Failed] = counts.GetValueOrDefault(DeletionStatus.Failed) + 1;
                this.WriteError(new ErrorRecord(new InvalidOperationException(reason, ex), ErrorIds.RegistryImageBackupFailed, ErrorCategory.WriteError, result));
                this.WriteTyped(result, OutputTypeNames.ImageDeletion);
            }

            return false;
        }
    }

    /// <summary>Under -WhatIf, says how much the backup of what would be deleted needs, and whether it fits.</summary>
    private void WriteBackupEstimate(RegistryClient client)
    {
        if (this.backupFolder is null || this.backup is not null)
        {
            return;
        }

        BackupEstimate estimate;
        try
        {
            estimate = this.RunEngine((_, token) => ImageBackupWriter.EstimateAsync(client, this.backupFolder, this.wouldBackUp, token));
        }
        catch (Exception ex) when (ex is RegistryException or OciLayoutException or IOException)
        {
            this.WriteWarning($"What if: the space the backup to '{this.backupFolder}' needs could not be told: {ex.Message}");
            return;
        }

        string free = estimate.AvailableBytes is { } available ? $"; {ByteCount.Format(available)} ({available} bytes) are free there" : string.Empty;
        this.Tell(string.Create(CultureInfo.InvariantCulture, $"What if: the backup to '{this.backupFolder}' would need {ByteCount.Format(estimate.Bytes)} ({estimate.Bytes} bytes) for {estimate.Blobs} blobs of {estimate.Images} images ({estimate.BlobsPresent} blobs already there){free}."));
        if (estimate.AvailableBytes < estimate.Bytes)
        {
            this.WriteWarning($"What if: the backup needs {ByteCount.Format(estimate.Bytes)} but only {ByteCount.Format(estimate.AvailableBytes.Value)} are free at '{this.backupFolder}': images whose backup fails are not deleted.");
        }
    }
}
