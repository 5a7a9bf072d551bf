using System.Management.Automation;
using RegistryCleaner.Registry;
using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.Deletion;

/// <summary>The deletion cmdlets end to end: a real registry, a Kubernetes API stand-in, a hosted PowerShell session.</summary>
public sealed class RemoveUnusedImageTests : IAsyncLifetime
{
    private DeletionScenario scenario = null!;
    private KubernetesApiStandIn cluster = null!;
    private PowerShellSession session = null!;

    /// <summary>Gets the error that stopped the cmdlet (a statement-terminating error lands in the error stream of a script).</summary>
    internal static ErrorRecord StoppingError(PowerShellResult result) =>
        result.Terminating is IContainsErrorRecord terminating ? terminating.ErrorRecord : Assert.Single(result.Errors);

    private string KubeConfig => Path.Combine(this.scenario.Folder, "kubeconfig");

    // These tests are about Kubernetes usage: Domino's records (read by default in Domino repositories) are opted out.
    private string Common => $"-Registry '{this.scenario.Registry.Registry}' -Repository 'dominodatalab/*' -KubeConfig '{this.KubeConfig}' -MongoUsage:$false";

    public async Task InitializeAsync()
    {
        this.scenario = await DeletionScenario.CreateAsync();
        this.cluster = await KubernetesApiStandIn.StartAsync();
        this.cluster.Add(this.scenario.Workloads);
        this.cluster.WriteKubeConfig(this.KubeConfig);
        this.session = new PowerShellSession(this.scenario.Folder);
    }

    public async Task DisposeAsync()
    {
        this.session.Dispose();
        await this.cluster.DisposeAsync();
        this.scenario.Dispose();
    }

    [Fact]
    public async Task WhatIf_changes_no_byte_writes_no_journal_and_sums_what_Get_UnusedImage_plans()
    {
        SortedDictionary<string, string> before = this.scenario.StorageHashes();
        PowerShellResult planned = this.session.Run($"Get-UnusedImage {this.Common}");
        Assert.Null(planned.Terminating);
        long plannedBytes = planned.Output.Sum(o => (long)o.Properties["ReclaimableBytes"].Value);

        PowerShellResult result = this.session.Run($"Remove-UnusedImage {this.Common} -WhatIf");

        Assert.Null(result.Terminating);
        Assert.Empty(result.Output);
        Assert.Equal(before, this.scenario.StorageHashes());
        Assert.False(Directory.Exists(Path.Combine(this.scenario.Folder, "reports")));
        string summary = Assert.Single(result.Information);
        Assert.Contains($"would delete {this.scenario.UnusedTags.Count} images", summary, StringComparison.Ordinal);
        Assert.Contains($"({plannedBytes} bytes)", summary, StringComparison.Ordinal);
        await Task.CompletedTask;
    }

