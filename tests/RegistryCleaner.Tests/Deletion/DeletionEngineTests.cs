using RegistryCleaner.Deletion;
using RegistryCleaner.Planning;
using RegistryCleaner.Registry;
using RegistryCleaner.Tests.Infrastructure;
using RegistryCleaner.Tests.Registry;

namespace RegistryCleaner.Tests.Deletion;

public class DeletionEngineTests(DeleteEnabledRegistry registry) : IClassFixture<DeleteEnabledRegistry>, IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("registrycleaner-journal-").FullName;

    public void Dispose()
    {
        Directory.Delete(this.folder, recursive: true);
        GC.SuppressFinalize(this);
    }

    internal static DeletionCandidate Candidate(string registryName, string repository, string? tag, string digest, long bytes = 0, IReadOnlyList<ChildDeletion>? children = null) =>
        new(registryName, repository, tag, digest, MediaTypes.DockerManifest, 0, bytes, null, null, "unused", [], children ?? []);

    [Fact]
    public async Task Two_tags_one_delete_journal_then_restore_puts_both_back()
    {
        using var pusher = new ImagePusher(registry.BaseAddress);
        PushedImage image = await pusher.PushImageAsync("engine/roundtrip", "a", [ImagePusher.Layer(701, 300)]);
        await pusher.TagAsync(image, "b");
        using var client = new RegistryClient(RegistryEndpoint.Parse(registry.Registry));
        var journal = new DeletionJournal(Path.Combine(this.folder, "sub", "j.jsonl"));
        var deleter = new ImageDeleter(client, journal);

        ManifestDeletion result = await deleter.DeleteAsync(
            [Candidate(client.Endpoint.DisplayName, "engine/roundtrip", "a", image.Digest, 900), Candidate(client.Endpoint.DisplayName, "engine/roundtrip", "b", image.Digest)],
            CancellationToken.None);

        Assert.All(result.Images, r => Assert.Equal(DeletionStatus.Deleted, r.Status));
        Assert.Equal(900, result.Images.Sum(r => r.ReclaimableBytes));
        Assert.Equal("deleted with a (same manifest)", result.Images[1].Reason);
        Assert.Null(await client.HeadManifestAsync("engine/roundtrip", image.Digest, CancellationToken.None));
        IReadOnlyList<JournalRecord> records = DeletionJournal.Read(journal.Path);
        Assert.Equal([JournalRecord.AttemptKind, JournalRecord.OutcomeKind], records.Select(r => r.Kind));
        Assert.Equal(["a", "b"], records[0].Tags!);
        Assert.Equal(image.Manifest, Convert.FromBase64String(records[0].Manifest!));

        var restorer = new ImageRestorer(client);
        JournaledImage journaled = Assert.Single(JournaledImage.FromRecords(records));
        IReadOnlyList<ImageRestoreResult> restored = await restorer.RestoreAsync(journaled, CancellationToken.None);
        Assert.All(restored, r => Assert.Equal(RestoreStatus.Restored, r.Status));
        Assert.Equal(image.Digest, await client.HeadManifestAsync("engine/roundtrip", "a", CancellationToken.None));
        Assert.Equal(image.Digest, await client.HeadManifestAsync("engine/roundtrip", "b", CancellationToken.None));
    }

    [Fact]
    public async Task A_moved_tag_is_skipped_and_nothing_is_journaled()
    {
        using var pusher = new ImagePusher(registry.BaseAddress);
        PushedImage planned = await pusher.PushImageAsync("engine/moved", "v1", [ImagePusher.Layer(711, 200)]);
        PushedImage newer = await pusher.PushImageAsync("engine/moved", "v1", [ImagePusher.Layer(712, 200)]);
        using var client = new RegistryClient(RegistryEndpoint.Parse(registry.Registry));
        var journal = new DeletionJournal(Path.Combine(this.folder, "moved.jsonl"));

        ManifestDeletion result = await new ImageDeleter(client, journal).DeleteAsync([Candidate(client.Endpoint.DisplayName, "engine/moved", "v1", planned.Digest, 10)], CancellationToken.None);

        ImageDeletionResult only = Assert.Single(result.Images);
        Assert.Equal(DeletionStatus.Skipped, only.Status);
        Assert.Contains($"tag moved from {planned.Digest} to {newer.Digest}", only.Reason, StringComparison.Ordinal);
        Assert.Equal(0, only.ReclaimableBytes);
        Assert.False(File.Exists(journal.Path));
        Assert.Equal(newer.Digest, await client.HeadManifestAsync("engine/moved", "v1", CancellationToken.None));
        Assert.Equal(planned.Digest, await client.HeadManifestAsync("engine/moved", planned.Digest, CancellationToken.None));
    }

    [Fact]
    public async Task When_the_first_planned_tag_moved_the_other_still_goes_and_the_journal_holds_the_manifest_read_by_digest()
    {
        // The first planned tag is re-read with a GET that also brings the journal's bytes; when it moved, those bytes
        // come by digest, and the DELETE still removes the manifest the other planned tag points at.
        using var pusher = new ImagePusher(registry.BaseAddress);
        PushedImage planned = await pusher.PushImageAsync("engine/firstmoved", "a", [ImagePusher.Layer(715, 200)]);
        await pusher.TagAsync(planned, "b");
        PushedImage newer = await pusher.PushImageAsync("engine/firstmoved", "a", [ImagePusher.Layer(716, 200)]);
        using var client = new RegistryClient(RegistryEndpoint.Parse(registry.Registry));
        var journal = new DeletionJournal(Path.Combine(this.folder, "firstmoved.jsonl"));

        ManifestDeletion result = await new ImageDeleter(client, journal).DeleteAsync(
            [Candidate(client.Endpoint.DisplayName, "engine/firstmoved", "a", planned.Digest, 10), Candidate(client.Endpoint.DisplayName, "engine/firstmoved", "b", planned.Digest)],
            CancellationToken.None);

        Assert.Equal([DeletionStatus.Skipped, DeletionStatus.Deleted], result.Images.Select(r => r.Status));
        Assert.Contains($"tag moved from {planned.Digest} to {newer.Digest}", result.Images[0].Reason, StringComparison.Ordinal);
        IReadOnlyList<JournalRecord> records = DeletionJournal.Read(journal.Path);
        Assert.Equal(["b"], records[0].Tags!);
        Assert.Equal(planned.Manifest, Convert.FromBase64String(records[0].Manifest!));
        Assert.Null(await client.HeadManifestAsync("engine/firstmoved", "b", CancellationToken.None));
        Assert.Equal(newer.Digest, await client.HeadManifestAsync("engine/firstmoved", "a", CancellationToken.None));
    }

    [Fact]
    public async Task A_second_planned_tag_whose_HEAD_fails_leaves_the_manifest_undeleted_and_unjournaled()
    {
        // The first planned tag is re-read with a GET; every further tag of the manifest with a HEAD, which must answer too.
        using var pusher = new ImagePusher(registry.BaseAddress);
        PushedImage planned = await pusher.PushImageAsync("engine/secondhead", "a", [ImagePusher.Layer(718, 200)]);
        await pusher.TagAsync(planned, "b");
        await using FaultProxy proxy = FaultProxy.Start(registry.BaseAddress);
        proxy.Add("HEAD", "^/v2/engine/secondhead/manifests/b$", FaultKind.InternalServerError, times: -1);
        using var client = new RegistryClient(RegistryEndpoint.Parse(proxy.BaseAddress.ToString()));
        var journal = new DeletionJournal(Path.Combine(this.folder, "secondhead.jsonl"));

        ManifestDeletion result = await new ImageDeleter(client, journal).DeleteAsync(
            [Candidate(client.Endpoint.DisplayName, "engine/secondhead", "a", planned.Digest, 10), Candidate(client.Endpoint.DisplayName, "engine/secondhead", "b", planned.Digest)],
            CancellationToken.None);

        Assert.All(result.Images, r => Assert.Equal(DeletionStatus.Failed, r.Status));
        Assert.All(result.Images, r => Assert.StartsWith("Could not re-check", r.Reason, StringComparison.Ordinal));
        Assert.False(File.Exists(journal.Path));
        using var direct = new RegistryClient(RegistryEndpoint.Parse(registry.Registry));
        Assert.Equal(planned.Digest, await direct.HeadManifestAsync("engine/secondhead", "a", CancellationToken.None));
        Assert.Equal(planned.Digest, await direct.HeadManifestAsync("engine/secondhead", "b", CancellationToken.None));
    }

    [Fact]
    public async Task When_the_first_planned_tag_moved_and_the_read_by_digest_fails_nothing_is_deleted_or_journaled()
    {
        // The journal's bytes then come by digest: without them there is no DELETE.
        using var pusher = new ImagePusher(registry.BaseAddress);
        PushedImage planned = await pusher.PushImageAsync("engine/nobytes", "a", [ImagePusher.Layer(719, 200)]);
        await pusher.TagAsync(planned, "b");
        await pusher.PushImageAsync("engine/nobytes", "a", [ImagePusher.Layer(720, 200)]);
        await using FaultProxy proxy = FaultProxy.Start(registry.BaseAddress);
        proxy.Add("GET", $"^/v2/engine/nobytes/manifests/{System.Text.RegularExpressions.Regex.Escape(planned.Digest)}$", FaultKind.InternalServerError, times: -1);
        using var client = new RegistryClient(RegistryEndpoint.Parse(proxy.BaseAddress.ToString()));
        var journal = new DeletionJournal(Path.Combine(this.folder, "nobytes.jsonl"));

        ManifestDeletion result = await new ImageDeleter(client, journal).DeleteAsync(
            [Candidate(client.Endpoint.DisplayName, "engine/nobytes", "a", planned.Digest, 10), Candidate(client.Endpoint.DisplayName, "engine/nobytes", "b", planned.Digest)],
            CancellationToken.None);

        Assert.Equal([DeletionStatus.Skipped, DeletionStatus.Failed], result.Images.Select(r => r.Status));
        Assert.Contains("for the journal, so it was not deleted", result.Images[1].Reason, StringComparison.Ordinal);
        Assert.False(File.Exists(journal.Path));
        using var direct = new RegistryClient(RegistryEndpoint.Parse(registry.Registry));
        Assert.Equal(planned.Digest, await direct.HeadManifestAsync("engine/nobytes", "b", CancellationToken.None));
    }

    [Fact]
    public async Task A_re_read_without_a_digest_header_names_the_manifest_by_its_own_hash_deleting_the_planned_and_skipping_a_moved_tag()
    {
        // Registries that send no Docker-Content-Digest on the GET by tag: the body's own sha256 names what the tag holds.
        using var pusher = new ImagePusher(registry.BaseAddress);
        PushedImage current = await pusher.PushImageAsync("engine/nodigest", "v1", [ImagePusher.Layer(725, 200)]);
        PushedImage planned = await pusher.PushImageAsync("engine/nodigestmoved", "v1", [ImagePusher.Layer(726, 200)]);
        PushedImage newer = await pusher.PushImageAsync("engine/nodigestmoved", "v1", [ImagePusher.Layer(727, 200)]);
        await using FaultProxy proxy = FaultProxy.Start(registry.BaseAddress);
        Fault stillThere = proxy.Add("GET", "^/v2/engine/nodigest/manifests/v1$", FaultKind.WithoutDigestHeader, times: -1);
        Fault moved = proxy.Add("GET", "^/v2/engine/nodigestmoved/manifests/v1$", FaultKind.WithoutDigestHeader, times: -1);
        using var client = new RegistryClient(RegistryEndpoint.Parse(proxy.BaseAddress.ToString()));
        string name = client.Endpoint.DisplayName;

        // The body hashes to the planned digest: deleted, and the journal holds the very bytes of that GET (none by digest).
        var journal = new DeletionJournal(Path.Combine(this.folder, "nodigest.jsonl"));
        // The plan's digests are trusted (as Remove-UnusedImage's just read), so the tag check reads no tag with a HEAD:
        // any HEAD of the tag would be the re-read falling back from a body it could not name.
        ManifestDeletion deleted = await Trusting(client, journal, "engine/nodigest", current.Digest).DeleteAsync([Candidate(name, "engine/nodigest", "v1", current.Digest, 10)], CancellationToken.None);

        Assert.Equal(1, stillThere.Hits);
        ImageDeletionResult only = Assert.Single(deleted.Images);
        Assert.Equal(DeletionStatus.Deleted, only.Status);
        Assert.Equal(10, only.ReclaimableBytes);
        JournalRecord attempt = DeletionJournal.Read(journal.Path)[0];
        Assert.Equal(JournalRecord.AttemptKind, attempt.Kind);
        Assert.Equal(current.Digest, attempt.Digest);
        Assert.Equal(current.Manifest, Convert.FromBase64String(attempt.Manifest!));
        Assert.False(proxy.Requests.ContainsKey($"GET /v2/engine/nodigest/manifests/{current.Digest}"));
        Assert.False(proxy.Requests.ContainsKey("HEAD /v2/engine/nodigest/manifests/v1"), "the tag was re-read with a HEAD, not named by the GET's body");
        using var direct = new RegistryClient(RegistryEndpoint.Parse(registry.Registry));
        Assert.Null(await direct.HeadManifestAsync("engine/nodigest", current.Digest, CancellationToken.None));

        // The body hashes to another digest: the tag moved, so the planned manifest stays and nothing is journaled.
        var untouched = new DeletionJournal(Path.Combine(this.folder, "nodigestmoved.jsonl"));
        ManifestDeletion skipped = await Trusting(client, untouched, "engine/nodigestmoved", planned.Digest).DeleteAsync([Candidate(name, "engine/nodigestmoved", "v1", planned.Digest, 10)], CancellationToken.None);

        Assert.Equal(1, moved.Hits);
        Assert.False(proxy.Requests.ContainsKey("HEAD /v2/engine/nodigestmoved/manifests/v1"), "the tag was re-read with a HEAD, not named by the GET's body");
        ImageDeletionResult movedResult = Assert.Single(skipped.Images);
        Assert.Equal(DeletionStatus.Skipped, movedResult.Status);
        Assert.Contains($"tag moved from {planned.Digest} to {newer.Digest}", movedResult.Reason, StringComparison.Ordinal);
        Assert.Equal(0, movedResult.ReclaimableBytes);
        Assert.False(File.Exists(untouched.Path));
        Assert.DoesNotContain(proxy.Requests.Keys, k => k.StartsWith("DELETE /v2/engine/nodigestmoved/", StringComparison.Ordinal));
        Assert.Equal(planned.Digest, await direct.HeadManifestAsync("engine/nodigestmoved", planned.Digest, CancellationToken.None));
        Assert.Equal(newer.Digest, await direct.HeadManifestAsync("engine/nodigestmoved", "v1", CancellationToken.None));
    }

    private static ImageDeleter Trusting(RegistryClient client, DeletionJournal journal, string repository, string v1) =>
        new(client, journal)
        {
            PlannedTags = new Dictionary<string, IReadOnlyDictionary<string, string>> { [repository] = new Dictionary<string, string> { ["v1"] = v1 } },
            TrustPlannedTags = true,
        };

    [Fact]
    public async Task A_planned_tag_gone_before_its_DELETE_is_NotFound_and_nothing_is_journaled()
    {
        using var pusher = new ImagePusher(registry.BaseAddress);
        PushedImage planned = await pusher.PushImageAsync("engine/gone", "v1", [ImagePusher.Layer(717, 200)]);
        using var client = new RegistryClient(RegistryEndpoint.Parse(registry.Registry));
        Assert.Equal(ManifestDeleteOutcome.Deleted, (await client.DeleteManifestAsync("engine/gone", planned.Digest, CancellationToken.None)).Outcome);
        var journal = new DeletionJournal(Path.Combine(this.folder, "gone.jsonl"));

        ManifestDeletion result = await new ImageDeleter(client, journal).DeleteAsync([Candidate(client.Endpoint.DisplayName, "engine/gone", "v1", planned.Digest, 10)], CancellationToken.None);

        ImageDeletionResult only = Assert.Single(result.Images);
        Assert.Equal(DeletionStatus.NotFound, only.Status);
        Assert.Equal("Tag engine/gone:v1 no longer exists.", only.Reason);
        Assert.False(File.Exists(journal.Path));
    }

    [Fact]
    public async Task A_tag_pushed_onto_the_manifest_since_the_plan_saves_it()
    {
        using var pusher = new ImagePusher(registry.BaseAddress);
        PushedImage image = await pusher.PushImageAsync("engine/newtag", "old", [ImagePusher.Layer(741, 200)]);
        await pusher.TagAsync(image, "released-since");
        using var client = new RegistryClient(RegistryEndpoint.Parse(registry.Registry));
        var journal = new DeletionJournal(Path.Combine(this.folder, "newtag.jsonl"));
        var deleter = new ImageDeleter(client, journal) { PlannedTags = new Dictionary<string, IReadOnlyDictionary<string, string>> { ["engine/newtag"] = new Dictionary<string, string> { ["old"] = image.Digest } } };

        ManifestDeletion result = await deleter.DeleteAsync([Candidate(client.Endpoint.DisplayName, "engine/newtag", "old", image.Digest, 5)], CancellationToken.None);

        ImageDeletionResult only = Assert.Single(result.Images);
        Assert.Equal(DeletionStatus.Skipped, only.Status);
        Assert.Contains("released-since", only.Reason, StringComparison.Ordinal);
        Assert.False(File.Exists(journal.Path));
        Assert.Equal(image.Digest, await client.HeadManifestAsync("engine/newtag", "released-since", CancellationToken.None));
    }

    [Fact]
    public async Task A_kept_tag_moved_onto_the_manifest_since_the_plan_saves_it()
    {
        // A rollback: "prod" is re-pointed at an old build the plan found unused, after the plan was made.
        using var pusher = new ImagePusher(registry.BaseAddress);
        PushedImage old = await pusher.PushImageAsync("engine/rollback", "build-1", [ImagePusher.Layer(751, 200)]);
        PushedImage older = await pusher.PushImageAsync("engine/rollback", "build-0", [ImagePusher.Layer(753, 200)]);
        PushedImage current = await pusher.PushImageAsync("engine/rollback", "prod", [ImagePusher.Layer(752, 200)]);
        using var client = new RegistryClient(RegistryEndpoint.Parse(registry.Registry));
        var journal = new DeletionJournal(Path.Combine(this.folder, "rollback.jsonl"));
        var planned = new Dictionary<string, string> { ["build-1"] = old.Digest, ["build-0"] = older.Digest, ["prod"] = current.Digest };
        var deleter = new ImageDeleter(client, journal) { PlannedTags = new Dictionary<string, IReadOnlyDictionary<string, string>> { ["engine/rollback"] = planned } };
        string name = client.Endpoint.DisplayName;

        await pusher.TagAsync(old, "prod");
        ManifestDeletion first = await deleter.DeleteAsync([Candidate(name, "engine/rollback", "build-1", old.Digest, 5)], CancellationToken.None);

        ImageDeletionResult only = Assert.Single(first.Images);
        Assert.Equal(DeletionStatus.Skipped, only.Status);
        Assert.Contains("tag prod now points at the same manifest", only.Reason, StringComparison.Ordinal);
        Assert.False(File.Exists(journal.Path));
        Assert.Equal(old.Digest, await client.HeadManifestAsync("engine/rollback", "prod", CancellationToken.None));

        // The sweep taken for the first manifest is reused for the next one; the other candidate is deleted.
        ManifestDeletion second = await deleter.DeleteAsync([Candidate(name, "engine/rollback", "build-0", older.Digest, 5)], CancellationToken.None);
        Assert.Equal(DeletionStatus.Deleted, Assert.Single(second.Images).Status);
        Assert.Equal(old.Digest, await client.HeadManifestAsync("engine/rollback", "prod", CancellationToken.None));
        Assert.Equal(old.Digest, await client.HeadManifestAsync("engine/rollback", "build-1", CancellationToken.None));
    }

    [Fact]
    public async Task A_kept_tag_moved_after_the_sweep_is_caught_by_the_next_sweep()
    {
        using var pusher = new ImagePusher(registry.BaseAddress);
        PushedImage a = await pusher.PushImageAsync("engine/resweep", "a", [ImagePusher.Layer(761, 200)]);
        PushedImage b = await pusher.PushImageAsync("engine/resweep", "b", [ImagePusher.Layer(762, 200)]);
        await pusher.PushImageAsync("engine/resweep", "keep", [ImagePusher.Layer(763, 200)]);
        using var client = new RegistryClient(RegistryEndpoint.Parse(registry.Registry));
        var journal = new DeletionJournal(Path.Combine(this.folder, "resweep.jsonl"));
        var deleter = new ImageDeleter(client, journal) { TagSweepInterval = TimeSpan.Zero };
        string name = client.Endpoint.DisplayName;

        Assert.Equal(DeletionStatus.Deleted, Assert.Single((await deleter.DeleteAsync([Candidate(name, "engine/resweep", "a", a.Digest)], CancellationToken.None)).Images).Status);
        await pusher.TagAsync(b, "keep");
        ImageDeletionResult skipped = Assert.Single((await deleter.DeleteAsync([Candidate(name, "engine/resweep", "b", b.Digest)], CancellationToken.None)).Images);
        Assert.Equal(DeletionStatus.Skipped, skipped.Status);
        Assert.Contains("tag keep now points at the same manifest", skipped.Reason, StringComparison.Ordinal);
        Assert.Equal(b.Digest, await client.HeadManifestAsync("engine/resweep", "keep", CancellationToken.None));
    }

    [Fact]
    public async Task An_index_goes_with_its_children_and_comes_back_with_them()
    {
        using var pusher = new ImagePusher(registry.BaseAddress);
        PushedImage amd = await pusher.PushImageAsync("engine/index", null, [ImagePusher.Layer(721, 100)], oci: true);
        PushedImage arm = await pusher.PushImageAsync("engine/index", null, [ImagePusher.Layer(722, 100)], oci: true, platform: "linux/arm64");
        PushedImage index = await pusher.PushIndexAsync("engine/index", "multi", [amd, arm], oci: true);
        using var client = new RegistryClient(RegistryEndpoint.Parse(registry.Registry));
        var journal = new DeletionJournal(Path.Combine(this.folder, "index.jsonl"));
        string name = client.Endpoint.DisplayName;
        DeletionCandidate candidate = Candidate(name, "engine/index", "multi", index.Digest, 1, [
            new ChildDeletion("engine/index", amd.Digest, MediaTypes.OciManifest, index.Digest, 0),
            new ChildDeletion("engine/index", arm.Digest, MediaTypes.OciManifest, index.Digest, 0)]);

        ManifestDeletion result = await new ImageDeleter(client, journal).DeleteAsync([candidate], CancellationToken.None);
        Assert.Equal(DeletionStatus.Deleted, Assert.Single(result.Images).Status);
        Assert.All(result.Children, c => Assert.Equal(DeletionStatus.Deleted, c.Status));
        Assert.Null(await client.HeadManifestAsync("engine/index", amd.Digest, CancellationToken.None));

        JournaledImage journaled = Assert.Single(JournaledImage.FromRecords(DeletionJournal.Read(journal.Path)));
        Assert.Equal(2, journaled.Children.Count);
        IReadOnlyList<ImageRestoreResult> restored = await new ImageRestorer(client).RestoreAsync(journaled, CancellationToken.None);
        Assert.Equal(RestoreStatus.Restored, Assert.Single(restored).Status);
        Assert.Equal(index.Digest, await client.HeadManifestAsync("engine/index", "multi", CancellationToken.None));
        Assert.Equal(arm.Digest, await client.HeadManifestAsync("engine/index", arm.Digest, CancellationToken.None));
    }

    [Fact]
    public async Task Two_concurrent_writers_leave_only_complete_lines()
    {
        string path = Path.Combine(this.folder, "shared.jsonl");
        var first = new DeletionJournal(path);
        var second = new DeletionJournal(path);
        string big = new('x', 20_000);
        async Task Write(DeletionJournal journal, string who)
        {
            for (int i = 0; i < 100; i++)
            {
                await journal.AppendAsync(new JournalRecord(JournalRecord.AttemptKind, DateTimeOffset.UtcNow, who, "r", "sha256:" + i.ToString("x64", System.Globalization.CultureInfo.InvariantCulture), Manifest: big), CancellationToken.None);
            }
        }

        await Task.WhenAll(Task.Run(() => Write(first, "one")), Task.Run(() => Write(second, "two")));

        string[] lines = File.ReadAllLines(path);
        Assert.Equal(200, lines.Length);
        IReadOnlyList<JournalRecord> records = DeletionJournal.Read(path);
        Assert.Equal(100, records.Count(r => r.Registry == "one"));
        Assert.Equal(100, records.Count(r => r.Registry == "two"));
        Assert.All(records, r => Assert.Equal(big, r.Manifest));
    }
}

