using System.Management.Automation;
using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.Faults;

/// <summary>
/// The real registry behind the fault proxy, with one tag's manifest made hostile (endless, or not hashing to the
/// registry's <c>Docker-Content-Digest</c>): that tag is an error naming why, every other tag is read, and deletion
/// fails closed because the inventory is incomplete.
/// </summary>
public sealed class RegistryBoundsFaultTests : IAsyncLifetime
{
    private const string Victim = "app/web:v2";
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

    [Theory]
    [InlineData(FaultKind.EndlessBody, "larger than 4 MiB (MaxManifestBytes")]
    [InlineData(FaultKind.AlteredBody, "the Docker-Content-Digest")]
    public async Task A_hostile_manifest_is_an_error_for_its_tag_and_Remove_UnusedImage_deletes_nothing(FaultKind kind, string named)
    {
        this.registry.Proxy.Add("GET", this.registry.ManifestPath(Victim), kind, times: -1);

        PowerShellResult listed = this.session.Run($"Get-RegistryImage -Registry '{this.registry.Registry}' -Repository 'app/*'");

        Assert.Null(listed.Terminating);
        ErrorRecord error = Assert.Single(listed.Errors);
        Assert.Contains(Victim, error.ToString(), StringComparison.Ordinal);
        Assert.Contains(named, error.ToString(), StringComparison.Ordinal);
        Assert.Equal(FaultRegistry.Tags.Where(t => t != Victim).Order(StringComparer.Ordinal), listed.Output.Select(RegistryFaultTests.Name).Order(StringComparer.Ordinal));

        PowerShellResult removed = this.session.Run(
            $"Remove-UnusedImage -Registry '{this.registry.Registry}' -Repository 'app/*' -InUse @() -Confirm:$false -JournalPath '{this.Journal}'");

        // The planner refuses an incomplete inventory, exactly as for any other per-tag error: nothing is deleted.
        Assert.Contains(removed.Errors, e => e.FullyQualifiedErrorId.StartsWith("RegistryInventoryIncomplete,", StringComparison.Ordinal));
        Assert.Contains(removed.Errors, e => e.ToString().Contains(Victim, StringComparison.Ordinal) && e.ToString().Contains(named, StringComparison.Ordinal));
        Assert.Empty(removed.Output);
        Assert.Equal(FaultRegistry.Tags.Order(StringComparer.Ordinal), await this.registry.RemainingTagsAsync());
        Assert.Empty(RegistryFaultTests.ReadJournal(this.Journal));
        if (kind == FaultKind.EndlessBody)
        {
            // Two reads (listing, planning), each stopped at 4 MiB: nothing like an endless body was taken in.
            Assert.InRange(this.registry.Proxy.EndlessBytes, 8L << 20, 256L << 20);
        }
    }
}