    [Fact]
    public async Task A_real_run_deletes_exactly_the_unused_set_and_garbage_collection_frees_exactly_the_planned_bytes()
    {
        PowerShellResult planned = this.session.Run($"Get-UnusedImage {this.Common} -Verbose");
        Assert.Null(planned.Terminating);
        Assert.Equal(this.scenario.UnusedTags.Order(), planned.Output.Select(o => $"{o.Properties["Repository"].Value}:{o.Properties["Tag"].Value}").Order());
        Assert.Contains(planned.Verbose, v => v.StartsWith("kept: dominodatalab/model:kept-b", StringComparison.Ordinal));
        long plannedBytes = planned.Output.Sum(o => (long)o.Properties["ReclaimableBytes"].Value);

        string journal = Path.Combine(this.scenario.Folder, "journal.jsonl");
        PowerShellResult result = this.session.Run($"Remove-UnusedImage {this.Common} -JournalPath '{journal}' -Confirm:$false");

        Assert.Null(result.Terminating);
        Assert.Empty(result.Errors);
        Assert.All(result.Output, o => Assert.Equal("Deleted", o.Properties["Status"].Value.ToString()));
        Assert.Equal("RegistryCleaner.ImageDeletion", result.Output[0].TypeNames[0]);
        Assert.Equal(this.scenario.UnusedTags.Order(), result.Output.Select(o => $"{o.Properties["Repository"].Value}:{o.Properties["Tag"].Value}").Order());
        Assert.Contains(result.Output, o => (string)o.Properties["Reason"].Value == "deleted with twin-a (same manifest)");
        Assert.Equal(plannedBytes, result.Output.Sum(o => (long)o.Properties["ReclaimableBytes"].Value));
        Assert.Contains(journal, Assert.Single(result.Information), StringComparison.Ordinal);

        using var client = new RegistryClient(RegistryEndpoint.Parse(this.scenario.Registry.Registry));
        foreach (string name in this.scenario.AllTags.Append("other/app:v1"))
        {
            string[] parts = name.Split(':');
            IReadOnlyList<string> tags = await client.ListTagsAsync(parts[0]);
            Assert.Equal(!this.scenario.UnusedTags.Contains(name), tags.Contains(parts[1]));
        }

        long bytesBefore = this.scenario.Registry.BlobBytes();
        this.scenario.Registry.RunGarbageCollect();
        Assert.Equal(plannedBytes, bytesBefore - this.scenario.Registry.BlobBytes());
    }

    [Fact]
    public async Task Deleted_images_come_back_from_the_journal_with_the_same_digests()
    {
        string journal = Path.Combine(this.scenario.Folder, "roundtrip.jsonl");
        PowerShellResult deleted = this.session.Run($"Remove-UnusedImage {this.Common} -JournalPath '{journal}' -Confirm:$false");
        Assert.Null(deleted.Terminating);

        PowerShellResult restored = this.session.Run($"Restore-RegistryImage -JournalPath '{journal}' -Registry '{this.scenario.Registry.Registry}' -Confirm:$false");

        Assert.Null(restored.Terminating);
        Assert.Empty(restored.Errors);
        Assert.Equal("RegistryCleaner.ImageRestore", restored.Output[0].TypeNames[0]);
        Assert.All(restored.Output, o => Assert.Equal("Restored", o.Properties["Status"].Value.ToString()));
        using var client = new RegistryClient(RegistryEndpoint.Parse(this.scenario.Registry.Registry));
        foreach (string name in this.scenario.UnusedTags)
        {
            string[] parts = name.Split(':');
            Assert.Equal(this.scenario.Images[name].Digest, await client.HeadManifestAsync(parts[0], parts[1], CancellationToken.None));
        }

        foreach (PushedImage child in this.scenario.Images[$"{DeletionScenario.Env}:multi"].Children)
        {
            Assert.Equal(child.Digest, await client.HeadManifestAsync(DeletionScenario.Env, child.Digest, CancellationToken.None));
        }
    }

    [Fact]
    public async Task After_garbage_collection_a_restore_names_the_missing_blob()
    {
        string journal = Path.Combine(this.scenario.Folder, "gone.jsonl");
        this.session.Run($"Remove-UnusedImage {this.Common} -Include twin-* -JournalPath '{journal}' -Confirm:$false");
        this.scenario.Registry.RunGarbageCollect();

        PowerShellResult restored = this.session.Run($"Restore-RegistryImage -JournalPath '{journal}' -Registry '{this.scenario.Registry.Registry}' -Confirm:$false");

        Assert.Equal(2, restored.Output.Count);
        Assert.All(restored.Output, o => Assert.Equal("Failed", o.Properties["Status"].Value.ToString()));
        ErrorRecord error = Assert.Single(restored.Errors);
        Assert.Equal("RegistryImageRestoreFailed", error.FullyQualifiedErrorId.Split(',')[0]);
        Assert.Contains("no longer exists", error.Exception.Message, StringComparison.Ordinal);
        await Task.CompletedTask;
    }

