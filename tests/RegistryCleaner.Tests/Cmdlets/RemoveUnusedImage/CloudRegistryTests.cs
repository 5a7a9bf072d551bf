using System.Management.Automation;
using System.Text;
using System.Text.Json;
using RegistryCleaner.Deletion;
using RegistryCleaner.PowerShell;
using RegistryCleaner.Registry;
using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.Graph;

/// <summary>
/// Deleting from registries beyond distribution, without the cloud: the fault proxy answers in front of the real
/// registry as each cloud registry does (<see cref="CloudPersona"/>), from the registry's own files, and forwards what
/// they accept, so the real registry does the deleting and is asked afterwards what stayed. The refusals and their
/// sources:
/// <list type="bullet">
/// <item>Google Artifact Registry refuses a DELETE by digest while tags point at the manifest,
/// <c>400 GOOGLE_MANIFEST_DANGLING_TAG</c>; tags are deleted alone with <c>DELETE /v2/&lt;name&gt;/manifests/&lt;tag&gt;</c>.
/// gcloud's reference (https://cloud.google.com/sdk/gcloud/reference/artifacts/docker/images/delete) lists the same
/// rule: "Trying to delete an image by digest when the image is still tagged" fails unless the tags go too.</item>
/// <item>Amazon ECR refuses to delete an image a manifest list references: the documented image failure code
/// <c>ImageReferencedByManifestList</c> (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_ImageFailure.html),
/// failure reason "Requested image referenced by manifest list: [digest]"; Artifact Registry likewise says the
/// manifest "is referenced by" another.</item>
/// <item>Azure Container Registry refuses a locked image or repository (https://learn.microsoft.com/azure/container-registry/container-registry-image-lock,
/// <c>az acr repository update --delete-enabled false</c>) with <c>DENIED</c> "The operation is disallowed on this
/// registry, repository or image.", and an identity without the AcrDelete role
/// (https://learn.microsoft.com/dotnet/api/azure.provisioning.containerregistry.containerregistrybuiltinrole.acrdelete)
/// with <c>DENIED</c> "requested access to the resource is denied".</item>
/// </list>
/// </summary>
[Collection(GraphImagesCollection.Name)]
public sealed class CloudRegistryTests(GraphImages images)
{
    private const string Env = GraphScenario.Env;

    [Fact]
    public async Task Gar_refusing_a_tagged_digest_gets_the_planned_tags_first_then_the_digest_and_says_nothing_is_left_to_run()
    {
        await using GraphScenario scenario = await this.StartAsync(CloudPersona.Gar);
        StoredManifest b1 = scenario.Stored["b-1"];
        using var session = new PowerShellSession(scenario.Folder);
        string common = $"-Registry '{scenario.Proxy.BaseAddress}' -Repository 'team/*' -InUse {scenario.InUse}";
        long plannedBytes = session.Run($"Get-UnusedImage {common}").Output.Sum(o => (long)o.Properties["ReclaimableBytes"].Value);

        PowerShellResult removed = session.Run($"Remove-UnusedImage {common} -JournalPath gar.jsonl -Confirm:$false");

        Assert.Null(removed.Terminating);
        Assert.Empty(removed.Errors);
        PSObject row = Row(removed, "b-1");
        Assert.Equal("Deleted", row.Properties["Status"].Value.ToString());

        // Refused once by digest while tagged, then the tag alone, then the digest again.
        Assert.Equal(2, scenario.Proxy.Requests[$"DELETE /v2/{Env}/manifests/{b1.Digest}"]);
        Assert.Equal(1, scenario.Proxy.Requests[$"DELETE /v2/{Env}/manifests/b-1"]);
        Assert.False(await scenario.ExistsAsync(Env, b1.Digest));
        Assert.False(await scenario.ExistsAsync(Env, scenario.Stored["nested-old"].Digest));
        Assert.False(await scenario.ExistsAsync(Env, scenario.SchemaTag("b-1", ".sig")));
        Assert.True(await scenario.ExistsAsync(Env, "a-1"));
        Assert.Contains(removed.Information, i => i.Contains("Next: nothing to run; Google Artifact Registry", StringComparison.Ordinal));
        Assert.DoesNotContain(removed.Information, i => i.Contains("Invoke-RegistryGarbageCollection", StringComparison.Ordinal));
        Assert.DoesNotContain(removed.Information, i => i.Contains("after garbage collection", StringComparison.Ordinal));
        Assert.Equal(plannedBytes, scenario.GarbageCollect());
        await scenario.AssertEveryKeptTagPullsWholeAsync();
    }

