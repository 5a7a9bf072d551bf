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
    public async Task A_tag_pushed_onto_the_manifest_since_the_plan_saves_it()
    {
        using var pusher = new ImagePusher(registry.BaseAddress);
        PushedImage image = await pusher.PushImageAsync("engine/newtag", "old", [ImagePusher.Layer(741, 200)]);
        await pusher.TagAsync(image, "released-since");
        using var client = new RegistryClient(RegistryEndpoint.Parse(registry.Registry));
        var journal = new DeletionJournal(Path.Combine(this.folder, "newtag.jsonl"));
        var deleter = new ImageDeleter(client, journal) { PlannedTags = new Dictionary<string, IReadOnlySet<string>> { ["engine/newtag"] = new HashSet<string> { "old" } } };

        ManifestDeletion result = await deleter.DeleteAsync([Candidate(client.Endpoint.DisplayName, "engine/newtag", "old", image.Digest, 5)], CancellationToken.None);

        ImageDeletionResult only = Assert.Single(result.Images);
        Assert.Equal(DeletionStatus.Skipped, only.Status);
        Assert.Contains("released-since", only.Reason, StringComparison.Ordinal);
        Assert.False(File.Exists(journal.Path));
        Assert.Equal(image.Digest, await client.HeadManifestAsync("engine/newtag", "released-since", CancellationToken.None));
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
                await journal.AppendAsync(new JournalRecord(JournalRecord.AttemptKind, DateTimeOffset.UtcNow, who, "r", $"sha256:{i}", Manifest: big), CancellationToken.None);
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
