using System.Management.Automation;

namespace RegistryCleaner.PowerShell;

/// <summary>
/// Text on its way to the PowerShell host (tables, lists, messages, progress, prompts), with control characters
/// escaped by <see cref="TerminalText"/>. The format views call <see cref="Escape"/> as
/// <c>[RegistryCleaner.PowerShell.HostText]::Escape($_.Tag)</c>: this assembly is the one the module imports, so
/// PowerShell resolves its public types although it lives in the module's private load context.
/// </summary>
public static class HostText
{
    /// <summary>Escapes text for one cell of a table or list.</summary>
    /// <param name="text">The value; PowerShell passes <c>$null</c> as an empty string.</param>
    /// <returns>The same instance when nothing needs escaping; never <see langword="null"/>.</returns>
    public static string Escape(string? text) => TerminalText.Escape(text) ?? string.Empty;

    /// <summary>
    /// Makes what PowerShell shows of an error safe: when the message or the target's text holds control characters,
    /// the shown message (<see cref="ErrorRecord.ErrorDetails"/>) and target name are the escaped texts. The exception
    /// and the target object stay raw for scripts (<c>$_.Exception.Message</c>, <c>$_.TargetObject</c>).
    /// </summary>
    /// <param name="record">The error; changed in place.</param>
    /// <returns><paramref name="record"/>.</returns>
    internal static ErrorRecord ForDisplay(ErrorRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        string? message = record.ErrorDetails?.Message is { Length: > 0 } details ? details : record.Exception?.Message;
        string? action = record.ErrorDetails?.RecommendedAction;
        if (TerminalText.NeedsEscape(message) || TerminalText.NeedsEscape(action))
        {
            record.ErrorDetails = new ErrorDetails(TerminalText.Escape(message) ?? string.Empty)
            {
                RecommendedAction = TerminalText.Escape(action),
            };
        }

        // The category line (CategoryInfo, shown by the normal error view) prints the target object's text.
        string? target = record.CategoryInfo.TargetName;
        if (TerminalText.NeedsEscape(target))
        {
            record.CategoryInfo.TargetName = TerminalText.Escape(target);
        }

        return record;
    }

    /// <summary>Escapes the texts of a progress record (activity, status, current operation) in place.</summary>
    /// <param name="record">The progress record.</param>
    /// <returns><paramref name="record"/>.</returns>
    internal static ProgressRecord ForDisplay(ProgressRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        record.Activity = TerminalText.Escape(record.Activity);
        record.StatusDescription = TerminalText.Escape(record.StatusDescription);
        record.CurrentOperation = TerminalText.Escape(record.CurrentOperation);
        return record;
    }

    /// <summary>Escapes a text message on the information stream (a string, or a host message as Write-Host writes).</summary>
    /// <param name="record">The record.</param>
    /// <returns><paramref name="record"/>, or a copy with the escaped text.</returns>
    internal static InformationRecord ForDisplay(InformationRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        switch (record.MessageData)
        {
            case HostInformationMessage host when TerminalText.NeedsEscape(host.Message):
                host.Message = TerminalText.Escape(host.Message);
                return record;
            case string text when TerminalText.NeedsEscape(text):
                var escaped = new InformationRecord(TerminalText.Escape(text), record.Source);
                escaped.Tags.AddRange(record.Tags);
                return escaped;
            default:
                return record;
        }
    }
}
