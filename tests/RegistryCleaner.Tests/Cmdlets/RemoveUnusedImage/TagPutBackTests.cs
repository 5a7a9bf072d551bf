using System.Text.RegularExpressions;
using RegistryCleaner.Deletion;
using RegistryCleaner.Registry;
using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.Graph;

/// <summary>
/// Rule 10 on a real registry: a kept tag moved onto a candidate's manifest after the last check (here while the
/// DELETE is on its way, held by the fault proxy) leaves with the DELETE; the tag list read right after shows it, and
/// it is put back at once from the journal, reported as an error naming it, and journaled.
/// </summary>
[Collection(GraphImagesCollection.Name)]
public sealed class TagPutBackTests(GraphImages images)
{
    private const string Env = GraphScenario.Env;

    [Fact]
    public async Task A_kept_tag_that_left_with_a_DELETE_is_put_back_at_once_reported_and_journaled()
    {
        await using GraphScenario scenario = await GraphScenario.CreateAsync(images, overwrite: false);
        using var client = new RegistryClient(RegistryEndpoint.Parse(scenario.Registry.Registry));
        using var pusher = new ImagePusher(scenario.Registry.BaseAddress);
        ManifestContent a1 = await client.GetManifestAsync(Env, "a-1", CancellationToken.None);
        ManifestContent b1 = await client.GetManifestAsync(Env, "b-1", CancellationToken.None);
        await pusher.PutManifestAsync(Env, "prod", a1.Content.ToArray(), a1.MediaType);
        string inUse = scenario.InUseOf("a-1", "rolling", "nested-live", "prod");
        string delete = $"DELETE /v2/{Env}/manifests/{b1.Digest}";
        scenario.Proxy.Add("DELETE", $"^/v2/{Regex.Escape(Env)}/manifests/{Regex.Escape(b1.Digest)}$", FaultKind.Slow, times: 1, delay: TimeSpan.FromSeconds(3));
        using var session = new PowerShellSession(scenario.Folder);

        using RunningScript run = session.Start(
            $"Remove-UnusedImage -Registry '{scenario.Proxy.BaseAddress}' -Repository 'team/*' -Include 'b-*' -InUse {inUse} -JournalPath put.jsonl -Confirm:$false");
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!scenario.Proxy.Requests.ContainsKey(delete) && waited.Elapsed < TimeSpan.FromSeconds(60))
        {
            await Task.Delay(20);
        }

        // A rollback of prod onto b-1's image, after every check and before the DELETE reaches the registry.
        Assert.True(scenario.Proxy.Requests.ContainsKey(delete), "the DELETE never came");
        await pusher.PutManifestAsync(Env, "prod", b1.Content.ToArray(), b1.MediaType);
        PowerShellResult result = run.Wait();

        Assert.Null(result.Terminating);
        System.Management.Automation.ErrorRecord error = Assert.Single(result.Errors);
        Assert.Equal("RegistryTagPutBack", error.FullyQualifiedErrorId.Split(',')[0]);
        Assert.Contains($"{Env}:prod", error.Exception.Message, StringComparison.Ordinal);
        System.Management.Automation.PSObject row = Assert.Single(result.Output);
        Assert.Equal(("b-1", "Deleted", 0L), ((string)row.Properties["Tag"].Value, row.Properties["Status"].Value.ToString()!, (long)row.Properties["ReclaimableBytes"].Value));
        Assert.Contains("prod", (string)row.Properties["Reason"].Value, StringComparison.Ordinal);

        // prod points at b-1's image again, which stays with its signature and SBOM; only the tag b-1 is gone.
        Assert.Equal(b1.Digest, await client.HeadManifestAsync(Env, "prod", CancellationToken.None));
        Assert.False(await scenario.ExistsAsync(Env, "b-1"));
        Assert.True(await scenario.ExistsAsync(Env, scenario.SchemaTag("b-1", ".sig")));
        Assert.True(await scenario.ExistsAsync(Env, scenario.Stored["b-sbom"].Digest));

