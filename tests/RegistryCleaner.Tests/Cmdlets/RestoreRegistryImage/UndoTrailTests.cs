using System.Management.Automation;
using System.Text;
using System.Text.Json.Nodes;
using RegistryCleaner.Deletion;
using RegistryCleaner.Registry;
using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.Faults;

/// <summary>
/// The undo trail never loses a deletion (issue 14): a DELETE whose answer is an error or lost is settled by a HEAD,
/// what may be gone is restored, a torn journal line never spoils the journal, and the journal is written owner-only
/// and never through a symbolic link. Against the real registry behind the fault proxy.
/// </summary>
public sealed class UndoTrailTests : IAsyncLifetime
{
    private FaultRegistry registry = null!;
    private PowerShellSession session = null!;

    private string Journal => Path.Combine(this.registry.Folder, "journal.jsonl");

    private string Common => $"-Registry '{this.registry.Registry}' -InUse @() -TimeoutSec 5";

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
    public async Task A_delete_that_reaches_storage_but_answers_500_is_Deleted_after_a_HEAD_and_journaled_Deleted()
    {
        string victim = "app/api:a1";
        Fault failing = this.registry.Proxy.Add("DELETE", this.registry.ManifestPath(victim, byDigest: true), FaultKind.ForwardThenServerError);

        PowerShellResult result = this.session.Run($"Remove-UnusedImage {this.Common} -Repository 'app/api' -Confirm:$false -JournalPath '{this.Journal}'");

        Assert.Null(result.Terminating);
        Assert.Empty(result.Errors);
        Assert.Equal(1, failing.Hits);
        Assert.Equal("Deleted", Status(Assert.Single(result.Output, o => RegistryFaultTests.Name(o) == victim)));
        Assert.DoesNotContain("app/api:a1", await this.registry.RemainingTagsAsync());
        var lines = RegistryFaultTests.ReadJournal(this.Journal).Where(l => l.Digest == this.registry.Digests[victim]).ToArray();
        Assert.Equal([("attempt", this.registry.Digests[victim], (string?)null), ("outcome", this.registry.Digests[victim], "Deleted")], lines);
    }

    [Fact]
    public async Task A_delete_answered_500_whose_HEAD_fails_too_is_Failed_may_be_gone_journaled_possibly_deleted_and_restored()
    {
        string victim = "app/api:a1";
        this.registry.Proxy.Add("DELETE", this.registry.ManifestPath(victim, byDigest: true), FaultKind.ForwardThenServerError);
        Fault head = this.registry.Proxy.Add("HEAD", this.registry.ManifestPath(victim, byDigest: true), FaultKind.InternalServerError, times: -1);

        PowerShellResult result = this.session.Run($"Remove-UnusedImage {this.Common} -Repository 'app/api' -Confirm:$false -JournalPath '{this.Journal}'");

        Assert.Null(result.Terminating);
        PSObject failed = Assert.Single(result.Output, o => RegistryFaultTests.Name(o) == victim);
        Assert.Equal("Failed", Status(failed));
        string reason = failed.Properties["Reason"].Value.ToString()!;
        Assert.Contains("may be gone", reason, StringComparison.Ordinal);
        Assert.Contains($"Restore-RegistryImage -JournalPath '{this.Journal}'", reason, StringComparison.Ordinal);
        Assert.Contains(result.Errors, e => e.FullyQualifiedErrorId.StartsWith("RegistryManifestDeleteFailed", StringComparison.Ordinal));
        Assert.True(head.Hits > 0);
        Assert.Contains(RegistryFaultTests.ReadJournal(this.Journal), l => l.Digest == this.registry.Digests[victim] && l.Outcome == JournalRecord.PossiblyDeletedOutcome);
        Assert.Equal(["app/web:v1", "app/web:v2", "app/web:v3"], await this.registry.RemainingTagsAsync());

        head.Disable();
        PowerShellResult restored = this.session.Run($"Restore-RegistryImage -JournalPath '{this.Journal}' -Registry '{this.registry.Registry}' -Confirm:$false");

        Assert.Null(restored.Terminating);
        Assert.Empty(restored.Errors);
        Assert.Equal("Restored", Status(Assert.Single(restored.Output, o => RegistryFaultTests.Name(o) == victim)));
        Assert.Equal(FaultRegistry.Tags.Order(StringComparer.Ordinal), await this.registry.RemainingTagsAsync());
        Skopeo.Copy($"docker://{this.registry.Server.BaseAddress.Authority}/app/api:a1", $"dir:{Path.Combine(this.registry.Folder, "pulled")}");
    }

