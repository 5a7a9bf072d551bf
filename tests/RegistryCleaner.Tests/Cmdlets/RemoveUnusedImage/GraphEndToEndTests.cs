using System.Management.Automation;
using RegistryCleaner.Registry;
using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.Graph;

/// <summary>
/// The whole graph end to end on a real registry (distribution 2.8, so referrers live under the tag schema): signed
/// images with SBOMs, indexes of indexes, an overwritten tag; after each run garbage collection frees what the plan
/// said and every kept tag, every platform of every kept index, still pulls whole.
/// </summary>
[Collection(GraphImagesCollection.Name)]
public sealed class GraphEndToEndTests(GraphImages images)
{
    private const string Env = GraphScenario.Env;

    private static string[] Names(PowerShellResult result) =>
        [.. result.Output.Select(o => $"{o.Properties["Repository"].Value}:{o.Properties["Tag"].Value ?? "@" + o.Properties["Digest"].Value}").Order(StringComparer.Ordinal)];

    private static string Common(GraphScenario scenario) => $"-Registry '{scenario.Registry.Registry}' -Repository 'team/*' -InUse {scenario.InUse}";

    [Fact]
    public async Task Without_storage_the_sum_is_an_upper_bound_and_garbage_collection_frees_it_less_exactly_the_layer_an_untagged_manifest_shares()
    {
        await using GraphScenario scenario = await GraphScenario.CreateAsync(images);
        using var session = new PowerShellSession(scenario.Folder);
        SortedSet<string> before = await scenario.TagsAsync();

        PowerShellResult planned = session.Run($"Get-UnusedImage {Common(scenario)}");

        Assert.Null(planned.Terminating);
        Assert.Empty(planned.Errors);
        Assert.Equal([$"{Env}:b-1", $"{Env}:nested-old", $"{GraphScenario.Model}:model-1"], Names(planned));
        PSObject b1 = planned.Output.Single(o => (string?)o.Properties["Tag"].Value == "b-1");
        Assert.Equal([scenario.SchemaTag("b-1"), scenario.SchemaTag("b-1", ".sig")], ((IEnumerable<object>)b1.Properties["Referrers"].Value).Select(r => r.ToString()).Order(StringComparer.Ordinal));
        Assert.Contains(scenario.SchemaTag("b-1", ".sig"), (string)b1.Properties["Reason"].Value, StringComparison.Ordinal);
        string warning = Assert.Single(planned.Warnings);
        Assert.Contains("upper bound", warning, StringComparison.Ordinal);
        Assert.Contains("-StoragePath", warning, StringComparison.Ordinal);
        long plannedBytes = planned.Output.Sum(o => (long)o.Properties["ReclaimableBytes"].Value);

        PowerShellResult removed = session.Run($"Remove-UnusedImage {Common(scenario)} -JournalPath upper.jsonl -Confirm:$false");

        Assert.Null(removed.Terminating);
        Assert.Empty(removed.Errors);
        Assert.All(removed.Output, o => Assert.Equal("Deleted", o.Properties["Status"].Value.ToString()));
        string[] gone = [$"{Env}:b-1", $"{Env}:{scenario.SchemaTag("b-1")}", $"{Env}:{scenario.SchemaTag("b-1", ".sig")}", $"{Env}:nested-old", $"{GraphScenario.Model}:model-1"];
        Assert.Equal(before.Except(gone).ToArray(), (await scenario.TagsAsync()).ToArray());
        Assert.False(await scenario.ExistsAsync(Env, scenario.Stored["b-sbom"].Digest));
        Assert.False(await scenario.ExistsAsync(Env, scenario.Stored["multi2"].Digest));
        Assert.True(await scenario.ExistsAsync(Env, scenario.Stored["a-sbom"].Digest));
        Assert.True(await scenario.ExistsAsync(Env, scenario.Stored["multi1"].Digest));

        // The untagged old image of 'rolling' still holds b-1's own layer: garbage collection frees exactly that less.
        long freed = scenario.GarbageCollect();
        Assert.Equal(plannedBytes - scenario.LayerSize(GraphImages.EnvB, -1), freed);
        await scenario.AssertEveryKeptTagPullsWholeAsync();
    }

