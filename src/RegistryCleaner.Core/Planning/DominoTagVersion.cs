namespace RegistryCleaner.Planning;

/// <summary>The kind of Domino tag, which decides how tags of one ObjectId are ordered.</summary>
public enum DominoTagKind
{
    /// <summary>Not a Domino environment or model tag: ordered by image creation time.</summary>
    Other,

    /// <summary>An environment revision, <c>&lt;environmentId&gt;-&lt;revision&gt;</c>: ordered by revision number.</summary>
    EnvironmentRevision,

    /// <summary>A model build, <c>&lt;modelId&gt;-v&lt;version&gt;-&lt;timestamp&gt;_&lt;8 chars&gt;</c>: ordered by version, then timestamp.</summary>
    ModelVersion,
}

/// <summary>The position of a Domino tag among the tags of its ObjectId, parsed from the tag text.</summary>
/// <param name="Kind">The tag kind.</param>
/// <param name="Version">The revision number (environment) or the version's numeric parts (model); digits only, no leading zeros.</param>
/// <param name="Timestamp">The model build timestamp digits without leading zeros; empty for an environment revision.</param>
public sealed record DominoTagVersion(DominoTagKind Kind, IReadOnlyList<string> Version, string Timestamp) : IComparable<DominoTagVersion>
{
    private static readonly DominoTagVersion OtherTag = new(DominoTagKind.Other, [], string.Empty);

    /// <summary>Parses a tag: <c>659c7bce85f6381e675bb205-12</c> or <c>659d755348824d102d3ec6df-v1-202419163323_HfGeD8Ia</c>.</summary>
    /// <param name="tag">The tag.</param>
    /// <returns>The parsed position; kind <see cref="DominoTagKind.Other"/> when the tag has neither form.</returns>
    public static DominoTagVersion Parse(string tag)
    {
        ArgumentNullException.ThrowIfNull(tag);
        if (Domino.ObjectId.FromTag(tag) is null || tag.Length < Domino.ObjectId.Length + 2)
        {
            return OtherTag;
        }

        ReadOnlySpan<char> rest = tag.AsSpan(Domino.ObjectId.Length + 1);
        if (IsDigits(rest))
        {
            return new DominoTagVersion(DominoTagKind.EnvironmentRevision, [TrimZeros(rest)], string.Empty);
        }

        if (rest[0] != 'v')
        {
            return OtherTag;
        }

        rest = rest[1..];
        int dash = rest.IndexOf('-');
        int underscore = rest.LastIndexOf('_');
        if (dash <= 0 || underscore <= dash + 1 || underscore == rest.Length - 1)
        {
            return OtherTag;
        }

        ReadOnlySpan<char> timestamp = rest[(dash + 1)..underscore];
        if (!IsDigits(timestamp))
        {
            return OtherTag;
        }

        List<string> parts = [];
        foreach (string part in rest[..dash].ToString().Split('.'))
        {
            if (!IsDigits(part))
            {
                return OtherTag;
            }

            parts.Add(TrimZeros(part));
        }

        return new DominoTagVersion(DominoTagKind.ModelVersion, parts, TrimZeros(timestamp));
    }

    /// <summary>Compares two positions of the same kind: version (numerically, part by part), then timestamp.</summary>
    /// <param name="other">The other position.</param>
    /// <returns>Negative when this one is older.</returns>
    public int CompareTo(DominoTagVersion? other)
    {
        if (other is null)
        {
            return 1;
        }

        int count = Math.Max(this.Version.Count, other.Version.Count);
        for (int i = 0; i < count; i++)
        {
            int c = CompareNumbers(i < this.Version.Count ? this.Version[i] : "0", i < other.Version.Count ? other.Version[i] : "0");
            if (c != 0)
            {
                return c;
            }
        }

        return CompareNumbers(this.Timestamp, other.Timestamp);
    }

    // Numbers are digit strings without leading zeros, so length first then text orders them at any size.
    private static int CompareNumbers(string a, string b) =>
        a.Length != b.Length ? a.Length.CompareTo(b.Length) : string.CompareOrdinal(a, b);

    private static bool IsDigits(ReadOnlySpan<char> text)
    {
        if (text.IsEmpty)
        {
            return false;
        }

        foreach (char c in text)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }
        }

        return true;
    }

    private static string TrimZeros(ReadOnlySpan<char> digits)
    {
        ReadOnlySpan<char> trimmed = digits.TrimStart('0');
        return trimmed.IsEmpty ? "0" : trimmed.ToString();
    }
}
