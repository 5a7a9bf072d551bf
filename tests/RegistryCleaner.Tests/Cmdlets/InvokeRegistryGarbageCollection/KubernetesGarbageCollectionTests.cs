using System.Management.Automation;
using RegistryCleaner.Maintenance;
using RegistryCleaner.Registry;
using RegistryCleaner.Tests.Deletion;
using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.Maintenance;

/// <summary>
/// Invoke-RegistryGarbageCollection and Enable-/Disable-RegistryDeletion in Kubernetes, through the real
/// KubernetesClient against the API stand-in, whose registry StatefulSet's pod is the test's real docker-registry:
/// patches roll it (restart with the patched environment), exec runs the real garbage-collect on its storage.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class KubernetesGarbageCollectionTests : IAsyncLifetime
{
    private DeletionScenario scenario = null!;
    private KubernetesApiStandIn cluster = null!;
    private PowerShellSession session = null!;

    private string KubeConfig => Path.Combine(this.scenario.Folder, "kubeconfig");

    private string Registry => this.scenario.Registry.Registry;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        this.session?.Dispose();
        if (this.cluster is not null)
        {
            await this.cluster.DisposeAsync();
        }

        this.scenario?.Dispose();
    }

    [Fact]
    public async Task Garbage_collection_in_the_StatefulSet_is_read_only_while_it_runs_frees_exactly_the_planned_bytes_and_restores_the_StatefulSet()
    {
        RegistryStatefulSet set = await this.StartAsync(deleteEnabled: true, new Dictionary<string, string>());
        long planned = this.DeleteUnused();
        long stored = this.scenario.Registry.BlobBytes();

        PowerShellResult result = this.session.Run($"Invoke-RegistryGarbageCollection -KubeConfig '{this.KubeConfig}' -Registry '{this.Registry}' -Confirm:$false -Verbose");

        Assert.Null(result.Terminating);
        Assert.Empty(result.Errors);
        PSObject gc = Assert.Single(result.Output);
        Assert.Equal(GarbageCollectionStatus.Completed, gc.Properties["Status"].Value);
        Assert.Equal("Kubernetes", gc.Properties["Mode"].Value);
        Assert.Equal($"StatefulSet {RegistryStatefulSet.Namespace}/{RegistryStatefulSet.Name} (container {RegistryStatefulSet.Container})", gc.Properties["Target"].Value);
        Assert.Equal(planned, (long)gc.Properties["BytesFreed"].Value);
        Assert.Equal(planned, stored - this.scenario.Registry.BlobBytes());
        Assert.Equal("Passed", gc.Properties["Verification"].Value);
        Assert.Equal("2.8.2", gc.Properties["RegistryVersion"].Value);

        // Two rollouts: read-only (marked on the StatefulSet) for garbage collection, then back to what it was.
        IReadOnlyDictionary<string, string>[] rollouts = set.Rollouts.ToArray();
        Assert.Equal(2, rollouts.Length);
        Assert.Equal(ReadOnlyWindow.Enabled, rollouts[0][ReadOnlyWindow.Variable]);
        Assert.Empty(rollouts[1]);
        Assert.Empty(set.Environment);
        Assert.False(set.Current.Metadata.Annotations?.ContainsKey(KubernetesRegistryHost.WindowAnnotation) ?? false);
        Assert.Equal(2, this.cluster.Requests.Count(r => r.StartsWith("PATCH /apis/apps/v1/namespaces/domino-platform/statefulsets/docker-registry", StringComparison.Ordinal)));

        // garbage-collect ran in the registry's pod, over the v5 channel protocol, dry run first.
        PodExecRequest[] execs = this.cluster.Execs.ToArray();
        Assert.All(execs, e => Assert.Equal(("v5.channel.k8s.io", RegistryStatefulSet.PodName, RegistryStatefulSet.Container), (e.Protocol, e.Pod, e.Container)));
        string[] commands = execs.Select(e => string.Join(' ', e.Command)).ToArray();
        int dryRun = Array.IndexOf(commands, $"registry garbage-collect --dry-run {this.scenario.Registry.ConfigPath}");
        int real = Array.IndexOf(commands, $"registry garbage-collect {this.scenario.Registry.ConfigPath}");
        Assert.True(dryRun >= 0 && real > dryRun, string.Join("\n", commands));
        Assert.Contains(commands, c => c.StartsWith("stat -c %s %n ", StringComparison.Ordinal));

        using var client = new RegistryClient(RegistryEndpoint.Parse(this.Registry));
        Assert.True(await client.IsWritableAsync(DeletionScenario.Env, CancellationToken.None));
    }

    [Fact]
    public async Task A_garbage_collect_that_fails_in_the_pod_undoes_the_read_only_switch_and_reports_the_failure()
    {
        var before = new Dictionary<string, string> { ["REGISTRY_LOG_LEVEL"] = "error" };
        RegistryStatefulSet set = await this.StartAsync(deleteEnabled: true, before);
        this.DeleteUnused();
        long stored = this.scenario.Registry.BlobBytes();
        string? resourceVersion = set.Current.Metadata.ResourceVersion;

        // The dry run succeeds; the real garbage-collect fails in the pod.
        var inPod = this.cluster.Exec!;
        this.cluster.Exec = async (request, stdout, stderr) =>
        {
            if (request.Command.Contains("garbage-collect") && !request.Command.Contains("--dry-run"))
            {
                await stderr("failed to delete blob: storage is on fire\n");
                return 3;
            }

            return await inPod(request, stdout, stderr);
        };

        PowerShellResult result = this.session.Run($"Invoke-RegistryGarbageCollection -KubeConfig '{this.KubeConfig}' -Registry '{this.Registry}' -Confirm:$false");

        Assert.Null(result.Terminating);
        PSObject gc = Assert.Single(result.Output);
        Assert.Equal(GarbageCollectionStatus.Failed, gc.Properties["Status"].Value);
        Assert.Contains("storage is on fire", (string)gc.Properties["Reason"].Value, StringComparison.Ordinal);
        ErrorRecord error = Assert.Single(result.Errors);
        Assert.Equal("GarbageCollectionFailed", error.FullyQualifiedErrorId.Split(',')[0]);
        Assert.Contains("storage is on fire", error.Exception.Message, StringComparison.Ordinal);

        // Switched read-only, then back: the StatefulSet's environment is what it was, the window's annotation gone.
        IReadOnlyDictionary<string, string>[] rollouts = set.Rollouts.ToArray();
        Assert.Equal(2, rollouts.Length);
        Assert.Equal(ReadOnlyWindow.Enabled, rollouts[0][ReadOnlyWindow.Variable]);
        Assert.Equal(before, rollouts[1]);
        Assert.Equal(before, set.Environment);
        Assert.NotEqual(resourceVersion, set.Current.Metadata.ResourceVersion);
        Assert.False(set.Current.Metadata.Annotations?.ContainsKey(KubernetesRegistryHost.WindowAnnotation) ?? false);
        Assert.Equal(stored, this.scenario.Registry.BlobBytes());
        using var client = new RegistryClient(RegistryEndpoint.Parse(this.Registry));
        Assert.True(await client.IsWritableAsync(DeletionScenario.Env, CancellationToken.None));
    }

    [Fact]
    public async Task A_read_only_rollout_that_never_becomes_ready_is_undone_and_garbage_collection_does_not_run()
    {
        var before = new Dictionary<string, string> { ["REGISTRY_LOG_LEVEL"] = "error" };
        RegistryStatefulSet set = await this.StartAsync(deleteEnabled: true, before);
        this.DeleteUnused();
        long stored = this.scenario.Registry.BlobBytes();
        this.cluster.StatefulSetRolloutStalls = patched =>
            patched.Spec.Template.Spec.Containers.Any(c => c.Env?.Any(e => e.Name == ReadOnlyWindow.Variable) == true);

        PowerShellResult result = this.session.Run($"Invoke-RegistryGarbageCollection -KubeConfig '{this.KubeConfig}' -Registry '{this.Registry}' -RestartTimeoutSec 10 -Confirm:$false");

        Assert.Null(result.Terminating);
        PSObject gc = Assert.Single(result.Output);
        Assert.Equal(GarbageCollectionStatus.Failed, gc.Properties["Status"].Value);
        ErrorRecord error = Assert.Single(result.Errors);
        Assert.Equal("GarbageCollectionFailed", error.FullyQualifiedErrorId.Split(',')[0]);
        Assert.Contains("did not finish its rollout", error.Exception.Message, StringComparison.Ordinal);
        Assert.Equal(before, set.Environment);
        Assert.Equal(2, set.Rollouts.Count);
        Assert.False(set.Current.Metadata.Annotations?.ContainsKey(KubernetesRegistryHost.WindowAnnotation) ?? false);
        Assert.DoesNotContain(this.cluster.Execs, e => e.Command.Contains("garbage-collect"));
        Assert.Equal(stored, this.scenario.Registry.BlobBytes());
        using var client = new RegistryClient(RegistryEndpoint.Parse(this.Registry));
        Assert.True(await client.IsWritableAsync(DeletionScenario.Env, CancellationToken.None));
    }

    [Fact]
    public async Task WhatIf_runs_only_the_dry_run_in_the_pod_and_leaves_the_StatefulSet_as_it_is()
    {
        var before = new Dictionary<string, string> { ["REGISTRY_LOG_LEVEL"] = "error" };
        RegistryStatefulSet set = await this.StartAsync(deleteEnabled: true, before);
        long planned = this.DeleteUnused();
        long stored = this.scenario.Registry.BlobBytes();
        string? resourceVersion = set.Current.Metadata.ResourceVersion;

        PowerShellResult result = this.session.Run($"Invoke-RegistryGarbageCollection -KubeConfig '{this.KubeConfig}' -Registry '{this.Registry}' -WhatIf");

        Assert.Null(result.Terminating);
        Assert.Empty(result.Errors);
        PSObject gc = Assert.Single(result.Output);
        Assert.Equal(GarbageCollectionStatus.WhatIf, gc.Properties["Status"].Value);
        Assert.Equal(planned, (long)gc.Properties["BytesEligible"].Value);
        Assert.DoesNotContain(this.cluster.Requests, r => r.StartsWith("PATCH", StringComparison.Ordinal));
        Assert.Empty(set.Rollouts);
        Assert.Equal(resourceVersion, set.Current.Metadata.ResourceVersion);
        Assert.Equal(before, set.Environment);
        string[] collects = this.cluster.Execs.Where(e => e.Command.Contains("garbage-collect")).Select(e => string.Join(' ', e.Command)).ToArray();
        Assert.Equal([$"registry garbage-collect --dry-run {this.scenario.Registry.ConfigPath}"], collects);
        Assert.Equal(stored, this.scenario.Registry.BlobBytes());
    }

    [Fact]
    public async Task A_read_only_window_an_interrupted_run_left_on_the_StatefulSet_is_restored_to_the_value_before_it()
    {
        var leftover = new Dictionary<string, string> { ["REGISTRY_LOG_LEVEL"] = "error", [ReadOnlyWindow.Variable] = ReadOnlyWindow.Enabled };
        var annotations = new Dictionary<string, string> { [KubernetesRegistryHost.WindowAnnotation] = """{"since":"2026-11-30T03:00:00+00:00","previous":null}""" };
        RegistryStatefulSet set = await this.StartAsync(deleteEnabled: true, leftover, annotations);
        using var client = new RegistryClient(RegistryEndpoint.Parse(this.Registry));
        Assert.False(await client.IsWritableAsync(DeletionScenario.Env, CancellationToken.None));

        PowerShellResult result = this.session.Run($"Invoke-RegistryGarbageCollection -KubeConfig '{this.KubeConfig}' -Registry '{this.Registry}' -SkipVerification -Confirm:$false -Verbose");

        PSObject gc = Assert.Single(result.Output);
        Assert.True(GarbageCollectionStatus.Completed.Equals(gc.Properties["Status"].Value), (string)gc.Properties["Reason"].Value);
        Assert.Equal("Skipped", gc.Properties["Verification"].Value);
        Assert.Contains(result.Verbose, v => v.Contains("An earlier run left the registry read-only", StringComparison.Ordinal));
        Assert.Equal(new Dictionary<string, string> { ["REGISTRY_LOG_LEVEL"] = "error" }, set.Environment);
        Assert.False(set.Current.Metadata.Annotations?.ContainsKey(KubernetesRegistryHost.WindowAnnotation) ?? false);
        Assert.True(await client.IsWritableAsync(DeletionScenario.Env, CancellationToken.None));
    }

    [Fact]
    public async Task A_405_names_Enable_RegistryDeletion_which_turns_deletes_on_over_v4_and_Disable_RegistryDeletion_turns_them_off()
    {
        RegistryStatefulSet set = await this.StartAsync(deleteEnabled: false, new Dictionary<string, string> { ["REGISTRY_LOG_LEVEL"] = "error" });
        this.cluster.OfferV5 = false;
        string common = $"-Registry '{this.Registry}' -Repository 'dominodatalab/*' -KubeConfig '{this.KubeConfig}' -MongoUsage:$false";

        PowerShellResult refused = this.session.Run($"Remove-UnusedImage {common} -Include twin-* -JournalPath refused.jsonl -Confirm:$false");
        ErrorRecord disabled = RemoveUnusedImageTests.StoppingError(refused);
        Assert.Equal("RegistryDeleteDisabled", disabled.FullyQualifiedErrorId.Split(',')[0]);
        Assert.Contains("Enable-RegistryDeletion", disabled.Exception.Message, StringComparison.Ordinal);

        PowerShellResult whatIf = this.session.Run($"Enable-RegistryDeletion -KubeConfig '{this.KubeConfig}' -Registry '{this.Registry}' -WhatIf");
        Assert.Empty(whatIf.Output);
        Assert.DoesNotContain(this.cluster.Requests, r => r.StartsWith("PATCH", StringComparison.Ordinal));

        PowerShellResult enabled = this.session.Run($"Enable-RegistryDeletion -KubeConfig '{this.KubeConfig}' -Registry '{this.Registry}' -Confirm:$false");
        Assert.Null(enabled.Terminating);
        Assert.Empty(enabled.Errors);
        PSObject on = Assert.Single(enabled.Output);
        Assert.Equal("RegistryCleaner.RegistryDeletionSetting", on.TypeNames[0]);
        Assert.True((bool)on.Properties["DeleteEnabled"].Value);
        Assert.True((bool)on.Properties["Changed"].Value);
        Assert.Null(on.Properties["PreviousValue"].Value);
        Assert.Equal("true", set.Environment[KubernetesRegistryHost.DeleteVariable]);
        Assert.Equal("error", set.Environment["REGISTRY_LOG_LEVEL"]);

        PowerShellResult deleted = this.session.Run($"Remove-UnusedImage {common} -Include twin-* -JournalPath deleted.jsonl -Confirm:$false");
        Assert.Null(deleted.Terminating);
        Assert.All(deleted.Output, o => Assert.Equal("Deleted", o.Properties["Status"].Value.ToString()));

        PowerShellResult again = this.session.Run($"Enable-RegistryDeletion -KubeConfig '{this.KubeConfig}' -Registry '{this.Registry}' -Confirm:$false");
        Assert.False((bool)Assert.Single(again.Output).Properties["Changed"].Value);

        PowerShellResult off = this.session.Run($"Disable-RegistryDeletion -KubeConfig '{this.KubeConfig}' -Registry '{this.Registry}' -Confirm:$false");
        PSObject setting = Assert.Single(off.Output);
        Assert.False((bool)setting.Properties["DeleteEnabled"].Value);
        Assert.Equal("true", setting.Properties["PreviousValue"].Value);
        using var client = new RegistryClient(RegistryEndpoint.Parse(this.Registry));
        Assert.False(await client.IsDeleteEnabledAsync(DeletionScenario.Env, CancellationToken.None));
        Assert.All(this.cluster.Execs, e => Assert.Equal("v4.channel.k8s.io", e.Protocol));
        Assert.Equal(2, set.Rollouts.Count);
    }

    [Fact]
    public async Task A_StatefulSet_that_does_not_exist_is_named_with_the_setting_to_change_and_nothing_is_patched()
    {
        await this.StartAsync(deleteEnabled: true, new Dictionary<string, string>());

        PowerShellResult result = this.session.Run($"Invoke-RegistryGarbageCollection -KubeConfig '{this.KubeConfig}' -Registry '{this.Registry}' -StatefulSet registry-typo -Confirm:$false");

        ErrorRecord error = RemoveUnusedImageTests.StoppingError(result);
        Assert.Equal("RegistryHostUnusable", error.FullyQualifiedErrorId.Split(',')[0]);
        Assert.Contains("no StatefulSet registry-typo in namespace domino-platform", error.Exception.Message, StringComparison.Ordinal);
        Assert.Contains("kubernetes.registry_statefulset", error.Exception.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(this.cluster.Requests, r => r.StartsWith("PATCH", StringComparison.Ordinal));
    }

    private async Task<RegistryStatefulSet> StartAsync(bool deleteEnabled, IReadOnlyDictionary<string, string> environment, IDictionary<string, string>? annotations = null)
    {
        this.scenario = await DeletionScenario.CreateAsync(deleteEnabled, restartable: true);
        if (environment.Count > 0)
        {
            this.scenario.Registry.Restart(environment);
        }

        this.cluster = await KubernetesApiStandIn.StartAsync();
        this.cluster.Add(this.scenario.Workloads);
        RegistryStatefulSet set = RegistryStatefulSet.Attach(this.cluster, this.scenario.Registry, environment, annotations);
        this.cluster.WriteKubeConfig(this.KubeConfig);

        // The pod's config.yml is the test registry's (the exec runs on this machine).
        File.WriteAllText(Path.Combine(this.scenario.Folder, "config.yaml"), $"kubernetes:\n  registry_config: \"{this.scenario.Registry.ConfigPath}\"\n");
        this.session = new PowerShellSession(this.scenario.Folder);
        return set;
    }

    private long DeleteUnused() => LocalGarbageCollectionTests.DeleteUnused(this.session, this.Registry, this.KubeConfig);
}
