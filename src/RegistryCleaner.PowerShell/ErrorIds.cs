namespace RegistryCleaner.PowerShell;

/// <summary>
/// Every ErrorId the module emits: each <see cref="System.Management.Automation.ErrorRecord"/> is built with one of
/// these, and each is listed with its meaning in about_RegistryCleaner (ERROR IDS). Scripts match on them, so they never
/// change once released.
/// </summary>
internal static class ErrorIds
{
    // Configuration and input given by the user.

    /// <summary>The config.yaml named or found is not valid (the message names the line).</summary>
    public const string ConfigFileInvalid = "ConfigFileInvalid";

    /// <summary>The config.yaml named by -ConfigPath or REGISTRY_CLEANER_CONFIG does not exist.</summary>
    public const string ConfigFileNotFound = "ConfigFileNotFound";

    /// <summary>An implicit config.yaml is owned by someone else or writable by others, so it was not read.</summary>
    public const string ConfigFileUnsafe = "ConfigFileUnsafe";

    /// <summary>Get-RegistryCleanerConfig -Key names no configuration key.</summary>
    public const string ConfigKeyNotFound = "ConfigKeyNotFound";

    /// <summary>A destructive command needs a confirmation that a non-interactive session cannot give.</summary>
    public const string ConfirmationNeedsInteractiveSession = "ConfirmationNeedsInteractiveSession";

    /// <summary>A -ObjectId value is not a 24-hex ObjectId.</summary>
    public const string ObjectIdInvalid = "ObjectIdInvalid";

    /// <summary>The -ObjectIdPath file does not exist.</summary>
    public const string ObjectIdFileNotFound = "ObjectIdFileNotFound";

    /// <summary>The -ObjectIdPath file holds a line that is not an ObjectId, or no ObjectId at all.</summary>
    public const string ObjectIdFileInvalid = "ObjectIdFileInvalid";

    /// <summary>The -ObjectIdPath file cannot be read.</summary>
    public const string ObjectIdFileUnreadable = "ObjectIdFileUnreadable";

    /// <summary>Usage given two ways (-InUse and the pipeline), or objects that are not images in use given as usage.</summary>
    public const string InUseInvalid = "InUseInvalid";

    /// <summary>Nothing came through the pipeline as usage, so every image would look unused.</summary>
    public const string InUseEmpty = "InUseEmpty";

    /// <summary>The planning options are not valid (the message names the option).</summary>
    public const string PlanOptionsInvalid = "PlanOptionsInvalid";

    /// <summary>-Repository, -Tag or -Digest typed beside piped images, an empty value, or a -Digest that is no digest.</summary>
    public const string ImageTargetInvalid = "ImageTargetInvalid";

    /// <summary>A piped image's digest is not a digest, so it cannot be checked.</summary>
    public const string ImageDigestInvalid = "ImageDigestInvalid";

    /// <summary>Get-WorkloadImage output was piped as images to delete: those are the images in use.</summary>
    public const string WorkloadImageIsUsage = "WorkloadImageIsUsage";

    // The registry.

    /// <summary>-Registry (or registry.url) is not a host[:port] or an http(s) URL without a path.</summary>
    public const string RegistryUrlInvalid = "RegistryUrlInvalid";

    /// <summary>registry.kind is not auto, distribution, harbor, ecr, acr or gar.</summary>
    public const string RegistryKindInvalid = "RegistryKindInvalid";

    /// <summary>The registry refused the credentials (401/403).</summary>
    public const string RegistryCredentialsRefused = "RegistryCredentialsRefused";

    /// <summary>A docker-credential helper failed or took too long.</summary>
    public const string RegistryCredentialHelperFailed = "RegistryCredentialHelperFailed";

    /// <summary>The pull secret named with -CredentialSecret cannot be read or has no entry for the registry.</summary>
    public const string RegistryCredentialSecretUnreadable = "RegistryCredentialSecretUnreadable";

    /// <summary>A Docker config.json or auth.json that holds registry credentials cannot be read as one.</summary>
    public const string DockerConfigInvalid = "DockerConfigInvalid";

    /// <summary>The registry's TLS certificate is not trusted.</summary>
    public const string RegistryCertificateInvalid = "RegistryCertificateInvalid";

    /// <summary>The registry's token service is not where credentials may go; nothing was sent to it.</summary>
    public const string RegistryTokenRealmRefused = "RegistryTokenRealmRefused";

    /// <summary>The registry could not be reached.</summary>
    public const string RegistryUnreachable = "RegistryUnreachable";

