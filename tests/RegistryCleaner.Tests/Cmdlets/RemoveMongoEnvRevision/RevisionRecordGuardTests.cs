using System.Text.RegularExpressions;
using MongoDB.Bson;
using RegistryCleaner.Domino;
using RegistryCleaner.Registry;
using RegistryCleaner.Tests.Infrastructure;
using static RegistryCleaner.Tests.Domino.DominoUsageScenario;
using static RegistryCleaner.Tests.Infrastructure.DominoDocuments;
using MongoObjectId = MongoDB.Bson.ObjectId;

namespace RegistryCleaner.Tests.Domino;

/// <summary>
/// The records of <see cref="DominoUsageScenario"/> plus what only revision records have: an environment whose builds
/// failed (revisions without an image), one of them pinned by a stopped workspace, and a source revision with a clone,
/// neither pinned, so both records may go in one command.
/// </summary>
public static class RevisionRecordScenario
{
    public static readonly MongoObjectId Broken = Id("ec000000", 12);
    public static readonly MongoObjectId BrokenWorkspace = Id("a0a00000", 20);

    public static MongoObjectId CloneSource => Rev(Python, 20);

    public static MongoObjectId CloneOfSource => Rev(Python, 21);

    /// <summary>
    /// Gets every revision record seeded and what Remove-MongoEnvRevision must make of it: <see langword="null"/> when
    /// its record is deleted, else text its Skipped reason contains.
    /// </summary>
    public static IReadOnlyList<(MongoObjectId Revision, string? KeptBecause)> Revisions { get; } =
    [
        .. Images.Where(i => i.Repository == EnvironmentRepository).Select(i => (RevisionOf(i.Tag), KeptBecause(i))),
        (Rev(Broken, 1), $"In use by Domino workspace {BrokenWorkspace} 'broken-notebook' (project churn, owner bob): environmentRevisionSpec SomeRevision({Rev(Broken, 1)})"),
        (Rev(Broken, 2), null),
        (CloneSource, null),
        (CloneOfSource, null),
    ];

    public static async Task SeedAsync(MongoTestDatabase database)
    {
        await DominoUsageScenario.SeedAsync(database);
        await SeedExtrasAsync(database);
    }

    public static async Task SeedExtrasAsync(MongoTestDatabase database)
    {
        await database.SeedAsync(DominoDatabase.EnvironmentsCollection, Environment(Broken, "Broken build", Rev(Broken, 2), archived: true));
        await database.SeedAsync(
            DominoDatabase.EnvironmentRevisionsCollection,
            WithoutImage(Revision(Rev(Broken, 1), Broken, 1, author: Bob, built: false)),
            WithoutImage(Revision(Rev(Broken, 2), Broken, 2, author: Bob, built: false)),
            Revision(CloneSource, Python, 20, author: Alice),
            Revision(CloneOfSource, Python, 21, author: Alice, clonedFrom: CloneSource));
        await database.SeedAsync(
            DominoDatabase.WorkspacesCollection,
            Workspace(BrokenWorkspace, "broken-notebook", Churn, Bob, "Stopped", Broken, $"SomeRevision({Rev(Broken, 1)})"));
    }

    /// <summary>A revision list naming every seeded revision: the environment tags, the clone source before its clone, and the broken environment's id.</summary>
    public static string[] ListFile() =>
    [
        "# every revision of the scenario",
        .. Images.Where(i => i.Repository == EnvironmentRepository).Select(i => $"{EnvironmentRepository}:{i.Tag}"),
        Tag(Python, 20),
        Tag(Python, 21),
        $"{Broken}   the environment whose builds failed: its revisions have no image",
    ];

    private static MongoObjectId RevisionOf(string tag) =>
        Rev(MongoObjectId.Parse(tag[..24]), int.Parse(tag[25..], System.Globalization.CultureInfo.InvariantCulture));