        IReadOnlyList<JournalRecord> journal = DeletionJournal.Read(Path.Combine(scenario.Folder, "put.jsonl"));
        JournalRecord outcome = Assert.Single(journal, r => r.Kind == JournalRecord.OutcomeKind);
        Assert.Equal(["b-1", "prod"], outcome.RemovedTags!.Order(StringComparer.Ordinal));
        JournalRecord retag = Assert.Single(journal, r => r.Kind == JournalRecord.RetagKind);
        Assert.Equal(["prod"], retag.Tags!);
        Assert.Equal("Restored", retag.Outcome);

        Assert.Equal(0, scenario.GarbageCollect());
        await scenario.AssertEveryKeptTagPullsWholeAsync();

        // A later restore from the journal brings every tag the DELETE took, b-1 too.
        PowerShellResult restored = session.Run($"Restore-RegistryImage -JournalPath put.jsonl -Registry '{scenario.Proxy.BaseAddress}' -Confirm:$false");
        Assert.Empty(restored.Errors);
        Assert.Equal(["b-1", "prod"], restored.Output.Select(o => (string)o.Properties["Tag"].Value).Order(StringComparer.Ordinal));
        Assert.Equal(b1.Digest, await client.HeadManifestAsync(Env, "b-1", CancellationToken.None));
    }

    [Fact]
    public async Task A_tag_already_gone_at_the_last_check_that_vanishes_during_a_DELETE_is_not_put_back_onto_the_deleted_image()
    {
        await using GraphScenario scenario = await GraphScenario.CreateAsync(images, overwrite: false);
        using var client = new RegistryClient(RegistryEndpoint.Parse(scenario.Registry.Registry));
        using var pusher = new ImagePusher(scenario.Registry.BaseAddress);
        PushedImage ghost = await pusher.PushImageAsync(Env, "ghost", [ImagePusher.Layer(901, 200)], oci: true);
        string b1 = (await client.GetManifestAsync(Env, "b-1", CancellationToken.None)).Digest;
        string delete = $"DELETE /v2/{Env}/manifests/{b1}";

        // The listing still shows 'ghost' while its manifest answers 404 (another run deleting it, or a stale listing);
        // its manifest is gone by the time the tags are listed after our DELETE.
        scenario.Proxy.Add("HEAD", $"^/v2/{Regex.Escape(Env)}/manifests/ghost$", FaultKind.NotFound, times: -1);
        scenario.Proxy.Add("DELETE", $"^/v2/{Regex.Escape(Env)}/manifests/{Regex.Escape(b1)}$", FaultKind.Slow, times: 1, delay: TimeSpan.FromSeconds(3));
        using var session = new PowerShellSession(scenario.Folder);
        using RunningScript run = session.Start(
            $"Remove-UnusedImage -Registry '{scenario.Proxy.BaseAddress}' -Repository 'team/*' -Include 'b-*' -InUse {scenario.InUse} -JournalPath ghost.jsonl -Confirm:$false");
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!scenario.Proxy.Requests.ContainsKey(delete) && waited.Elapsed < TimeSpan.FromSeconds(60))
        {
            await Task.Delay(20);
        }

        Assert.True(scenario.Proxy.Requests.ContainsKey(delete), "the DELETE never came");
        Assert.Equal(ManifestDeleteOutcome.Deleted, (await client.DeleteManifestAsync(Env, ghost.Digest, CancellationToken.None)).Outcome);
        PowerShellResult result = run.Wait();

        Assert.Null(result.Terminating);
        Assert.Empty(result.Errors);
        System.Management.Automation.PSObject row = Assert.Single(result.Output);
        Assert.Equal(("b-1", "Deleted"), ((string)row.Properties["Tag"].Value, row.Properties["Status"].Value.ToString()!));
        Assert.True((long)row.Properties["ReclaimableBytes"].Value > 0);
        Assert.False(await scenario.ExistsAsync(Env, "ghost"));
        Assert.False(await scenario.ExistsAsync(Env, b1));
        IReadOnlyList<JournalRecord> journal = DeletionJournal.Read(Path.Combine(scenario.Folder, "ghost.jsonl"));
        Assert.DoesNotContain(journal, r => r.Kind == JournalRecord.RetagKind);
        Assert.Equal(["b-1"], journal.Single(r => r.Kind == JournalRecord.OutcomeKind && r.Digest == b1).RemovedTags!);
    }

    [Fact]
    public async Task A_kept_tag_that_left_with_a_DELETE_whose_answer_was_lost_is_put_back_when_the_manifest_cannot_be_seen_after_it()
    {
        await using GraphScenario scenario = await GraphScenario.CreateAsync(images, overwrite: false);
        using var client = new RegistryClient(RegistryEndpoint.Parse(scenario.Registry.Registry));
        using var pusher = new ImagePusher(scenario.Registry.BaseAddress);
        ManifestContent a1 = await client.GetManifestAsync(Env, "a-1", CancellationToken.None);
        ManifestContent b1 = await client.GetManifestAsync(Env, "b-1", CancellationToken.None);
        await pusher.PutManifestAsync(Env, "prod", a1.Content.ToArray(), a1.MediaType);
        string inUse = scenario.InUseOf("a-1", "rolling", "nested-live", "prod");
        string delete = $"DELETE /v2/{Env}/manifests/{b1.Digest}";

        // The registry deletes, the answer is lost, and the HEAD that should tell what happened fails too.
        scenario.Proxy.Add("DELETE", $"^/v2/{Regex.Escape(Env)}/manifests/{Regex.Escape(b1.Digest)}$", FaultKind.LoseResponse, times: 1, delay: TimeSpan.FromSeconds(3));
        scenario.Proxy.Add("HEAD", $"^/v2/{Regex.Escape(Env)}/manifests/{Regex.Escape(b1.Digest)}$", FaultKind.InternalServerError, times: -1);
        using var session = new PowerShellSession(scenario.Folder);
        using RunningScript run = session.Start(
            $"Remove-UnusedImage -Registry '{scenario.Proxy.BaseAddress}' -Repository 'team/*' -Include 'b-*' -InUse {inUse} -JournalPath lost.jsonl -Confirm:$false");
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!scenario.Proxy.Requests.ContainsKey(delete) && waited.Elapsed < TimeSpan.FromSeconds(60))
        {
            await Task.Delay(20);
        }

        // A rollback of prod onto b-1's image while the DELETE is on its way.
        Assert.True(scenario.Proxy.Requests.ContainsKey(delete), "the DELETE never came");
        await pusher.PutManifestAsync(Env, "prod", b1.Content.ToArray(), b1.MediaType);
        PowerShellResult result = run.Wait();

        Assert.Null(result.Terminating);
        Assert.Contains(result.Errors, e => e.FullyQualifiedErrorId.StartsWith("RegistryTagPutBack,", StringComparison.Ordinal) && e.Exception.Message.Contains($"{Env}:prod", StringComparison.Ordinal));
        Assert.Equal("Failed", Assert.Single(result.Output).Properties["Status"].Value.ToString());
        Assert.Equal(b1.Digest, await client.HeadManifestAsync(Env, "prod", CancellationToken.None));

        IReadOnlyList<JournalRecord> journal = DeletionJournal.Read(Path.Combine(scenario.Folder, "lost.jsonl"));
        JournalRecord outcome = Assert.Single(journal, r => r.Kind == JournalRecord.OutcomeKind);
        Assert.Equal(["b-1", "prod"], outcome.RemovedTags!.Order(StringComparer.Ordinal));
        Assert.Equal(["prod"], Assert.Single(journal, r => r.Kind == JournalRecord.RetagKind).Tags!);
        Assert.Equal(0, scenario.GarbageCollect());
        await scenario.AssertEveryKeptTagPullsWholeAsync();
    }
}
