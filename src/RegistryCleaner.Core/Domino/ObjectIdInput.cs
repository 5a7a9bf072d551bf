namespace RegistryCleaner.Domino;

/// <summary>Reads ObjectIds given on the command line or in a file (the Python tool's <c>--file</c> format).</summary>
public static class ObjectIdInput
{
    /// <summary>
    /// Validates and normalises ObjectIds given as values (<c>-ObjectId</c>).
    /// </summary>
    /// <param name="values">The values as given.</param>
    /// <returns>Distinct lower-case ObjectIds, in the order first given.</returns>
    /// <exception cref="FormatException">A value is not 24 hexadecimal characters; the message names it.</exception>
    public static IReadOnlyList<string> FromValues(IEnumerable<string> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        return values.Select(ObjectId.Normalize).Distinct(StringComparer.Ordinal).ToArray();
    }

    /// <summary>
    /// Reads ObjectIds from a file: the first whitespace-separated column of each line; blank lines and lines starting
    /// with <c>#</c> are skipped; further columns are ignored.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <returns>Distinct lower-case ObjectIds, in file order.</returns>
    /// <exception cref="ObjectIdFileException">The file is missing or a line's first column is not an ObjectId.</exception>
    public static IReadOnlyList<string> FromFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new ObjectIdFileException($"ObjectId file '{path}' does not exist.", path, 0, string.Empty);
        }

        var ids = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        int lineNumber = 0;
        foreach (string line in File.ReadLines(path))
        {
            lineNumber++;
            string trimmed = line.Trim();
            if (trimmed.Length == 0 || trimmed.StartsWith('#'))
            {
                continue;
            }

            string first = trimmed.Split((char[]?)null, 2, StringSplitOptions.RemoveEmptyEntries)[0];
            if (!ObjectId.IsValid(first))
            {
                throw new ObjectIdFileException(
                    $"ObjectId file '{path}' line {lineNumber}: '{first}' is not an ObjectId (24 hexadecimal characters, 0-9 and a-f). The first column of each line must be an ObjectId; blank lines and lines starting with # are skipped.",
                    path,
                    lineNumber,
                    first);
            }

            string id = first.ToLowerInvariant();
            if (seen.Add(id))
            {
                ids.Add(id);
            }
        }

        return ids;
    }
}

/// <summary>An ObjectId file that cannot be used: missing, or a line that is not an ObjectId.</summary>
public sealed class ObjectIdFileException : Exception
{
    /// <summary>Initializes a new instance of the <see cref="ObjectIdFileException"/> class.</summary>
    /// <param name="message">What is wrong.</param>
    /// <param name="path">The file.</param>
    /// <param name="lineNumber">The 1-based line number, or 0 for the whole file.</param>
    /// <param name="value">The offending value.</param>
    public ObjectIdFileException(string message, string path, int lineNumber, string value)
        : base(message)
    {
        this.Path = path;
        this.LineNumber = lineNumber;
        this.Value = value;
    }

    /// <summary>Initializes a new instance of the <see cref="ObjectIdFileException"/> class.</summary>
    public ObjectIdFileException()
    {
    }

    /// <summary>Initializes a new instance of the <see cref="ObjectIdFileException"/> class.</summary>
    /// <param name="message">The message.</param>
    public ObjectIdFileException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="ObjectIdFileException"/> class.</summary>
    /// <param name="message">The message.</param>
    /// <param name="inner">The underlying error.</param>
    public ObjectIdFileException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>Gets the file.</summary>
    public string Path { get; } = string.Empty;

    /// <summary>Gets the 1-based line number, or 0 for the whole file.</summary>
    public int LineNumber { get; }

    /// <summary>Gets the offending value.</summary>
    public string Value { get; } = string.Empty;
}