    private static string? KeptBecause(ScenarioImage image) => image.KeptBy switch
    {
        null => null,
        DominoRecordKind.ActiveRevision => "Active revision of environment ",

        // Python 16 is the source of Cloned's active revision, which stays. Python 15 is a clone of the kept Python 9:
        // only a source is held by its clones, so the clone's own record may go.
        DominoRecordKind.ClonedRevision => image.Tag == Tag(Python, 16) ? $"Cloned into a revision that stays: Domino environment revision {Rev(Cloned, 1)} 'Cloned'" : null,
        _ => image.Names,
    };

    private static BsonDocument WithoutImage(BsonDocument revision)
    {
        revision["metadata"].AsBsonDocument.Remove("dockerImageName");
        return revision;
    }
}

/// <summary>
/// An admin's working folder for Domino's records: config.yaml names the registry and MongoDB (the stand-in, or the
/// real MongoDB of REGISTRYCLEANER_TEST_MONGODB_URI), MONGODB_USERNAME and MONGODB_PASSWORD the stand-in's user, and
/// every command runs in a fresh pwsh that imports the built module.
/// </summary>
public abstract partial class DominoAdminTestBase : IAsyncLifetime, IDisposable
{
    protected DominoAdminTestBase() => this.Shell = new UserShell(this.Folder);

    protected string Folder { get; } = Directory.CreateTempSubdirectory("registrycleaner-revision-guard-").FullName;

    protected UserShell Shell { get; }

    protected MongoTestDatabase Database { get; private set; } = null!;

    public virtual async Task InitializeAsync()
    {
        this.Database = MongoTestDatabase.Create();
        await RevisionRecordScenario.SeedAsync(this.Database);
    }

    public virtual async Task DisposeAsync() => await this.Database.DisposeAsync();

    public void Dispose()
    {
        Directory.Delete(this.Folder, recursive: true);
        GC.SuppressFinalize(this);
    }

    protected void WriteConfig(string registry, string? kubeconfig = null)
    {
        MongoConnectionSettings settings = this.Database.Settings;
        string uri = settings.Uri ?? $"mongodb://127.0.0.1:{settings.Port}/?replicaSet={settings.ReplicaSet}";
        string kubernetes = kubeconfig is null ? string.Empty : $"kubernetes:\n  kubeconfig: '{kubeconfig}'\n";
        File.WriteAllText(Path.Combine(this.Folder, "config.yaml"), $"registry:\n  url: '{registry}'\nmongo:\n  uri: '{uri}'\n  database: {settings.DatabaseName}\n{kubernetes}");
        if (settings.Password is { } password)
        {
            this.Shell.Environment["MONGODB_USERNAME"] = settings.Username ?? MongoTestDatabase.StandInUser;
            this.Shell.Environment["MONGODB_PASSWORD"] = password;
        }
    }

    protected async Task<HashSet<string>> RevisionIdsAsync() =>
        [.. (await this.Database.DocumentsAsync(DominoDatabase.EnvironmentRevisionsCollection)).Select(d => d["_id"].ToString()!)];

    /// <summary>Reads what Export-Csv wrote: one (RevisionId, Status, Reason) per row, in order.</summary>
    protected List<(string RevisionId, string Status, string Reason)> CsvRows(string file)
    {
        string path = Path.Combine(this.Folder, file);
        if (!File.Exists(path))
        {
            return [];
        }

        // Export-Csv quotes every value and writes $null as nothing: "a",,"b" (and ,"b" when the first is $null).
        string[][] lines = [.. File.ReadAllLines(path).Select(line => CsvFields().Matches("," + line).Select(m => m.Groups[1].Value.Replace("\"\"", "\"", StringComparison.Ordinal)).ToArray())];
        if (lines.Length == 0)
        {
            return [];
        }

        int id = Array.IndexOf(lines[0], "RevisionId");
        int status = Array.IndexOf(lines[0], "Status");
        int reason = Array.IndexOf(lines[0], "Reason");
        return [.. lines.Skip(1).Select(fields => (fields[id], fields[status], fields[reason]))];
    }

