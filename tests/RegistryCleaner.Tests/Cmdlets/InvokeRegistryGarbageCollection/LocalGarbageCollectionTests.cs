using System.Management.Automation;
using RegistryCleaner.Maintenance;
using RegistryCleaner.Registry;
using RegistryCleaner.Tests.Deletion;
using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.Maintenance;

/// <summary>
/// Invoke-RegistryGarbageCollection -ProcessId against the real docker-registry the test started: the cmdlet reads
/// the process, restarts it read-only, runs the real garbage-collect, restarts it with its own settings and verifies.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class LocalGarbageCollectionTests : IAsyncLifetime
{
    private DeletionScenario scenario = null!;
    private KubernetesApiStandIn cluster = null!;
    private PowerShellSession session = null!;

    private string KubeConfig => Path.Combine(this.scenario.Folder, "kubeconfig");

    private string Registry => this.scenario.Registry.Registry;

    public async Task InitializeAsync()
    {
        this.scenario = await DeletionScenario.CreateAsync(restartable: true);
        this.cluster = await KubernetesApiStandIn.StartAsync();
        this.cluster.Add(this.scenario.Workloads);
        this.cluster.WriteKubeConfig(this.KubeConfig);
        this.session = new PowerShellSession(this.scenario.Folder);
    }

    public async Task DisposeAsync()
    {
        this.session.Dispose();
        await this.cluster.DisposeAsync();
        this.scenario.Dispose();
    }

    [Fact]
    public async Task Deletion_then_garbage_collection_on_this_host_frees_exactly_the_planned_bytes_and_leaves_the_registry_writable_and_whole()
    {
        int before = this.scenario.Registry.ProcessId;
        long planned = this.DeleteUnused();
        long stored = this.scenario.Registry.BlobBytes();

        PowerShellResult result = this.session.Run($"Invoke-RegistryGarbageCollection -ProcessId {before} -Registry '{this.Registry}' -Confirm:$false -Verbose");
        PSObject gc = Assert.Single(result.Output);
        this.scenario.Registry.Adopt((int)gc.Properties["ProcessId"].Value);

        Assert.Null(result.Terminating);
        Assert.Empty(result.Errors);
        Assert.Equal("RegistryCleaner.GarbageCollection", gc.TypeNames[0]);
        Assert.Equal(GarbageCollectionStatus.Completed, gc.Properties["Status"].Value);
        Assert.Equal(planned, (long)gc.Properties["BytesFreed"].Value);
        Assert.Equal(planned, (long)gc.Properties["BytesEligible"].Value);
        Assert.Equal(planned, stored - this.scenario.Registry.BlobBytes());
        Assert.True((int)gc.Properties["BlobsRemoved"].Value > 0);
        Assert.Equal("Passed", gc.Properties["Verification"].Value);
        Assert.Equal("Process", gc.Properties["Mode"].Value);
        Assert.NotEqual(before, (int)gc.Properties["ProcessId"].Value);

        // Each step was visible, in order, and the read-only switch was confirmed by the registry itself.
        string[] steps = [.. (IEnumerable<string>)gc.Properties["Steps"].Value];
        Assert.Contains(steps, s => s.Contains("Waiting until the registry answers, read-only: refuses uploads (405)", StringComparison.Ordinal));
        Assert.Contains(steps, s => s.Contains("Restarting the registry with its own settings: accepts writes again", StringComparison.Ordinal));
        Assert.Contains(result.Verbose, v => v.StartsWith("Step 7: Running garbage-collect.", StringComparison.Ordinal));
        Assert.Contains(result.Progress, p => p.Contains("Switching the registry to read-only", StringComparison.Ordinal));

        // The registry runs again as it did before: same program and config, no read-only variable, and it takes pushes.
        LocalProcess restarted = LocalProcess.Read((int)gc.Properties["ProcessId"].Value);
        Assert.Equal(["serve", this.scenario.Registry.ConfigPath], restarted.Arguments);
        Assert.DoesNotContain(restarted.Environment.Keys, k => k.StartsWith("REGISTRY_STORAGE_MAINTENANCE", StringComparison.Ordinal) || k.StartsWith("REGISTRYCLEANER_", StringComparison.Ordinal));
        using var pusher = new ImagePusher(this.scenario.Registry.BaseAddress);
        await pusher.PushImageAsync("after/gc", "v1", [ImagePusher.Layer(77, 100)]);

        // What stays pulls whole.
        PowerShellResult check = this.session.Run($"Test-RegistryImage -Registry '{this.Registry}' -Repository *");
        PSObject summary = Assert.Single(check.Output);
        Assert.True((bool)summary.Properties["Healthy"].Value);
    }

    [Fact]
    public void WhatIf_runs_only_the_dry_run_and_reports_the_blobs_and_bytes_garbage_collection_would_free()
    {
        int before = this.scenario.Registry.ProcessId;
        long planned = this.DeleteUnused();
        SortedDictionary<string, string> storage = this.scenario.StorageHashes();

        PowerShellResult result = this.session.Run($"Invoke-RegistryGarbageCollection -ProcessId {before} -Registry '{this.Registry}' -WhatIf");

        Assert.Null(result.Terminating);
        PSObject gc = Assert.Single(result.Output);
        Assert.Equal(GarbageCollectionStatus.WhatIf, gc.Properties["Status"].Value);
        Assert.Equal(planned, (long)gc.Properties["BytesEligible"].Value);
        Assert.Equal(0L, (long)gc.Properties["BytesFreed"].Value);
        Assert.Equal(before, this.scenario.Registry.ProcessId);
        Assert.True(LocalProcess.IsRunning(before));
        Assert.Equal(storage, this.scenario.StorageHashes());
        Assert.Contains(planned.ToString(System.Globalization.CultureInfo.InvariantCulture) + " bytes", (string)gc.Properties["Reason"].Value, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_garbage_collection_that_fails_inside_the_window_restarts_the_registry_writable_and_says_so()
    {
        int before = this.scenario.Registry.ProcessId;
        this.DeleteUnused();
        long stored = this.scenario.Registry.BlobBytes();

        // A registry binary whose real garbage-collect fails after the dry run succeeded.
        string failing = Path.Combine(this.scenario.Folder, "registry");
        File.WriteAllText(failing, "#!/bin/sh\nif [ \"$1\" = garbage-collect ] && [ \"$2\" != --dry-run ]; then echo 'storage is on fire' >&2; exit 3; fi\nexec /usr/bin/docker-registry \"$@\"\n");
        File.SetUnixFileMode(failing, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        PowerShellResult result = this.session.Run($"Invoke-RegistryGarbageCollection -ProcessId {before} -RegistryCommand '{failing}' -Registry '{this.Registry}' -Confirm:$false");
        PSObject gc = Assert.Single(result.Output);
        this.scenario.Registry.Adopt((int)gc.Properties["ProcessId"].Value);

        Assert.Equal(GarbageCollectionStatus.Failed, gc.Properties["Status"].Value);
        ErrorRecord error = Assert.Single(result.Errors);
        Assert.Equal("GarbageCollectionFailed", error.FullyQualifiedErrorId.Split(',')[0]);
        Assert.Contains("storage is on fire", error.Exception.Message, StringComparison.Ordinal);
        Assert.Contains("restarted with its own settings and accepts writes", error.Exception.Message, StringComparison.Ordinal);
        Assert.Equal(stored, this.scenario.Registry.BlobBytes());
        using var client = new RegistryClient(RegistryEndpoint.Parse(this.Registry));
        Assert.True(await client.IsWritableAsync("dominodatalab/environment", CancellationToken.None));
        Assert.DoesNotContain(LocalProcess.Read((int)gc.Properties["ProcessId"].Value).Environment.Keys, k => k == ReadOnlyWindow.Variable);
    }

    [Fact]
    public async Task Ctrl_C_inside_the_read_only_window_restores_the_registry_before_the_command_stops_and_deletes_nothing()
    {
        int before = this.scenario.Registry.ProcessId;
        this.DeleteUnused();
        long stored = this.scenario.Registry.BlobBytes();

        // A registry binary whose dry run takes a while, so that the stop lands inside the window.
        string slow = Path.Combine(this.scenario.Folder, "registry");
        File.WriteAllText(slow, "#!/bin/sh\nif [ \"$2\" = --dry-run ]; then sleep 3; fi\nexec /usr/bin/docker-registry \"$@\"\n");
        File.SetUnixFileMode(slow, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        using var client = new RegistryClient(RegistryEndpoint.Parse(this.Registry), new RegistryClientOptions { Timeout = TimeSpan.FromSeconds(5), MaxRetries = 0 });
        using RunningScript running = this.session.Start($"Invoke-RegistryGarbageCollection -ProcessId {before} -RegistryCommand '{slow}' -Registry '{this.Registry}' -Confirm:$false");
        await WaitForAsync(async () => LocalProcess.IsRunning(before) is false && await IsReadOnlyAsync(client));

        running.Stop();
        PowerShellResult result = running.Wait();

        Assert.IsType<PipelineStoppedException>(result.Terminating);
        Assert.Empty(result.Output);
        int restarted = this.RegistryProcesses().Single();
        this.scenario.Registry.Adopt(restarted);
        Assert.True(await client.IsWritableAsync(DeletionScenario.Env, CancellationToken.None));
        Assert.DoesNotContain(LocalProcess.Read(restarted).Environment.Keys, k => k == ReadOnlyWindow.Variable);
        Assert.Equal(stored, this.scenario.Registry.BlobBytes());
    }

    [Fact]
    public void Delete_untagged_is_refused_on_distribution_2_and_nothing_changes()
    {
        int before = this.scenario.Registry.ProcessId;

        PowerShellResult result = this.session.Run($"Invoke-RegistryGarbageCollection -ProcessId {before} -Registry '{this.Registry}' -DeleteUntagged -Confirm:$false");

        ErrorRecord error = RemoveUnusedImageTests.StoppingError(result);
        Assert.Equal("GarbageCollectionRefused", error.FullyQualifiedErrorId.Split(',')[0]);
        Assert.Contains("2.8.2", error.Exception.Message, StringComparison.Ordinal);
        Assert.Contains("children of multi-architecture images", error.Exception.Message, StringComparison.Ordinal);
        Assert.Empty(result.Output);
        Assert.Equal(before, this.scenario.Registry.ProcessId);
        Assert.True(LocalProcess.IsRunning(before));
    }

    [Fact]
    public void A_process_that_is_not_a_registry_is_refused_with_what_it_is()
    {
        PowerShellResult result = this.session.Run($"Invoke-RegistryGarbageCollection -ProcessId {Environment.ProcessId} -Registry '{this.Registry}' -Confirm:$false");

        ErrorRecord error = RemoveUnusedImageTests.StoppingError(result);
        Assert.Equal("RegistryHostUnusable", error.FullyQualifiedErrorId.Split(',')[0]);
        Assert.Contains("not a registry's 'serve'", error.Exception.Message, StringComparison.Ordinal);
        Assert.Empty(result.Output);
    }

    /// <summary>Deletes what nothing uses and returns the bytes the plan says garbage collection frees.</summary>
    internal static long DeleteUnused(PowerShellSession session, string registry, string kubeConfig)
    {
        string common = $"-Registry '{registry}' -Repository 'dominodatalab/*' -KubeConfig '{kubeConfig}' -MongoUsage:$false";
        PowerShellResult planned = session.Run($"Get-UnusedImage {common}");
        Assert.Null(planned.Terminating);
        PowerShellResult deleted = session.Run($"Remove-UnusedImage {common} -JournalPath deletions.jsonl -Confirm:$false");
        Assert.Null(deleted.Terminating);
        Assert.All(deleted.Output, o => Assert.Equal("Deleted", o.Properties["Status"].Value.ToString()));
        return planned.Output.Sum(o => (long)o.Properties["ReclaimableBytes"].Value);
    }

    private long DeleteUnused() => DeleteUnused(this.session, this.Registry, this.KubeConfig);

    private static async Task<bool> IsReadOnlyAsync(RegistryClient client)
    {
        try
        {
            return !await client.IsWritableAsync(DeletionScenario.Env, CancellationToken.None);
        }
        catch (RegistryException)
        {
            return false; // restarting
        }
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(60), "The registry never became read-only.");
            await Task.Delay(50);
        }
    }

    /// <summary>The registry processes serving this test's config (the one the cmdlet restarted), by process ID.</summary>
    private IEnumerable<int> RegistryProcesses() =>
        Directory.EnumerateDirectories("/proc")
            .Select(d => int.TryParse(Path.GetFileName(d), out int id) ? id : 0)
            .Where(id => id > 0 && LocalProcess.IsRunning(id))
            .Where(id =>
            {
                try
                {
                    return File.ReadAllText($"/proc/{id}/cmdline").Contains(this.scenario.Registry.ConfigPath, StringComparison.Ordinal);
                }
                catch (IOException)
                {
                    return false;
                }
            })
            .ToArray();
}
