using System.Text.RegularExpressions;
using RegistryCleaner.Deletion;
using RegistryCleaner.Registry;
using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.Graph;

/// <summary>
/// Rule 10 on a real registry: a tag that leaves while a DELETE of ours is in flight (held by the fault proxy) and was
/// last known on another manifest that still exists is never put back onto the deleted manifest, on any registry: it
/// may have been moved onto it (a rollback) and gone with our DELETE, or been deleted by someone else, alone or with an
/// image it was moved onto, and a tag on an image it never pointed at is silent while a lost tag is loud and restorable.
/// It is reported with the restore commands (which work as printed) and journaled NotPutBack. A tag last known on the
/// deleted manifest itself pointed at it, so it goes back at once.
/// </summary>
[Collection(GraphImagesCollection.Name)]
public sealed class TagPutBackTests(GraphImages images)
{
    private const string Env = GraphScenario.Env;
    private const string ProbeDelete = $"DELETE /v2/{Env}/manifests/registrycleaner-probe-";

    [Fact]
    public async Task On_distribution_2_a_rollback_taken_by_a_DELETE_is_reported_not_put_back_and_the_printed_restore_commands_bring_it_back()
    {
        await using GraphScenario scenario = await GraphScenario.CreateAsync(images, overwrite: false);
        using var client = new RegistryClient(RegistryEndpoint.Parse(scenario.Registry.Registry));
        using var pusher = new ImagePusher(scenario.Registry.BaseAddress);
        (ManifestContent a1, ManifestContent b1, string inUse, string delete) = await ProdOnA1Async(client, pusher, scenario);
        scenario.Proxy.Add("DELETE", $"^/v2/{Regex.Escape(Env)}/manifests/{Regex.Escape(b1.Digest)}$", FaultKind.Slow, times: 1, delay: TimeSpan.FromSeconds(3));
        using var session = new PowerShellSession(scenario.Folder);

        // A rollback of prod onto b-1's image, after every check and before the DELETE reaches the registry.
        PowerShellResult result = await RollBackProdWhileDeletingAsync(session, scenario, pusher, b1, delete,
            $"Remove-UnusedImage -Registry '{scenario.Proxy.BaseAddress}' -Repository 'team/*' -Include 'b-*' -InUse {inUse} -JournalPath put.jsonl -Confirm:$false");

        string report = AssertNotPutBack(result, b1.Digest, a1.Digest, "put.jsonl");
        Assert.Contains("which still exists", report, StringComparison.Ordinal);
        System.Management.Automation.PSObject row = Assert.Single(result.Output);
        Assert.Equal(("b-1", "Deleted"), ((string)row.Properties["Tag"].Value, row.Properties["Status"].Value.ToString()!));

        // Whether the registry deletes tags alone no longer matters, so it is not asked.
        Assert.DoesNotContain(scenario.Proxy.Requests.Keys, k => k.StartsWith(ProbeDelete, StringComparison.Ordinal));
        Assert.Null(await client.HeadManifestAsync(Env, "prod", CancellationToken.None));
        Assert.False(await scenario.ExistsAsync(Env, b1.Digest));
        AssertJournaledNotPutBack(scenario, "put.jsonl", b1.Digest);

        // The admin knows prod had been rolled back: the restore command typed as printed, answering Yes to its one
        // question, puts b-1's image back, and the skopeo command as printed points prod at it.
        string restore = Regex.Match(report, @"Restore-RegistryImage -JournalPath '(?:[^']|'')*' -Registry '(?:[^']|'')*'").Value;
        Assert.Equal($"Restore-RegistryImage -JournalPath '{Path.Combine(scenario.Folder, "put.jsonl")}' -Registry '{scenario.Proxy.BaseAddress}'", restore);
        (int exit, string shown) = RunAnswering(scenario.Folder, restore, "Y\n");
        Assert.True(exit == 0, shown);
        Assert.Contains(b1.Digest, shown, StringComparison.Ordinal);
        Assert.Equal(b1.Digest, await client.HeadManifestAsync(Env, b1.Digest, CancellationToken.None));
        Assert.Equal(b1.Digest, await client.HeadManifestAsync(Env, "b-1", CancellationToken.None));
        Assert.Null(await client.HeadManifestAsync(Env, "prod", CancellationToken.None));
        string[] skopeo = [.. report.Split('\n').Single(l => l.StartsWith("skopeo copy ", StringComparison.Ordinal))["skopeo copy ".Length..].Split(' ')];
        Assert.Equal(2, skopeo.Length);
        ImageTools.Copy(skopeo[0], skopeo[1]);
        Assert.Equal(b1.Digest, await client.HeadManifestAsync(Env, "prod", CancellationToken.None));
        await scenario.AssertEveryKeptTagPullsWholeAsync();
    }