    [GeneratedRegex(",(?:\"((?:[^\"]|\"\")*)\"|[^,\"]*)")]
    private static partial Regex CsvFields();
}

/// <summary>
/// Remove-MongoEnvRevision refuses every revision a Domino record pins, and the source of a clone that stays, naming
/// the record; it deletes the decoys; it reads the records once per command; and when they cannot be read completely
/// it deletes nothing. The registry holds none of the images: each image is already gone, so only the records decide.
/// </summary>
public sealed class RevisionRecordGuardTests(RevisionRecordGuardTests.EmptyRegistry registry) : DominoAdminTestBase, IClassFixture<RevisionRecordGuardTests.EmptyRegistry>
{
    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        this.WriteConfig(registry.Registry);
        await File.WriteAllLinesAsync(Path.Combine(this.Folder, "revisions.txt"), RevisionRecordScenario.ListFile());
    }

    [Fact]
    public async Task Every_revision_a_record_pins_is_skipped_naming_the_record_and_the_decoys_are_deleted()
    {
        int reads = this.FindsOf(DominoDatabase.WorkspacesCollection);

        UserSession session = this.Shell.Run($"""
            Remove-MongoEnvRevision -Tag {Tag(Python, 20)}, {Tag(Python, 21)} -WhatIf
            Remove-MongoEnvRevision -Path revisions.txt -Confirm:$false -BackupPath backup.jsonl | Export-Csv results.csv
            """);

        Assert.True(session.Errors.Count == 0, session.ToString());
        List<(string RevisionId, string Status, string Reason)> rows = this.CsvRows("results.csv");
        Assert.Equal(RevisionRecordScenario.Revisions.Select(r => r.Revision.ToString()).Order(StringComparer.Ordinal), rows.Select(r => r.RevisionId).Order(StringComparer.Ordinal));
        foreach ((MongoObjectId revision, string? keptBecause) in RevisionRecordScenario.Revisions)
        {
            (string _, string status, string reason) = rows.Single(r => r.RevisionId == revision.ToString());
            Assert.True(status == (keptBecause is null ? "Deleted" : "Skipped"), $"{revision}: {status} ({reason}), expected {keptBecause ?? "Deleted"}");
            Assert.True(keptBecause is null || reason.Contains(keptBecause, StringComparison.Ordinal), $"{revision}: '{reason}' does not name '{keptBecause}'");
            Assert.True(keptBecause is null || keptBecause.StartsWith("Active revision", StringComparison.Ordinal) || keptBecause.StartsWith("Cloned into", StringComparison.Ordinal) || reason.StartsWith("In use by Domino ", StringComparison.Ordinal), reason);
        }

        // The dry run named the source and its clone; the real run deleted the clone first, then its source.
        Assert.Contains($"on target \"environment_revisions {RevisionRecordScenario.CloneSource} (tag {Tag(Python, 20)}", session.Text, StringComparison.Ordinal);
        Assert.Contains($"on target \"environment_revisions {RevisionRecordScenario.CloneOfSource} (tag {Tag(Python, 21)}", session.Text, StringComparison.Ordinal);
        Assert.True(rows.FindIndex(r => r.RevisionId == RevisionRecordScenario.CloneOfSource.ToString()) < rows.FindIndex(r => r.RevisionId == RevisionRecordScenario.CloneSource.ToString()));

        string[] deleted = [.. RevisionRecordScenario.Revisions.Where(r => r.KeptBecause is null).Select(r => r.Revision.ToString()).Order(StringComparer.Ordinal)];
        Assert.Equal(
            RevisionRecordScenario.Revisions.Select(r => r.Revision.ToString()).Except(deleted).Order(StringComparer.Ordinal),
            (await this.RevisionIdsAsync()).Where(id => RevisionRecordScenario.Revisions.Any(r => r.Revision.ToString() == id)).Order(StringComparer.Ordinal));
        Assert.Equal(deleted, RevisionBackupReader.ReadRevisions(Path.Combine(this.Folder, "backup.jsonl")).Select(r => r.RevisionId).Order(StringComparer.Ordinal));

        // One read of the records per command, however many revisions it decides (the -WhatIf call and the real one).
        if (this.Database.StandIn is not null)
        {
            Assert.Equal(reads + 2, this.FindsOf(DominoDatabase.WorkspacesCollection));
            Assert.Equal(reads + 2, this.FindsOf(DominoDatabase.RunsCollection));
        }
    }

    [Fact]
    public async Task UnusedSince_lets_go_of_revisions_that_only_old_runs_used_as_planning_does()
    {
        string both = $"-Tag {Tag(Python, 3)}, {Tag(Python, 1)} -Confirm:$false";

        UserSession session = this.Shell.Run($$"""
            Remove-MongoEnvRevision {{both}} | ForEach-Object { "all runs|$($_.Tag)|$($_.Status)|$($_.Reason)" }
            Remove-MongoEnvRevision {{both}} -UnusedSince 30 | ForEach-Object { "recent runs|$($_.Tag)|$($_.Status)|$($_.Reason)" }
            """);

        Assert.True(session.Errors.Count == 0, session.ToString());
        string[] lines = [.. session.Output.Split('\n').Select(l => l.Trim()).Where(l => l.Contains('|', StringComparison.Ordinal))];
        Assert.Equal(
            [$"all runs|{Tag(Python, 3)}|Skipped", $"all runs|{Tag(Python, 1)}|Skipped", $"recent runs|{Tag(Python, 3)}|Deleted", $"recent runs|{Tag(Python, 1)}|Skipped"],
            lines.Select(l => string.Join('|', l.Split('|')[..3])));
        Assert.StartsWith($"In use by Domino run {OldRun} (project churn, owner bob): ran on environment revision {Rev(Python, 3)}", lines[0].Split('|')[3], StringComparison.Ordinal);
        Assert.StartsWith($"In use by Domino run {RecentRun} (project churn, owner alice)", lines[3].Split('|')[3], StringComparison.Ordinal);
        HashSet<string> left = await this.RevisionIdsAsync();
        Assert.DoesNotContain(Rev(Python, 3).ToString(), left);
        Assert.Contains(Rev(Python, 1).ToString(), left);
    }

    [Fact]
    public async Task Status_is_the_image_deletion_enum_that_filters_sorts_exports_and_reads_back_from_a_CSV()
    {
        string pinned = Tag(Python, 3);
        string repository = $"Repository = '{EnvironmentRepository}'";

        UserSession session = this.Shell.Run($$"""
            $results = @(Remove-MongoEnvRevision -Tag {{pinned}}, {{Tag(Python, 21)}}, no-such-tag, {{Tag(Python, 20)}} -Confirm:$false -BackupPath backup.jsonl)
            $results | Export-Csv results.csv
            "type|$($results[0].Status.GetType().FullName)|$(($results.Status | Select-Object -Unique | ForEach-Object { $_.GetType().Name } | Select-Object -Unique) -join ',')"
            "deleted|$(@($results | Where-Object Status -eq 'Deleted').Count)|$(@($results | Where-Object Status -eq Skipped).Count)"
            "sorted|$(($results | Sort-Object Status | ForEach-Object Status) -join ',')"
            $deleted = ($results | Where-Object Status -eq Deleted)[0].Status
            $skipped = ($results | Where-Object Status -eq Skipped)[0].Status
            @(
                [pscustomobject]@{ PSTypeName = 'RegistryCleaner.ImageDeletion'; {{repository}}; Tag = '{{Tag(Python, 14)}}'; Status = $deleted }
                [pscustomobject]@{ PSTypeName = 'RegistryCleaner.ImageDeletion'; {{repository}}; Tag = '{{Tag(Python, 5)}}'; Status = $skipped }
            ) | Export-Csv images.csv
            Import-Csv images.csv | Remove-MongoEnvRevision -Confirm:$false -BackupPath backup.jsonl | ForEach-Object { "csv|$($_.Tag)|$($_.Status)|$($_.Reason)" }
            [pscustomobject]@{ PSTypeName = 'RegistryCleaner.ImageDeletion'; {{repository}}; Tag = '{{Tag(Python, 7)}}'; Status = $deleted } |
                Remove-MongoEnvRevision -Confirm:$false -BackupPath backup.jsonl | ForEach-Object { "piped|$($_.Tag)|$($_.Status)" }
            """);

        Assert.True(session.Errors.Count == 0, session.ToString());
        string[] lines = [.. session.Output.Split('\n').Select(l => l.Trim()).Where(l => l.Contains('|', StringComparison.Ordinal))];
        Assert.Contains("type|RegistryCleaner.Deletion.DeletionStatus|DeletionStatus", lines);
        Assert.Contains("deleted|2|1", lines);

        // The enum's order, not the alphabet's: done first, then kept on purpose, then nothing there.
        Assert.Contains("sorted|Deleted,Deleted,Skipped,NotFound", lines);

        // Export-Csv writes the names, and the names read back from a CSV bind to -Status.
        Assert.Equal(
            [(Rev(Python, 3).ToString(), "Skipped"), (RevisionRecordScenario.CloneOfSource.ToString(), "Deleted"), (string.Empty, "NotFound"), (RevisionRecordScenario.CloneSource.ToString(), "Deleted")],
            this.CsvRows("results.csv").Select(r => (r.RevisionId, r.Status)));
        string[] csv = [.. lines.Where(l => l.StartsWith("csv|", StringComparison.Ordinal))];
        Assert.Equal(2, csv.Length);
        Assert.StartsWith($"csv|{Tag(Python, 14)}|Deleted|", csv[0], StringComparison.Ordinal);
        Assert.StartsWith($"csv|{Tag(Python, 5)}|Skipped|the image deletion's status is Skipped, not Deleted", csv[1], StringComparison.Ordinal);
        Assert.Contains($"piped|{Tag(Python, 7)}|Deleted", lines);

        HashSet<string> left = await this.RevisionIdsAsync();
        Assert.All(new[] { Rev(Python, 14), Rev(Python, 7), RevisionRecordScenario.CloneSource, RevisionRecordScenario.CloneOfSource }, r => Assert.DoesNotContain(r.ToString(), left));
        Assert.All(new[] { Rev(Python, 5), Rev(Python, 3) }, r => Assert.Contains(r.ToString(), left));
    }

    [Fact]
    public async Task Records_that_cannot_be_read_completely_stop_the_command_before_anything_is_deleted()
    {
        HashSet<string> before = await this.RevisionIdsAsync();
        await this.Database.MakeUnreadableAsync(DominoDatabase.WorkspacesCollection);

        UserSession session = this.Shell.Run($"""
            Remove-MongoEnvRevision -Path revisions.txt -Confirm:$false -BackupPath backup.jsonl | Export-Csv results.csv
            Remove-MongoEnvRevision -Tag {Tag(Python, 14)} -SkipRegistryCheck -Confirm:$false
            """);

        Assert.Equal(["DominoUsageUnreadable", "DominoUsageUnreadable"], session.ErrorIds);
        Assert.All(session.Errors, e => Assert.StartsWith("Domino's records could not be read completely from MongoDB, so no environment revision record is deleted: ", e.Message, StringComparison.Ordinal));
        if (this.Database.StandIn is not null)
        {
            // The stand-in answers as MongoDB answers a user without the read role on the collection.
            Assert.Contains($"not authorized on {this.Database.Settings.DatabaseName} to execute command {{ find: \"{DominoDatabase.WorkspacesCollection}\"", session.Errors[0].Message, StringComparison.Ordinal);
        }

        Assert.False(session.LastSucceeded);
        Assert.DoesNotContain(this.CsvRows("results.csv"), r => r.Status == "Deleted");
        Assert.Equal(before, await this.RevisionIdsAsync());
        Assert.False(File.Exists(Path.Combine(this.Folder, "backup.jsonl")));
        Assert.False(Directory.Exists(Path.Combine(this.Folder, "reports")));
        Assert.DoesNotContain(MongoTestDatabase.StandInPassword, session.Output, StringComparison.Ordinal);
    }

    private int FindsOf(string collection) =>
        this.Database.StandIn?.Commands.Count(c => c.GetElement(0).Name == "find" && c["find"] == collection) ?? 0;

    /// <summary>A real registry that holds none of the scenario's images.</summary>
    public sealed class EmptyRegistry() : RegistryServer(new RegistryServerOptions());
}

