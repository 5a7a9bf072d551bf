using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.Faults;

/// <summary>Two Remove-UnusedImage runs at once against one registry and one journal (two admins, or a retried job).</summary>
public sealed class ConcurrentRunTests : IAsyncLifetime
{
    private FaultRegistry registry = null!;

    public async Task InitializeAsync() => this.registry = await FaultRegistry.CreateAsync();

    public async Task DisposeAsync() => await this.registry.DisposeAsync();

    [Fact]
    public async Task Two_runs_at_once_share_the_journal_delete_each_image_once_and_do_not_double_count()
    {
        string journal = Path.Combine(this.registry.Folder, "journal.jsonl");
        string common = $"-Registry '{this.registry.Registry}' -Repository 'app/*' -InUse @() -TimeoutSec 30";
        using var first = new PowerShellSession(this.registry.Folder);
        using var second = new PowerShellSession(this.registry.Folder);
        PowerShellResult planned = first.Run($"Get-UnusedImage {common}");
        Assert.Null(planned.Terminating);
        long plannedBytes = planned.Output.Sum(o => (long)o.Properties["ReclaimableBytes"].Value);
        Assert.True(plannedBytes > 0);

        // Slowed DELETEs keep both runs inside the same deletions, so they race on every manifest.
        this.registry.Proxy.Add("DELETE", "/manifests/", FaultKind.Slow, times: -1, delay: TimeSpan.FromMilliseconds(300));
        string command = $"Remove-UnusedImage {common} -Confirm:$false -JournalPath '{journal}'";
        using RunningScript a = first.Start(command);
        using RunningScript b = second.Start(command);
        PowerShellResult[] results = [a.Wait(), b.Wait()];

        Assert.All(results, r => Assert.Null(r.Terminating));
        Assert.All(results, r => Assert.Empty(r.Errors));
        var outputs = results.SelectMany(r => r.Output).ToArray();
        Assert.All(FaultRegistry.Tags, tag => Assert.Single(outputs, o => RegistryFaultTests.Name(o) == tag && o.Properties["Status"].Value.ToString() == "Deleted"));
        var others = outputs.Where(o => o.Properties["Status"].Value.ToString() != "Deleted").ToArray();
        Assert.NotEmpty(others); // the runs did overlap: the second met images the first had deleted
        Assert.All(others, o => Assert.Contains(o.Properties["Status"].Value.ToString(), new[] { "NotFound", "Skipped" }));
        long deletedBytes = outputs.Where(o => o.Properties["Status"].Value.ToString() == "Deleted").Sum(o => (long)o.Properties["ReclaimableBytes"].Value);
        Assert.Equal(plannedBytes, deletedBytes);
        Assert.Empty(await this.registry.RemainingTagsAsync());

        // Every line parses, and each manifest has exactly one Deleted outcome across both runs.
        var lines = RegistryFaultTests.ReadJournal(journal);
        Assert.All(this.registry.Digests.Values, d => Assert.Single(lines, l => l.Digest == d && l.Kind == "outcome" && l.Outcome == "Deleted"));
        Assert.Equal(lines.Count(l => l.Kind == "attempt"), lines.Count(l => l.Kind == "outcome"));
    }

    [Fact]
    public async Task Two_runs_whose_DELETE_answers_are_lost_still_do_not_double_count()
    {
        string journal = Path.Combine(this.registry.Folder, "journal.jsonl");
        string common = $"-Registry '{this.registry.Registry}' -Repository 'app/*' -InUse @() -TimeoutSec 30";
        using var first = new PowerShellSession(this.registry.Folder);
        using var second = new PowerShellSession(this.registry.Folder);
        PowerShellResult planned = first.Run($"Get-UnusedImage {common}");
        long plannedBytes = planned.Output.Sum(o => (long)o.Properties["ReclaimableBytes"].Value);

        // Both runs send each DELETE; the registry deletes on the first and answers 404 to the second, and neither
        // answer arrives: each run only sees that the manifest is gone.
        this.registry.Proxy.Add("DELETE", "/manifests/", FaultKind.LoseResponse, times: -1, delay: TimeSpan.FromMilliseconds(300));
        string command = $"Remove-UnusedImage {common} -Confirm:$false -JournalPath '{journal}'";
        using RunningScript a = first.Start(command);
        using RunningScript b = second.Start(command);
        PowerShellResult[] results = [a.Wait(), b.Wait()];

        Assert.All(results, r => Assert.Null(r.Terminating));
        var outputs = results.SelectMany(r => r.Output).ToArray();
        long deletedBytes = outputs.Where(o => o.Properties["Status"].Value.ToString() == "Deleted").Sum(o => (long)o.Properties["ReclaimableBytes"].Value);
        Assert.Empty(await this.registry.RemainingTagsAsync());
        Assert.True(deletedBytes <= plannedBytes, $"Deleted {deletedBytes} bytes of a {plannedBytes}-byte plan.");

        // The runs share the journal, so exactly one of them counts each manifest even though neither got an answer.
        Assert.Equal(plannedBytes, deletedBytes);
        Assert.All(FaultRegistry.Tags, tag => Assert.Single(outputs, o => RegistryFaultTests.Name(o) == tag && o.Properties["Status"].Value.ToString() == "Deleted"));
    }
}
