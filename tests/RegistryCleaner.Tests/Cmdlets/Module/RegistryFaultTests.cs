using System.Management.Automation;
using System.Text.Json;
using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.Faults;

/// <summary>
/// The cmdlets through a fault-injecting proxy in front of a real registry: transient faults are absorbed, persistent
/// ones become per-item errors naming the image, and a deletion whose checks failed never happens.
/// </summary>
public sealed class RegistryFaultTests : IAsyncLifetime
{
    private FaultRegistry registry = null!;
    private PowerShellSession session = null!;

    private string Journal => Path.Combine(this.registry.Folder, "journal.jsonl");

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

    /// <summary>Reads a journal: every line must parse; returns (kind, digest, outcome) per line.</summary>
    internal static IReadOnlyList<(string Kind, string Digest, string? Outcome)> ReadJournal(string path)
    {
        if (!File.Exists(path))
        {
            return [];
        }

        return File.ReadAllLines(path).Where(l => l.Length > 0).Select(line =>
        {
            using JsonDocument document = JsonDocument.Parse(line);
            JsonElement root = document.RootElement;
            return (root.GetProperty("kind").GetString()!, root.GetProperty("digest").GetString()!, root.TryGetProperty("outcome", out JsonElement o) ? o.GetString() : null);
        }).ToArray();
    }

    internal static string Name(PSObject o) => $"{o.Properties["Repository"].Value}:{o.Properties["Tag"].Value}";

    private static string[] Images(PowerShellResult result) =>
        result.Output.Select(o => $"{Name(o)}@{o.Properties["Digest"].Value} {o.Properties["Size"].Value} {o.Properties["LayerCount"].Value}").Order(StringComparer.Ordinal).ToArray();

    [Fact]
    public void Transient_faults_are_retried_and_the_inventory_equals_the_one_read_without_the_proxy()
    {
        PowerShellResult direct = this.session.Run($"Get-RegistryImage -Registry '{this.registry.Server.Registry}' -Repository 'app/*'");
        Assert.Null(direct.Terminating);
        Assert.Equal(FaultRegistry.Tags.Length, direct.Output.Count);
        FaultProxy proxy = this.registry.Proxy;
        Fault[] faults =
        [
            proxy.Add("GET", "^/v2/app/web/tags/list$", FaultKind.TooManyRequests),
            proxy.Add("GET", this.registry.ManifestPath("app/web:v1"), FaultKind.TooManyRequests),
            proxy.Add("GET", this.registry.ManifestPath("app/api:a1"), FaultKind.ServiceUnavailable, times: 3),
            proxy.Add("GET", this.registry.ManifestPath("app/web:v2"), FaultKind.ResetMidBody),

            // Longer than -TimeoutSec 2: the client must give up on it and ask again.
            proxy.Add("GET", this.registry.ManifestPath("app/api:a2"), FaultKind.Slow, delay: TimeSpan.FromSeconds(4)),
        ];

        PowerShellResult result = this.session.Run($"Get-RegistryImage -Registry '{this.registry.Registry}' -Repository 'app/*' -TimeoutSec 2");

        Assert.Null(result.Terminating);
        Assert.Empty(result.Errors);
        Assert.Equal(Images(direct), Images(result));
        Assert.All(faults, f => Assert.Equal(0, f.Remaining));
    }

    [Theory]
    [InlineData(FaultKind.ServiceUnavailable)]
    [InlineData(FaultKind.TruncatedBody)]
    public void A_persistent_fault_on_one_manifest_is_an_error_naming_that_tag_and_every_other_tag_is_emitted(FaultKind kind)
    {
        this.registry.Proxy.Add("GET", this.registry.ManifestPath("app/web:v2"), kind, times: -1);

        PowerShellResult result = this.session.Run($"Get-RegistryImage -Registry '{this.registry.Registry}' -Repository 'app/*' -TimeoutSec 2");

        Assert.Null(result.Terminating);
        ErrorRecord error = Assert.Single(result.Errors);
        Assert.Contains("app/web:v2", error.ToString(), StringComparison.Ordinal);
        Assert.Equal(FaultRegistry.Tags.Where(t => t != "app/web:v2").Order(StringComparer.Ordinal), result.Output.Select(Name).Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData(FaultKind.ServiceUnavailable)]
    [InlineData(FaultKind.AlteredBody)]
    public async Task An_image_whose_check_before_delete_fails_is_Failed_never_deleted_and_never_journaled(FaultKind kind)
    {
        // The GET by tag right before the DELETE is the re-resolve of rule 5 and reads the manifest for the journal:
        // an error, or a body that does not match the digest the registry names (a HEAD then finds the tag still on the
        // planned manifest), leaves the image undeleted. Planning read the same tag with a GET once before: that one
        // passes, so the fault does not touch the plan.
        string victim = "app/web:v2";
        this.registry.Proxy.Add("GET", this.registry.ManifestPath(victim), kind, times: -1, skip: 1);

        PowerShellResult result = this.session.Run(
            $"Remove-UnusedImage -Registry '{this.registry.Registry}' -Repository 'app/*' -InUse @() -Confirm:$false -JournalPath '{this.Journal}' -TimeoutSec 2");

        Assert.Null(result.Terminating);
        PSObject failed = Assert.Single(result.Output, o => Name(o) == victim);
        Assert.Equal("Failed", failed.Properties["Status"].Value.ToString());
        Assert.Contains(result.Errors, e => e.ToString().Contains("app/web", StringComparison.Ordinal));
        Assert.All(result.Output.Where(o => Name(o) != victim), o => Assert.Equal("Deleted", o.Properties["Status"].Value.ToString()));
        Assert.Equal([victim], await this.registry.RemainingTagsAsync());
        var journal = ReadJournal(this.Journal);
        Assert.DoesNotContain(journal, l => l.Digest == this.registry.Digests[victim]);
        Assert.Equal((FaultRegistry.Tags.Length - 1) * 2, journal.Count);
    }

    [Fact]
    public async Task A_delete_whose_answer_is_lost_is_rechecked_and_reported_Deleted_with_attempt_and_outcome_journaled()
    {
        string victim = "app/api:a1";
        Fault lost = this.registry.Proxy.Add("DELETE", this.registry.ManifestPath(victim, byDigest: true), FaultKind.LoseResponse);

        PowerShellResult result = this.session.Run(
            $"Remove-UnusedImage -Registry '{this.registry.Registry}' -Repository 'app/*' -InUse @() -Confirm:$false -JournalPath '{this.Journal}' -TimeoutSec 2");

        Assert.Null(result.Terminating);
        Assert.Empty(result.Errors);
        Assert.Equal(1, lost.Hits);
        PSObject image = Assert.Single(result.Output, o => Name(o) == victim);
        Assert.Equal("Deleted", image.Properties["Status"].Value.ToString());
        Assert.Empty(await this.registry.RemainingTagsAsync());
        var lines = ReadJournal(this.Journal).Where(l => l.Digest == this.registry.Digests[victim]).ToArray();
        Assert.Equal([("attempt", this.registry.Digests[victim], (string?)null), ("outcome", this.registry.Digests[victim], "Deleted")], lines);
    }
}
