using System.Management.Automation;
using RegistryCleaner.Maintenance;
using RegistryCleaner.Registry;

namespace RegistryCleaner.PowerShell.Commands;

/// <summary>The delete setting of a registry's StatefulSet after Enable- or Disable-RegistryDeletion.</summary>
/// <param name="Registry">The registry.</param>
/// <param name="Workload">The StatefulSet, <c>namespace/name</c>.</param>
/// <param name="Container">The registry's container.</param>
/// <param name="DeleteEnabled">Whether the registry now accepts manifest deletes, as a DELETE probe answered.</param>
/// <param name="Value">The value REGISTRY_STORAGE_DELETE_ENABLED has now.</param>
/// <param name="PreviousValue">The value it had before (<see langword="null"/> when it was not set).</param>
/// <param name="Changed">Whether the StatefulSet was changed (and its pods rolled).</param>
/// <param name="Reason">What happened, in words.</param>
public sealed record RegistryDeletionSetting(string Registry, string Workload, string Container, bool DeleteEnabled, string Value, string? PreviousValue, bool Changed, string Reason);

/// <summary>
/// The base of Enable-RegistryDeletion and Disable-RegistryDeletion: sets REGISTRY_STORAGE_DELETE_ENABLED on the
/// registry's StatefulSet, waits for the rollout and for the registry to answer, then confirms the setting with a
/// DELETE of a digest nothing has (404 when deletes are enabled, 405 when not).
/// </summary>
public abstract class RegistryDeletionSwitchCmdlet : RegistryWorkloadCmdlet
{
    /// <summary>Gets whether this cmdlet enables deletes.</summary>
    protected abstract bool Enable { get; }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        RegistryEndpoint endpoint = this.ResolveEndpoint();
        KubernetesRegistryTarget target = this.ResolveRegistryWorkload(TimeSpan.FromSeconds(this.RestartTimeoutSec));
        using var host = new KubernetesRegistryHost(target);
        using RegistryClient client = this.CreateRegistryClient(endpoint);
        try
        {
            this.RunEngine((_, token) => host.InspectAsync(token));
        }
        catch (RegistryHostException ex)
        {
            throw this.Terminate(ex, ErrorIds.RegistryHostUnusable, ErrorCategory.InvalidOperation, host.Target);
        }

        string value = this.Enable ? "true" : "false";
        string workload = $"{target.Namespace}/{target.StatefulSet}";
        if (!this.ShouldChange($"{endpoint.DisplayName} ({host.Target})", $"Set {KubernetesRegistryHost.DeleteVariable}={value} and roll the registry's pods, which {(this.Enable ? "lets it delete manifests" : "makes it refuse manifest deletes (405)")}"))
        {
            return;
        }

        string probe = this.Configuration.DefaultRepositories().FirstOrDefault() ?? "dominodatalab/environment";
        RegistryDeletionSetting result;
        try
        {
            result = this.RunEngine(async (queue, token) =>
            {
                queue.Verbose($"Patching {host.Target}: {KubernetesRegistryHost.DeleteVariable}={value}, then waiting for its rollout.");
                string title = $"Setting {KubernetesRegistryHost.DeleteVariable}={value} on {workload}";
                var rolling = new ProgressRecord(5, title, "Patching the StatefulSet and waiting for its rollout") { PercentComplete = -1 };
                queue.Post(c => c.WriteProgress(rolling));
                (string? previous, bool changed) = await host.SetVariableAsync(KubernetesRegistryHost.DeleteVariable, value, token).ConfigureAwait(false);
                var done = new ProgressRecord(5, title, "Done") { RecordType = ProgressRecordType.Completed };
                queue.Post(c => c.WriteProgress(done));
                queue.Verbose(changed ? $"Rolled out; was {previous ?? "(not set)"}. Waiting until the registry answers." : $"{KubernetesRegistryHost.DeleteVariable} was {value} already: nothing changed.");
                await RegistryReadiness.WaitUntilAnswersAsync(client, TimeSpan.FromSeconds(this.RestartTimeoutSec), host.Target, token).ConfigureAwait(false);
                bool enabled = await client.IsDeleteEnabledAsync(probe, token).ConfigureAwait(false);
                string reason = enabled == this.Enable
                    ? $"{(changed ? "Changed" : "Unchanged")}: the registry {(enabled ? "accepts" : "refuses")} manifest deletes (a DELETE of a digest nothing has answered {(enabled ? "404" : "405")})."
                    : $"{KubernetesRegistryHost.DeleteVariable}={value} is set, but the registry still {(enabled ? "accepts" : "refuses")} deletes: its config.yml or another variable (REGISTRY_STORAGE_DELETE) decides; check {target.ConfigPath} in the container.";
                return new RegistryDeletionSetting(endpoint.DisplayName, workload, host.Container, enabled, value, previous, changed, reason);
            });
        }
        catch (RegistryHostException ex)
        {
            throw this.Terminate(ex, ErrorIds.RegistryHostUnusable, ErrorCategory.InvalidOperation, host.Target);
        }
        catch (TimeoutException ex)
        {
            throw this.Terminate(ex, ErrorIds.RegistryRestartTimedOut, ErrorCategory.OperationTimeout, host.Target);
        }
        catch (RegistryException ex)
        {
            this.ThrowTerminatingError(RegistryErrorRecord(ex, endpoint.DisplayName));
            throw;
        }

        this.WriteTyped(result, OutputTypeNames.RegistryDeletionSetting);
        if (result.DeleteEnabled != this.Enable)
        {
            this.WriteError(new ErrorRecord(new InvalidOperationException(result.Reason), ErrorIds.RegistryDeletionSettingIneffective, ErrorCategory.InvalidResult, result));
        }
    }
}

/// <summary>
/// Lets the registry of a Kubernetes StatefulSet (Domino's docker-registry) delete manifests: sets REGISTRY_STORAGE_DELETE_ENABLED=true and rolls its pods.
/// </summary>
[Cmdlet(VerbsLifecycle.Enable, "RegistryDeletion", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(OutputTypeNames.RegistryDeletionSetting)]
public sealed class EnableRegistryDeletionCommand : RegistryDeletionSwitchCmdlet
{
    /// <inheritdoc />
    protected override bool Enable => true;
}

/// <summary>
/// Makes the registry of a Kubernetes StatefulSet (Domino's docker-registry) refuse manifest deletes again: sets REGISTRY_STORAGE_DELETE_ENABLED=false and rolls its pods.
/// </summary>
[Cmdlet(VerbsLifecycle.Disable, "RegistryDeletion", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(OutputTypeNames.RegistryDeletionSetting)]
public sealed class DisableRegistryDeletionCommand : RegistryDeletionSwitchCmdlet
{
    /// <inheritdoc />
    protected override bool Enable => false;
}
