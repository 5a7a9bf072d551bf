using System.Management.Automation;
using RegistryCleaner.Maintenance;
using RegistryCleaner.PowerShell.Completion;

namespace RegistryCleaner.PowerShell;

/// <summary>
/// The base of the cmdlets that change the registry's own workload (Invoke-RegistryGarbageCollection,
/// Enable-/Disable-RegistryDeletion): the Kubernetes parameters that name its StatefulSet (-KubeConfig, -Context,
/// -Namespace, -StatefulSet) and -RestartTimeoutSec, the bound on restarting it.
/// </summary>
public abstract class RegistryWorkloadCmdlet : DestructiveCmdlet
{
    /// <summary>The parameter set of a registry run by a Kubernetes StatefulSet.</summary>
    protected const string KubernetesSet = "Kubernetes";

    /// <summary>The kubeconfig file.</summary>
    [Parameter(ParameterSetName = KubernetesSet)]
    [ValidateNotNullOrEmpty]
    public string? KubeConfig { get; set; }

    /// <summary>The kubeconfig context.</summary>
    [Parameter(ParameterSetName = KubernetesSet)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(KubeContextCompleter))]
    public string? Context { get; set; }

    /// <summary>The namespace of the registry's StatefulSet.</summary>
    [Parameter(ParameterSetName = KubernetesSet)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(KubeNamespaceCompleter))]
    public string? Namespace { get; set; }

    /// <summary>The StatefulSet that runs the registry.</summary>
    [Parameter(ParameterSetName = KubernetesSet)]
    [ValidateNotNullOrEmpty]
    public string? StatefulSet { get; set; }

    /// <summary>Seconds a restart (a rollout in Kubernetes) may take until the registry answers again.</summary>
    [Parameter]
    [ValidateRange(10, 86400)]
    public int RestartTimeoutSec { get; set; } = 300;

    /// <summary>Gets the registry's StatefulSet from the parameters and their configuration defaults.</summary>
    /// <param name="rolloutTimeout">How long a rollout may take.</param>
    /// <returns>The target.</returns>
    protected KubernetesRegistryTarget ResolveRegistryWorkload(TimeSpan rolloutTimeout) => RegistryWorkloadParameters.Resolve(
        this.Configuration, this.KubeConfig is null ? null : this.ResolveFilePath(this.KubeConfig), this.Context, this.Namespace, this.StatefulSet, this.EffectiveTimeout, rolloutTimeout);
}
