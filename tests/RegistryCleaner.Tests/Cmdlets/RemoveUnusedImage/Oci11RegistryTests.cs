using System.Management.Automation;
using RegistryCleaner.Registry;
using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.Graph;

/// <summary>
/// What an OCI distribution 1.1 registry adds (the referrers API, deleting a tag alone), spoken by the fault proxy
/// from the real registry's own storage, next to distribution 2.8 itself, which has neither: support is found by
/// asking the registry, never from its name.
/// </summary>
[Collection(GraphImagesCollection.Name)]
public sealed class Oci11RegistryTests(GraphImages images)
{
    private const string Env = GraphScenario.Env;

    [Fact]
    public async Task Where_the_registry_lists_referrers_untagged_ones_go_with_their_subject_and_a_kept_image_keeps_its_own()
    {
        await using GraphScenario scenario = await GraphScenario.CreateAsync(images, oci11: true, overwrite: false);
        using var artifacts = new ArtifactPusher(scenario.Registry.BaseAddress);

        // b-1 has three untagged referrers (two pages of the referrers list) and its SBOM one of its own; no index tag lists them.
        StoredManifest second = await artifacts.AttachAsync(Env, scenario.Stored["b-1"], "application/vnd.in-toto+json", 32, tagSchema: false);
        StoredManifest third = await artifacts.AttachAsync(Env, scenario.Stored["b-1"], "application/vnd.cyclonedx+json", 33, tagSchema: false);
        StoredManifest sbomSignature = await artifacts.AttachAsync(Env, scenario.Stored["b-sbom"], "application/vnd.dev.sigstore.bundle.v0.3+json", 34, tagSchema: false);
        Assert.DoesNotContain(scenario.SchemaTag("b-1"), await scenario.TagsAsync());
        using (var plain = new RegistryClient(RegistryEndpoint.Parse(scenario.Registry.Registry)))
        {
            Assert.False(await plain.SupportsReferrersApiAsync(Env, CancellationToken.None));
        }

        using (var proxied = new RegistryClient(RegistryEndpoint.Parse(scenario.Proxy.BaseAddress.ToString())))
        {
            Assert.True(await proxied.SupportsReferrersApiAsync(Env, CancellationToken.None));
        }

        using var session = new PowerShellSession(scenario.Folder);
        string common = $"-Registry '{scenario.Proxy.BaseAddress}' -Repository 'team/*' -InUse {scenario.InUse}";

        PowerShellResult planned = session.Run($"Get-UnusedImage {common} -Verbose");

        Assert.Null(planned.Terminating);
        Assert.Empty(planned.Errors);
        PSObject b1 = planned.Output.Single(o => (string?)o.Properties["Tag"].Value == "b-1");
        string[] referrers = [.. ((IEnumerable<object>)b1.Properties["Referrers"].Value).Select(r => r.ToString()!)];
        Assert.Equal(
            new[] { scenario.Stored["b-sbom"].Digest, second.Digest, third.Digest, sbomSignature.Digest, scenario.SchemaTag("b-1", ".sig") }.Order(StringComparer.Ordinal),
            referrers.Order(StringComparer.Ordinal));
        Assert.Contains("4 untagged referrers (application/spdx+json, application/vnd.cyclonedx+json", (string)b1.Properties["Reason"].Value, StringComparison.Ordinal);
        Assert.Contains(planned.Verbose, v => v.StartsWith($"kept: {Env}:{scenario.SchemaTag("a-1", ".sig")}", StringComparison.Ordinal));
        Assert.True(scenario.Proxy.Requests.ContainsKey($"GET /v2/{Env}/referrers/{scenario.Stored["b-1"].Digest}"));
        long plannedBytes = planned.Output.Sum(o => (long)o.Properties["ReclaimableBytes"].Value);

        PowerShellResult removed = session.Run($"Remove-UnusedImage {common} -JournalPath api.jsonl -Confirm:$false");

        Assert.Null(removed.Terminating);
        Assert.Empty(removed.Errors);
        foreach (StoredManifest gone in new[] { scenario.Stored["b-sbom"], second, third, sbomSignature })
        {
            Assert.False(await scenario.ExistsAsync(Env, gone.Digest));
        }

        Assert.True(await scenario.ExistsAsync(Env, scenario.Stored["a-sbom"].Digest));
        Assert.Equal(plannedBytes, scenario.GarbageCollect());
        await scenario.AssertEveryKeptTagPullsWholeAsync();
    }

