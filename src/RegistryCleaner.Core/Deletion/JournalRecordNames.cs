using RegistryCleaner.Registry;

namespace RegistryCleaner.Deletion;

/// <summary>
/// Checks the names in a journal record before a restore puts them into URLs: a journal is a file anyone with access
/// to its folder can edit, so its repository, digests and tags must match the distribution grammar like a registry's.
/// </summary>
internal static class JournalRecordNames
{
    /// <summary>Says what in a record is not a name.</summary>
    /// <param name="record">The record as read.</param>
    /// <returns>The reason, naming the value escaped, or <see langword="null"/> when every name is valid.</returns>
    public static string? Error(JournalRecord record)
    {
        // Deserialization leaves a missing required field null despite the annotations.
        if (record.Repository is null || record.Digest is null)
        {
            return "it has no repository or no digest";
        }

        string? error = RegistryNames.RepositoryError(record.Repository) ?? RegistryNames.DigestError(record.Digest);
        if (error is null && record.Parent is not null)
        {
            error = RegistryNames.DigestError(record.Parent);
        }

        foreach (string? tag in (record.Tags ?? []).Concat(record.RemovedTags ?? []))
        {
            error ??= tag is null ? "it lists a null tag" : RegistryNames.TagError(tag);
        }

        return error;
    }
}