    [Fact]
    public async Task Gar_a_tag_the_plan_does_not_know_on_the_manifest_keeps_it_and_every_tag()
    {
        await using GraphScenario scenario = await this.StartAsync(CloudPersona.Gar);
        StoredManifest b1 = scenario.Stored["b-1"];

        // Someone pushes 'late' onto b-1's manifest right before its DELETE: GAR refuses, and the tag is new.
        using ImagePusher pusher = await PushLateOntoB1WhenAsync(scenario, b1.Digest);
        using var session = new PowerShellSession(scenario.Folder);

        PSObject row = SkippedB1(Remove(session, scenario, "gar.jsonl"));
        string reason = (string)row.Properties["Reason"].Value;
        Assert.Contains("GOOGLE_MANIFEST_DANGLING_TAG", reason, StringComparison.Ordinal);
        Assert.Contains("Tag late, which the plan does not include, points at it now, so no tag was deleted", reason, StringComparison.Ordinal);
        Assert.False(scenario.Proxy.Requests.ContainsKey($"DELETE /v2/{Env}/manifests/b-1"));
        Assert.True(await scenario.ExistsAsync(Env, "b-1"));
        Assert.True(await scenario.ExistsAsync(Env, "late"));
        Assert.True(await scenario.ExistsAsync(Env, scenario.SchemaTag("b-1", ".sig")));
        await scenario.AssertEveryKeptTagPullsWholeAsync();
    }

    [Fact]
    public async Task Gar_a_digest_delete_failing_after_the_planned_tags_went_puts_them_back()
    {
        await using GraphScenario scenario = await this.StartAsync(CloudPersona.Gar);
        StoredManifest b1 = scenario.Stored["b-1"];

        // Once its tag is gone, every DELETE of the digest fails (retries included): the tag must not stay gone.
        scenario.Proxy.AddHook("DELETE", $"^/v2/{Env}/manifests/b-1$", () =>
        {
            scenario.Proxy.Answer("DELETE", $"^/v2/{Env}/manifests/{b1.Digest}$", 500, """{"errors":[{"code":"UNKNOWN","message":"backend unavailable"}]}""", times: 20);
            return Task.CompletedTask;
        });
        using var session = new PowerShellSession(scenario.Folder);

        PowerShellResult removed = Remove(session, scenario, "gar.jsonl", "-ThrottleLimit 1");

        PSObject row = Row(removed, "b-1");
        Assert.Equal("Failed", row.Properties["Status"].Value.ToString());
        Assert.Contains("Its tags b-1 had been deleted first. Its tags b-1 were put back.", (string)row.Properties["Reason"].Value, StringComparison.Ordinal);
        Assert.Equal(b1.Digest, await HeadAsync(scenario, "b-1"));

        // The put-back is the deleter's own, journaled like any other.
        IReadOnlyList<JournalRecord> journal = DeletionJournal.Read(Path.Combine(scenario.Folder, "gar.jsonl"));
        JournalRecord retag = Assert.Single(journal, r => r.Kind == JournalRecord.RetagKind);
        Assert.Equal((b1.Digest, "Restored"), (retag.Digest, retag.Outcome));
        Assert.Equal(["b-1"], retag.Tags!);
        Assert.Contains("was deleted before", retag.Message, StringComparison.Ordinal);
        await scenario.AssertEveryKeptTagPullsWholeAsync();
    }

    [Fact]
    public async Task Gar_a_tag_arriving_after_the_planned_tags_went_keeps_the_manifest_and_puts_the_planned_tag_back()
    {
        await using GraphScenario scenario = await this.StartAsync(CloudPersona.Gar);
        StoredManifest b1 = scenario.Stored["b-1"];
        using ImagePusher pusher = await PushLateOntoB1WhenAsync(scenario, "b-1");
        using var session = new PowerShellSession(scenario.Folder);

        PSObject row = SkippedB1(Remove(session, scenario, "gar.jsonl"));
        Assert.Contains("Its tags b-1 were put back", (string)row.Properties["Reason"].Value, StringComparison.Ordinal);
        Assert.Equal(2, scenario.Proxy.Requests[$"DELETE /v2/{Env}/manifests/{b1.Digest}"]);
        Assert.Equal(b1.Digest, await HeadAsync(scenario, "b-1"));
        Assert.Equal(b1.Digest, await HeadAsync(scenario, "late"));
        await scenario.AssertEveryKeptTagPullsWholeAsync();
    }

