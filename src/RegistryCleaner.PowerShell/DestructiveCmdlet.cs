using System.Management.Automation;
using System.Management.Automation.Host;
using RegistryCleaner.Configuration;

namespace RegistryCleaner.PowerShell;

/// <summary>
/// The base of the cmdlets that change something (Remove-UnusedImage, Remove-MongoEnvRevision, Restore-RegistryImage):
/// one <see cref="ShouldChange"/> per item, right before the change, honouring -WhatIf, -Confirm, -Force and the
/// <c>security.*</c> configuration keys. It has the registry connection parameters because every destructive cmdlet
/// deletes from, restores to or checks the registry.
/// </summary>
public abstract class DestructiveCmdlet : RegistryCmdlet
{
    private bool dryRunWarned;

    /// <summary>Accepted for scripts written for earlier versions, where it lifted security.dry_run_by_default; it no longer does (only an explicit -WhatIf:$false does), and it never bypasses -WhatIf or a confirmation.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Gets whether this call changes nothing: an explicit or preferred -WhatIf, or the dry-run default.</summary>
    protected bool IsDryRun => this.WhatIfInEffect || this.DryRunByDefaultApplies;

    private bool WhatIfInEffect =>
        this.MyInvocation.BoundParameters.TryGetValue("WhatIf", out object? whatIf)
            ? ((SwitchParameter)whatIf).IsPresent
            : this.GetVariableValue("WhatIfPreference") is { } preference && LanguagePrimitives.IsTrue(preference);

    // Only an explicit -WhatIf:$false lifts the dry-run default (an explicit -WhatIf is a dry run anyway): a scheduled
    // "-Confirm:$false" (or -Force) run stays dry.
    private bool DryRunByDefaultApplies =>
        this.Configuration.GetBoolean(ConfigSchema.DryRunByDefault) && !this.MyInvocation.BoundParameters.ContainsKey("WhatIf");

    /// <summary>
    /// Asks whether to change one item, exactly as PowerShell's ShouldProcess does (What if / Confirm), with the
    /// <c>security.*</c> keys applied. Stops the command with a clear error instead of hanging when a prompt would be
    /// needed in a non-interactive session.
    /// </summary>
    /// <param name="target">The exact target, e.g. <c>registry/repository:tag (sha256:abcd1234…)</c>.</param>
    /// <param name="action">The action, including what it frees, e.g. <c>Delete image, freeing 1.2 GB after garbage collection</c>.</param>
    /// <returns><see langword="true"/> to go ahead.</returns>
    protected bool ShouldChange(string target, string action)
    {
        // Tags, repositories and reasons come from registries and journals: the prompt shows them escaped, so an ANSI
        // sequence cannot overwrite the "What if" line or fake the target (PowerShell's prompt prints them as given).
        target = TerminalText.Escape(target);
        action = TerminalText.Escape(action);
        if (this.DryRunByDefaultApplies)
        {
            if (!this.dryRunWarned)
            {
                string where = this.Configuration[ConfigSchema.DryRunByDefault].Source == ConfigSource.File ? $" in {this.Configuration.FilePath}" : string.Empty;
                this.WriteWarning($"security.dry_run_by_default is true{where}, so nothing is changed{(this.Force.IsPresent || this.MyInvocation.BoundParameters.ContainsKey("Confirm") ? " (-Confirm and -Force do not lift it)" : string.Empty)}. To apply, run the same command with -WhatIf:$false (and -Confirm:$false to run without prompts).");
                this.dryRunWarned = true;
            }

            this.Host.UI.WriteLine(WhatIfText(target, action));
            return false;
        }

        bool skipConfirmation = !this.Configuration.GetBoolean(ConfigSchema.RequireConfirmation)
            && !this.MyInvocation.BoundParameters.ContainsKey("Confirm");
        if (skipConfirmation && !this.WhatIfInEffect)
        {
            return true;
        }

        try
        {
            return this.ShouldProcess(target, action);
        }
        catch (Exception ex) when (ex is PSInvalidOperationException or HostException)
        {
            throw this.Terminate(
                new InvalidOperationException(
                    $"{this.MyInvocation.MyCommand.Name} needs confirmation for '{target}', but this PowerShell session cannot prompt (non-interactive). Add -Confirm:$false to run unattended, or -WhatIf to see what would change.",
                    ex),
                "ConfirmationNeedsInteractiveSession",
                ErrorCategory.InvalidOperation,
                target);
        }
    }

    /// <summary>Gets the line a dry run shows for one item, worded as PowerShell's own -WhatIf, with the texts escaped.</summary>
    /// <param name="target">The target.</param>
    /// <param name="action">The action.</param>
    /// <returns>The line.</returns>
    internal static string WhatIfText(string target, string action) =>
        $"What if: Performing the operation \"{TerminalText.Escape(action)}\" on target \"{TerminalText.Escape(target)}\".";
}
