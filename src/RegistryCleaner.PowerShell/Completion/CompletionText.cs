using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Text;

namespace RegistryCleaner.PowerShell.Completion;

/// <summary>What every completer needs: quoting a value for the command line, and the PowerShell location.</summary>
internal static class CompletionText
{
    /// <summary>
    /// A completion of <paramref name="value"/>: quoted for the command line, and shown in the menu and tooltip with
    /// control characters escaped (names come from registries and kubeconfig files).
    /// </summary>
    /// <param name="value">The value.</param>
    /// <param name="what">What the value is, for the tooltip, e.g. <c>Repository</c>.</param>
    /// <returns>The completion result.</returns>
    public static CompletionResult Result(string value, string what)
    {
        string shown = TerminalText.Escape(value);
        return new CompletionResult(Quote(value), shown, CompletionResultType.ParameterValue, $"{what} {shown}");
    }

    /// <summary>
    /// Quotes a completion that PowerShell would otherwise split or interpret. A value with control characters
    /// becomes a double-quoted string with backtick escapes (<c>"a`e[2Jb"</c>), so the command line holds the exact
    /// value and the terminal never receives the raw characters.
    /// </summary>
    /// <param name="value">The value.</param>
    /// <returns>The value, quoted when needed.</returns>
    public static string Quote(string value)
    {
        if (TerminalText.NeedsEscape(value))
        {
            return DoubleQuoted(value);
        }

        return value.Any(c => char.IsWhiteSpace(c) || "'\"`$&|;,(){}[]@#<>\u2018\u2019\u201A\u201B\u201C\u201D\u201E".Contains(c, StringComparison.Ordinal))
            ? "'" + string.Concat(value.Select(c => c is '\'' or '\u2018' or '\u2019' or '\u201A' or '\u201B' ? new string(c, 2) : c.ToString())) + "'"
            : value;
    }

    private static string DoubleQuoted(string value)
    {
        var quoted = new StringBuilder("\"", value.Length + 16);
        for (int i = 0; i < value.Length; i++)
        {
            char c = value[i];
            if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                quoted.Append(c).Append(value[++i]);
            }
            else if (c is '"' or '`' or '$' or '\u201C' or '\u201D' or '\u201E')
            {
                quoted.Append('`').Append(c);
            }
            else if (c == '\u001B')
            {
                quoted.Append("`e");
            }
            else if (char.IsSurrogate(c))
            {
                // PowerShell's `u{} cannot write half a pair; a name this broken is not worth completing exactly.
                quoted.Append('\uFFFD');
            }
            else if (TerminalText.NeedsEscape(c.ToString()))
            {
                quoted.Append("`u{").Append(((int)c).ToString("X", CultureInfo.InvariantCulture)).Append('}');
            }
            else
            {
                quoted.Append(c);
            }
        }

        return quoted.Append('"').ToString();
    }

    /// <summary>Gets the PowerShell location (not the process's folder), for relative paths typed on the command line.</summary>
    /// <returns>The current file system location.</returns>
    public static string CurrentDirectory()
    {
        try
        {
            // The PowerShell location, which differs from the process's current directory after Set-Location.
            if (Runspace.DefaultRunspace?.SessionStateProxy?.Path?.CurrentFileSystemLocation?.ProviderPath is { Length: > 0 } location)
            {
                return location;
            }
        }
        catch (PSInvalidOperationException)
        {
            // The runspace is busy on another thread; fall back to the process's folder.
        }

        return Environment.CurrentDirectory;
    }
}
