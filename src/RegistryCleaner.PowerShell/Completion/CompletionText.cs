using System.Management.Automation;
using System.Management.Automation.Runspaces;

namespace RegistryCleaner.PowerShell.Completion;

/// <summary>What every completer needs: quoting a value for the command line, and the PowerShell location.</summary>
internal static class CompletionText
{
    /// <summary>Quotes a completion that PowerShell would otherwise split or interpret.</summary>
    /// <param name="value">The value.</param>
    /// <returns>The value, single-quoted when needed.</returns>
    public static string Quote(string value) =>
        value.Any(c => char.IsWhiteSpace(c) || "'\"`$&|;,(){}[]@#<>".Contains(c, StringComparison.Ordinal))
            ? "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'"
            : value;

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
