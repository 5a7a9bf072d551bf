using RegistryCleaner.Deletion;

namespace RegistryCleaner.Domino;

/// <summary>The outcome of one environment revision deletion, as <c>Remove-MongoEnvRevision</c> emits it.</summary>
/// <param name="RevisionId">The revision's id (lower-case hex); <see langword="null"/> when no revision was looked up.</param>
/// <param name="EnvironmentId">The revision's environment id (lower-case hex), if known.</param>
/// <param name="Tag">The revision's image tag, if known.</param>
/// <param name="Repository">The revision's image repository, if known.</param>
/// <param name="Status">What happened, with the statuses of image deletions: a tag or environment without revisions is <see cref="DeletionStatus.NotFound"/>.</param>
/// <param name="Reason">Why it was skipped, not found or failed; empty when deleted.</param>
/// <param name="BackupPath">The backup file holding the deleted document; <see langword="null"/> unless deleted.</param>
public sealed record MongoEnvRevisionDeletion(
    string? RevisionId,
    string? EnvironmentId,
    string? Tag,
    string? Repository,
    DeletionStatus Status,
    string Reason,
    string? BackupPath)
{
    /// <summary>The outcome for a revision that was looked up.</summary>
    /// <param name="revision">The revision.</param>
    /// <param name="status">What happened.</param>
    /// <param name="reason">Why, in words; empty when deleted.</param>
    /// <param name="backupPath">The backup file holding the deleted document.</param>
    /// <returns>The outcome.</returns>
    public static MongoEnvRevisionDeletion Of(EnvironmentRevision revision, DeletionStatus status, string reason, string? backupPath = null)
    {
        ArgumentNullException.ThrowIfNull(revision);
        return new(revision.RevisionId, revision.EnvironmentId, revision.Tag, revision.Repository, status, reason, backupPath);
    }
}