/// <summary>
/// The README's cleanup of archived environments, typed as it stands there, end to end: a real registry with the
/// scenario's images, a cluster (Kubernetes API stand-in) that runs one archived environment's image, Domino's records.
/// The images that neither a record nor a workload uses go, and exactly their revision records after them.
/// </summary>
public sealed partial class ArchivedEnvironmentCleanupTests : DominoAdminTestBase
{
    private DominoScenarioRegistry registry = null!;
    private KubernetesApiStandIn cluster = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        this.registry = new DominoScenarioRegistry();
        await this.registry.InitializeAsync();
        this.cluster = await KubernetesApiStandIn.StartAsync();
        this.cluster.Add(KubernetesSampleCluster.Pod("domino-compute", "run-archived", "Running", $"{KubernetesSampleCluster.DominoRegistry}/{EnvironmentRepository}:{Tag(Archived, 1)}"));
        string kubeconfig = Path.Combine(this.Folder, "kubeconfig");
        this.cluster.WriteKubeConfig(kubeconfig);
        this.WriteConfig(this.registry.Registry, kubeconfig);
    }

    public override async Task DisposeAsync()
    {
        await this.cluster.DisposeAsync();
        this.registry.Dispose();
        await base.DisposeAsync();
    }

    [Fact]
    public async Task The_README_pipeline_deletes_the_unused_archived_images_and_exactly_their_revision_records()
    {
        Match readme = ReadmeCleanup().Match(File.ReadAllText(Path.Combine(UserShell.RepositoryRoot, "README.md")));
        Assert.True(readme.Success, "The README has no cleanup of archived environments.");
        HashSet<string> before = await this.RevisionIdsAsync();

        UserSession session = this.Shell.Run(readme.Groups["code"].Value);

        Assert.True(session.Errors.Count == 0, session.ToString());
        string[] gone = [Tag(Jobs, 2), Tag(DeadAppEnvironment, 1)];
        using var client = new RegistryClient(RegistryEndpoint.Parse(this.registry.Registry));
        foreach (ScenarioImage image in Images)
        {
            bool present = await client.HeadManifestAsync(image.Repository, image.Tag, CancellationToken.None) is not null;
            Assert.True(present != gone.Contains(image.Tag), $"{image.Tag} ({image.Names}) present: {present}\n{session}");
        }

        string[] deletedRecords = [Rev(Jobs, 2).ToString(), Rev(DeadAppEnvironment, 1).ToString()];
        Assert.Equal(before.Except(deletedRecords).Order(StringComparer.Ordinal), (await this.RevisionIdsAsync()).Order(StringComparer.Ordinal));
        string backup = Assert.Single(Directory.GetFiles(Path.Combine(this.Folder, "reports"), "mongo-revisions-*.jsonl"));
        Assert.Equal(deletedRecords.Order(StringComparer.Ordinal), RevisionBackupReader.ReadRevisions(backup).Select(r => r.RevisionId).Order(StringComparer.Ordinal));
    }

    [GeneratedRegex(@"# Archived Domino environments[^\n]*\n(?<code>Find-ArchivedEnvTag [^\n]*\n[^\n]*Remove-MongoEnvRevision[^\n]*)")]
    private static partial Regex ReadmeCleanup();
}