    [Fact]
    public async Task Piped_images_keep_every_protection()
    {
        string env = DeletionScenario.Env;
        string inUse = this.scenario.AllTags.First(t => t.EndsWith("01-1", StringComparison.Ordinal)).Split(':')[1];
        string unused = this.scenario.AllTags.First(t => t.EndsWith("01-2", StringComparison.Ordinal)).Split(':')[1];
        string journal = Path.Combine(this.scenario.Folder, "piped.jsonl");

        PowerShellResult result = this.session.Run(
            $"@([pscustomobject]@{{ Repository = '{env}'; Tag = '{inUse}' }}, [pscustomobject]@{{ Repository = '{env}'; Tag = '{unused}' }}) | Remove-UnusedImage -Registry '{this.scenario.Registry.Registry}' -KubeConfig '{this.KubeConfig}' -MongoUsage:$false -JournalPath '{journal}' -Confirm:$false");

        Assert.Null(result.Terminating);
        PSObject kept = Assert.Single(result.Output, o => (string)o.Properties["Tag"].Value == inUse);
        Assert.Equal("Skipped", kept.Properties["Status"].Value.ToString());
        Assert.Contains("run-1", (string)kept.Properties["Reason"].Value, StringComparison.Ordinal);
        Assert.Equal("Deleted", Assert.Single(result.Output, o => (string)o.Properties["Tag"].Value == unused).Properties["Status"].Value.ToString());
        using var client = new RegistryClient(RegistryEndpoint.Parse(this.scenario.Registry.Registry));
        Assert.NotNull(await client.HeadManifestAsync(env, inUse, CancellationToken.None));

        // An empty pipeline never turns into "delete everything unused".
        PowerShellResult empty = this.session.Run($"@() | Remove-UnusedImage -Registry '{this.scenario.Registry.Registry}' -KubeConfig '{this.KubeConfig}' -Confirm:$false");
        Assert.Empty(empty.Output);
        Assert.NotNull(await client.HeadManifestAsync(DeletionScenario.Model, "twin-a", CancellationToken.None));
    }

    [Fact]
    public async Task A_piped_image_whose_tag_moved_since_Get_UnusedImage_is_skipped()
    {
        PowerShellResult planned = this.session.Run($"Get-UnusedImage {this.Common} -Include twin-*");
        Assert.Equal(2, planned.Output.Count);
        using var pusher = new ImagePusher(this.scenario.Registry.BaseAddress);
        PushedImage newer = await pusher.PushImageAsync(DeletionScenario.Model, "twin-a", [ImagePusher.Layer(901, 100)]);

        PowerShellResult result = this.session.Run(
            $"$planned | Remove-UnusedImage -Registry '{this.scenario.Registry.Registry}' -KubeConfig '{this.KubeConfig}' -MongoUsage:$false -JournalPath moved.jsonl -Confirm:$false",
            new Dictionary<string, object?> { ["planned"] = planned.Output.ToArray() });

        Assert.Null(result.Terminating);
        PSObject moved = Assert.Single(result.Output, o => (string)o.Properties["Tag"].Value == "twin-a");
        Assert.Equal("Skipped", moved.Properties["Status"].Value.ToString());
        Assert.Contains("moved", (string)moved.Properties["Reason"].Value, StringComparison.Ordinal);
        Assert.Equal("Deleted", Assert.Single(result.Output, o => (string)o.Properties["Tag"].Value == "twin-b").Properties["Status"].Value.ToString());
        using var client = new RegistryClient(RegistryEndpoint.Parse(this.scenario.Registry.Registry));
        Assert.Equal(newer.Digest, await client.HeadManifestAsync(DeletionScenario.Model, "twin-a", CancellationToken.None));
        Assert.Null(await client.HeadManifestAsync(DeletionScenario.Model, "twin-b", CancellationToken.None));
    }

