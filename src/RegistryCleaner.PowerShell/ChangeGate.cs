using System.Management.Automation;
using System.Management.Automation.Host;
using RegistryCleaner.Configuration;

namespace RegistryCleaner.PowerShell;

/// <summary>
/// The one question a cmdlet that changes something asks before each item: <see cref="ShouldChange"/>, right before
/// the change, honouring -WhatIf, -Confirm, -Force and the <c>security.*</c> configuration keys. Composed by the cmdlets
/// that change things (through <see cref="DestructiveCmdlet"/> or directly), whatever their base.
/// </summary>
/// <param name="cmdlet">The cmdlet asking; its invocation, configuration and host are read on the pipeline thread.</param>
/// <param name="force">Whether -Force was given (it lifts nothing; the dry-run warning says so).</param>
internal sealed class ChangeGate(RegistryCleanerCmdlet cmdlet, Func<bool> force)
{
    private bool dryRunWarned;

    /// <summary>Gets whether this call changes nothing: an explicit or preferred -WhatIf, or the dry-run default.</summary>
    public bool IsDryRun => this.WhatIfInEffect || this.DryRunByDefaultApplies;

    private bool WhatIfInEffect =>
        cmdlet.MyInvocation.BoundParameters.TryGetValue("WhatIf", out object? whatIf)
            ? ((SwitchParameter)whatIf).IsPresent
            : cmdlet.GetVariableValue("WhatIfPreference") is { } preference && LanguagePrimitives.IsTrue(preference);

    // Only an explicit -WhatIf:$false lifts the dry-run default (an explicit -WhatIf is a dry run anyway): a scheduled
    // "-Confirm:$false" (or -Force) run stays dry.
    private bool DryRunByDefaultApplies =>
        cmdlet.Configuration.GetBoolean(ConfigSchema.DryRunByDefault) && !cmdlet.MyInvocation.BoundParameters.ContainsKey("WhatIf");

    /// <summary>Gets the line a dry run shows for one item, worded as PowerShell's own -WhatIf, with the texts escaped.</summary>
    /// <param name="target">The target.</param>
    /// <param name="action">The action.</param>
    /// <returns>The line.</returns>
    public static string WhatIfText(string target, string action) =>
        $"What if: Performing the operation \"{TerminalText.Escape(action)}\" on target \"{TerminalText.Escape(target)}\".";

    /// <summary>
    /// Asks whether to change one item, exactly as PowerShell's ShouldProcess does (What if / Confirm), with the
    /// <c>security.*</c> keys applied. Stops the command with a clear error instead of hanging when a prompt would be
    /// needed in a non-interactive session.
    /// </summary>
    /// <param name="target">The exact target, e.g. <c>registry/repository:tag (sha256:abcd1234…)</c>.</param>
    /// <param name="action">The action, including what it frees, e.g. <c>Delete image, freeing 1.2 GB after garbage collection</c>.</param>
    /// <returns><see langword="true"/> to go ahead.</returns>
    public bool ShouldChange(string target, string action)
    {
        // Tags, repositories and reasons come from registries and journals: the prompt shows them escaped, so an ANSI
        // sequence cannot overwrite the "What if" line or fake the target (PowerShell's prompt prints them as given).
        target = TerminalText.Escape(target);
        action = TerminalText.Escape(action);
        if (this.DryRunByDefaultApplies)
        {
            if (!this.dryRunWarned)
            {
                string where = cmdlet.Configuration[ConfigSchema.DryRunByDefault].Source == ConfigSource.File ? $" in {cmdlet.Configuration.FilePath}" : string.Empty;
                cmdlet.WriteWarning($"security.dry_run_by_default is true{where}, so nothing is changed{(force() || cmdlet.MyInvocation.BoundParameters.ContainsKey("Confirm") ? " (-Confirm and -Force do not lift it)" : string.Empty)}. To apply, run the same command with -WhatIf:$false (and -Confirm:$false to run without prompts).");
                this.dryRunWarned = true;
            }

            cmdlet.Host.UI.WriteLine(WhatIfText(target, action));
            return false;
        }

        bool skipConfirmation = !cmdlet.Configuration.GetBoolean(ConfigSchema.RequireConfirmation)
            && !cmdlet.MyInvocation.BoundParameters.ContainsKey("Confirm");
        if (skipConfirmation && !this.WhatIfInEffect)
        {
            return true;
        }

        try
        {
            return cmdlet.ShouldProcess(target, action);
        }
        catch (Exception ex) when (ex is PSInvalidOperationException or HostException)
        {
            throw cmdlet.Terminate(
                new InvalidOperationException(
                    $"{cmdlet.MyInvocation.MyCommand.Name} needs confirmation for '{target}', but this PowerShell session cannot prompt (non-interactive). Add -Confirm:$false to run unattended, or -WhatIf to see what would change.",
                    ex),
                ErrorIds.ConfirmationNeedsInteractiveSession,
                ErrorCategory.InvalidOperation,
                target);
        }
    }
}