    /// <summary>A repository named exactly is not in the registry.</summary>
    public const string RepositoryNotFound = "RepositoryNotFound";

    /// <summary>A tag named exactly is not in the repositories read.</summary>
    public const string RegistryTagNotFound = "RegistryTagNotFound";

    /// <summary>A -Digest names no manifest in the repositories read.</summary>
    public const string RegistryManifestNotFound = "RegistryManifestNotFound";

    /// <summary>A manifest does not hash to its digest, or has impossible sizes or fields.</summary>
    public const string RegistryManifestInvalid = "RegistryManifestInvalid";

    /// <summary>An index contains itself or nests too deep, so what it keeps cannot be known.</summary>
    public const string RegistryManifestGraphInvalid = "RegistryManifestGraphInvalid";

    /// <summary>A blob (an image configuration) does not hash to its digest.</summary>
    public const string RegistryBlobInvalid = "RegistryBlobInvalid";

    /// <summary>The registry (or a journal) named something that is not a repository, tag or digest.</summary>
    public const string RegistryNameInvalid = "RegistryNameInvalid";

    /// <summary>The registry sent more than the module reads (size, entry, page or time limit).</summary>
    public const string RegistryLimitExceeded = "RegistryLimitExceeded";

    /// <summary>Any other failed registry request.</summary>
    public const string RegistryRequestFailed = "RegistryRequestFailed";

    /// <summary>Not every tag of the registry could be read, so nothing is deleted from an incomplete inventory.</summary>
    public const string RegistryInventoryIncomplete = "RegistryInventoryIncomplete";

    /// <summary>-StoragePath is not a registry's storage.</summary>
    public const string StoragePathInvalid = "StoragePathInvalid";

    /// <summary>-StoragePath is another registry's storage.</summary>
    public const string StoragePathMismatch = "StoragePathMismatch";

    /// <summary>The registry's storage could not be read.</summary>
    public const string StoragePathUnreadable = "StoragePathUnreadable";

    // Deleting, backing up and restoring.

    /// <summary>The registry does not allow deletes (405 UNSUPPORTED).</summary>
    public const string RegistryDeleteDisabled = "RegistryDeleteDisabled";

    /// <summary>A manifest's DELETE failed; the run goes on.</summary>
    public const string RegistryManifestDeleteFailed = "RegistryManifestDeleteFailed";

    /// <summary>The registry refused a delete because the image or repository is locked (ACR deleteEnabled: false).</summary>
    public const string RegistryImageLocked = "RegistryImageLocked";

    /// <summary>The tags of a deleted manifest could not be checked afterwards for tags that left with it.</summary>
    public const string RegistryTagCheckFailed = "RegistryTagCheckFailed";

    /// <summary>A tag moved onto a manifest while it was deleted was put back with the manifest.</summary>
    public const string RegistryTagPutBack = "RegistryTagPutBack";

    /// <summary>A tag moved onto a deleted manifest could not be put back: restore from the journal now.</summary>
    public const string RegistryTagPutBackFailed = "RegistryTagPutBackFailed";

    /// <summary>The deletion journal cannot be written (or is a link), so nothing is deleted.</summary>
    public const string DeletionJournalUnwritable = "DeletionJournalUnwritable";

    /// <summary>-BackupPath cannot hold a backup, so nothing is deleted.</summary>
    public const string BackupPathInvalid = "BackupPathInvalid";

    /// <summary>An image's backup failed, so that image is not deleted.</summary>
    public const string RegistryImageBackupFailed = "RegistryImageBackupFailed";

    /// <summary>The journal to restore from does not exist.</summary>
    public const string JournalNotFound = "JournalNotFound";

    /// <summary>The journal to restore from cannot be read.</summary>
    public const string JournalUnreadable = "JournalUnreadable";

    /// <summary>The backup to restore from does not exist.</summary>
    public const string BackupNotFound = "BackupNotFound";

    /// <summary>The backup to restore from cannot be read or is not an OCI image layout.</summary>
    public const string BackupUnreadable = "BackupUnreadable";

    /// <summary>An image could not be put back into the registry.</summary>
    public const string RegistryImageRestoreFailed = "RegistryImageRestoreFailed";

    // Garbage collection and the registry's deletion setting.

    /// <summary>The registry's StatefulSet, service or process cannot be found or managed; nothing was changed.</summary>
    public const string RegistryHostUnusable = "RegistryHostUnusable";

    /// <summary>-ServiceName is not a systemd unit name.</summary>
    public const string ServiceNameInvalid = "ServiceNameInvalid";

