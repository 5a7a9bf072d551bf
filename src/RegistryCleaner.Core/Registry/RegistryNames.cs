using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;

namespace RegistryCleaner.Registry;

/// <summary>
/// The distribution reference grammar for the names that go into registry URLs and storage paths: repositories
/// (path components of lower-case letters and digits joined by separators, then by <c>/</c>, at most 255 characters),
/// tags (at most 128 letters, digits, <c>_</c>, <c>.</c>, <c>-</c>, not starting with <c>.</c> or <c>-</c>) and
/// digests (<c>algorithm:encoded</c>; <c>sha256</c> is 64 and <c>sha512</c> 128 lower-case hex digits, per the OCI
/// image spec). A name from a registry, a snapshot, a journal or the user is checked here before it is used in a URL
/// or a file path: none of them can hold <c>..</c>, <c>%</c>, <c>?</c>, <c>#</c>, a backslash or a control character.
/// </summary>
public static partial class RegistryNames
{
    /// <summary>The longest repository name distribution accepts.</summary>
    public const int MaxRepositoryLength = 255;

    /// <summary>The longest tag distribution accepts.</summary>
    public const int MaxTagLength = 128;

    // Untrusted text quoted in a message is cut here, so one hostile name cannot flood a terminal.
    private const int MaxQuotedLength = 300;

    /// <summary>Returns whether a value is a repository name (<c>dominodatalab/environment</c>).</summary>
    /// <param name="repository">The value.</param>
    /// <returns><see langword="true"/> when it matches the grammar.</returns>
    public static bool IsRepository(string? repository) => repository is not null && RepositoryError(repository) is null;

    /// <summary>Returns whether a value is one path component of a repository name (<c>environment</c>).</summary>
    /// <param name="component">The value.</param>
    /// <returns><see langword="true"/> when it matches the grammar.</returns>
    public static bool IsPathComponent(string? component) => component is not null && PathComponentPattern().IsMatch(component);

    /// <summary>Returns whether a value is a tag.</summary>
    /// <param name="tag">The value.</param>
    /// <returns><see langword="true"/> when it matches the grammar.</returns>
    public static bool IsTag(string? tag) => tag is not null && TagPattern().IsMatch(tag);

    /// <summary>Returns whether a value is a digest (<c>sha256:</c> and 64 lower-case hex digits, or another algorithm's).</summary>
    /// <param name="digest">The value.</param>
    /// <returns><see langword="true"/> when it matches the grammar.</returns>
    public static bool IsDigest(string? digest) => digest is not null && DigestError(digest) is null;

    /// <summary>Says why a value is not a repository name.</summary>
    /// <param name="repository">The value.</param>
    /// <returns>The reason (naming the value, quoted and escaped), or <see langword="null"/> when it is valid.</returns>
    public static string? RepositoryError(string repository)
    {
        ArgumentNullException.ThrowIfNull(repository);
        if (repository.Length == 0)
        {
            return "the repository name is empty";
        }

        if (repository.Length > MaxRepositoryLength)
        {
            return $"the repository name {Quote(repository)} is longer than {MaxRepositoryLength} characters";
        }

        foreach (string component in repository.Split('/'))
        {
            if (PathComponentPattern().IsMatch(component))
            {
                continue;
            }

            return component.Any(char.IsUpper) && PathComponentPattern().IsMatch(component.ToLowerInvariant())
                ? $"the repository {Quote(repository)} must be lower case"
                : $"the repository {Quote(repository)} has the path component {Quote(component)}: each must be lower-case letters and digits separated by '.', '_', '__' or '-'";
        }

        return null;
    }

    /// <summary>Says why a value is not a tag.</summary>
    /// <param name="tag">The value.</param>
    /// <returns>The reason (naming the value, quoted and escaped), or <see langword="null"/> when it is valid.</returns>
    public static string? TagError(string tag)
    {
        ArgumentNullException.ThrowIfNull(tag);
        return TagPattern().IsMatch(tag)
            ? null
            : $"the tag {Quote(tag)} must be 1 to {MaxTagLength} letters, digits, '_', '.' or '-', not starting with '.' or '-'";
    }