    [Fact]
    public async Task A_delete_refused_with_500_whose_HEAD_fails_is_restored_as_already_present()
    {
        string victim = "app/api:a2";
        this.registry.Proxy.Add("DELETE", this.registry.ManifestPath(victim, byDigest: true), FaultKind.InternalServerError);
        Fault head = this.registry.Proxy.Add("HEAD", this.registry.ManifestPath(victim, byDigest: true), FaultKind.InternalServerError, times: -1);

        PowerShellResult result = this.session.Run($"Remove-UnusedImage {this.Common} -Repository 'app/api' -Confirm:$false -JournalPath '{this.Journal}'");

        Assert.Equal("Failed", Status(Assert.Single(result.Output, o => RegistryFaultTests.Name(o) == victim)));
        Assert.Contains(victim, await this.registry.RemainingTagsAsync());
        head.Disable();

        PowerShellResult restored = this.session.Run($"Restore-RegistryImage -JournalPath '{this.Journal}' -Registry '{this.registry.Registry}' -Confirm:$false");

        Assert.Null(restored.Terminating);
        Assert.Empty(restored.Errors);
        PSObject present = Assert.Single(restored.Output, o => RegistryFaultTests.Name(o) == victim);
        Assert.Equal("Skipped", Status(present));
        Assert.Contains("Already in the registry", present.Properties["Reason"].Value.ToString(), StringComparison.Ordinal);
        Assert.All(restored.Output.Where(o => RegistryFaultTests.Name(o) != victim), o => Assert.Equal("Restored", Status(o)));
        Assert.Equal(FaultRegistry.Tags.Order(StringComparer.Ordinal), await this.registry.RemainingTagsAsync());
    }

    [Fact]
    public async Task A_delete_whose_HEAD_finds_it_present_is_journaled_present_and_not_restored()
    {
        string victim = "app/api:a3";
        this.registry.Proxy.Add("DELETE", this.registry.ManifestPath(victim, byDigest: true), FaultKind.InternalServerError);

        PowerShellResult result = this.session.Run($"Remove-UnusedImage {this.Common} -Repository 'app/api' -Confirm:$false -JournalPath '{this.Journal}'");

        PSObject failed = Assert.Single(result.Output, o => RegistryFaultTests.Name(o) == victim);
        Assert.Equal("Failed", Status(failed));
        Assert.Contains("still there", failed.Properties["Reason"].Value.ToString(), StringComparison.Ordinal);
        JournalRecord outcome = Assert.Single(DeletionJournal.Read(this.Journal), r => r.Kind == JournalRecord.OutcomeKind && r.Digest == this.registry.Digests[victim]);
        Assert.Equal(("Failed", (bool?)true), (outcome.Outcome, outcome.Present));

        PowerShellResult restored = this.session.Run($"Restore-RegistryImage -JournalPath '{this.Journal}' -Registry '{this.registry.Registry}' -Confirm:$false");

        Assert.Empty(restored.Errors);
        Assert.Equal("Skipped", Status(Assert.Single(restored.Output, o => RegistryFaultTests.Name(o) == victim)));
        Assert.Equal(FaultRegistry.Tags.Order(StringComparer.Ordinal), await this.registry.RemainingTagsAsync());
    }

    [Fact]
    public async Task An_old_journal_whose_outcome_is_Failed_for_a_manifest_that_is_gone_is_restored()
    {
        PowerShellResult result = this.session.Run($"Remove-UnusedImage {this.Common} -Repository 'app/api' -Confirm:$false -JournalPath '{this.Journal}'");
        Assert.All(result.Output, o => Assert.Equal("Deleted", Status(o)));

        // As a journal written before the HEAD after a failed DELETE existed: Failed, no marker, no run.
        string[] old = File.ReadAllLines(this.Journal).Select(line =>
        {
            JsonObject record = JsonNode.Parse(line)!.AsObject();
            record.Remove("run");
            if ((string?)record["kind"] == "outcome")
            {
                record["outcome"] = "Failed";
                record["message"] = "The delete of it failed with 500 Internal Server Error: unknown error.";
            }

            return record.ToJsonString();
        }).ToArray();
        File.WriteAllLines(this.Journal, old);

        PowerShellResult restored = this.session.Run($"Restore-RegistryImage -JournalPath '{this.Journal}' -Registry '{this.registry.Registry}' -Confirm:$false");

        Assert.Null(restored.Terminating);
        Assert.Empty(restored.Errors);
        Assert.Equal(3, restored.Output.Count);
        Assert.All(restored.Output, o => Assert.Equal("Restored", Status(o)));
        Assert.Equal(FaultRegistry.Tags.Order(StringComparer.Ordinal), await this.registry.RemainingTagsAsync());
    }

