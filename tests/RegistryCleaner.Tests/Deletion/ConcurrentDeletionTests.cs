using System.Text.RegularExpressions;
using RegistryCleaner.Deletion;
using RegistryCleaner.Planning;
using RegistryCleaner.Registry;
using RegistryCleaner.Tests.Infrastructure;
using RegistryCleaner.Tests.Registry;

namespace RegistryCleaner.Tests.Deletion;

/// <summary>
/// Several DELETEs in flight in one repository on a real registry: listings are shared, the journal stays exact, and a
/// tag that moves onto a candidate while several DELETEs could take it is never put back onto a guess.
/// </summary>
public sealed class ConcurrentDeletionTests(DeleteEnabledRegistry registry) : IClassFixture<DeleteEnabledRegistry>, IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("registrycleaner-concurrent-").FullName;

    public void Dispose()
    {
        Directory.Delete(this.folder, recursive: true);
        GC.SuppressFinalize(this);
    }

    [Fact]
    public async Task Eight_DELETEs_at_once_in_one_repository_share_their_listings_and_journal_each_attempt_before_its_outcome()
    {
        const string Repo = "concurrent/many";
        using var pusher = new ImagePusher(registry.BaseAddress);
        var images = new List<(string Tag, PushedImage Image)>();
        for (int i = 0; i < 24; i++)
        {
            images.Add(($"t-{i:00}", await pusher.PushImageAsync(Repo, $"t-{i:00}", [ImagePusher.Layer(1100 + i, 100)])));
        }

        PushedImage kept = await pusher.PushImageAsync(Repo, "keep", [ImagePusher.Layer(1199, 100)]);
        await using FaultProxy proxy = FaultProxy.Start(registry.BaseAddress);
        proxy.Add("DELETE", "/manifests/", FaultKind.Slow, times: -1, delay: TimeSpan.FromMilliseconds(200));
        using var client = new RegistryClient(RegistryEndpoint.Parse(proxy.BaseAddress.ToString()), new RegistryClientOptions { MaxConcurrency = 8 });
        var journal = new DeletionJournal(Path.Combine(this.folder, "many.jsonl"));
        var planned = images.ToDictionary(i => i.Tag, i => i.Image.Digest);
        planned["keep"] = kept.Digest;
        var deleter = new ImageDeleter(client, journal)
        {
            PlannedTags = new Dictionary<string, IReadOnlyDictionary<string, string>> { [Repo] = planned },
            TrustPlannedTags = true,
        };
        string name = client.Endpoint.DisplayName;

        using var slots = new SemaphoreSlim(8);
        ManifestDeletion[] results = await Task.WhenAll(images.Select(async item =>
        {
            await slots.WaitAsync();
            try
            {
                return await deleter.DeleteAsync([DeletionEngineTests.Candidate(name, Repo, item.Tag, item.Image.Digest, 10)], CancellationToken.None);
            }
            finally
            {
                slots.Release();
            }
        }));

        Assert.All(results, r => Assert.Equal(DeletionStatus.Deleted, Assert.Single(r.Images).Status));
        Assert.All(results, r => Assert.Empty(r.Problems));
        Assert.All(results, r => Assert.Empty(r.TagsPutBack));
        Assert.Equal(["keep"], await client.ListTagsAsync(Repo, 1000, CancellationToken.None));
        Assert.Equal(kept.Digest, await client.HeadManifestAsync(Repo, "keep", CancellationToken.None));

        // Two listings per DELETE (before and after) unshared; shared, fewer (how many fewer depends on timing).
        Assert.True(deleter.TagListings < 2 * images.Count, $"{deleter.TagListings} listings for {images.Count} DELETEs");

        IReadOnlyList<JournalRecord> records = DeletionJournal.Read(journal.Path);
        foreach ((string tag, PushedImage image) in images)
        {
            int attempt = records.ToList().FindIndex(r => r.Kind == JournalRecord.AttemptKind && r.Digest == image.Digest);
            int outcome = records.ToList().FindIndex(r => r.Kind == JournalRecord.OutcomeKind && r.Digest == image.Digest);
            Assert.True(attempt >= 0 && outcome > attempt, $"{tag}: attempt line {attempt}, outcome line {outcome}");
            Assert.Equal([tag], records[outcome].RemovedTags!);
        }
    }

    [Fact]
    public async Task A_kept_tag_moved_onto_one_of_two_DELETEs_in_flight_is_reported_with_both_digests_and_not_guessed()
    {
        const string Repo = "concurrent/moved";
        using var pusher = new ImagePusher(registry.BaseAddress);
        PushedImage a = await pusher.PushImageAsync(Repo, "a", [ImagePusher.Layer(1201, 100)]);
        PushedImage b = await pusher.PushImageAsync(Repo, "b", [ImagePusher.Layer(1202, 100)]);
        PushedImage c = await pusher.PushImageAsync(Repo, "c", [ImagePusher.Layer(1203, 100)]);
        PushedImage kept = await pusher.PushImageAsync(Repo, "keep", [ImagePusher.Layer(1204, 100)]);
        await using FaultProxy proxy = FaultProxy.Start(registry.BaseAddress);
        string deleteA = $"DELETE /v2/{Repo}/manifests/{a.Digest}";
        string deleteB = $"DELETE /v2/{Repo}/manifests/{b.Digest}";
        proxy.Add("DELETE", $"^/v2/{Regex.Escape(Repo)}/manifests/({Regex.Escape(a.Digest)}|{Regex.Escape(b.Digest)})$", FaultKind.Slow, times: 2, delay: TimeSpan.FromSeconds(3));
        using var client = new RegistryClient(RegistryEndpoint.Parse(proxy.BaseAddress.ToString()));
        var journal = new DeletionJournal(Path.Combine(this.folder, "moved.jsonl"));
        var deleter = new ImageDeleter(client, journal);
        string name = client.Endpoint.DisplayName;

        Task<ManifestDeletion> first = deleter.DeleteAsync([DeletionEngineTests.Candidate(name, Repo, "a", a.Digest, 10)], CancellationToken.None);
        Task<ManifestDeletion> second = deleter.DeleteAsync([DeletionEngineTests.Candidate(name, Repo, "b", b.Digest, 10)], CancellationToken.None);
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!(proxy.Requests.ContainsKey(deleteA) && proxy.Requests.ContainsKey(deleteB)) && waited.Elapsed < TimeSpan.FromSeconds(60))
        {
            await Task.Delay(20);
        }

        // A rollback of keep onto a's image while both DELETEs are on their way: a's DELETE takes it. The listings
        // after them are held until both DELETEs have reached the registry, so no listing tells them apart.
        Assert.True(proxy.Requests.ContainsKey(deleteA) && proxy.Requests.ContainsKey(deleteB), "the DELETEs never came");
        Fault heldListings = proxy.Add("GET", $"^/v2/{Regex.Escape(Repo)}/tags/list", FaultKind.Slow, times: -1, delay: TimeSpan.FromSeconds(4));
        await pusher.TagAsync(a, "keep");
        ManifestDeletion[] results = await Task.WhenAll(first, second);
        heldListings.Disable();

        Assert.All(results, r => Assert.Equal(DeletionStatus.Deleted, Assert.Single(r.Images).Status));
        Assert.All(results, r => Assert.Empty(r.TagsPutBack));
        string problem = Assert.Single(results.SelectMany(r => r.Problems));
        Assert.Contains($"{Repo}:keep", problem, StringComparison.Ordinal);
        Assert.Contains(a.Digest, problem, StringComparison.Ordinal);
        Assert.Contains(b.Digest, problem, StringComparison.Ordinal);
        Assert.Contains($"Restore-RegistryImage -JournalPath '{journal.Path}'", problem, StringComparison.Ordinal);

        // Never put back onto a manifest it cannot be shown to have pointed at; the kept image itself is untouched.
        Assert.Null(await client.HeadManifestAsync(Repo, "keep", CancellationToken.None));
        Assert.Equal(kept.Digest, await client.HeadManifestAsync(Repo, kept.Digest, CancellationToken.None));
        Assert.DoesNotContain(DeletionJournal.Read(journal.Path), r => r.Kind == JournalRecord.RetagKind);

        // The rest of the repository goes one DELETE at a time, and still goes.
        ManifestDeletion third = await deleter.DeleteAsync([DeletionEngineTests.Candidate(name, Repo, "c", c.Digest, 10)], CancellationToken.None);
        Assert.Equal(DeletionStatus.Deleted, Assert.Single(third.Images).Status);
        Assert.Empty(third.Problems);
    }

    [Fact]
    public async Task A_kept_tag_moved_onto_the_only_DELETE_in_flight_is_reported_not_put_back_onto_it()
    {
        const string Repo = "concurrent/single";
        using var pusher = new ImagePusher(registry.BaseAddress);
        PushedImage a = await pusher.PushImageAsync(Repo, "a", [ImagePusher.Layer(1301, 100)]);
        PushedImage kept = await pusher.PushImageAsync(Repo, "keep", [ImagePusher.Layer(1302, 100)]);
        await using FaultProxy proxy = FaultProxy.Start(registry.BaseAddress);
        string deleteA = $"DELETE /v2/{Repo}/manifests/{a.Digest}";
        proxy.Add("DELETE", $"^/v2/{Regex.Escape(Repo)}/manifests/{Regex.Escape(a.Digest)}$", FaultKind.Slow, times: 1, delay: TimeSpan.FromSeconds(2));
        using var client = new RegistryClient(RegistryEndpoint.Parse(proxy.BaseAddress.ToString()));
        var journal = new DeletionJournal(Path.Combine(this.folder, "single.jsonl"));
        var deleter = new ImageDeleter(client, journal);

        Task<ManifestDeletion> run = deleter.DeleteAsync([DeletionEngineTests.Candidate(client.Endpoint.DisplayName, Repo, "a", a.Digest, 10)], CancellationToken.None);
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!proxy.Requests.ContainsKey(deleteA) && waited.Elapsed < TimeSpan.FromSeconds(60))
        {
            await Task.Delay(20);
        }

        await pusher.TagAsync(a, "keep");
        ManifestDeletion result = await run;

        // It was last read on another image that still exists: it may as well have been deleted by someone else, so it
        // is reported with the restore command and journaled, never put onto an image it may never have pointed at.
        Assert.Empty(result.TagsPutBack);
        string problem = Assert.Single(result.Problems);
        Assert.Contains($"{Repo}:keep left the registry while the DELETE of {a.Digest} was in flight, and was not put back.", problem, StringComparison.Ordinal);
        Assert.Contains($"Restore-RegistryImage -JournalPath '{journal.Path}' -Registry '{client.Endpoint.DisplayName}'", problem, StringComparison.Ordinal);
        Assert.Null(await client.HeadManifestAsync(Repo, "keep", CancellationToken.None));
        Assert.Equal(kept.Digest, await client.HeadManifestAsync(Repo, kept.Digest, CancellationToken.None));
        JournalRecord retag = Assert.Single(DeletionJournal.Read(journal.Path), r => r.Kind == JournalRecord.RetagKind);
        Assert.Equal((a.Digest, JournalRecord.NotPutBackOutcome, "keep"), (retag.Digest, retag.Outcome, Assert.Single(retag.Tags!)));
    }

    [Fact]
    public async Task A_tag_read_on_the_manifest_while_its_DELETE_is_in_flight_is_put_back_onto_it()
    {
        const string Repo = "concurrent/own";
        using var pusher = new ImagePusher(registry.BaseAddress);
        PushedImage a = await pusher.PushImageAsync(Repo, "a", [ImagePusher.Layer(1311, 100)]);
        PushedImage x = await pusher.PushImageAsync(Repo, "x", [ImagePusher.Layer(1312, 100)]);
        PushedImage kept = await pusher.PushImageAsync(Repo, "keep", [ImagePusher.Layer(1313, 100)]);
        await using FaultProxy proxy = FaultProxy.Start(registry.BaseAddress);
        string deleteA = $"DELETE /v2/{Repo}/manifests/{a.Digest}";
        proxy.Add("DELETE", $"^/v2/{Regex.Escape(Repo)}/manifests/{Regex.Escape(a.Digest)}$", FaultKind.Slow, times: 1, delay: TimeSpan.FromSeconds(4));
        proxy.Add("DELETE", $"^/v2/{Regex.Escape(Repo)}/manifests/{Regex.Escape(x.Digest)}$", FaultKind.Slow, times: 1, delay: TimeSpan.FromSeconds(1));
        using var client = new RegistryClient(RegistryEndpoint.Parse(proxy.BaseAddress.ToString()));
        var journal = new DeletionJournal(Path.Combine(this.folder, "own.jsonl"));
        var deleter = new ImageDeleter(client, journal)
        {
            PlannedTags = new Dictionary<string, IReadOnlyDictionary<string, string>> { [Repo] = new Dictionary<string, string> { ["a"] = a.Digest, ["x"] = x.Digest, ["keep"] = kept.Digest } },
            TrustPlannedTags = true,
        };
        string name = client.Endpoint.DisplayName;

        // fresh is tagged onto a's image while a's DELETE is held; x's check reads it there before a's DELETE goes through.
        Task<ManifestDeletion> runA = deleter.DeleteAsync([DeletionEngineTests.Candidate(name, Repo, "a", a.Digest, 10)], CancellationToken.None);
        Task<ManifestDeletion> runX = deleter.DeleteAsync([DeletionEngineTests.Candidate(name, Repo, "x", x.Digest, 10)], CancellationToken.None);
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!proxy.Requests.ContainsKey(deleteA) && waited.Elapsed < TimeSpan.FromSeconds(60))
        {
            await Task.Delay(20);
        }

        await pusher.TagAsync(a, "fresh");
        ManifestDeletion[] results = await Task.WhenAll(runA, runX);

        // fresh was last read on a's image, so it pointed at it: it goes back at once, with the manifest.
        Assert.All(results, r => Assert.Empty(r.Problems));
        Assert.Empty(results[1].TagsPutBack);
        TagPutBack putBack = Assert.Single(results[0].TagsPutBack);
        Assert.True(putBack.Restored);
        Assert.Equal(("fresh", a.Digest), (putBack.Tag, putBack.Digest));
        Assert.Contains("when last read and left with its DELETE", putBack.Message, StringComparison.Ordinal);
        Assert.Equal(a.Digest, await client.HeadManifestAsync(Repo, "fresh", CancellationToken.None));
        Assert.Null(await client.HeadManifestAsync(Repo, "a", CancellationToken.None));
        Assert.Equal(kept.Digest, await client.HeadManifestAsync(Repo, "keep", CancellationToken.None));
        JournalRecord retag = Assert.Single(DeletionJournal.Read(journal.Path), r => r.Kind == JournalRecord.RetagKind);
        Assert.Equal((a.Digest, JournalRecord.RestoredOutcome, "fresh"), (retag.Digest, retag.Outcome, Assert.Single(retag.Tags!)));
    }

    [Fact]
    public async Task A_tag_pushed_onto_a_waiting_candidate_while_eight_DELETEs_are_in_flight_keeps_it_with_ThrottleLimit_8()
    {
        const string Repo = "concurrent/cmdlet";
        using var pusher = new ImagePusher(registry.BaseAddress);
        var images = new Dictionary<string, PushedImage>();
        for (int i = 0; i < 12; i++)
        {
            images[$"old-{i:00}"] = await pusher.PushImageAsync(Repo, $"old-{i:00}", [ImagePusher.Layer(1400 + i, 100)]);
        }

        await using FaultProxy proxy = FaultProxy.Start(registry.BaseAddress);
        Fault held = proxy.Add("DELETE", $"^/v2/{Regex.Escape(Repo)}/manifests/", FaultKind.Slow, times: 8, delay: TimeSpan.FromSeconds(3));
        using var session = new PowerShellSession(this.folder);
        using RunningScript run = session.Start(
            $"Remove-UnusedImage -Registry '{proxy.BaseAddress}' -Repository '{Repo}' -InUse @() -MongoUsage:$false -ThrottleLimit 8 -JournalPath cmdlet.jsonl -Confirm:$false");
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (held.Hits < 8 && waited.Elapsed < TimeSpan.FromSeconds(120))
        {
            await Task.Delay(20);
        }

        // Eight DELETEs are held: the pool is full, so the other four are not even re-checked yet.
        Assert.Equal(8, held.Hits);
        (string waitingTag, PushedImage waiting) = images.First(i => !proxy.Requests.ContainsKey($"DELETE /v2/{Repo}/manifests/{i.Value.Digest}"));
        await pusher.TagAsync(waiting, "fresh");
        PowerShellResult result = run.Wait();

        Assert.Null(result.Terminating);
        Assert.Empty(result.Errors);
        Assert.Equal(12, result.Output.Count);
        System.Management.Automation.PSObject skipped = Assert.Single(result.Output, o => o.Properties["Status"].Value.ToString() != "Deleted");
        Assert.Equal((waitingTag, "Skipped"), ((string)skipped.Properties["Tag"].Value, skipped.Properties["Status"].Value.ToString()!));
        Assert.Contains("tag fresh now points at the same manifest", (string)skipped.Properties["Reason"].Value, StringComparison.Ordinal);

        using var client = new RegistryClient(RegistryEndpoint.Parse(registry.Registry));
        Assert.Equal(waiting.Digest, await client.HeadManifestAsync(Repo, "fresh", CancellationToken.None));
        Assert.Equal(["fresh", waitingTag], (await client.ListTagsAsync(Repo, 1000, CancellationToken.None)).Order(StringComparer.Ordinal));
    }
}