    [Fact]
    public async Task A_stopped_pipeline_stops_between_images_with_a_consistent_journal()
    {
        string journal = Path.Combine(this.scenario.Folder, "stopped.jsonl");

        PowerShellResult result = this.session.Run($"Remove-UnusedImage {this.Common} -JournalPath '{journal}' -ThrottleLimit 1 -Confirm:$false | Select-Object -First 1");

        Assert.Null(result.Terminating);
        Assert.Single(result.Output);
        IReadOnlyList<RegistryCleaner.Deletion.JournalRecord> records = RegistryCleaner.Deletion.DeletionJournal.Read(journal);
        var attempts = records.Where(r => r.Kind == RegistryCleaner.Deletion.JournalRecord.AttemptKind).Select(r => r.Digest).ToArray();
        Assert.Equal(attempts, records.Where(r => r.Kind == RegistryCleaner.Deletion.JournalRecord.OutcomeKind).Select(r => r.Digest).ToArray());
        using var client = new RegistryClient(RegistryEndpoint.Parse(this.scenario.Registry.Registry));
        int stillThere = 0;
        foreach (string name in this.scenario.UnusedTags)
        {
            string[] parts = name.Split(':');
            string digest = this.scenario.Images[name].Digest;
            bool present = await client.HeadManifestAsync(parts[0], digest, CancellationToken.None) is not null;
            Assert.Equal(!attempts.Contains(digest), present);
            stillThere += present ? 1 : 0;
        }

        Assert.True(stillThere > 0, "The run should have stopped before deleting everything.");
    }

    [Fact]
    public async Task A_stopped_pipeline_with_workers_lets_the_DELETEs_in_flight_finish_and_journals_each_once()
    {
        string journal = Path.Combine(this.scenario.Folder, "stopped-workers.jsonl");

        PowerShellResult result = this.session.Run($"Remove-UnusedImage {this.Common} -JournalPath '{journal}' -ThrottleLimit 2 -Confirm:$false | Select-Object -First 1");

        Assert.Null(result.Terminating);
        Assert.Single(result.Output);
        IReadOnlyList<RegistryCleaner.Deletion.JournalRecord> records = RegistryCleaner.Deletion.DeletionJournal.Read(journal);
        var attempts = records.Where(r => r.Kind == RegistryCleaner.Deletion.JournalRecord.AttemptKind).Select(r => r.Digest).ToArray();
        var outcomes = records.Where(r => r.Kind == RegistryCleaner.Deletion.JournalRecord.OutcomeKind).Select(r => r.Digest).ToArray();

        // Every DELETE sent has its attempt line before its outcome line.
        Assert.Equal(attempts.Order(StringComparer.Ordinal), outcomes.Order(StringComparer.Ordinal));
        Assert.All(attempts, d => Assert.True(
            records.ToList().FindIndex(r => r.Kind == RegistryCleaner.Deletion.JournalRecord.AttemptKind && r.Digest == d)
            < records.ToList().FindIndex(r => r.Kind == RegistryCleaner.Deletion.JournalRecord.OutcomeKind && r.Digest == d)));
        using var client = new RegistryClient(RegistryEndpoint.Parse(this.scenario.Registry.Registry));
        int stillThere = 0;
        foreach (string name in this.scenario.UnusedTags)
        {
            string[] parts = name.Split(':');
            string digest = this.scenario.Images[name].Digest;
            bool present = await client.HeadManifestAsync(parts[0], digest, CancellationToken.None) is not null;
            Assert.Equal(!attempts.Contains(digest), present);
            stillThere += present ? 1 : 0;
        }

        Assert.True(stillThere > 0, "The run should have stopped handing out images before deleting everything.");

        // The summary counts what the DELETEs in flight did, though their rows were not written.
        int deleted = this.scenario.UnusedTags.Count(n => attempts.Contains(this.scenario.Images[n].Digest));
        Assert.Contains(result.Information, i => i.StartsWith($"Deleted {deleted} images,", StringComparison.Ordinal));
    }