    [Fact]
    public async Task A_torn_last_line_stays_apart_from_the_next_run_and_both_runs_images_restore()
    {
        PowerShellResult first = this.session.Run($"Remove-UnusedImage {this.Common} -Repository 'app/api' -Confirm:$false -JournalPath '{this.Journal}'");
        Assert.All(first.Output, o => Assert.Equal("Deleted", Status(o)));

        // The disk filled up (or the machine died) in the middle of a line.
        string whole = File.ReadAllLines(this.Journal)[0];
        File.AppendAllText(this.Journal, whole[..(whole.Length / 2)]);
        int tornLine = File.ReadAllLines(this.Journal).Length;

        PowerShellResult second = this.session.Run($"Remove-UnusedImage {this.Common} -Repository 'app/web' -Confirm:$false -JournalPath '{this.Journal}'");

        Assert.Null(second.Terminating);
        Assert.Empty(second.Errors);
        Assert.All(second.Output, o => Assert.Equal("Deleted", Status(o)));
        Assert.Contains(second.Warnings, w => w.Contains($"line {tornLine} is not a deletion record", StringComparison.Ordinal));
        Assert.Empty(await this.registry.RemainingTagsAsync());
        JournalContents contents = DeletionJournal.ReadContents(this.Journal);
        Assert.Equal([tornLine], contents.UnreadableLines);
        Assert.Equal(12, contents.Records.Count);

        PowerShellResult restored = this.session.Run($"Restore-RegistryImage -JournalPath '{this.Journal}' -Registry '{this.registry.Registry}' -Confirm:$false");

        Assert.Null(restored.Terminating);
        Assert.Empty(restored.Errors);
        Assert.Contains(restored.Warnings, w => w.Contains(this.Journal, StringComparison.Ordinal) && w.Contains($"line {tornLine} ", StringComparison.Ordinal));
        Assert.Equal(FaultRegistry.Tags.Order(StringComparer.Ordinal), restored.Output.Select(RegistryFaultTests.Name).Order(StringComparer.Ordinal));
        Assert.All(restored.Output, o => Assert.Equal("Restored", Status(o)));
        Assert.Equal(FaultRegistry.Tags.Order(StringComparer.Ordinal), await this.registry.RemainingTagsAsync());
    }

    [Fact]
    public async Task Remove_UnusedImage_with_a_symlink_as_JournalPath_shows_a_clear_error_and_deletes_nothing()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        string elsewhere = Directory.CreateTempSubdirectory("registrycleaner-elsewhere-").FullName;
        try
        {
            string target = Path.Combine(elsewhere, "precious.txt");
            File.WriteAllText(target, "not a journal\n");
            string link = Path.Combine(this.registry.Folder, "deletions.jsonl");
            File.CreateSymbolicLink(link, target);
            var shell = new UserShell(this.registry.Folder);

            UserSession typed = shell.Run($"Remove-UnusedImage -Registry '{this.registry.Registry}' -Repository 'app/*' -InUse @() -JournalPath '{link}' -Confirm:$false");

            Assert.Contains("DeletionJournalUnwritable", typed.ErrorIds);
            Assert.True(typed.Text.Contains("is a symbolic link", StringComparison.Ordinal), typed.ToString());
            Assert.False(typed.LastSucceeded, typed.ToString());
            Assert.Equal("not a journal\n", File.ReadAllText(target));
            Assert.Equal(FaultRegistry.Tags.Order(StringComparer.Ordinal), await this.registry.RemainingTagsAsync());
            Assert.DoesNotContain(this.registry.Proxy.Requests.Keys, k => k.StartsWith("DELETE", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(elsewhere, recursive: true);
        }
    }

    private static string Status(PSObject o) => o.Properties["Status"].Value.ToString()!;
}
