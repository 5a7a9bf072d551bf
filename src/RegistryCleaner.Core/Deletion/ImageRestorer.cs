using RegistryCleaner.Registry;

namespace RegistryCleaner.Deletion;

/// <summary>
/// One journaled manifest to restore, with the children journaled under it (an index deleted with its children).
/// </summary>
/// <param name="Attempt">The attempt record of the manifest.</param>
/// <param name="Outcome">The outcome record, when the journal has one (none means the run stopped mid-DELETE).</param>
/// <param name="Children">
/// The journaled manifests deleted with it (attempt records): index children at any depth and referrers, in the
/// order to put them back (the reverse of deletion: what an index lists before the index).
/// </param>
public sealed record JournaledImage(JournalRecord Attempt, JournalRecord? Outcome, IReadOnlyList<JournalRecord> Children)
{
    /// <summary>
    /// Gets whether the manifest may have been deleted: anything but an outcome that proves it stayed. NotFound (it was
    /// gone before the DELETE) and a Failed that a HEAD found still there prove that; a Failed without that marker
    /// (journals from before it, a refusal nobody re-checked) does not, and neither does a missing or possibly-deleted
    /// outcome. Putting back a manifest that is still there changes nothing.
    /// </summary>
    public bool MayBeDeleted => this.Outcome?.Outcome switch
    {
        nameof(DeletionStatus.NotFound) or nameof(DeletionStatus.Skipped) => false,
        nameof(DeletionStatus.Failed) => this.Outcome.Present != true,
        _ => true,
    };

    /// <summary>Groups a journal's records into top-level images (children under their index), in journal order.</summary>
    /// <param name="records">The records.</param>
    /// <returns>The images.</returns>
    public static IReadOnlyList<JournaledImage> FromRecords(IEnumerable<JournalRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        JournalRecord[] all = records.ToArray();

        // Each outcome line belongs to the latest attempt before it of the same manifest, action and run: runs sharing a
        // journal (or deleting the same manifest again after a push) each keep their own outcome.
        var outcomeOf = new Dictionary<JournalRecord, JournalRecord>(ReferenceEqualityComparer.Instance);
        var pending = new Dictionary<(string, string, string, string?, string?, string?), Stack<JournalRecord>>();
        foreach (JournalRecord record in all)
        {
            var key = (record.Registry, record.Repository, record.Digest, record.Parent, record.Action, record.Run);
            if (record.Kind == JournalRecord.AttemptKind)
            {
                if (!pending.TryGetValue(key, out Stack<JournalRecord>? stack))
                {
                    pending[key] = stack = new Stack<JournalRecord>();
                }

                stack.Push(record);
            }
            else if (record.Kind == JournalRecord.OutcomeKind && pending.GetValueOrDefault(key) is { Count: > 0 } waiting)
            {
                outcomeOf[waiting.Pop()] = record;
            }
        }

        ILookup<(string, string, string), JournalRecord> childrenByParent = all
            .Where(r => r.Kind == JournalRecord.AttemptKind && r.Parent is not null)
            .ToLookup(r => (r.Registry, r.Repository, r.Parent!));

        // Every tag a DELETE removed comes back: the planned ones and any the tag list showed left with it.
        JournalRecord WithRemovedTags(JournalRecord attempt) =>
            outcomeOf.GetValueOrDefault(attempt) is { RemovedTags: { Count: > 0 } removed }
                ? attempt with { Tags = [.. (attempt.Tags ?? []).Union(removed, StringComparer.Ordinal)] }
                : attempt;

        List<JournalRecord> Descendants(JournalRecord top)
        {
            // Parents were deleted before their children; restoring goes the other way round.
            var found = new List<JournalRecord>();
            var seen = new HashSet<string>(StringComparer.Ordinal) { top.Digest };
            var pending = new Queue<JournalRecord>([top]);
            while (pending.TryDequeue(out JournalRecord? parent))
            {
                foreach (JournalRecord child in childrenByParent[(parent.Registry, parent.Repository, parent.Digest)])
                {
                    if (seen.Add(child.Digest))
                    {
                        found.Add(WithRemovedTags(child));
                        pending.Enqueue(child);
                    }
                }
            }

            found.Reverse();
            return found;
        }

        return all
            .Where(r => r.Kind == JournalRecord.AttemptKind && r.Parent is null)
            .Select(r => new JournaledImage(
                WithRemovedTags(r),
                outcomeOf.GetValueOrDefault(r),
                Descendants(r)))
            .ToArray();
    }
}