    [Fact]
    public async Task With_storage_the_untagged_image_is_a_candidate_by_digest_and_garbage_collection_frees_exactly_the_plan()
    {
        await using GraphScenario scenario = await GraphScenario.CreateAsync(images);
        using var session = new PowerShellSession(scenario.Folder);
        string common = $"{Common(scenario)} -StoragePath '{scenario.Registry.StoragePath}'";
        SortedDictionary<string, string> storage = scenario.StorageHashes();

        PowerShellResult planned = session.Run($"Get-UnusedImage {common}");

        Assert.Null(planned.Terminating);
        Assert.Empty(planned.Errors);
        Assert.Empty(planned.Warnings);
        Assert.Equal(storage, scenario.StorageHashes());
        Assert.Equal([$"{Env}:@{scenario.Stored["rolling-old"].Digest}", $"{Env}:b-1", $"{Env}:nested-old", $"{GraphScenario.Model}:model-1"], Names(planned));
        long plannedBytes = planned.Output.Sum(o => (long)o.Properties["ReclaimableBytes"].Value);

        PowerShellResult removed = session.Run($"Remove-UnusedImage {common} -JournalPath exact.jsonl -Confirm:$false");

        Assert.Null(removed.Terminating);
        Assert.Empty(removed.Errors);
        Assert.Equal(4, removed.Output.Count);
        Assert.All(removed.Output, o => Assert.Equal("Deleted", o.Properties["Status"].Value.ToString()));
        Assert.False(await scenario.ExistsAsync(Env, scenario.Stored["rolling-old"].Digest));
        Assert.Equal(scenario.Stored["rolling"].Digest, (await new ArtifactPusher(scenario.Registry.BaseAddress).StatAsync(Env, "rolling")).Digest);
        Assert.Equal(plannedBytes, scenario.GarbageCollect());
        await scenario.AssertEveryKeptTagPullsWholeAsync();
    }