    [Fact]
    public async Task Where_the_registry_deletes_tags_alone_a_tag_sharing_a_kept_manifest_is_untagged_and_distribution_2_8_keeps_it()
    {
        await using GraphScenario scenario = await GraphScenario.CreateAsync(images, oci11: true, overwrite: false);
        using (var pusher = new ImagePusher(scenario.Registry.BaseAddress))
        {
            using var artifacts = new ArtifactPusher(scenario.Registry.BaseAddress);
            ManifestContent a1 = await new RegistryClient(RegistryEndpoint.Parse(scenario.Registry.Registry)).GetManifestAsync(Env, "a-1", CancellationToken.None);
            await pusher.PutManifestAsync(Env, "a-old", a1.Content.ToArray(), a1.MediaType);
        }

        using var session = new PowerShellSession(scenario.Folder);
        SortedDictionary<string, string> storage = scenario.StorageHashes();

        // distribution 2.8 itself: the probe answers 400 DIGEST_INVALID, changes nothing, and the tag is kept.
        PowerShellResult direct = session.Run($"Get-UnusedImage -Registry '{scenario.Registry.Registry}' -Repository 'team/*' -InUse {scenario.InUse} -Verbose");
        Assert.Null(direct.Terminating);
        Assert.DoesNotContain(direct.Output, o => (string?)o.Properties["Tag"].Value == "a-old");
        Assert.Contains(direct.Verbose, v => v.Contains("does not delete tags alone", StringComparison.Ordinal));
        Assert.Contains(direct.Verbose, v => v.StartsWith($"kept: {Env}:a-old", StringComparison.Ordinal) && v.Contains("'a-1'", StringComparison.Ordinal));

        // A registry that deletes tags: asked once, and the answer changed nothing either.
        string common = $"-Registry '{scenario.Proxy.BaseAddress}' -Repository 'team/*' -InUse {scenario.InUse}";
        PowerShellResult planned = session.Run($"Get-UnusedImage {common}");
        Assert.Null(planned.Terminating);
        Assert.Equal(storage, scenario.StorageHashes());
        Assert.Single(scenario.Proxy.Requests.Keys, k => k.StartsWith($"DELETE /v2/{Env}/manifests/registrycleaner-probe-", StringComparison.Ordinal));
        PSObject untag = planned.Output.Single(o => (string?)o.Properties["Tag"].Value == "a-old");
        Assert.Equal("Untag", untag.Properties["Action"].Value.ToString());
        Assert.Equal(0L, untag.Properties["ReclaimableBytes"].Value);
        Assert.Contains("also tagged 'a-1'", (string)untag.Properties["Reason"].Value, StringComparison.Ordinal);
        long plannedBytes = planned.Output.Sum(o => (long)o.Properties["ReclaimableBytes"].Value);

        PowerShellResult removed = session.Run($"Remove-UnusedImage {common} -JournalPath untag.jsonl -Confirm:$false");

        Assert.Null(removed.Terminating);
        Assert.Empty(removed.Errors);
        PSObject untagged = removed.Output.Single(o => (string?)o.Properties["Tag"].Value == "a-old");
        Assert.Equal(("Deleted", 0L), (untagged.Properties["Status"].Value.ToString(), (long)untagged.Properties["ReclaimableBytes"].Value));
        Assert.False(await scenario.ExistsAsync(Env, "a-old"));
        Assert.True(await scenario.ExistsAsync(Env, "a-1"));
        Assert.True(await scenario.ExistsAsync(Env, scenario.SchemaTag("a-1", ".sig")));
        RegistryCleaner.Deletion.JournalRecord attempt = RegistryCleaner.Deletion.DeletionJournal.Read(Path.Combine(scenario.Folder, "untag.jsonl"))
            .Single(r => r.Kind == RegistryCleaner.Deletion.JournalRecord.AttemptKind && r.Action == RegistryCleaner.Deletion.JournalRecord.UntagAction);
        Assert.Equal(["a-old"], attempt.Tags!);
        Assert.Equal(plannedBytes, scenario.GarbageCollect());
        await scenario.AssertEveryKeptTagPullsWholeAsync();

        // The journal puts the tag back.
        PowerShellResult restored = session.Run($"Restore-RegistryImage -JournalPath untag.jsonl -Registry '{scenario.Proxy.BaseAddress}' -Confirm:$false");
        Assert.Contains(restored.Output, o => (string)o.Properties["Tag"].Value == "a-old" && o.Properties["Status"].Value.ToString() == "Restored");
        Assert.True(await scenario.ExistsAsync(Env, "a-old"));
    }
}
