using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;

namespace RegistryCleaner;

/// <summary>
/// Makes text from registries, snapshots, journals and users safe to show on a terminal: control characters and the
/// invisible characters used for spoofing become visible escapes, the way <c>git</c> and <c>ls</c> quote file names.
/// An ANSI sequence in a tag then shows as <c>\e[2J</c> instead of clearing the screen, and a right-to-left override
/// cannot make <c>prod</c> read as something else. The data itself stays raw; this is for display only.
/// </summary>
/// <remarks>
/// Escaped: C0 controls (tab and newline too, since every field shown is one line), DEL, C1 controls
/// (U+0080–U+009F, which some terminals read as ESC sequences), the bidirectional controls (U+061C, U+200E, U+200F,
/// U+202A–U+202E, U+2066–U+2069), zero-width and invisible characters that hide inside names (U+200B, U+2060,
/// U+FEFF), the line and paragraph separators (U+2028, U+2029) and unpaired surrogates. Ordinary Unicode, including
/// emoji and joiners inside them (U+200C, U+200D), is untouched. A backslash is not doubled, so Windows paths read as
/// before; the escaped form is for reading, not for parsing back.
/// </remarks>
public static class TerminalText
{
    private static readonly SearchValues<char> Suspects = SearchValues.Create(BuildSuspects());

    /// <summary>Returns <paramref name="text"/> with every control or spoofing character written as a visible escape.</summary>
    /// <param name="text">The text, or <see langword="null"/>.</param>
    /// <returns>The same instance when nothing needs escaping (the usual case, without allocating); else the escaped text.</returns>
    [return: NotNullIfNotNull(nameof(text))]
    public static string? Escape(string? text)
    {
        if (text is null)
        {
            return null;
        }

        int first = FirstUnsafe(text);
        if (first < 0)
        {
            return text;
        }

        var escaped = new StringBuilder(text.Length + 16);
        escaped.Append(text, 0, first);
        for (int i = first; i < text.Length; i++)
        {
            char c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                escaped.Append(c).Append(text[i + 1]);
                i++;
            }
            else if (IsUnsafe(c))
            {
                AppendEscape(escaped, c);
            }
            else
            {
                escaped.Append(c);
            }
        }

        return escaped.ToString();
    }

    /// <summary>Gets whether <paramref name="text"/> holds a character that <see cref="Escape"/> would escape.</summary>
    /// <param name="text">The text.</param>
    /// <returns><see langword="true"/> when escaping changes it.</returns>
    public static bool NeedsEscape(string? text) => text is not null && FirstUnsafe(text) >= 0;

    private static int FirstUnsafe(string text)
    {
        ReadOnlySpan<char> rest = text;
        int offset = 0;
        while (true)
        {
            int found = rest.IndexOfAny(Suspects);
            if (found < 0)
            {
                return -1;
            }

            int index = offset + found;
            char c = text[index];
            if (!char.IsHighSurrogate(c) || index + 1 >= text.Length || !char.IsLowSurrogate(text[index + 1]))
            {
                return index;
            }

            // A well-formed pair (emoji, CJK extension): skip both halves.
            offset = index + 2;
            rest = text.AsSpan(offset);
        }
    }

    private static bool IsUnsafe(char c) =>
        c < ' '
        || (c >= '\u007F' && c <= '\u009F')
        || c is '\u061C' or '\u200B' or '\u200E' or '\u200F' or '\u2028' or '\u2029' or '\u2060' or '\uFEFF'
        || (c >= '\u202A' && c <= '\u202E')
        || (c >= '\u2066' && c <= '\u2069')
        || char.IsSurrogate(c);

    private static void AppendEscape(StringBuilder escaped, char c)
    {
        string? named = c switch
        {
            '\u001B' => "\\e",
            '\a' => "\\a",
            '\b' => "\\b",
            '\t' => "\\t",
            '\n' => "\\n",
            '\v' => "\\v",
            '\f' => "\\f",
            '\r' => "\\r",
            _ => null,
        };
        if (named is not null)
        {
            escaped.Append(named);
        }
        else if (c <= '\u00FF')
        {
            escaped.Append("\\x").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
        }
        else
        {
            escaped.Append("\\u").Append(((int)c).ToString("X4", CultureInfo.InvariantCulture));
        }
    }

    private static string BuildSuspects()
    {
        var suspects = new StringBuilder();
        for (int c = 0; c <= char.MaxValue; c++)
        {
            // Surrogates are suspects so that unpaired ones are found; FirstUnsafe lets well-formed pairs through.
            if (IsUnsafe((char)c))
            {
                suspects.Append((char)c);
            }
        }

        return suspects.ToString();
    }
}