    [Fact]
    public async Task On_distribution_2_a_tag_moved_elsewhere_and_deleted_with_that_image_during_a_DELETE_is_reported_never_put_onto_the_deleted_image()
    {
        // Another client moves prod onto a new image c and deletes c by digest the moment b-1's DELETE arrives: prod
        // never pointed at b-1, and distribution 2.8, which cannot delete a tag alone, lost it all the same.
        await using GraphScenario scenario = await GraphScenario.CreateAsync(images, overwrite: false);
        using var client = new RegistryClient(RegistryEndpoint.Parse(scenario.Registry.Registry));
        using var pusher = new ImagePusher(scenario.Registry.BaseAddress);
        (ManifestContent a1, ManifestContent b1, string inUse, _) = await ProdOnA1Async(client, pusher, scenario);
        using var session = new PowerShellSession(scenario.Folder);

        PowerShellResult result = RemoveB1While(session, scenario, b1, inUse, "moved.jsonl", async () =>
        {
            PushedImage c = await pusher.PushImageAsync(Env, "prod", [ImagePusher.Layer(903, 200)], oci: true);
            Assert.Equal(ManifestDeleteOutcome.Deleted, (await client.DeleteManifestAsync(Env, c.Digest, CancellationToken.None)).Outcome);
        });

        string report = AssertNotPutBack(result, b1.Digest, a1.Digest, "moved.jsonl");
        Assert.DoesNotContain("RegistryTagPutBack", string.Join(" ", result.Errors.Select(e => e.FullyQualifiedErrorId)), StringComparison.Ordinal);
        Assert.Contains("or been deleted by someone else", report, StringComparison.Ordinal);
        System.Management.Automation.PSObject row = Assert.Single(result.Output);
        Assert.Equal(("b-1", "Deleted"), ((string)row.Properties["Tag"].Value, row.Properties["Status"].Value.ToString()!));
        Assert.True((long)row.Properties["ReclaimableBytes"].Value > 0);

        // prod stays deleted, as whoever deleted it wanted, and b-1's image is gone: nothing points prod at it.
        Assert.Null(await client.HeadManifestAsync(Env, "prod", CancellationToken.None));
        Assert.False(await scenario.ExistsAsync(Env, b1.Digest));
        Assert.True(await scenario.ExistsAsync(Env, a1.Digest));
        AssertJournaledNotPutBack(scenario, "moved.jsonl", b1.Digest);
        await scenario.AssertEveryKeptTagPullsWholeAsync();
    }