    /// <summary>Says why a value is not a digest.</summary>
    /// <param name="digest">The value.</param>
    /// <returns>The reason (naming the value, quoted and escaped), or <see langword="null"/> when it is valid.</returns>
    public static string? DigestError(string digest)
    {
        ArgumentNullException.ThrowIfNull(digest);
        Match match = DigestPattern().Match(digest);
        if (!match.Success)
        {
            return $"the digest {Quote(digest)} must be algorithm:hex with at least 32 hex digits";
        }

        string hex = match.Groups["hex"].Value;
        return match.Groups["algorithm"].Value switch
        {
            "sha256" when hex.Length != 64 || !IsLowerHex(hex) => $"the sha256 digest {Quote(digest)} must be 64 lower-case hex digits",
            "sha512" when hex.Length != 128 || !IsLowerHex(hex) => $"the sha512 digest {Quote(digest)} must be 128 lower-case hex digits",
            _ => null,
        };
    }

    /// <summary>Throws unless a value is a repository name.</summary>
    /// <param name="repository">The value.</param>
    /// <param name="parameterName">The parameter that holds it.</param>
    /// <exception cref="ArgumentException">It is not a repository name; the message says why.</exception>
    public static void ThrowIfNotRepository(string repository, string parameterName)
    {
        ArgumentNullException.ThrowIfNull(repository, parameterName);
        if (RepositoryError(repository) is { } error)
        {
            throw new ArgumentException(Capitalize(error) + ".", parameterName);
        }
    }

    /// <summary>Throws unless a value is a tag.</summary>
    /// <param name="tag">The value.</param>
    /// <param name="parameterName">The parameter that holds it.</param>
    /// <exception cref="ArgumentException">It is not a tag; the message says why.</exception>
    public static void ThrowIfNotTag(string tag, string parameterName)
    {
        ArgumentNullException.ThrowIfNull(tag, parameterName);
        if (TagError(tag) is { } error)
        {
            throw new ArgumentException(Capitalize(error) + ".", parameterName);
        }
    }

    /// <summary>Throws unless a value is a digest.</summary>
    /// <param name="digest">The value.</param>
    /// <param name="parameterName">The parameter that holds it.</param>
    /// <exception cref="ArgumentException">It is not a digest; the message says why.</exception>
    public static void ThrowIfNotDigest(string digest, string parameterName)
    {
        ArgumentNullException.ThrowIfNull(digest, parameterName);
        if (DigestError(digest) is { } error)
        {
            throw new ArgumentException(Capitalize(error) + ".", parameterName);
        }
    }

    /// <summary>Throws unless a value is a manifest reference: a tag or a digest (a tag never holds <c>:</c>).</summary>
    /// <param name="reference">The value.</param>
    /// <param name="parameterName">The parameter that holds it.</param>
    /// <exception cref="ArgumentException">It is neither; the message says why.</exception>
    public static void ThrowIfNotReference(string reference, string parameterName)
    {
        ArgumentNullException.ThrowIfNull(reference, parameterName);
        string? error = reference.Contains(':', StringComparison.Ordinal) ? DigestError(reference) : TagError(reference);
        if (error is not null)
        {
            throw new ArgumentException(Capitalize(error) + ".", parameterName);
        }
    }