/// <summary>
/// Puts journaled manifests back: checks that every blob they reference still exists (garbage collection may have
/// removed them), PUTs children by digest first, then the manifest by digest and under each journaled tag.
/// </summary>
public sealed class ImageRestorer
{
    private readonly RegistryClient client;

    /// <summary>Initializes a restorer.</summary>
    /// <param name="client">The registry client (with push permission).</param>
    public ImageRestorer(RegistryClient client)
    {
        ArgumentNullException.ThrowIfNull(client);
        this.client = client;
    }

    /// <summary>Restores one journaled image under all its tags.</summary>
    /// <param name="image">The image.</param>
    /// <param name="cancellationToken">Cancels the restore.</param>
    /// <returns>One result per tag (one untagged result when it had none).</returns>
    public async Task<IReadOnlyList<ImageRestoreResult>> RestoreAsync(JournaledImage image, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(image);
        JournalRecord attempt = image.Attempt;
        string registry = this.client.Endpoint.DisplayName;
        IReadOnlyList<string?> tags = attempt.Tags is { Count: > 0 } t ? t.Cast<string?>().ToArray() : [null];
        IReadOnlyList<ImageRestoreResult> All(RestoreStatus status, string reason) =>
            tags.Select(tag => new ImageRestoreResult(registry, attempt.Repository, tag, attempt.Digest, status, reason)).ToArray();

        if (!image.MayBeDeleted)
        {
            return All(RestoreStatus.Skipped, $"The journal shows the DELETE did not happen ({image.Outcome!.Outcome}: {image.Outcome.Message}).");
        }

        try
        {
            // What is still there is left alone (a DELETE that failed, or a restore run before): only the rest is put back.
            var missingChildren = new List<JournalRecord>();
            foreach (JournalRecord child in image.Children)
            {
                if (await this.client.HeadManifestAsync(child.Repository, child.Digest, cancellationToken).ConfigureAwait(false) is null)
                {
                    missingChildren.Add(child);
                }
            }

            bool missing = await this.client.HeadManifestAsync(attempt.Repository, attempt.Digest, cancellationToken).ConfigureAwait(false) is null;
            foreach (JournalRecord child in missingChildren)
            {
                if (await this.FindMissingBlobAsync(child, cancellationToken).ConfigureAwait(false) is { } missingChildBlob)
                {
                    return All(RestoreStatus.Failed, MissingBlobMessage(child.Digest, missingChildBlob));
                }
            }

            if (missing && await this.FindMissingBlobAsync(attempt, cancellationToken).ConfigureAwait(false) is { } missingBlob)
            {
                return All(RestoreStatus.Failed, MissingBlobMessage(attempt.Digest, missingBlob));
            }

            // Children first: a registry refuses an index whose children it does not have.
            foreach (JournalRecord child in missingChildren)
            {
                await this.PutAsync(child, child.Digest, cancellationToken).ConfigureAwait(false);
            }

            if (missing)
            {
                await this.PutAsync(attempt, attempt.Digest, cancellationToken).ConfigureAwait(false);
            }

            var results = new List<ImageRestoreResult>();
            await this.RestoreChildTagsAsync(image, registry, results, cancellationToken).ConfigureAwait(false);
            foreach (string? tag in tags)
            {
                if (tag is null)
                {
                    results.Add(missing
                        ? new ImageRestoreResult(registry, attempt.Repository, null, attempt.Digest, RestoreStatus.Restored, "Restored by digest (it had no tag).")
                        : new ImageRestoreResult(registry, attempt.Repository, null, attempt.Digest, RestoreStatus.Skipped, AlreadyThere));
                    continue;
                }

                // The tag may point elsewhere by now (a new push); restoring must not overwrite that.
                string? current = await this.client.HeadManifestAsync(attempt.Repository, tag, cancellationToken).ConfigureAwait(false);
                if (string.Equals(current, attempt.Digest, StringComparison.Ordinal))
                {
                    results.Add(new ImageRestoreResult(registry, attempt.Repository, tag, attempt.Digest, RestoreStatus.Skipped, AlreadyThere));
                    continue;
                }

                if (current is not null)
                {
                    results.Add(new ImageRestoreResult(registry, attempt.Repository, tag, attempt.Digest, RestoreStatus.Skipped, $"The tag now points at {current}; it was left as it is (the manifest is restored by digest)."));
                    continue;
                }

                await this.PutAsync(attempt, tag, cancellationToken).ConfigureAwait(false);
                results.Add(new ImageRestoreResult(registry, attempt.Repository, tag, attempt.Digest, RestoreStatus.Restored, "Restored from the journal."));
            }

            return results;
        }
        catch (RegistryException ex)
        {
            return All(RestoreStatus.Failed, $"The registry refused the restore: {ex.Message}");
        }
        catch (FormatException ex)
        {
            return All(RestoreStatus.Failed, $"The journal entry is damaged: {ex.Message}");
        }
    }