public class DeletionEngineTokenTests
{
    [Fact]
    public async Task A_token_service_404_during_the_re_read_fails_the_image_without_a_DELETE_and_is_not_NotFound()
    {
        // The registry names its token service through a proxy, so the service can start answering 404 after the plan.
        // A 404 from the token service says nothing about the manifest: only the manifest endpoint's 404 means gone.
        using var issuer = new TokenIssuer();
        await using FaultProxy tokens = FaultProxy.Start(new Uri(issuer.Realm, "/"));
        string realm = $"{tokens.BaseAddress}token";
        using var server = new RegistryServer(new RegistryServerOptions
        {
            Auth = RegistryAuthMode.Token,
            Issuer = issuer,
            Environment = new Dictionary<string, string> { ["REGISTRY_AUTH_TOKEN_REALM"] = realm },
        });
        using var pusher = new ImagePusher(server.BaseAddress, new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", issuer.IssueToken("repository:engine/tokengone:pull,push")));
        PushedImage planned = await pusher.PushImageAsync("engine/tokengone", "v1", [ImagePusher.Layer(728, 200)]);
        await using FaultProxy proxy = FaultProxy.Start(server.BaseAddress);
        var credential = new RegistryCredential(issuer.Username, issuer.Password);
        using var client = new RegistryClient(RegistryEndpoint.Parse(proxy.BaseAddress.ToString()), new RegistryClientOptions { Credential = credential });
        string folder = Directory.CreateTempSubdirectory("registrycleaner-journal-").FullName;
        try
        {
            // Planning reads through the token service; its tokens live 2 s, which the client renews after 1 s, so the
            // re-read after the plan asks the service again (as a run whose confirmations outlast the token's lifetime).
            issuer.ExpiresIn = 2;
            RegistryInventory inventory = await new InventoryReader(client).ReadAllAsync(CancellationToken.None);
            Assert.Equal(planned.Digest, inventory.Tags.Single(static t => t.Repository == "engine/tokengone" && t.Tag == "v1").Digest);
            Assert.True(issuer.TokensIssued > 0);
            await Task.Delay(TimeSpan.FromSeconds(1.5));
            // The service's 404 even carries a MANIFEST_UNKNOWN body: still not the manifest endpoint's answer.
            Fault gone = tokens.Add("GET", "^/token$", FaultKind.NotFound, times: -1);
            var journal = new DeletionJournal(Path.Combine(folder, "tokengone.jsonl"));

            ManifestDeletion result = await new ImageDeleter(client, journal).DeleteAsync(
                [DeletionEngineTests.Candidate(client.Endpoint.DisplayName, "engine/tokengone", "v1", planned.Digest, 10)], CancellationToken.None);

            Assert.True(gone.Hits > 0);
            ImageDeletionResult only = Assert.Single(result.Images);
            Assert.Equal(DeletionStatus.Failed, only.Status);
            Assert.StartsWith("Could not re-check engine/tokengone:v1 before deleting: ", only.Reason, StringComparison.Ordinal);
            Assert.Contains($"the token service {realm} of registry {client.Endpoint.DisplayName} answered 404", only.Reason, StringComparison.Ordinal);
            Assert.Equal(0, only.ReclaimableBytes);
            Assert.DoesNotContain(proxy.Requests.Keys, static k => k.StartsWith("DELETE ", StringComparison.Ordinal));
            Assert.False(File.Exists(journal.Path));

            gone.Disable();
            using var direct = new RegistryClient(RegistryEndpoint.Parse(server.Registry), new RegistryClientOptions { Credential = credential });
            Assert.Equal(planned.Digest, await direct.HeadManifestAsync("engine/tokengone", "v1", CancellationToken.None));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}

public class DeletionEngineDisabledTests(DeleteDisabledRegistry registry) : IClassFixture<DeleteDisabledRegistry>
{
    [Fact]
    public async Task Delete_disabled_stops_the_run_naming_the_setting()
    {
        using var pusher = new ImagePusher(registry.BaseAddress);
        PushedImage image = await pusher.PushImageAsync("engine/nodelete", "v1", [ImagePusher.Layer(731, 100)]);
        using var client = new RegistryClient(RegistryEndpoint.Parse(registry.Registry));
        string path = Path.Combine(Path.GetTempPath(), $"rc-{Guid.NewGuid():N}.jsonl");
        try
        {
            var deleter = new ImageDeleter(client, new DeletionJournal(path));
            RegistryDeleteDisabledException ex = await Assert.ThrowsAsync<RegistryDeleteDisabledException>(() =>
                deleter.DeleteAsync([DeletionEngineTests.Candidate(client.Endpoint.DisplayName, "engine/nodelete", "v1", image.Digest)], CancellationToken.None));
            Assert.Contains("storage.delete.enabled: true", ex.Message, StringComparison.Ordinal);
            Assert.Contains("REGISTRY_STORAGE_DELETE_ENABLED=true", ex.Message, StringComparison.Ordinal);
            Assert.Equal("Failed", DeletionJournal.Read(path)[^1].Outcome);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