    /// <summary>
    /// Quotes an untrusted name for a message: in single quotes, control characters (C0, DEL, C1), bidirectional
    /// overrides and quotes written as <c>\u….</c> escapes, and cut at a few hundred characters, so the message
    /// shows what arrived and a terminal cannot be driven by it.
    /// </summary>
    /// <param name="value">The untrusted text.</param>
    /// <returns>The quoted text.</returns>
    public static string Quote(string? value)
    {
        if (value is null)
        {
            return "(null)";
        }

        var text = new StringBuilder(Math.Min(value.Length, MaxQuotedLength) + 2).Append('\'');
        for (int i = 0; i < value.Length; i++)
        {
            if (i == MaxQuotedLength)
            {
                text.Append(CultureInfo.InvariantCulture, $"… ({value.Length} characters)");
                break;
            }

            char c = value[i];
            if (char.IsControl(c) || c is '\'' or '\\' || char.GetUnicodeCategory(c) is UnicodeCategory.Format or UnicodeCategory.Surrogate or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator)
            {
                text.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
            }
            else
            {
                text.Append(c);
            }
        }

        return text.Append('\'').ToString();
    }

    /// <summary>Returns the pattern of a tag, for other grammars that embed it.</summary>
    /// <returns>The tag pattern.</returns>
    internal static Regex Tag() => TagPattern();

    /// <summary>Returns the pattern of one repository path component.</summary>
    /// <returns>The path component pattern.</returns>
    internal static Regex PathComponent() => PathComponentPattern();

    private static bool IsLowerHex(string hex)
    {
        foreach (char c in hex)
        {
            if (c is not ((>= '0' and <= '9') or (>= 'a' and <= 'f')))
            {
                return false;
            }
        }

        return true;
    }

    private static string Capitalize(string text) => text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..];

    // \z, not $: '$' also matches before a final '\n', which would let "tag\n" through.
    /// <summary>A sha256 or sha512 digest cut to its algorithm and first 12 hexadecimal digits, e.g. <c>sha256:0123456789ab…</c>.</summary>
    /// <param name="digest">The digest; anything that is not a well-formed digest is returned whole.</param>
    /// <returns>The text; empty for <see langword="null"/>.</returns>
    public static string ShortDigest(string? digest)
    {
        if (string.IsNullOrEmpty(digest))
        {
            return string.Empty;
        }

        Match match = ShortDigestPattern().Match(digest);
        return match.Success ? match.Groups[1].Value + "\u2026" : digest;
    }

    [GeneratedRegex("^(sha(?:256|512):[0-9a-f]{12})[0-9a-f]+$", RegexOptions.CultureInvariant)]
    private static partial Regex ShortDigestPattern();

    [GeneratedRegex(@"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\z", RegexOptions.CultureInvariant)]
    private static partial Regex TagPattern();

    [GeneratedRegex(@"^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*\z", RegexOptions.CultureInvariant)]
    private static partial Regex PathComponentPattern();

    // OCI image spec: algorithm components joined by + . _ -; the encoded part is hex here (the reference grammar), which
    // every registered algorithm uses and which is safe in a URL path.
    [GeneratedRegex(@"^(?<algorithm>[a-z0-9]+(?:[+._-][a-z0-9]+)*):(?<hex>[0-9a-fA-F]{32,})\z", RegexOptions.CultureInvariant)]
    private static partial Regex DigestPattern();
}

/// <summary>
/// A name a registry (or its storage) sent is not a name by the distribution grammar, so it is never put into a URL or
/// a path: an error for that tag or repository only.
/// </summary>
public sealed class RegistryNameException : RegistryException
{
    /// <summary>Initializes a new instance.</summary>
    public RegistryNameException()
    {
    }

    /// <summary>Initializes a new instance.</summary>
    /// <param name="message">The message.</param>
    public RegistryNameException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public RegistryNameException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Initializes a new instance.</summary>
    /// <param name="registry">The registry display name.</param>
    /// <param name="message">What is wrong, naming the value quoted with <see cref="RegistryNames.Quote"/>.</param>
    /// <param name="statusCode">The HTTP status of the answer that carried the name, when known.</param>
    public RegistryNameException(string registry, string message, HttpStatusCode? statusCode = null)
        : base(registry, message, statusCode)
    {
    }
}