    [Fact]
    public async Task A_tag_whose_last_known_image_cannot_be_read_after_a_DELETE_is_reported_neither_put_back_nor_taken_as_gone()
    {
        // prod is rolled back onto b-1 during its DELETE, and the HEAD of a-1 that should tell whether a-1 still exists fails.
        await using GraphScenario scenario = await GraphScenario.CreateAsync(images, overwrite: false);
        using var client = new RegistryClient(RegistryEndpoint.Parse(scenario.Registry.Registry));
        using var pusher = new ImagePusher(scenario.Registry.BaseAddress);
        (ManifestContent a1, ManifestContent b1, string inUse, _) = await ProdOnA1Async(client, pusher, scenario);
        using var session = new PowerShellSession(scenario.Folder);

        PowerShellResult result = RemoveB1While(session, scenario, b1, inUse, "unread.jsonl", async () =>
        {
            scenario.Proxy.Add("HEAD", $"^/v2/{Regex.Escape(Env)}/manifests/{Regex.Escape(a1.Digest)}$", FaultKind.InternalServerError, times: -1);
            await pusher.PutManifestAsync(Env, "prod", b1.Content.ToArray(), b1.MediaType);
        });

        string report = AssertNotPutBack(result, b1.Digest, a1.Digest, "unread.jsonl");
        Assert.Contains("which could not be read now (", report, StringComparison.Ordinal);
        Assert.Equal("Deleted", Assert.Single(result.Output).Properties["Status"].Value.ToString());
        Assert.Null(await client.HeadManifestAsync(Env, "prod", CancellationToken.None));
        AssertJournaledNotPutBack(scenario, "unread.jsonl", b1.Digest);
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
        using RunningScript run = await StartUntilAsync(session, scenario, delete,
            $"Remove-UnusedImage -Registry '{scenario.Proxy.BaseAddress}' -Repository 'team/*' -Include 'b-*' -InUse {scenario.InUse} -JournalPath ghost.jsonl -Confirm:$false");

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
    public async Task A_rollback_taken_by_a_DELETE_whose_answer_was_lost_is_reported_not_put_back_when_the_manifest_cannot_be_seen_after_it()
    {
        await using GraphScenario scenario = await GraphScenario.CreateAsync(images, overwrite: false);
        using var client = new RegistryClient(RegistryEndpoint.Parse(scenario.Registry.Registry));
        using var pusher = new ImagePusher(scenario.Registry.BaseAddress);
        (ManifestContent a1, ManifestContent b1, string inUse, string delete) = await ProdOnA1Async(client, pusher, scenario);

        // The registry deletes, the answer is lost, and the HEAD that should tell what happened fails too.
        scenario.Proxy.Add("DELETE", $"^/v2/{Regex.Escape(Env)}/manifests/{Regex.Escape(b1.Digest)}$", FaultKind.LoseResponse, times: 1, delay: TimeSpan.FromSeconds(3));
        scenario.Proxy.Add("HEAD", $"^/v2/{Regex.Escape(Env)}/manifests/{Regex.Escape(b1.Digest)}$", FaultKind.InternalServerError, times: -1);
        using var session = new PowerShellSession(scenario.Folder);
        // A rollback of prod onto b-1's image while the DELETE is on its way.
        PowerShellResult result = await RollBackProdWhileDeletingAsync(session, scenario, pusher, b1, delete,
            $"Remove-UnusedImage -Registry '{scenario.Proxy.BaseAddress}' -Repository 'team/*' -Include 'b-*' -InUse {inUse} -JournalPath lost.jsonl -Confirm:$false");

        Assert.Null(result.Terminating);
        Assert.DoesNotContain(result.Errors, e => e.FullyQualifiedErrorId.StartsWith("RegistryTagPutBack", StringComparison.Ordinal));
        System.Management.Automation.ErrorRecord error = Assert.Single(result.Errors, e => e.FullyQualifiedErrorId.StartsWith("RegistryTagCheckFailed,", StringComparison.Ordinal));
        Assert.Contains($"{Env}:prod left the registry while the DELETE of {b1.Digest} was in flight", error.Exception.Message, StringComparison.Ordinal);
        Assert.Equal("Failed", Assert.Single(result.Output).Properties["Status"].Value.ToString());
        Assert.Null(await client.HeadManifestAsync(Env, "prod", CancellationToken.None));
        Assert.True(await scenario.ExistsAsync(Env, a1.Digest));

        IReadOnlyList<JournalRecord> journal = DeletionJournal.Read(Path.Combine(scenario.Folder, "lost.jsonl"));
        JournalRecord outcome = Assert.Single(journal, r => r.Kind == JournalRecord.OutcomeKind);
        Assert.Equal(JournalRecord.PossiblyDeletedOutcome, outcome.Outcome);
        Assert.Equal(["b-1"], outcome.RemovedTags!);
        JournalRecord retag = Assert.Single(journal, r => r.Kind == JournalRecord.RetagKind);
        Assert.Equal(("prod", JournalRecord.NotPutBackOutcome), (Assert.Single(retag.Tags!), retag.Outcome));
        await scenario.AssertEveryKeptTagPullsWholeAsync();
    }

    [Fact]
    public async Task Where_the_registry_deletes_tags_alone_a_tag_untagged_during_a_DELETE_is_not_put_back_onto_the_deleted_image()
    {
        // The proxy deletes tags alone as distribution 3 does; someone untags prod (on a-1) the moment b-1's DELETE arrives.
        await using GraphScenario scenario = await GraphScenario.CreateAsync(images, oci11: true, overwrite: false);
        using var client = new RegistryClient(RegistryEndpoint.Parse(scenario.Registry.Registry));
        using var pusher = new ImagePusher(scenario.Registry.BaseAddress);
        (ManifestContent a1, ManifestContent b1, string inUse, _) = await ProdOnA1Async(client, pusher, scenario);
        using var other = new RegistryClient(RegistryEndpoint.Parse(scenario.Proxy.BaseAddress.ToString()));
        using var session = new PowerShellSession(scenario.Folder);

        PowerShellResult result = RemoveB1While(session, scenario, b1, inUse, "untag.jsonl", async () =>
            Assert.Equal(ManifestDeleteOutcome.Deleted, (await other.DeleteTagAsync(Env, "prod", CancellationToken.None)).Outcome));

        string report = AssertNotPutBack(result, b1.Digest, a1.Digest, "untag.jsonl");
        Assert.Contains("or been deleted by someone else", report, StringComparison.Ordinal);
        Assert.DoesNotContain(scenario.Proxy.Requests.Keys, k => k.StartsWith(ProbeDelete, StringComparison.Ordinal));
        System.Management.Automation.PSObject row = Assert.Single(result.Output);
        Assert.Equal(("b-1", "Deleted"), ((string)row.Properties["Tag"].Value, row.Properties["Status"].Value.ToString()!));
        Assert.True((long)row.Properties["ReclaimableBytes"].Value > 0);

        // prod stays deleted, as whoever deleted it wanted; b-1's image is gone with its tag alone.
        Assert.Null(await client.HeadManifestAsync(Env, "prod", CancellationToken.None));
        Assert.False(await scenario.ExistsAsync(Env, b1.Digest));
        Assert.True(await scenario.ExistsAsync(Env, a1.Digest));
        AssertJournaledNotPutBack(scenario, "untag.jsonl", b1.Digest);
        await scenario.AssertEveryKeptTagPullsWholeAsync();
    }

    [Fact]
    public async Task On_Harbor_a_rollback_taken_by_a_DELETE_is_reported_with_a_restore_command_that_works()
    {
        // Harbor deletes tags alone, so a tag that left cannot be shown to have gone with our DELETE, even when it did.
        await using GraphScenario scenario = await GraphScenario.CreateAsync(images, oci11: true, overwrite: false);
        scenario.Proxy.Persona = CloudPersona.Harbor;
        using var client = new RegistryClient(RegistryEndpoint.Parse(scenario.Registry.Registry));
        using var pusher = new ImagePusher(scenario.Registry.BaseAddress);
        (ManifestContent a1, ManifestContent b1, string inUse, _) = await ProdOnA1Async(client, pusher, scenario);
        using var session = new PowerShellSession(scenario.Folder);

        PowerShellResult result = RemoveB1While(session, scenario, b1, inUse, "harbor.jsonl", () => pusher.PutManifestAsync(Env, "prod", b1.Content.ToArray(), b1.MediaType));

        AssertNotPutBack(result, b1.Digest, a1.Digest, "harbor.jsonl");
        Assert.DoesNotContain(scenario.Proxy.Requests.Keys, k => k.StartsWith(ProbeDelete, StringComparison.Ordinal));
        Assert.Null(await client.HeadManifestAsync(Env, "prod", CancellationToken.None));
        AssertJournaledNotPutBack(scenario, "harbor.jsonl", b1.Digest);

        // The admin knows prod had been rolled back: the two commands of the report put it back where it was.
        PowerShellResult restored = session.Run($"Restore-RegistryImage -JournalPath harbor.jsonl -Registry '{scenario.Proxy.BaseAddress}' -Confirm:$false");
        Assert.Empty(restored.Errors);
        string?[] tags = [.. restored.Output.Select(o => (string?)o.Properties["Tag"].Value)];
        Assert.Contains("b-1", tags);
        Assert.DoesNotContain("prod", tags);
        Assert.Null(await client.HeadManifestAsync(Env, "prod", CancellationToken.None));
        ImageTools.Copy($"docker://{scenario.Authority}/{Env}@{b1.Digest}", $"docker://{scenario.Authority}/{Env}:prod");
        Assert.Equal(b1.Digest, await client.HeadManifestAsync(Env, "prod", CancellationToken.None));
        await scenario.AssertEveryKeptTagPullsWholeAsync();
    }

    /// <summary>prod pushed onto a-1's image and in use; returns both images, the usage and b-1's DELETE as the proxy counts it.</summary>
    private static async Task<(ManifestContent A1, ManifestContent B1, string InUse, string Delete)> ProdOnA1Async(RegistryClient client, ImagePusher pusher, GraphScenario scenario)
    {
        ManifestContent a1 = await client.GetManifestAsync(Env, "a-1", CancellationToken.None);
        ManifestContent b1 = await client.GetManifestAsync(Env, "b-1", CancellationToken.None);
        await pusher.PutManifestAsync(Env, "prod", a1.Content.ToArray(), a1.MediaType);
        return (a1, b1, scenario.InUseOf("a-1", "rolling", "nested-live", "prod"), $"DELETE /v2/{Env}/manifests/{b1.Digest}");
    }

    /// <summary>Runs the command and, once <paramref name="delete"/> has reached the proxy, points prod at b-1's image.</summary>
    private static async Task<PowerShellResult> RollBackProdWhileDeletingAsync(
        PowerShellSession session, GraphScenario scenario, ImagePusher pusher, ManifestContent b1, string delete, string command)
    {
        using RunningScript run = await StartUntilAsync(session, scenario, delete, command);
        await pusher.PutManifestAsync(Env, "prod", b1.Content.ToArray(), b1.MediaType);
        return run.Wait();
    }

    /// <summary>Starts the command and returns once <paramref name="delete"/> has reached the proxy.</summary>
    private static async Task<RunningScript> StartUntilAsync(PowerShellSession session, GraphScenario scenario, string delete, string command)
    {
        RunningScript run = session.Start(command);
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!scenario.Proxy.Requests.ContainsKey(delete) && waited.Elapsed < TimeSpan.FromSeconds(60))
        {
            await Task.Delay(20);
        }

        Assert.True(scenario.Proxy.Requests.ContainsKey(delete), "the DELETE never came");
        return run;
    }