    [Fact]
    public void InUse_snapshot_protects_the_same_images_as_the_live_read()
    {
        PowerShellResult live = this.session.Run($"Get-UnusedImage {this.Common}");
        PowerShellResult snapshot = this.session.Run(
            $"Get-UnusedImage -Registry '{this.scenario.Registry.Registry}' -Repository 'dominodatalab/*' -MongoUsage:$false -InUse $inUse",
            new Dictionary<string, object?> { ["inUse"] = this.scenario.InUseObjects().ToArray() });

        Assert.Null(snapshot.Terminating);
        Assert.Equal(
            live.Output.Select(o => $"{o.Properties["Repository"].Value}:{o.Properties["Tag"].Value}").Order(),
            snapshot.Output.Select(o => $"{o.Properties["Repository"].Value}:{o.Properties["Tag"].Value}").Order());
    }

    [Fact]
    public async Task MongoUsage_protects_the_active_revision_Domino_records_name()
    {
        await using MongoTestDatabase mongo = MongoTestDatabase.Create();
        var environment = MongoDB.Bson.ObjectId.Parse("659c7bce85f6381e675bb201");
        var revision = MongoDB.Bson.ObjectId.Parse("65a0000000000000000000aa");
        await mongo.SeedAsync(
            RegistryCleaner.Domino.DominoDatabase.EnvironmentsCollection,
            new MongoDB.Bson.BsonDocument { { "_id", environment }, { "name", "Python" }, { "isArchived", false }, { "activeRevisionId", revision } });
        await mongo.SeedAsync(RegistryCleaner.Domino.DominoDatabase.EnvironmentRevisionsCollection, Domino.DominoRecordsSeed.Revision(revision, environment, 2));
        string uri = mongo.Settings.Uri ?? $"mongodb://{mongo.Settings.Host}:{mongo.Settings.Port}/{mongo.Settings.Database}?replicaSet={mongo.Settings.ReplicaSet}";
        var credential = new PSCredential(MongoTestDatabase.StandInUser, new System.Net.NetworkCredential(string.Empty, MongoTestDatabase.StandInPassword).SecurePassword);

        PowerShellResult result = this.session.Run(
            $"Get-UnusedImage -Registry '{this.scenario.Registry.Registry}' -Repository 'dominodatalab/*' -KubeConfig '{this.KubeConfig}' -MongoUsage -MongoUri '{uri}' -MongoCredential $credential -Database '{mongo.Settings.Database}' -Verbose",
            new Dictionary<string, object?> { ["credential"] = credential });

        Assert.Null(result.Terminating);
        Assert.Empty(result.Errors);
        Assert.DoesNotContain(result.Output, o => (string)o.Properties["Tag"].Value == "659c7bce85f6381e675bb201-2");
        Assert.Contains(result.Verbose, v => v.StartsWith("kept: dominodatalab/environment:659c7bce85f6381e675bb201-2", StringComparison.Ordinal));
        Assert.DoesNotContain(MongoTestDatabase.StandInPassword, result.AllText, StringComparison.Ordinal);
    }

    [Fact]
    public void InUse_digests_flattened_by_Export_Csv_are_refused()
    {
        string csv = Path.Combine(this.scenario.Folder, "in-use.csv");
        PowerShellResult result = this.session.Run(
            $"$inUse | Export-Csv '{csv}'; Get-UnusedImage -Registry '{this.scenario.Registry.Registry}' -Repository 'dominodatalab/*' -MongoUsage:$false -InUse (Import-Csv '{csv}')",
            new Dictionary<string, object?> { ["inUse"] = this.scenario.InUseObjects().ToArray() });

        Assert.Equal("InUseInvalid", StoppingError(result).FullyQualifiedErrorId.Split(',')[0]);
        Assert.Contains("Export-Clixml", StoppingError(result).Exception.Message, StringComparison.Ordinal);
        Assert.Empty(result.Output);
    }