    [Fact]
    public async Task Ecr_refusing_a_child_while_its_index_was_still_known_gets_it_once_more_after_the_index_is_gone()
    {
        await using GraphScenario scenario = await this.StartAsync(CloudPersona.Ecr);
        string multi2 = scenario.Stored["multi2"].Digest;
        string[] platforms = ChildDigests(await ReadAsync(scenario, multi2));
        string ecrBody = $$"""{"errors":[{"code":"ImageReferencedByManifestList","message":"Requested image referenced by manifest list: [{{multi2}}]"}]}""";

        // A replica that has not yet seen the manifest list go: the first DELETE of a platform image is refused.
        Fault lag = scenario.Proxy.Answer("DELETE", $"^/v2/{Env}/manifests/{platforms[0]}$", 400, ecrBody);
        using var session = new PowerShellSession(scenario.Folder);

        PowerShellResult removed = Remove(session, scenario, "ecr.jsonl", "-Verbose");

        Assert.Null(removed.Terminating);
        Assert.Empty(removed.Errors);
        Assert.Equal(1, lag.Hits);
        Assert.Equal(2, scenario.Proxy.Requests[$"DELETE /v2/{Env}/manifests/{platforms[0]}"]);
        Assert.Contains(removed.Verbose, v => v.Contains("on the second attempt, once its index", StringComparison.Ordinal));
        Assert.False(await scenario.ExistsAsync(Env, scenario.Stored["nested-old"].Digest));
        Assert.False(await scenario.ExistsAsync(Env, multi2));
        foreach (string platform in platforms)
        {
            Assert.False(await scenario.ExistsAsync(Env, platform));
        }

        Assert.Contains(removed.Information, i => i.Contains("Next: nothing to run; Amazon ECR", StringComparison.Ordinal));
        await scenario.AssertEveryKeptTagPullsWholeAsync();
    }

    [Fact]
    public async Task Ecr_an_index_the_plan_cannot_see_keeps_the_image_it_references_whole()
    {
        await using GraphScenario scenario = await this.StartAsync(CloudPersona.Ecr);
        StoredManifest b1 = scenario.Stored["b-1"];

        // An untagged index over b-1: the registry API cannot list it, so the plan deletes b-1; distribution would break it.
        byte[] index = Encoding.UTF8.GetBytes($$"""{"schemaVersion":2,"mediaType":"{{MediaTypes.OciIndex}}","manifests":[{"mediaType":"{{b1.MediaType}}","digest":"{{b1.Digest}}","size":{{b1.Size}}}]}""");
        string indexDigest = ImagePusher.Digest(index);
        using (var pusher = new ImagePusher(scenario.Registry.BaseAddress))
        {
            await pusher.PutManifestAsync(Env, indexDigest, index, MediaTypes.OciIndex);
        }

        using var session = new PowerShellSession(scenario.Folder);

        PowerShellResult removed = Remove(session, scenario, "ecr.jsonl");

        Assert.Null(removed.Terminating);
        PSObject row = Row(removed, "b-1");
        Assert.Equal("Skipped", row.Properties["Status"].Value.ToString());
        Assert.Equal(0L, row.Properties["ReclaimableBytes"].Value);
        string reason = (string)row.Properties["Reason"].Value;
        Assert.Contains("ImageReferencedByManifestList", reason, StringComparison.Ordinal);
        Assert.Contains("An index the plan does not delete references it", reason, StringComparison.Ordinal);
        Assert.Equal(nameof(DeleteRefusal.ReferencedByIndex), row.Properties["Refusal"].Value.ToString());
        Assert.Equal(1, scenario.Proxy.Requests[$"DELETE /v2/{Env}/manifests/{b1.Digest}"]);
        Assert.True(await scenario.ExistsAsync(Env, "b-1"));
        Assert.True(await scenario.ExistsAsync(Env, indexDigest));
        ImageTools.Copy($"docker://{scenario.Authority}/{Env}@{indexDigest}", $"oci:{Path.Combine(scenario.Folder, "index")}:kept", all: true);
        await scenario.AssertEveryKeptTagPullsWholeAsync();
    }