    /// <summary>Removes the b-* images through the proxy, running <paramref name="atDelete"/> when b-1's DELETE arrives there.</summary>
    private static PowerShellResult RemoveB1While(PowerShellSession session, GraphScenario scenario, ManifestContent b1, string inUse, string journal, Func<Task> atDelete)
    {
        scenario.Proxy.AddHook("DELETE", $"^/v2/{Regex.Escape(Env)}/manifests/{Regex.Escape(b1.Digest)}$", atDelete);
        return session.Run(
            $"Remove-UnusedImage -Registry '{scenario.Proxy.BaseAddress}' -Repository 'team/*' -Include 'b-*' -InUse {inUse} -JournalPath {journal} -Confirm:$false");
    }

    /// <summary>
    /// One error, not a put-back: it names prod, the deleted manifest whole once and then short, where prod was last
    /// read, and the two commands that restore it, the skopeo one on its own line; returns its message.
    /// </summary>
    private static string AssertNotPutBack(PowerShellResult result, string deleted, string lastKnown, string journal)
    {
        Assert.Null(result.Terminating);
        System.Management.Automation.ErrorRecord error = Assert.Single(result.Errors);
        Assert.Equal("RegistryTagCheckFailed", error.FullyQualifiedErrorId.Split(',')[0]);
        string message = error.Exception.Message;
        string shortDeleted = deleted[..19] + "\u2026";
        Assert.Contains($"{Env}:prod left the registry while the DELETE of {deleted} was in flight, and was not put back.", message, StringComparison.Ordinal);
        Assert.Contains($"It pointed at {lastKnown[..19]}\u2026 when last read", message, StringComparison.Ordinal);
        Assert.Contains($"-JournalPath '", message, StringComparison.Ordinal);
        Assert.Contains($"{journal}' -Registry '", message, StringComparison.Ordinal);
        Assert.Contains($"offers every image this run deleted, one confirmation each; answer Yes for {shortDeleted} only, then:\nskopeo copy docker://", message, StringComparison.Ordinal);
        Assert.Contains($"@{deleted} docker://", message, StringComparison.Ordinal);
        Assert.EndsWith($"/{Env}:prod\nIf it was deleted on purpose, nothing is to be done.", message, StringComparison.Ordinal);

        // The full digest twice only: once in words, once in the skopeo command that needs it whole.
        Assert.Equal(2, Regex.Matches(message, Regex.Escape(deleted)).Count);
        Assert.DoesNotContain("-Confirm:$false", message, StringComparison.Ordinal);
        return message;
    }