    [Fact]
    public void An_unwritable_journal_stops_before_the_first_delete()
    {
        SortedDictionary<string, string> before = this.scenario.StorageHashes();
        string blocked = Path.Combine(this.scenario.Folder, "a-file");
        File.WriteAllText(blocked, "not a folder");

        PowerShellResult result = this.session.Run($"Remove-UnusedImage {this.Common} -JournalPath '{Path.Combine(blocked, "j.jsonl")}' -Confirm:$false");

        Assert.Equal("DeletionJournalUnwritable", StoppingError(result).FullyQualifiedErrorId.Split(',')[0]);
        Assert.Equal(before.Where(kv => !kv.Key.Contains("a-file", StringComparison.Ordinal)), this.scenario.StorageHashes());
    }

    [Theory]
    [InlineData("forbidden")]
    [InlineData("down")]
    public async Task Unreadable_usage_stops_before_anything_is_deleted(string fault)
    {
        if (fault == "forbidden")
        {
            this.cluster.Forbid("cronjobs");
        }
        else
        {
            await this.cluster.DisposeAsync();
            this.cluster = await KubernetesApiStandIn.StartAsync();
            this.cluster.WriteKubeConfig(this.KubeConfig);
            await this.cluster.DisposeAsync();
            this.cluster = await KubernetesApiStandIn.StartAsync();
        }

        SortedDictionary<string, string> before = this.scenario.StorageHashes();
        PowerShellResult result = this.session.Run($"Remove-UnusedImage {this.Common} -Confirm:$false -TimeoutSec 5");

        Assert.Equal("WorkloadUsageUnreadable", StoppingError(result).FullyQualifiedErrorId.Split(',')[0]);
        Assert.Empty(result.Output);
        Assert.Equal(before, this.scenario.StorageHashes());
        Assert.False(Directory.Exists(Path.Combine(this.scenario.Folder, "reports")));
    }

    [Fact]
    public void A_prompt_in_a_non_interactive_session_fails_at_once_and_deletes_nothing()
    {
        SortedDictionary<string, string> before = this.scenario.StorageHashes();

        PowerShellResult result = this.session.Run($"Remove-UnusedImage {this.Common}");

        Assert.Equal("ConfirmationNeedsInteractiveSession", StoppingError(result).FullyQualifiedErrorId.Split(',')[0]);
        Assert.Empty(result.Output);
        Assert.Equal(before, this.scenario.StorageHashes());
    }
}

/// <summary>A registry with deletion disabled: the run stops at the first DELETE, naming the setting.</summary>
public sealed class RemoveUnusedImageDeleteDisabledTests
{
    [Fact]
    public async Task Delete_disabled_stops_with_the_setting_to_change()
    {
        using DeletionScenario scenario = await DeletionScenario.CreateAsync(deleteEnabled: false);
        using var session = new PowerShellSession(scenario.Folder);
        PowerShellResult result = session.Run(
            $"Remove-UnusedImage -Registry '{scenario.Registry.Registry}' -Repository 'dominodatalab/*' -MongoUsage:$false -InUse $inUse -Confirm:$false -JournalPath j.jsonl",
            new Dictionary<string, object?> { ["inUse"] = scenario.InUseObjects().ToArray() });

        ErrorRecord error = RemoveUnusedImageTests.StoppingError(result);
        Assert.Equal("RegistryDeleteDisabled", error.FullyQualifiedErrorId.Split(',')[0]);
        Assert.Contains("storage.delete.enabled: true", error.Exception.Message, StringComparison.Ordinal);
        Assert.Contains("REGISTRY_STORAGE_DELETE_ENABLED=true", error.Exception.Message, StringComparison.Ordinal);
    }
}
