using System.Diagnostics;
using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.Faults;

/// <summary>
/// Ctrl+C (PowerShell.Stop, which calls StopProcessing on the running cmdlet) while the proxy slows the registry: the
/// pipeline stops promptly, and a stopped deletion leaves a journal that matches what reached the registry.
/// </summary>
public sealed class CancellationTests : IAsyncLifetime
{
    // Generous: "promptly" means no waiting for the remaining slow requests; a loaded 2-core machine adds its own delays.
    private static readonly TimeSpan StopBound = TimeSpan.FromSeconds(5);
    private FaultRegistry registry = null!;
    private PowerShellSession session = null!;

    public async Task InitializeAsync()
    {
        this.registry = await FaultRegistry.CreateAsync();
        this.session = new PowerShellSession(this.registry.Folder);
    }

    public async Task DisposeAsync()
    {
        this.session.Dispose();
        await this.registry.DisposeAsync();
    }

    [Fact]
    public void Stopping_an_inventory_of_slow_manifests_returns_promptly()
    {
        // One tag at a time, 10 s each: stopping within the bound means the request in flight was abandoned, not awaited.
        this.registry.Proxy.Add("GET", "/manifests/", FaultKind.Slow, times: -1, delay: TimeSpan.FromSeconds(10));
        using RunningScript running = this.session.Start($"Get-RegistryImage -Registry '{this.registry.Registry}' -Repository 'app/*' -ThrottleLimit 1 -TimeoutSec 30");
        WaitFor(() => this.ManifestRequests("GET") >= 1);

        var watch = Stopwatch.StartNew();
        running.Stop();
        PowerShellResult result = running.Wait();
        watch.Stop();

        Assert.True(watch.Elapsed < StopBound, $"Stop took {watch.Elapsed}.");
        Assert.Empty(result.Output);
        Assert.IsType<System.Management.Automation.PipelineStoppedException>(result.Terminating);
        Assert.Empty(result.Errors);
    }

    [Fact]
    public async Task Stopping_a_deletion_of_slow_DELETEs_leaves_a_journal_that_matches_the_registry_and_a_rerun_finishes_the_plan()
    {
        string journal = Path.Combine(this.registry.Folder, "journal.jsonl");
        // Two workers: the stop comes while both DELETEs are in flight and before the rest are handed out.
        string command = $"Remove-UnusedImage -Registry '{this.registry.Registry}' -Repository 'app/*' -InUse @() -Confirm:$false -JournalPath '{journal}' -TimeoutSec 30 -ThrottleLimit 2";
        Fault slow = this.registry.Proxy.Add("DELETE", "/manifests/", FaultKind.Slow, times: -1, delay: TimeSpan.FromMilliseconds(700));
        using RunningScript running = this.session.Start(command);
        WaitFor(() => this.ManifestRequests("DELETE") >= 2);

        var watch = Stopwatch.StartNew();
        running.Stop();
        PowerShellResult stopped = running.Wait();
        watch.Stop();
        Assert.True(watch.Elapsed < StopBound, $"Stop took {watch.Elapsed}.");

        // The engine's guarantee: once a manifest is journaled, its DELETE is sent and its outcome line follows even
        // when the run is stopped. So every attempt has an outcome, every attempt's DELETE reached the proxy, and
        // nothing without an attempt line was deleted.
        var lines = RegistryFaultTests.ReadJournal(journal);
        string[] attempted = lines.Where(l => l.Kind == "attempt").Select(l => l.Digest).ToArray();
        Assert.NotEmpty(attempted);
        Assert.True(attempted.Length < FaultRegistry.Tags.Length, "The stop came too late to prove anything.");
        Assert.Equal(attempted.Order(), lines.Where(l => l.Kind == "outcome").Select(l => l.Digest).Order());
        Assert.All(lines.Where(l => l.Kind == "outcome"), l => Assert.Equal("Deleted", l.Outcome));
        string[] sent = this.registry.Proxy.Requests.Keys.Where(k => k.StartsWith("DELETE ", StringComparison.Ordinal)).Select(k => k[(k.LastIndexOf('/') + 1)..]).ToArray();
        Assert.Equal(attempted.Order(), sent.Order());
        SortedSet<string> remaining = await this.registry.RemainingTagsAsync();
        Assert.Equal(FaultRegistry.Tags.Where(t => !attempted.Contains(this.registry.Digests[t])).Order(StringComparer.Ordinal), remaining);
        Assert.All(stopped.Output, o => Assert.Equal("Deleted", o.Properties["Status"].Value.ToString()));

        // A rerun (faults off) deletes the rest; together the two runs did the whole plan, each manifest once.
        slow.Disable();
        PowerShellResult rerun = this.session.Run(command);
        Assert.Null(rerun.Terminating);
        Assert.Empty(rerun.Errors);
        Assert.Equal(remaining, rerun.Output.Select(RegistryFaultTests.Name).ToHashSet());
        Assert.All(rerun.Output, o => Assert.Equal("Deleted", o.Properties["Status"].Value.ToString()));
        Assert.Empty(await this.registry.RemainingTagsAsync());
        var all = RegistryFaultTests.ReadJournal(journal);
        Assert.Equal(this.registry.Digests.Values.Order(), all.Where(l => l.Kind == "attempt").Select(l => l.Digest).Order());
        Assert.Equal(this.registry.Digests.Values.Order(), all.Where(l => l.Kind == "outcome" && l.Outcome == "Deleted").Select(l => l.Digest).Order());
    }

    private static void WaitFor(Func<bool> condition)
    {
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), "The run never reached the point to stop at.");
            Thread.Sleep(20);
        }
    }

    private int ManifestRequests(string method) =>
        this.registry.Proxy.Requests.Where(r => r.Key.StartsWith(method + " ", StringComparison.Ordinal) && r.Key.Contains("/manifests/", StringComparison.Ordinal)).Sum(r => r.Value);
}