    [Fact]
    public async Task Get_UnusedImage_piped_to_Remove_UnusedImage_deletes_what_it_announced_with_referrers_tagged_their_own_way_and_keeps_a_referrer_in_use()
    {
        await using GraphScenario scenario = await GraphScenario.CreateAsync(images, overwrite: false);
        using var artifacts = new ArtifactPusher(scenario.Registry.BaseAddress);
        using var pusher = new ImagePusher(scenario.Registry.BaseAddress);
        using var client = new RegistryClient(RegistryEndpoint.Parse(scenario.Registry.Registry));

        // b-1's SBOM also carries an ordinary tag, as scanners publish 'sbom-latest'; another SBOM of b-1 is tagged
        // 'sbom-pinned' and a workload uses it.
        ManifestContent sbom = await client.GetManifestAsync(Env, scenario.Stored["b-sbom"].Digest, CancellationToken.None);
        await pusher.PutManifestAsync(Env, "sbom-latest", sbom.Content.ToArray(), sbom.MediaType);
        StoredManifest pinned = await artifacts.AttachAsync(Env, scenario.Stored["b-1"], "application/vnd.cyclonedx+json", 36, tagSchema: false);
        ManifestContent pinnedContent = await client.GetManifestAsync(Env, pinned.Digest, CancellationToken.None);
        await pusher.PutManifestAsync(Env, "sbom-pinned", pinnedContent.Content.ToArray(), pinnedContent.MediaType);
        string common = $"-Registry '{scenario.Registry.Registry}' -Repository 'team/*' -InUse {scenario.InUseOf("a-1", "rolling", "nested-live", "sbom-pinned")}";
        using var session = new PowerShellSession(scenario.Folder);
        SortedSet<string> before = await scenario.TagsAsync();

        PowerShellResult planned = session.Run($"Get-UnusedImage {common}");

        Assert.Null(planned.Terminating);
        Assert.Empty(planned.Errors);
        Assert.Equal([$"{Env}:b-1", $"{Env}:nested-old", $"{GraphScenario.Model}:model-1"], Names(planned));
        PSObject b1 = planned.Output.Single(o => (string?)o.Properties["Tag"].Value == "b-1");
        Assert.Contains("sbom-latest", ((IEnumerable<object>)b1.Properties["Referrers"].Value).Select(r => r.ToString()));
        Assert.Contains("its referrer sbom-pinned stays (", (string)b1.Properties["Reason"].Value, StringComparison.Ordinal);
        long plannedBytes = planned.Output.Sum(o => (long)o.Properties["ReclaimableBytes"].Value);

        PowerShellResult removed = session.Run(
            $"Get-UnusedImage {common} | Remove-UnusedImage -Registry '{scenario.Registry.Registry}' -InUse {scenario.InUseOf("a-1", "rolling", "nested-live", "sbom-pinned")} -JournalPath piped.jsonl -Confirm:$false");

        Assert.Null(removed.Terminating);
        Assert.Empty(removed.Errors);
        Assert.Equal(3, removed.Output.Count);
        Assert.All(removed.Output, o => Assert.Equal("Deleted", o.Properties["Status"].Value.ToString()));
        Assert.Equal(plannedBytes, removed.Output.Sum(o => (long)o.Properties["ReclaimableBytes"].Value));
        string[] gone = [$"{Env}:b-1", $"{Env}:sbom-latest", $"{Env}:{scenario.SchemaTag("b-1")}", $"{Env}:{scenario.SchemaTag("b-1", ".sig")}", $"{Env}:nested-old", $"{GraphScenario.Model}:model-1"];
        Assert.Equal(before.Except(gone).ToArray(), (await scenario.TagsAsync()).ToArray());
        Assert.False(await scenario.ExistsAsync(Env, scenario.Stored["b-sbom"].Digest));
        Assert.Equal(pinned.Digest, (await artifacts.StatAsync(Env, "sbom-pinned")).Digest);
        Assert.Equal(plannedBytes, scenario.GarbageCollect());
        await scenario.AssertEveryKeptTagPullsWholeAsync();
    }

    [Fact]
    public async Task When_a_referrers_DELETE_fails_the_deleted_images_row_counts_only_what_garbage_collection_frees()
    {
        await using GraphScenario scenario = await GraphScenario.CreateAsync(images, overwrite: false);
        string signature = scenario.Stored["b-sig"].Digest;
        Fault refused = scenario.Proxy.Add("DELETE", $"^/v2/{System.Text.RegularExpressions.Regex.Escape(Env)}/manifests/{signature}$", FaultKind.InternalServerError, times: -1);
        string common = $"-Registry '{scenario.Proxy.BaseAddress}' -Repository 'team/*' -Include 'b-*' -InUse {scenario.InUse}";
        using var session = new PowerShellSession(scenario.Folder);
        long plannedBytes = (long)Assert.Single(session.Run($"Get-UnusedImage {common}").Output).Properties["ReclaimableBytes"].Value;

        PowerShellResult removed = session.Run($"Remove-UnusedImage {common} -JournalPath refused.jsonl -Confirm:$false");

        Assert.Null(removed.Terminating);
        Assert.True(refused.Hits > 0);
        System.Management.Automation.ErrorRecord error = Assert.Single(removed.Errors);
        Assert.Equal("RegistryManifestDeleteFailed", error.FullyQualifiedErrorId.Split(',')[0]);
        PSObject row = Assert.Single(removed.Output);
        Assert.Equal(("b-1", "Deleted"), ((string)row.Properties["Tag"].Value, row.Properties["Status"].Value.ToString()));
        long rowBytes = (long)row.Properties["ReclaimableBytes"].Value;
        Assert.True(rowBytes < plannedBytes, $"{rowBytes} < {plannedBytes}");
        Assert.Contains($"{signature} did not go with it", (string)row.Properties["Reason"].Value, StringComparison.Ordinal);

        // The signature stays with its tag, and keeps its own blobs: the row counts exactly what is freed.
        Assert.True(await scenario.ExistsAsync(Env, scenario.SchemaTag("b-1", ".sig")));
        Assert.False(await scenario.ExistsAsync(Env, scenario.Stored["b-sbom"].Digest));
        Assert.Equal(rowBytes, scenario.GarbageCollect());
        await scenario.AssertEveryKeptTagPullsWholeAsync();
    }

