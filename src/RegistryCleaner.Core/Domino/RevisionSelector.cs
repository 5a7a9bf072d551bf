using System.Globalization;
using System.Text.RegularExpressions;

namespace RegistryCleaner.Domino;

/// <summary>
/// Which environment revisions to act on: those with an image tag (and, when known, repository), or every revision of an
/// environment.
/// </summary>
public sealed partial record RevisionSelector
{
    private RevisionSelector(string? repository, string? tag, string? environmentId)
    {
        Repository = repository;
        Tag = tag;
        EnvironmentId = environmentId;
    }

    /// <summary>The image repository (may include a registry host), or null for any repository.</summary>
    public string? Repository { get; }

    /// <summary>The image tag, or null when <see cref="EnvironmentId"/> selects.</summary>
    public string? Tag { get; }

    /// <summary>The environment whose revisions are all selected (lower-case hex), or null when a tag selects.</summary>
    public string? EnvironmentId { get; }

    /// <summary>Selects the revisions whose image has this tag (and repository, when given).</summary>
    /// <param name="tag">A Docker tag.</param>
    /// <param name="repository">The image repository, or null for any.</param>
    /// <returns>The selector.</returns>
    /// <exception cref="FormatException">The tag or repository is not valid.</exception>
    public static RevisionSelector ForTag(string tag, string? repository = null)
    {
        ArgumentNullException.ThrowIfNull(tag);
        if (!TagPattern().IsMatch(tag))
        {
            throw new FormatException($"'{tag}' is not an image tag: a tag is 1 to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'.");
        }

        if (repository is not null && !RepositoryPattern().IsMatch(repository))
        {
            throw new FormatException($"'{repository}' is not an image repository such as dominodatalab/environment or docker-registry:5000/dominodatalab/environment.");
        }

        return new RevisionSelector(repository, tag, null);
    }

    /// <summary>Selects every revision of an environment.</summary>
    /// <param name="environmentId">The environment's ObjectId (24 hex characters).</param>
    /// <returns>The selector.</returns>
    /// <exception cref="FormatException">The id is not an ObjectId.</exception>
    public static RevisionSelector ForEnvironment(string environmentId) =>
        new(null, null, ObjectId.Normalize(environmentId));

    /// <summary>
    /// Parses one token: <c>repo/image:tag</c> (the repository may start with <c>host:port/</c>), <c>image:tag</c>,
    /// <c>tag</c>, or a 24-hex environment id meaning all of its revisions.
    /// </summary>
    /// <param name="token">The text to parse.</param>
    /// <returns>The selector.</returns>
    /// <exception cref="FormatException">The token is none of these.</exception>
    public static RevisionSelector Parse(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        token = token.Trim();
        if (ObjectId.IsValid(token))
        {
            return ForEnvironment(token);
        }

        if (token.Contains('@', StringComparison.Ordinal))
        {
            throw new FormatException($"'{token}' is a digest reference; Domino records revisions by tag: write repository:tag or the tag.");
        }

        // The tag separator is the last ':' after the last '/', so a registry port (host:5000/repo) is never a tag.
        int slash = token.LastIndexOf('/');
        int colon = token.LastIndexOf(':');
        if (colon > slash)
        {
            return ForTag(token[(colon + 1)..], token[..colon]);
        }

        if (slash >= 0)
        {
            throw new FormatException($"'{token}' has a repository but no tag: write repository:tag.");
        }

        return ForTag(token);
    }

    /// <summary>Returns the selector as it would be written in a revision list.</summary>
    /// <returns><c>repository:tag</c>, <c>tag</c> or the environment id.</returns>
    public override string ToString() =>
        EnvironmentId ?? (Repository is null ? Tag! : string.Create(CultureInfo.InvariantCulture, $"{Repository}:{Tag}"));

    [GeneratedRegex(@"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", RegexOptions.CultureInvariant)]
    private static partial Regex TagPattern();

    // An optional host[:port]/ and one or more lower-case path components, as in the distribution reference grammar.
    [GeneratedRegex(@"^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]+)?/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$", RegexOptions.CultureInvariant)]
    private static partial Regex RepositoryPattern();
}

/// <summary>
/// Reads the revision list of <c>Remove-MongoEnvRevision -Path</c>: the first whitespace-separated token of each line is a
/// <see cref="RevisionSelector"/>; blank lines and lines starting with <c>#</c> are skipped. Every line is validated before
/// anything is returned, so a bad line stops the command before any change.
/// </summary>
public static class RevisionListFile
{
    /// <summary>Reads and validates a revision list file.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The selectors in file order, each with its line number.</returns>
    /// <exception cref="RevisionListFormatException">A line is not a valid selector.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static IReadOnlyList<RevisionListEntry> Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return Parse(File.ReadLines(path), path);
    }

    /// <summary>Parses the lines of a revision list.</summary>
    /// <param name="lines">The lines.</param>
    /// <param name="source">The file name to put in error messages.</param>
    /// <returns>The selectors in order, each with its line number.</returns>
    /// <exception cref="RevisionListFormatException">A line is not a valid selector.</exception>
    public static IReadOnlyList<RevisionListEntry> Parse(IEnumerable<string> lines, string source)
    {
        ArgumentNullException.ThrowIfNull(lines);
        ArgumentNullException.ThrowIfNull(source);
        var entries = new List<RevisionListEntry>();
        int number = 0;
        foreach (string line in lines)
        {
            number++;
            string trimmed = line.Trim().TrimStart('\uFEFF');
            if (trimmed.Length == 0 || trimmed[0] == '#')
            {
                continue;
            }

            string token = trimmed.Split((char[]?)null, 2, StringSplitOptions.RemoveEmptyEntries)[0];
            try
            {
                entries.Add(new RevisionListEntry(RevisionSelector.Parse(token), number));
            }
            catch (FormatException ex)
            {
                throw new RevisionListFormatException(source, number, token, ex.Message);
            }
        }

        return entries;
    }
}

/// <summary>One selector of a revision list file.</summary>
/// <param name="Selector">What the line selects.</param>
/// <param name="LineNumber">The line it came from (1-based).</param>
public sealed record RevisionListEntry(RevisionSelector Selector, int LineNumber);

/// <summary>A revision list line that is not a valid selector.</summary>
public sealed class RevisionListFormatException : FormatException
{
    /// <summary>Creates the exception for a bad line.</summary>
    /// <param name="path">The file.</param>
    /// <param name="lineNumber">The 1-based line number.</param>
    /// <param name="value">The offending token.</param>
    /// <param name="problem">Why it is invalid.</param>
    public RevisionListFormatException(string path, int lineNumber, string value, string problem)
        : base(string.Create(
            CultureInfo.InvariantCulture,
            $"{path}, line {lineNumber}: '{value}' is not repository/image:tag, image:tag, tag or a 24-hex environment id. {problem}"))
    {
        Path = path;
        LineNumber = lineNumber;
        Value = value;
    }

    /// <summary>Creates the exception.</summary>
    public RevisionListFormatException()
        : this(string.Empty, 0, string.Empty, string.Empty)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    public RevisionListFormatException(string message)
        : base(message)
    {
        Path = string.Empty;
        Value = string.Empty;
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public RevisionListFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
        Path = string.Empty;
        Value = string.Empty;
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>The 1-based line number.</summary>
    public int LineNumber { get; }

    /// <summary>The offending token.</summary>
    public string Value { get; }
}