    /// <summary>Garbage collection was refused before anything was changed (the message says why).</summary>
    public const string GarbageCollectionRefused = "GarbageCollectionRefused";

    /// <summary>A step of garbage collection failed; the registry was restarted with its own settings.</summary>
    public const string GarbageCollectionFailed = "GarbageCollectionFailed";

    /// <summary>After garbage collection, an image cannot be pulled whole (the message counts the problems).</summary>
    public const string RegistryVerificationFailed = "RegistryVerificationFailed";

    /// <summary>The registry was not ready again in time after its setting changed.</summary>
    public const string RegistryRestartTimedOut = "RegistryRestartTimedOut";

    /// <summary>The deletion setting was set, but the registry still answers deletes as before (its own configuration wins).</summary>
    public const string RegistryDeletionSettingIneffective = "RegistryDeletionSettingIneffective";

    // Kubernetes.

    /// <summary>The kubeconfig is missing or unusable, sets no current context, or lacks a named context.</summary>
    public const string KubeConfigInvalid = "KubeConfigInvalid";

    /// <summary>A -Namespace does not exist in the cluster.</summary>
    public const string WorkloadNamespaceNotFound = "WorkloadNamespaceNotFound";

    /// <summary>Listing workloads was refused (401/403): grant the permission the message names.</summary>
    public const string WorkloadAccessDenied = "WorkloadAccessDenied";

    /// <summary>Listing workloads failed otherwise (5xx, timeout, unreachable).</summary>
    public const string WorkloadListFailed = "WorkloadListFailed";

    /// <summary>Image usage could not be read from Kubernetes, so nothing is planned or deleted.</summary>
    public const string WorkloadUsageUnreadable = "WorkloadUsageUnreadable";

    /// <summary>Image usage is incomplete, so nothing is planned or deleted.</summary>
    public const string WorkloadUsageIncomplete = "WorkloadUsageIncomplete";

    /// <summary>The -Path snapshot does not exist.</summary>
    public const string WorkloadSnapshotNotFound = "WorkloadSnapshotNotFound";

    /// <summary>The -Path snapshot is not a kubectl JSON list of workloads.</summary>
    public const string WorkloadSnapshotInvalid = "WorkloadSnapshotInvalid";

    // MongoDB and Domino's records.

    /// <summary>MongoDB could not be reached.</summary>
    public const string MongoUnreachable = "MongoUnreachable";

    /// <summary>MongoDB refused the credentials.</summary>
    public const string MongoCredentialsRefused = "MongoCredentialsRefused";

    /// <summary>The MongoDB settings (URI, host, port, database) are not valid.</summary>
    public const string MongoSettingsInvalid = "MongoSettingsInvalid";

    /// <summary>A MongoDB query failed or answered unexpected data.</summary>
    public const string MongoQueryFailed = "MongoQueryFailed";

    /// <summary>Domino's records could not be read, so nothing is planned or deleted.</summary>
    public const string DominoUsageUnreadable = "DominoUsageUnreadable";

    /// <summary>The revision backup file cannot be written, so nothing is deleted.</summary>
    public const string MongoBackupFailed = "MongoBackupFailed";

    /// <summary>An environment id is not an ObjectId.</summary>
    public const string EnvironmentIdInvalid = "EnvironmentIdInvalid";

    /// <summary>A -Tag of Remove-MongoEnvRevision is not a tag or repository:tag.</summary>
    public const string RevisionTagInvalid = "RevisionTagInvalid";

    /// <summary>The revision list file holds a line that is not a revision.</summary>
    public const string RevisionListInvalid = "RevisionListInvalid";

    /// <summary>The revision list file does not exist.</summary>
    public const string RevisionListNotFound = "RevisionListNotFound";

    /// <summary>The revision list file cannot be read.</summary>
    public const string RevisionListUnreadable = "RevisionListUnreadable";

    // Reports.

    /// <summary>-Path of Export-RegistryReport is a folder or cannot be written.</summary>
    public const string ReportPathInvalid = "ReportPathInvalid";

    /// <summary>The report file exists and -Force was not given.</summary>
    public const string ReportFileExists = "ReportFileExists";

    /// <summary>An object piped into Export-RegistryReport is not one it reports on.</summary>
    public const string ReportInputInvalid = "ReportInputInvalid";

    /// <summary>Nothing to report on came through the pipeline.</summary>
    public const string ReportInputEmpty = "ReportInputEmpty";

    /// <summary>The report could not be written.</summary>
    public const string ReportWriteFailed = "ReportWriteFailed";
}
