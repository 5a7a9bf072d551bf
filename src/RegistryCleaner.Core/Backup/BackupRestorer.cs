using System.Globalization;
using RegistryCleaner.Deletion;
using RegistryCleaner.Registry;

namespace RegistryCleaner.Backup;

/// <summary>One image a backup holds, as it was in the registry: its manifest and every tag it carried.</summary>
/// <param name="Registry">The registry it was backed up from.</param>
/// <param name="Repository">The repository.</param>
/// <param name="Digest">The manifest digest (the original's, never the OCI copy's).</param>
/// <param name="MediaType">The manifest media type.</param>
/// <param name="Tags">The tags; empty for an untagged manifest.</param>
/// <param name="BackedUp">When it was backed up, when known.</param>
public sealed record BackedUpImage(string Registry, string Repository, string Digest, string MediaType, IReadOnlyList<string> Tags, DateTimeOffset? BackedUp)
{
    /// <summary>Lists the images of a backup written by <see cref="ImageBackupWriter"/>, one per repository and digest.</summary>
    /// <param name="layout">The backup.</param>
    /// <returns>The images, in the order they were first backed up.</returns>
    public static IReadOnlyList<BackedUpImage> FromLayout(OciImageLayout layout)
    {
        ArgumentNullException.ThrowIfNull(layout);
        return layout.ReadIndex()
            .Where(e => e.Annotations.GetValueOrDefault(BackupAnnotations.Original) == "true"
                && e.Annotations.ContainsKey(BackupAnnotations.Registry)
                && e.Annotations.ContainsKey(BackupAnnotations.Repository))
            .GroupBy(e => (Registry: e.Annotations[BackupAnnotations.Registry], Repository: e.Annotations[BackupAnnotations.Repository], e.Digest))
            .Select(g => new BackedUpImage(
                g.Key.Registry,
                g.Key.Repository,
                g.Key.Digest,
                g.First().MediaType,
                g.Select(e => e.Annotations.GetValueOrDefault(BackupAnnotations.Tag)).OfType<string>().Distinct(StringComparer.Ordinal).ToArray(),
                g.Select(e => DateTimeOffset.TryParse(e.Annotations.GetValueOrDefault(BackupAnnotations.BackedUp), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out DateTimeOffset t) ? t : (DateTimeOffset?)null).Max()))
            .ToArray();
    }
}

/// <summary>
/// Puts backed-up images back: uploads every blob the registry no longer has (garbage collection removed it) from
/// the backup, then the children of an index by digest, the manifest by digest and under each of its tags, byte for
/// byte, so digests stay what workloads reference. A tag that meanwhile points at another image is left alone.
/// </summary>
public sealed class BackupRestorer
{
    private readonly RegistryClient client;
    private readonly OciImageLayout layout;

