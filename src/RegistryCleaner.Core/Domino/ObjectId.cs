namespace RegistryCleaner.Domino;

/// <summary>
/// Domino identifiers: 24 hexadecimal characters (a MongoDB ObjectId), always handled in lower case.
/// </summary>
public static class ObjectId
{
    /// <summary>The number of characters in an ObjectId.</summary>
    public const int Length = 24;

    /// <summary>Returns whether <paramref name="value"/> is 24 hexadecimal characters (either case).</summary>
    /// <param name="value">The text to check.</param>
    /// <returns><see langword="true"/> for a well-formed ObjectId.</returns>
    public static bool IsValid(string? value) => value is { Length: Length } && value.All(Uri.IsHexDigit);

    /// <summary>Validates and lower-cases an ObjectId.</summary>
    /// <param name="value">The identifier as the user wrote it.</param>
    /// <returns>The identifier in lower case.</returns>
    /// <exception cref="FormatException">The value is not 24 hexadecimal characters.</exception>
    public static string Normalize(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        string trimmed = value.Trim();
        if (!IsValid(trimmed))
        {
            throw new FormatException(
                $"'{value}' is not an ObjectId: an ObjectId is exactly 24 hexadecimal characters (0-9, a-f), for example 659c7bce85f6381e675bb205.");
        }

        return trimmed.ToLowerInvariant();
    }

    /// <summary>
    /// Returns whether an image tag belongs to an ObjectId: the tag equals the ID or starts with the ID followed by
    /// <c>-</c>. Never a substring match.
    /// </summary>
    /// <param name="tag">An image tag such as <c>659c7bce85f6381e675bb205-12</c>.</param>
    /// <param name="objectId">A normalised (lower-case) ObjectId.</param>
    /// <returns><see langword="true"/> when the tag is the ID's.</returns>
    public static bool TagBelongsTo(string tag, string objectId)
    {
        ArgumentNullException.ThrowIfNull(tag);
        ArgumentNullException.ThrowIfNull(objectId);
        return tag.Length >= Length
            && string.Compare(tag, 0, objectId, 0, Length, StringComparison.OrdinalIgnoreCase) == 0
            && objectId.Length == Length
            && (tag.Length == Length || tag[Length] == '-');
    }

    /// <summary>
    /// Returns the ObjectId a tag belongs to (its 24-hex prefix when followed by the end or <c>-</c>), in lower case.
    /// </summary>
    /// <param name="tag">An image tag.</param>
    /// <returns>The lower-case ObjectId, or <see langword="null"/> when the tag does not start with one.</returns>
    public static string? FromTag(string? tag)
    {
        if (tag is null || tag.Length < Length || (tag.Length > Length && tag[Length] != '-'))
        {
            return null;
        }

        for (int i = 0; i < Length; i++)
        {
            if (!Uri.IsHexDigit(tag[i]))
            {
                return null;
            }
        }

        return tag[..Length].ToLowerInvariant();
    }
}
