using System.Globalization;
using System.Management.Automation;
using RegistryCleaner.Configuration;
using RegistryCleaner.Maintenance;
using RegistryCleaner.Registry;

namespace RegistryCleaner.PowerShell.Commands;

/// <summary>
/// Runs a self-hosted registry's garbage collection safely: read-only while it runs, restarted with its own settings afterwards, every image verified.
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "RegistryGarbageCollection", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = KubernetesSet)]
[OutputType(OutputTypeNames.GarbageCollection)]
public sealed class InvokeRegistryGarbageCollectionCommand : RegistryWorkloadCmdlet
{
    private const string ProcessSet = "Process";
    private const string ServiceSet = "Service";
    private const int ProgressActivity = 4;

    // The queue of the engine call running now: the collector's progress and verbose lines go there.
    private volatile PipelineQueue? current;

    /// <summary>The process ID of a registry running on this host (Linux), which is restarted with the same program, arguments, working directory and environment.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ProcessSet)]
    [ValidateRange(1, int.MaxValue)]
    public int ProcessId { get; set; }

    /// <summary>The systemd service that runs the registry, e.g. docker-registry (Debian's package).</summary>
    [Parameter(Mandatory = true, ParameterSetName = ServiceSet)]
    [ValidateNotNullOrEmpty]
    public string? ServiceName { get; set; }

    /// <summary>The registry's own config.yml, which garbage-collect reads.</summary>
    [Parameter(ParameterSetName = ProcessSet)]
    [Parameter(ParameterSetName = ServiceSet)]
    [ValidateNotNullOrEmpty]
    public string? RegistryConfigPath { get; set; }

    /// <summary>The registry binary garbage-collect runs with.</summary>
    [Parameter(ParameterSetName = ProcessSet)]
    [Parameter(ParameterSetName = ServiceSet)]
    [ValidateNotNullOrEmpty]
    public string? RegistryCommand { get; set; }

    /// <summary>Also deletes manifests no tag references (garbage-collect --delete-untagged).</summary>
    [Parameter]
    public SwitchParameter DeleteUntagged { get; set; }

    /// <summary>Skips checking every image after garbage collection.</summary>
    [Parameter]
    public SwitchParameter SkipVerification { get; set; }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        RegistryEndpoint endpoint = this.ResolveEndpoint();
        using IRegistryHost host = this.CreateHost();
        using RegistryClient client = this.CreateRegistryClient(endpoint);
        string title = $"Garbage-collecting {endpoint.DisplayName}";
        var collector = new RegistryGarbageCollector(host, client, new GarbageCollectionOptions
        {
            DeleteUntagged = this.DeleteUntagged.IsPresent,
            Verify = !this.SkipVerification.IsPresent,
            ProbeRepository = this.Configuration.DefaultRepositories().FirstOrDefault() ?? "dominodatalab/environment",
            RestartTimeout = TimeSpan.FromSeconds(this.RestartTimeoutSec),
            Log = line => this.current?.Verbose(line),
            Progress = new StepProgress(step =>
            {
                var record = new ProgressRecord(ProgressActivity, title, step.Activity)
                {
                    PercentComplete = (int)(100L * (step.Step - 1) / Math.Max(1, step.Steps)),
                    CurrentOperation = string.Create(CultureInfo.InvariantCulture, $"Step {step.Step} of {step.Steps}"),
                };
                this.current?.Post(c => c.WriteProgress(record));
            }),
        });

        RegistryVersion version;
        try
        {
            version = this.RunEngine((queue, token) =>
            {
                this.current = queue;
                return collector.PrepareAsync(token);
            });
        }
        catch (RegistryHostException ex)
        {
            throw this.Terminate(ex, ErrorIds.RegistryHostUnusable, ErrorCategory.InvalidOperation, host.Target);
        }
        catch (GarbageCollectionRefusedException ex)
        {
            throw this.Terminate(ex, ErrorIds.GarbageCollectionRefused, ErrorCategory.InvalidArgument, host.Target);
        }

