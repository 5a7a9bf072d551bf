namespace RegistryCleaner.Planning;

/// <summary>
/// A wildcard pattern as PowerShell's <c>-like</c> reads it, restricted to <c>*</c> (any run) and <c>?</c> (one
/// character), case-insensitive. Core has no PowerShell reference, hence its own matcher.
/// </summary>
public sealed class TagPattern
{
    private readonly string pattern;

    /// <summary>Initializes a new instance of the <see cref="TagPattern"/> class.</summary>
    /// <param name="pattern">The pattern, e.g. <c>659c*-1?</c>.</param>
    public TagPattern(string pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        this.pattern = pattern;
    }

    /// <summary>Gets the pattern text.</summary>
    public string Pattern => this.pattern;

    /// <summary>Returns whether <paramref name="value"/> matches the whole pattern.</summary>
    /// <param name="value">The text, e.g. a tag.</param>
    /// <returns><see langword="true"/> on a match.</returns>
    public bool IsMatch(string value)
    {
        ArgumentNullException.ThrowIfNull(value);

        // Greedy scan remembering the last '*': linear for typical patterns, never exponential.
        int p = 0, v = 0, star = -1, starValue = 0;
        while (v < value.Length)
        {
            if (p < this.pattern.Length && this.pattern[p] == '*')
            {
                star = p++;
                starValue = v;
            }
            else if (p < this.pattern.Length && (this.pattern[p] == '?' || CharEquals(this.pattern[p], value[v])))
            {
                p++;
                v++;
            }
            else if (star >= 0)
            {
                p = star + 1;
                v = ++starValue;
            }
            else
            {
                return false;
            }
        }

        while (p < this.pattern.Length && this.pattern[p] == '*')
        {
            p++;
        }

        return p == this.pattern.Length;
    }

    /// <inheritdoc/>
    public override string ToString() => this.pattern;

    private static bool CharEquals(char a, char b) =>
        a == b || char.ToUpperInvariant(a) == char.ToUpperInvariant(b);
}