    [Fact]
    public async Task A_deleted_image_comes_back_from_the_journal_with_its_signature_and_SBOM()
    {
        await using GraphScenario scenario = await GraphScenario.CreateAsync(images);
        using var session = new PowerShellSession(scenario.Folder);
        PowerShellResult removed = session.Run($"Remove-UnusedImage {Common(scenario)} -Include 'b-*' -JournalPath b.jsonl -Confirm:$false");
        Assert.Null(removed.Terminating);
        Assert.Equal("Deleted", Assert.Single(removed.Output).Properties["Status"].Value.ToString());
        Assert.False(await scenario.ExistsAsync(Env, scenario.SchemaTag("b-1", ".sig")));

        PowerShellResult restored = session.Run($"Restore-RegistryImage -JournalPath b.jsonl -Registry '{scenario.Registry.Registry}' -Confirm:$false");

        Assert.Null(restored.Terminating);
        Assert.Empty(restored.Errors);
        Assert.Equal(["b-1", scenario.SchemaTag("b-1"), scenario.SchemaTag("b-1", ".sig")], restored.Output.Select(o => (string)o.Properties["Tag"].Value).Order(StringComparer.Ordinal));
        Assert.All(restored.Output, o => Assert.Equal("Restored", o.Properties["Status"].Value.ToString()));
        using var artifacts = new ArtifactPusher(scenario.Registry.BaseAddress);
        Assert.Equal(scenario.Stored["b-1"].Digest, (await artifacts.StatAsync(Env, "b-1")).Digest);
        Assert.Equal(scenario.Stored["b-sig"].Digest, (await artifacts.StatAsync(Env, scenario.SchemaTag("b-1", ".sig"))).Digest);
        Assert.True(await scenario.ExistsAsync(Env, scenario.Stored["b-sbom"].Digest));
        await scenario.AssertEveryKeptTagPullsWholeAsync();
    }

    [Fact]
    public async Task Get_RegistryImage_shows_what_a_referrer_refers_to_and_the_leaves_of_nested_indexes()
    {
        await using GraphScenario scenario = await GraphScenario.CreateAsync(images, overwrite: false);
        using var session = new PowerShellSession(scenario.Folder);

        PowerShellResult result = session.Run($"Get-RegistryImage -Registry '{scenario.Registry.Registry}' -Repository {Env}");

        Assert.Null(result.Terminating);
        Assert.Empty(result.Errors);
        PSObject Row(string tag) => result.Output.Single(o => (string)o.Properties["Tag"].Value == tag);
        string a1 = scenario.Stored["a-1"].Digest;
        Assert.Equal((a1, ArtifactPusher.CosignLayer), ((string)Row(scenario.SchemaTag("a-1", ".sig")).Properties["Subject"].Value, (string)Row(scenario.SchemaTag("a-1", ".sig")).Properties["ArtifactType"].Value));
        Assert.Equal(a1, (string)Row(scenario.SchemaTag("a-1")).Properties["Subject"].Value);
        Assert.Null(Row("a-1").Properties["Subject"].Value);
        Assert.Null(Row("a-1").Properties["ArtifactType"].Value);

        PSObject live = Row("nested-live");
        Assert.Equal(scenario.ImageBytes(GraphImages.Multi1, GraphImages.EnvC), (long)live.Properties["Size"].Value);
        Assert.Equal(["linux/amd64", "linux/arm64"], ((IEnumerable<object>)live.Properties["Platforms"].Value).Select(p => p.ToString()).Order(StringComparer.Ordinal));
        PSObject old = Row("nested-old");
        Assert.Equal(scenario.ImageBytes(GraphImages.Multi2), (long)old.Properties["Size"].Value);
        Assert.Equal(2, (int)old.Properties["LayerCount"].Value);
    }
}
