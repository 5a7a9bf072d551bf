using System.Management.Automation;

namespace RegistryCleaner.PowerShell;

/// <summary>
/// The base of the registry cmdlets that change something (Remove-MongoEnvRevision, Restore-RegistryImage,
/// Invoke-RegistryGarbageCollection, Enable-/Disable-RegistryDeletion): -Force and one <see cref="ChangeGate"/>, asked
/// once per item right before the change. It has the registry connection parameters because every one of them
/// deletes from, restores to or checks the registry.
/// </summary>
public abstract class DestructiveCmdlet : RegistryCmdlet
{
    private readonly ChangeGate changes;

    /// <summary>Initializes a new instance of the <see cref="DestructiveCmdlet"/> class.</summary>
    protected DestructiveCmdlet() => this.changes = new ChangeGate(this, () => this.Force.IsPresent);

    /// <summary>Accepted for scripts written for earlier versions; it never bypasses -WhatIf or a confirmation.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Gets whether this call changes nothing: an explicit or preferred -WhatIf, or the dry-run default.</summary>
    protected bool IsDryRun => this.changes.IsDryRun;

    /// <summary>Asks whether to change one item (see <see cref="ChangeGate.ShouldChange"/>).</summary>
    /// <param name="target">The exact target.</param>
    /// <param name="action">The action, including what it frees.</param>
    /// <returns><see langword="true"/> to go ahead.</returns>
    protected bool ShouldChange(string target, string action) => this.changes.ShouldChange(target, action);
}