    [Fact]
    public async Task Acr_a_locked_image_is_one_error_naming_the_lock_and_the_fix_and_the_others_go()
    {
        await using GraphScenario scenario = await this.StartAsync(CloudPersona.Acr);
        StoredManifest b1 = scenario.Stored["b-1"];
        scenario.Proxy.LockedDigests[b1.Digest] = true;
        using var session = new PowerShellSession(scenario.Folder);

        PowerShellResult removed = Remove(session, scenario, "acr.jsonl");

        Assert.Null(removed.Terminating);
        ErrorRecord error = Assert.Single(removed.Errors);
        Assert.StartsWith(ErrorIds.RegistryImageLocked, error.FullyQualifiedErrorId, StringComparison.Ordinal);
        Assert.Contains("403: DENIED The operation is disallowed on this registry, repository or image.", error.Exception.Message, StringComparison.Ordinal);
        Assert.Contains($"az acr repository update --name 127 --image {Env}@{b1.Digest} --delete-enabled true", error.Exception.Message, StringComparison.Ordinal);
        Assert.Equal(("Failed", nameof(DeleteRefusal.Locked)), (Row(removed, "b-1").Properties["Status"].Value.ToString(), Row(removed, "b-1").Properties["Refusal"].Value.ToString()));
        Assert.Equal("Deleted", Row(removed, "nested-old").Properties["Status"].Value.ToString());
        Assert.Equal(1, scenario.Proxy.Requests[$"DELETE /v2/{Env}/manifests/{b1.Digest}"]);
        Assert.True(await scenario.ExistsAsync(Env, "b-1"));
        Assert.True(await scenario.ExistsAsync(Env, scenario.SchemaTag("b-1", ".sig")));
        Assert.False(await scenario.ExistsAsync(Env, scenario.Stored["nested-old"].Digest));
        Assert.Contains(removed.Information, i => i.Contains("Next: nothing to run; Azure Container Registry", StringComparison.Ordinal));
        await scenario.AssertEveryKeptTagPullsWholeAsync();
    }

    [Fact]
    public async Task Acr_without_the_AcrDelete_role_stops_at_the_first_delete_naming_the_role_and_deletes_nothing()
    {
        await using GraphScenario scenario = await this.StartAsync(CloudPersona.Acr);
        scenario.Proxy.DeniesDelete = true;
        SortedSet<string> before = await scenario.TagsAsync();
        string config = Path.Combine(scenario.Folder, "acr.yaml");
        await File.WriteAllTextAsync(config, "registry:\n  kind: acr\n");
        using var session = new PowerShellSession(scenario.Folder);

        PowerShellResult removed = session.Run($"Remove-UnusedImage -ConfigPath '{config}' -Registry '{scenario.Proxy.BaseAddress}' -Repository 'team/*' -InUse {scenario.InUse} -JournalPath acr.jsonl -Confirm:$false -ThrottleLimit 1");

        // The run stops there (a terminating error): every other delete would be refused alike. One worker, so "the
        // first" is one DELETE; with more, the DELETEs already in flight are refused alike and nothing more is sent.
        ErrorRecord stop = removed.Terminating is IContainsErrorRecord terminating ? terminating.ErrorRecord : Assert.Single(removed.Errors);
        Assert.DoesNotContain(removed.Output, o => o.Properties["Status"]?.Value?.ToString() == "Deleted");
        Assert.StartsWith("RegistryCredentialsRefused", stop.FullyQualifiedErrorId, StringComparison.Ordinal);
        Assert.Contains("DENIED requested access to the resource is denied", stop.Exception.Message, StringComparison.Ordinal);
        Assert.Contains("needs the AcrDelete role", stop.Exception.Message, StringComparison.Ordinal);
        Assert.Single(scenario.Proxy.Requests.Keys, k => k.StartsWith("DELETE ", StringComparison.Ordinal));
        Assert.Equal(before, await scenario.TagsAsync());
    }