    /// <summary>Puts the tags of manifests deleted with the image back (a signature's <c>sha256-&lt;hex&gt;.sig</c>), where free.</summary>
    private async Task RestoreChildTagsAsync(JournaledImage image, string registry, List<ImageRestoreResult> results, CancellationToken cancellationToken)
    {
        foreach (JournalRecord child in image.Children)
        {
            foreach (string tag in child.Tags ?? [])
            {
                string? current = await this.client.HeadManifestAsync(child.Repository, tag, cancellationToken).ConfigureAwait(false);
                if (string.Equals(current, child.Digest, StringComparison.Ordinal))
                {
                    results.Add(new ImageRestoreResult(registry, child.Repository, tag, child.Digest, RestoreStatus.Skipped, AlreadyThere));
                    continue;
                }

                if (current is not null)
                {
                    results.Add(new ImageRestoreResult(registry, child.Repository, tag, child.Digest, RestoreStatus.Skipped, $"The tag now points at {current}; it was left as it is (the manifest is restored by digest)."));
                    continue;
                }

                await this.PutAsync(child, tag, cancellationToken).ConfigureAwait(false);
                results.Add(new ImageRestoreResult(registry, child.Repository, tag, child.Digest, RestoreStatus.Restored, $"Restored from the journal with {image.Attempt.Digest}."));
            }
        }
    }

    private const string AlreadyThere = "Already in the registry (the DELETE did not take it, or it was restored before); nothing to do.";

    private static string MissingBlobMessage(string digest, string blob) =>
        $"Cannot restore {digest}: blob {blob} no longer exists in the registry (garbage collection removed it). Push the image again instead.";

    private static byte[] Content(JournalRecord record) =>
        Convert.FromBase64String(record.Manifest ?? throw new FormatException($"{record.Repository}@{record.Digest} has no manifest in the journal."));

    private async Task PutAsync(JournalRecord record, string reference, CancellationToken cancellationToken)
    {
        string stored = await this.client.PutManifestAsync(record.Repository, reference, Content(record), record.MediaType ?? MediaTypes.DockerManifest, cancellationToken).ConfigureAwait(false);
        if (!string.Equals(stored, record.Digest, StringComparison.Ordinal))
        {
            throw new RegistryException(this.client.Endpoint.DisplayName, $"{record.Repository}:{reference} was stored as {stored}, not {record.Digest}.", null);
        }
    }

    private async Task<string?> FindMissingBlobAsync(JournalRecord record, CancellationToken cancellationToken)
    {
        byte[] content = Content(record);
        ManifestRecord manifest = ManifestParser.Parse(this.client.Endpoint.DisplayName, record.Repository, record.Digest, record.MediaType, content);
        IEnumerable<string> blobs = manifest.Layers.Select(l => l.Digest);
        if (manifest.Config is not null)
        {
            blobs = blobs.Prepend(manifest.Config.Digest);
        }

        foreach (string blob in blobs.Distinct(StringComparer.Ordinal))
        {
            if (await this.client.HeadBlobAsync(record.Repository, blob, cancellationToken).ConfigureAwait(false) is null)
            {
                return blob;
            }
        }

        return null;
    }
}
