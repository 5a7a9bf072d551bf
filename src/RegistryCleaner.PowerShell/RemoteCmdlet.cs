using System.Management.Automation;
using RegistryCleaner.Configuration;

namespace RegistryCleaner.PowerShell;

/// <summary>
/// The base of the cmdlets that call a remote service (a registry, Kubernetes, MongoDB): -TimeoutSec, the bound on each
/// request, and its configuration default (<c>analysis.timeout</c>).
/// </summary>
public abstract class RemoteCmdlet : RegistryCleanerCmdlet
{
    /// <summary>The timeout of each request, in seconds.</summary>
    [Parameter]
    [ValidateRange(1, ConfigSchema.TimeoutLimitSeconds)]
    public int TimeoutSec { get; set; }

    /// <summary>Gets the per-request timeout from the parameter or the configuration.</summary>
    protected TimeSpan EffectiveTimeout =>
        TimeSpan.FromSeconds(this.MyInvocation.BoundParameters.ContainsKey(nameof(this.TimeoutSec)) ? this.TimeoutSec : Math.Max(1, this.Configuration.GetInt32(ConfigSchema.Timeout)));
}