    /// <summary>Runs what an admin typed in a fresh pwsh that can ask questions, with <paramref name="answers"/> typed at its prompts.</summary>
    private static (int Exit, string Shown) RunAnswering(string folder, string typed, string answers)
    {
        string script = Path.Combine(folder, $"typed-{Guid.NewGuid():N}.ps1");
        File.WriteAllText(script, $"Import-Module '{UserShell.ModuleManifest.Replace("'", "''", StringComparison.Ordinal)}'\nSet-Location -LiteralPath '{folder.Replace("'", "''", StringComparison.Ordinal)}'\n{typed}\n");
        var start = new System.Diagnostics.ProcessStartInfo("dotnet")
        {
            WorkingDirectory = UserShell.RepositoryRoot,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in (string[])["pwsh", "-NoProfile", "-File", script])
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["NO_COLOR"] = "1";
        using System.Diagnostics.Process process = System.Diagnostics.Process.Start(start)!;
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> errors = process.StandardError.ReadToEndAsync();
        process.StandardInput.Write(answers);
        process.StandardInput.Close();
        if (!process.WaitForExit(TimeSpan.FromMinutes(4)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{typed} did not finish in time.");
        }

        process.WaitForExit();
        return (process.ExitCode, output.Result + errors.Result);
    }

    /// <summary>The journal says prod was not put back, and leaves it out of what a restore puts back.</summary>
    private static void AssertJournaledNotPutBack(GraphScenario scenario, string journal, string deleted)
    {
        IReadOnlyList<JournalRecord> records = DeletionJournal.Read(Path.Combine(scenario.Folder, journal));
        JournalRecord retag = Assert.Single(records, r => r.Kind == JournalRecord.RetagKind);
        Assert.Equal((deleted, JournalRecord.NotPutBackOutcome), (retag.Digest, retag.Outcome));
        Assert.Equal(["prod"], retag.Tags!);
        Assert.Equal(["b-1"], records.Single(r => r.Kind == JournalRecord.OutcomeKind && r.Digest == deleted).RemovedTags!);
        Assert.NotNull(records.Single(r => r.Kind == JournalRecord.AttemptKind && r.Digest == deleted).Manifest);
    }
}