    [Fact]
    public async Task Harbor_and_distribution_are_told_from_their_answers_and_each_gets_its_own_next_step()
    {
        await using GraphScenario scenario = await GraphScenario.CreateAsync(images, oci11: true, overwrite: false);
        using (var distribution = new RegistryClient(RegistryEndpoint.Parse(scenario.Registry.Registry)))
        {
            Assert.Equal(RegistryKind.Distribution, await distribution.DetectKindAsync(CancellationToken.None));
        }

        scenario.Proxy.Persona = CloudPersona.Harbor;
        using (var harbor = new RegistryClient(RegistryEndpoint.Parse(scenario.Proxy.BaseAddress.ToString())))
        {
            Assert.Equal(RegistryKind.Harbor, await harbor.DetectKindAsync(CancellationToken.None));
        }

        using var session = new PowerShellSession(scenario.Folder);
        PowerShellResult removed = Remove(session, scenario, "harbor.jsonl", "-Verbose");

        Assert.Null(removed.Terminating);
        Assert.Contains(removed.Information, i => i.Contains("Next: run Harbor's own garbage collection", StringComparison.Ordinal));
        Assert.Contains(removed.Verbose, v => v.Contains("is Harbor (registry.kind auto", StringComparison.Ordinal));

        scenario.Proxy.Persona = CloudPersona.None;
        PowerShellResult again = session.Run($"Remove-UnusedImage -Registry '{scenario.Registry.Registry}' -Repository 'team/*' -InUse {scenario.InUseOf("a-1", "rolling")} -JournalPath plain.jsonl -Confirm:$false");
        Assert.Null(again.Terminating);
        Assert.Contains(again.Information, i => i.Contains("Next: run the registry's garbage-collect with Invoke-RegistryGarbageCollection", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_admin_in_a_fresh_pwsh_sees_gar_deletions_and_that_there_is_nothing_to_run()
    {
        await using GraphScenario scenario = await this.StartAsync(CloudPersona.Gar);
        await File.WriteAllTextAsync(Path.Combine(scenario.Folder, "gar.yaml"), "registry:\n  kind: gar\n");

        UserSession session = new UserShell(scenario.Folder).Run(
            $"Remove-UnusedImage -ConfigPath ./gar.yaml -Registry '{scenario.Proxy.BaseAddress}' -Repository 'team/*' -InUse {scenario.InUse} -JournalPath ./gar.jsonl -Confirm:$false | Format-Table Tag, Status");

        Assert.True(session.LastSucceeded, session.Output);
        Assert.Empty(session.Errors);
        Assert.Contains("b-1 Deleted", session.Text, StringComparison.Ordinal);
        Assert.Contains("Next: nothing to run; Google Artifact Registry", session.Text, StringComparison.Ordinal);
        Assert.False(await scenario.ExistsAsync(Env, scenario.Stored["b-1"].Digest));
        await scenario.AssertEveryKeptTagPullsWholeAsync();
    }

    /// <summary>The scenario every test here starts from: the real registry behind the proxy answering as <paramref name="persona"/>.</summary>
    private async Task<GraphScenario> StartAsync(CloudPersona persona)
    {
        GraphScenario scenario = await GraphScenario.CreateAsync(images, oci11: true, overwrite: false);
        scenario.Proxy.Persona = persona;
        return scenario;
    }

    /// <summary>Remove-UnusedImage through the proxy, with the scenario's usage, journaling to <paramref name="journal"/>.</summary>
    private static PowerShellResult Remove(PowerShellSession session, GraphScenario scenario, string journal, string more = "") =>
        session.Run($"Remove-UnusedImage -Registry '{scenario.Proxy.BaseAddress}' -Repository 'team/*' -InUse {scenario.InUse} -JournalPath {journal} -Confirm:$false {more}".TrimEnd());

    /// <summary>The run ended normally and b-1 stayed: its row.</summary>
    private static PSObject SkippedB1(PowerShellResult removed)
    {
        Assert.Null(removed.Terminating);
        PSObject row = Row(removed, "b-1");
        Assert.Equal("Skipped", row.Properties["Status"].Value.ToString());
        return row;
    }

    /// <summary>Someone pushes the tag 'late' onto b-1's manifest when the DELETE of <paramref name="reference"/> arrives.</summary>
    private static async Task<ImagePusher> PushLateOntoB1WhenAsync(GraphScenario scenario, string reference)
    {
        ManifestContent content = await ReadAsync(scenario, scenario.Stored["b-1"].Digest);
        var pusher = new ImagePusher(scenario.Registry.BaseAddress);
        scenario.Proxy.AddHook("DELETE", $"^/v2/{Env}/manifests/{reference}$", () => pusher.PutManifestAsync(Env, "late", content.Content.ToArray(), content.MediaType));
        return pusher;
    }

    private static PSObject Row(PowerShellResult removed, string tag) => removed.Output.Single(o => (string?)o.Properties["Tag"].Value == tag);

    /// <summary>Where a tag points on the registry itself, past the proxy.</summary>
    private static async Task<string?> HeadAsync(GraphScenario scenario, string tag)
    {
        using var direct = new RegistryClient(RegistryEndpoint.Parse(scenario.Registry.Registry));
        return await direct.HeadManifestAsync(Env, tag, CancellationToken.None);
    }

    private static async Task<ManifestContent> ReadAsync(GraphScenario scenario, string digest)
    {
        using var client = new RegistryClient(RegistryEndpoint.Parse(scenario.Registry.Registry));
        return await client.GetManifestAsync(Env, digest, CancellationToken.None);
    }

    private static string[] ChildDigests(ManifestContent index)
    {
        using JsonDocument document = JsonDocument.Parse(index.Content);
        return [.. document.RootElement.GetProperty("manifests").EnumerateArray().Select(m => m.GetProperty("digest").GetString()!)];
    }
}
