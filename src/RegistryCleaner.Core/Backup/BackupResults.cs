namespace RegistryCleaner.Backup;

/// <summary>What backing up one image wrote.</summary>
/// <param name="Repository">The repository.</param>
/// <param name="Digest">The manifest digest.</param>
/// <param name="BlobsWritten">Blobs (manifests, configurations, layers) newly stored.</param>
/// <param name="BytesWritten">Their bytes.</param>
/// <param name="BlobsPresent">Blobs the backup already had (shared with an image backed up before).</param>
public sealed record ImageBackupResult(string Repository, string Digest, int BlobsWritten, long BytesWritten, int BlobsPresent);

/// <summary>What backing up a set of images would need.</summary>
/// <param name="Images">The images.</param>
/// <param name="Blobs">Distinct blobs the backup does not have yet.</param>
/// <param name="Bytes">Their bytes (manifest sizes as declared, so OCI copies of Docker manifests are approximate).</param>
/// <param name="BlobsPresent">Distinct blobs the backup already has.</param>
/// <param name="AvailableBytes">Free space where the backup goes, when known.</param>
public sealed record BackupEstimate(int Images, int Blobs, long Bytes, int BlobsPresent, long? AvailableBytes);
