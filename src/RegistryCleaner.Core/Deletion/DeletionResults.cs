namespace RegistryCleaner.Deletion;

/// <summary>What happened to one image (tag), manifest or environment revision record.</summary>
/// <remarks>
/// Sort-Object orders by the values, from done to needing a look: Deleted, Skipped (kept on purpose, with its reason),
/// NotFound (nothing was there to delete), Failed (may still exist). ConvertTo-Json writes the number, so the values
/// never change (the journal writes the name). <see cref="RestoreStatus"/> and
/// <see cref="Maintenance.GarbageCollectionStatus"/> stay separate types on purpose: a deletion is never Restored, and
/// a restore or a garbage collection has no NotFound.
/// </remarks>
public enum DeletionStatus
{
    /// <summary>The manifest (the tag with it) or the revision record was deleted.</summary>
    Deleted = 0,

    /// <summary>Not deleted on purpose: protected, pinned, tag moved, or declined.</summary>
    Skipped = 1,

    /// <summary>Already gone, or nothing matched: not a failure.</summary>
    NotFound = 2,

    /// <summary>The registry or the database refused, or a check failed; the image or record may still exist.</summary>
    Failed = 3,
}

/// <summary>The outcome for one tag (or one untagged manifest) of a deletion.</summary>
/// <param name="Registry">The registry.</param>
/// <param name="Repository">The repository.</param>
/// <param name="Tag">The tag; <see langword="null"/> for an untagged manifest.</param>
/// <param name="Digest">The manifest digest.</param>
/// <param name="Status">What happened.</param>
/// <param name="ReclaimableBytes">
/// The bytes garbage collection frees because of this deletion (as planned); 0 unless <see cref="Status"/> is
/// <see cref="DeletionStatus.Deleted"/>, so the sum over deleted images is what garbage collection frees.
/// </param>
/// <param name="Reason">Why, in words.</param>
public sealed record ImageDeletionResult(string Registry, string Repository, string? Tag, string Digest, DeletionStatus Status, long ReclaimableBytes, string Reason)
{
    /// <summary>Gets the kind of refusal when the registry refused for a reason scripts tell apart (a lock, an index still referencing it).</summary>
    public Registry.DeleteRefusal Refusal { get; init; }
}

/// <summary>The outcome for one child manifest deleted with its index.</summary>
/// <param name="Repository">The repository.</param>
/// <param name="Digest">The child digest.</param>
/// <param name="ParentDigest">The deleted index.</param>
/// <param name="Status">What happened.</param>
/// <param name="Reason">Why, in words.</param>
public sealed record ChildDeletionResult(string Repository, string Digest, string ParentDigest, DeletionStatus Status, string Reason)
{
    /// <summary>Gets the kind of refusal when the registry refused for a reason scripts tell apart (a lock, an index still referencing it).</summary>
    public Registry.DeleteRefusal Refusal { get; init; }
}

/// <summary>Everything one DELETE of a manifest did: one result per planned tag, and the children of an index.</summary>
/// <param name="Images">One result per planned tag of the manifest (the primary first).</param>
/// <param name="Children">The child manifests and referrers deleted after the manifest, parents first.</param>
public sealed record ManifestDeletion(IReadOnlyList<ImageDeletionResult> Images, IReadOnlyList<ChildDeletionResult> Children)
{
    /// <summary>
    /// Gets the tags that left with a DELETE although nobody planned to delete them (moved onto the manifest after
    /// the last check) and were put back at once from the journal; each is an error to report.
    /// </summary>
    public IReadOnlyList<TagPutBack> TagsPutBack { get; init; } = [];

    /// <summary>Gets problems that did not stop the deletion but must be reported (the tags could not be re-read after a DELETE).</summary>
    public IReadOnlyList<string> Problems { get; init; } = [];
}

/// <summary>A tag that a DELETE took with it unplanned, and whether it was put back.</summary>
/// <param name="Registry">The registry.</param>
/// <param name="Repository">The repository.</param>
/// <param name="Tag">The tag.</param>
/// <param name="Digest">The manifest it pointed at, and points at again when <paramref name="Restored"/>.</param>
/// <param name="Restored">Whether it was put back.</param>
/// <param name="Message">What happened, naming the tag.</param>
public sealed record TagPutBack(string Registry, string Repository, string Tag, string Digest, bool Restored, string Message);