    /// <summary>Initializes a restorer.</summary>
    /// <param name="client">The registry (with push permission).</param>
    /// <param name="layout">The backup.</param>
    public BackupRestorer(RegistryClient client, OciImageLayout layout)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(layout);
        this.client = client;
        this.layout = layout;
    }

    /// <summary>Gets whether the backup holds a manifest.</summary>
    /// <param name="digest">The manifest digest.</param>
    /// <returns>Whether its blob is in the backup.</returns>
    public bool Holds(string digest) => OciImageLayout.IsValidDigest(digest) && this.layout.BlobSize(digest) is not null;

    /// <summary>Restores one image under all its tags.</summary>
    /// <param name="image">The image.</param>
    /// <param name="cancellationToken">Cancels the restore.</param>
    /// <returns>One result per tag (one untagged result when it had none).</returns>
    public async Task<IReadOnlyList<ImageRestoreResult>> RestoreAsync(BackedUpImage image, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(image);
        string registry = this.client.Endpoint.DisplayName;
        IReadOnlyList<string?> tags = image.Tags.Count > 0 ? image.Tags.Cast<string?>().ToArray() : [null];
        IReadOnlyList<ImageRestoreResult> All(RestoreStatus status, string reason) =>
            tags.Select(tag => new ImageRestoreResult(registry, image.Repository, tag, image.Digest, status, reason)).ToArray();

        try
        {
            ManifestTree tree = await ManifestTree.ReadAsync(this.layout, image.Repository, image.Digest, image.MediaType).ConfigureAwait(false);
            int uploaded = 0;
            long uploadedBytes = 0;
            object gate = new();
            await Parallel.ForEachAsync(
                tree.Blobs,
                new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, this.client.Options.MaxConcurrency), CancellationToken = cancellationToken },
                async (blob, token) =>
                {
                    if (await this.client.HeadBlobAsync(image.Repository, blob.Digest, token).ConfigureAwait(false) is not null)
                    {
                        return;
                    }

                    long size = this.layout.BlobSize(blob.Digest)
                        ?? throw new OciLayoutException($"The backup '{this.layout.Path}' lacks blob {blob.Digest} of {image.Repository}@{image.Digest}, and the registry no longer has it.");
                    await this.client.UploadBlobAsync(image.Repository, blob.Digest, size, () => this.layout.OpenBlob(blob.Digest), token).ConfigureAwait(false);
                    lock (gate)
                    {
                        uploaded++;
                        uploadedBytes += size;
                    }
                }).ConfigureAwait(false);

            // Children first: a registry refuses an index whose children it does not have.
            foreach (ManifestTree manifest in tree.ChildrenFirst)
            {
                await this.PutAsync(image.Repository, manifest, manifest.Digest, cancellationToken).ConfigureAwait(false);
            }

            string blobs = uploaded == 0
                ? "every blob was still in the registry"
                : string.Create(CultureInfo.InvariantCulture, $"{uploaded} blobs ({uploadedBytes} bytes) uploaded from the backup");
            var results = new List<ImageRestoreResult>();
            foreach (string? tag in tags)
            {
                if (tag is null)
                {
                    results.Add(new ImageRestoreResult(registry, image.Repository, null, image.Digest, RestoreStatus.Restored, $"Restored by digest from the backup ({blobs})."));
                    continue;
                }

                string? current = await this.client.HeadManifestAsync(image.Repository, tag, cancellationToken).ConfigureAwait(false);
                if (current is not null && !string.Equals(current, image.Digest, StringComparison.Ordinal))
                {
                    results.Add(new ImageRestoreResult(registry, image.Repository, tag, image.Digest, RestoreStatus.Skipped, $"The tag now points at {current}; it was left as it is (the manifest is restored by digest)."));
                    continue;
                }

                await this.PutAsync(image.Repository, tree, tag, cancellationToken).ConfigureAwait(false);
                results.Add(new ImageRestoreResult(registry, image.Repository, tag, image.Digest, RestoreStatus.Restored, $"Restored from the backup ({blobs})."));
            }

            return results;
        }
        catch (RegistryException ex)
        {
            return All(RestoreStatus.Failed, $"The registry refused the restore: {ex.Message}");
        }
        catch (OciLayoutException ex)
        {
            return All(RestoreStatus.Failed, $"The backup cannot restore this image: {ex.Message}");
        }
        catch (IOException ex)
        {
            return All(RestoreStatus.Failed, $"The backup '{this.layout.Path}' could not be read: {ex.Message}");
        }
    }

    private async Task PutAsync(string repository, ManifestTree manifest, string reference, CancellationToken cancellationToken)
    {
        string stored = await this.client.PutManifestAsync(repository, reference, manifest.Content, manifest.MediaType, cancellationToken).ConfigureAwait(false);
        if (!string.Equals(stored, manifest.Digest, StringComparison.Ordinal))
        {
            throw new RegistryException(this.client.Endpoint.DisplayName, $"{repository}:{reference} was stored as {stored}, not {manifest.Digest}.", null);
        }
    }
}
