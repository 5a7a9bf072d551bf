using System.Management.Automation;
using RegistryCleaner.Backup;
using RegistryCleaner.Deletion;
using RegistryCleaner.Registry;
using RegistryCleaner.PowerShell.Completion;

namespace RegistryCleaner.PowerShell.Commands;

/// <content>
/// -BackupPath: images come back from an OCI image layout written by Remove-UnusedImage -BackupPath, blobs and all, so
/// a restore works after garbage collection too. Alone it restores every image of the backup (narrowed by
/// -Repository and -Tag); with -JournalPath it takes what the journal lacks (the blobs garbage collection removed)
/// from the backup.
/// </content>
public sealed partial class RestoreRegistryImageCommand
{
    private const string JournalSet = "Journal";
    private const string BackupSet = "Backup";

    /// <summary>An OCI image layout written by Remove-UnusedImage -BackupPath.</summary>
    [Parameter(ParameterSetName = JournalSet)]
    [Parameter(Mandatory = true, ParameterSetName = BackupSet)]
    [ValidateNotNullOrEmpty]
    public string? BackupPath { get; set; }

    /// <summary>With -BackupPath alone: only images of these repositories (wildcards allowed).</summary>
    [Parameter(ParameterSetName = BackupSet)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ValidateRegistryName(RegistryNameKind.Repository)]
    [ArgumentCompleter(typeof(RepositoryCompleter))]
    public string[]? Repository { get; set; }

    /// <summary>With -BackupPath alone: only images with one of these tags (wildcards allowed); an image keeps all its tags.</summary>
    [Parameter(ParameterSetName = BackupSet)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ValidateRegistryName(RegistryNameKind.Tag)]
    [ArgumentCompleter(typeof(TagCompleter))]
    public string[]? Tag { get; set; }

    private static BackedUpImage FromJournal(JournaledImage image, RegistryEndpoint endpoint) => new(
        endpoint.DisplayName,
        image.Attempt.Repository,
        image.Attempt.Digest,
        image.Attempt.MediaType ?? MediaTypes.DockerManifest,
        image.Attempt.Tags ?? [],
        null);

    private static bool Matches(string value, string[]? patterns) =>
        patterns is null || patterns.Any(p => new WildcardPattern(p, WildcardOptions.IgnoreCase).IsMatch(value));

    private BackupRestorer? OpenBackup(RegistryClient client)
    {
        if (this.BackupPath is null)
        {
            return null;
        }

        string folder = this.ResolveFilePath(this.BackupPath);
        try
        {
            return new BackupRestorer(client, OciImageLayout.Open(folder, create: false));
        }
        catch (Exception ex) when (ex is OciLayoutException or IOException or UnauthorizedAccessException)
        {
            throw this.Terminate(ex, ex is DirectoryNotFoundException ? ErrorIds.BackupNotFound : ErrorIds.BackupUnreadable, ErrorCategory.ReadError, folder);
        }
    }

    private void RestoreFromBackup()
    {
        RegistryEndpoint endpoint = this.ResolveEndpoint();
        using RegistryClient client = this.CreateRegistryClient(endpoint);
        BackupRestorer restorer = this.OpenBackup(client)!;
        string folder = this.ResolveFilePath(this.BackupPath!);
        IReadOnlyList<BackedUpImage> images;
        try
        {
            images = BackedUpImage.FromLayout(OciImageLayout.Open(folder, create: false));
        }
        catch (Exception ex) when (ex is OciLayoutException or IOException)
        {
            throw this.Terminate(ex, ErrorIds.BackupUnreadable, ErrorCategory.ReadError, folder);
        }

        foreach (BackedUpImage image in images.Where(i => Matches(i.Repository, this.Repository) && (this.Tag is null || i.Tags.Any(t => Matches(t, this.Tag)))))
        {
            string tags = image.Tags.Count > 0 ? ":" + string.Join(", ", image.Tags) : string.Empty;
            if (!string.Equals(image.Registry, endpoint.DisplayName, StringComparison.OrdinalIgnoreCase))
            {
                // Restoring into another registry than the one backed up from would push images nobody asked for.
                foreach (string? tag in image.Tags.Count > 0 ? image.Tags.Cast<string?>() : [null])
                {
                    this.WriteTyped(new ImageRestoreResult(endpoint.DisplayName, image.Repository, tag, image.Digest, RestoreStatus.Skipped, $"Backed up from registry {image.Registry}; pass -Registry for it to restore this image (or copy it elsewhere with skopeo copy oci:{folder}:{image.Repository}:<tag>)."), OutputTypeNames.ImageRestore);
                }

                continue;
            }

            if (!this.ShouldChange($"{endpoint.DisplayName}/{image.Repository}{tags} ({image.Digest})", "Restore image from the backup"))
            {
                continue;
            }

            IReadOnlyList<ImageRestoreResult> results = this.RunEngine((_, token) => restorer.RestoreAsync(image, token));
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
}
