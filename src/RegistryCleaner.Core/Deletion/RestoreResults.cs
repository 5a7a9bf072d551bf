namespace RegistryCleaner.Deletion;

/// <summary>What restoring one image did.</summary>
public enum RestoreStatus
{
    /// <summary>The manifest is back under the tag.</summary>
    Restored,

    /// <summary>Nothing to do: the journal proves the DELETE did not happen, the image is still in the registry, or the user declined.</summary>
    Skipped,

    /// <summary>It could not be put back (a blob is gone, or the registry refused).</summary>
    Failed,
}

/// <summary>The outcome of restoring one journaled image under one tag (or untagged).</summary>
/// <param name="Registry">The registry.</param>
/// <param name="Repository">The repository.</param>
/// <param name="Tag">The tag; <see langword="null"/> for an untagged manifest.</param>
/// <param name="Digest">The manifest digest.</param>
/// <param name="Status">What happened.</param>
/// <param name="Reason">Why, in words.</param>
public sealed record ImageRestoreResult(string Registry, string Repository, string? Tag, string Digest, RestoreStatus Status, string Reason);