        string target = $"{endpoint.DisplayName} ({host.Target}, version {version})";
        string action = $"Garbage-collect: switch the registry to read-only, delete every blob no manifest references{(this.DeleteUntagged.IsPresent ? " and every untagged manifest" : string.Empty)}, restart it with its own settings{(this.SkipVerification.IsPresent ? string.Empty : ", verify every image")}";
        bool confirmed = this.ShouldChange(target, action);
        if (!confirmed && !this.IsDryRun)
        {
            this.WriteProgress(new ProgressRecord(ProgressActivity, title, "Not confirmed") { RecordType = ProgressRecordType.Completed });
            this.WriteVerbose($"Not confirmed: {target} was left as it is.");
            return;
        }

        GarbageCollectionResult result;
        try
        {
            result = this.RunToTheEnd(collector, dryRun: !confirmed, title);
        }
        catch (RegistryException ex)
        {
            // Only before anything changed: the registry did not answer, or refused the probe's credentials.
            this.ThrowTerminatingError(RegistryErrorRecord(ex, endpoint.DisplayName));
            throw;
        }
        catch (RegistryHostException ex)
        {
            throw this.Terminate(ex, ErrorIds.RegistryHostUnusable, ErrorCategory.InvalidOperation, host.Target);
        }

        this.WriteTyped(result, OutputTypeNames.GarbageCollection);
        if (result.Status == GarbageCollectionStatus.Failed)
        {
            this.WriteError(new ErrorRecord(new InvalidOperationException(result.Reason), ErrorIds.GarbageCollectionFailed, ErrorCategory.InvalidResult, result));
        }
        else if (result.Verification == "Failed")
        {
            this.WriteError(new ErrorRecord(
                new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"After garbage collection, {result.VerificationProblems} problems were found in the images of {endpoint.DisplayName}: {string.Join("; ", result.Problems.Take(3).Select(p => $"{p.Repository}:{p.Tag} {p.Kind} {p.Digest} {p.Problem}"))}. See the Problems property, or run Test-RegistryImage -Repository *.")),
                ErrorIds.RegistryVerificationFailed,
                ErrorCategory.InvalidResult,
                result));
        }
    }

    private GarbageCollectionResult RunToTheEnd(RegistryGarbageCollector collector, bool dryRun, string title)
    {
        using var queue = new PipelineQueue();
        this.current = queue;
        Task<GarbageCollectionResult> task = Task.Run(() => collector.RunAsync(dryRun, this.StopToken));
        try
        {
            queue.Drain(this, task);
        }
        catch (PipelineStoppedException)
        {
            // Ctrl+C: the collection restores the registry at its next step; wait for that before unwinding.
            try
            {
                task.Wait();
            }
            catch (AggregateException)
            {
                // Stopping matters more than how the collection ended; its steps are in -Verbose.
            }

            throw;
        }
        finally
        {
            this.current = null;
        }

        this.WriteProgress(new ProgressRecord(ProgressActivity, title, "Done") { RecordType = ProgressRecordType.Completed });
        GarbageCollectionResult result = task.GetAwaiter().GetResult();
        if (result.Status == GarbageCollectionStatus.Stopped && this.StopToken.IsCancellationRequested)
        {
            throw new PipelineStoppedException();
        }

        return result;
    }

    /// <summary>Reports on the calling thread, in order.</summary>
    private sealed class StepProgress(Action<GarbageCollectionProgress> report) : IProgress<GarbageCollectionProgress>
    {
        public void Report(GarbageCollectionProgress value) => report(value);
    }

    private IRegistryHost CreateHost()
    {
        TimeSpan rollout = TimeSpan.FromSeconds(this.RestartTimeoutSec);
        switch (this.ParameterSetName)
        {
            case ProcessSet:
                string logs = this.ResolveFilePath(this.Configuration.GetString(ConfigSchema.OutputDir) is { Length: > 0 } folder ? folder : "reports");
                return new ProcessRegistryHost(this.ProcessId, this.RegistryConfigPath is null ? null : this.ResolveFilePath(this.RegistryConfigPath), this.RegistryCommand, logs);
            case ServiceSet:
                try
                {
                    return new SystemdRegistryHost(this.ServiceName!, this.RegistryConfigPath is null ? null : this.ResolveFilePath(this.RegistryConfigPath), this.RegistryCommand);
                }
                catch (ArgumentException ex)
                {
                    throw this.Terminate(new ArgumentException($"-ServiceName: {ex.Message}", ex), ErrorIds.ServiceNameInvalid, ErrorCategory.InvalidArgument, this.ServiceName);
                }

            default:
                return new KubernetesRegistryHost(this.ResolveRegistryWorkload(rollout));
        }
    }
}
