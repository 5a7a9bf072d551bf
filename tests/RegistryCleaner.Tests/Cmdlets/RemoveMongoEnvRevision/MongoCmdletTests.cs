using System.Diagnostics;
using System.Management.Automation;
using System.Net;
using System.Net.Sockets;
using MongoDB.Bson;
using RegistryCleaner.Domino;
using RegistryCleaner.Tests.Infrastructure;
using static RegistryCleaner.Tests.Domino.DominoRecordsSeed;
using MongoObjectId = MongoDB.Bson.ObjectId;

namespace RegistryCleaner.Tests.Domino;

/// <summary>
/// A real registry holding the images of the seeded Domino records: the archived environments' tags (Old R 1, Legacy 3),
/// a live environment's active tag, decoys that contain an archived id without belonging to it, and model images.
/// Python's revision 1 has no image (already deleted), but a live model version was built on it, so its record stays.
/// </summary>
public sealed class MongoCmdletRegistry : RegistryServer, IAsyncLifetime
{
    public static readonly string SuperstringDecoy = OldR + "1-1";
    public static readonly string PrefixedDecoy = "x" + Tag(OldR, 1);
    public static readonly string ArchivedModelTag = $"{ArchivedModel}-v1-202401010000_Zzzzzzzz";
    public static readonly string LiveModelTag = $"{LiveModel}-v1-202419163323_HfGeD8Ia";

    public MongoCmdletRegistry()
        : base(new RegistryServerOptions())
    {
    }

    public Dictionary<string, string> Digests { get; } = new(StringComparer.Ordinal);

    public async Task InitializeAsync()
    {
        using var pusher = new ImagePusher(this.BaseAddress);
        int seed = 100;
        foreach (string tag in new[] { Tag(OldR, 1), Tag(Legacy, 3), Tag(Python, 2), SuperstringDecoy, PrefixedDecoy })
        {
            this.Digests[tag] = (await pusher.PushImageAsync(EnvironmentRepository, tag, [ImagePusher.Layer(seed++, 200)])).Digest;
        }

        foreach (string tag in new[] { ArchivedModelTag, LiveModelTag })
        {
            this.Digests[tag] = (await pusher.PushImageAsync(ModelRepository, tag, [ImagePusher.Layer(seed++, 200)])).Digest;
        }
    }

    public Task DisposeAsync() => Task.CompletedTask;
}

/// <summary>Find-ArchivedEnvTag and Remove-MongoEnvRevision end to end: real runspace, real registry, MongoDB stand-in (or a real MongoDB).</summary>
public sealed class MongoCmdletTests : IClassFixture<MongoCmdletRegistry>, IAsyncLifetime, IDisposable
{
    private const string Secret = "Never-Show-Th1s-Pa55word";
    private readonly MongoCmdletRegistry registry;
    private readonly string directory = Directory.CreateTempSubdirectory("registrycleaner-mongo-cmdlets-").FullName;
    private readonly PowerShellSession session;
    private MongoTestDatabase database = null!;

    public MongoCmdletTests(MongoCmdletRegistry registry)
    {
        this.registry = registry;
        this.session = new PowerShellSession(this.directory);
    }

    private string Connection => $"-Registry '{this.registry.Registry}' -MongoUri $mongoUri -Database $database -TimeoutSec 10" + (MongoTestDatabase.RealUri is null ? " -MongoCredential $mongoCredential" : string.Empty);

    public async Task InitializeAsync()
    {
        this.database = MongoTestDatabase.Create();
        await SeedAsync(this.database);
    }

    public async Task DisposeAsync() => await this.database.DisposeAsync();

    public void Dispose()
    {
        this.session.Dispose();
        Directory.Delete(this.directory, recursive: true);
    }

    [Fact]
    public void Archived_environment_tags_are_found_by_exact_id_prefix_with_digest_and_revision()
    {
        PowerShellResult result = this.Run($"Find-ArchivedEnvTag {this.Connection}");

        Assert.Null(result.Terminating);
        Assert.Empty(result.Errors);
        Assert.Equal(new[] { Tag(OldR, 1), Tag(Legacy, 3) }.Order(StringComparer.Ordinal), result.Output.Select(o => (string)o.Properties["Tag"].Value));
        PSObject oldR = result.Output.Single(o => (string)o.Properties["Tag"].Value == Tag(OldR, 1));
        Assert.Equal("RegistryCleaner.ArchivedEnvTag", oldR.TypeNames[0]);
        Assert.Equal("Environment", oldR.Properties["Kind"].Value);
        Assert.Equal(OldR.ToString(), oldR.Properties["EnvironmentId"].Value);
        Assert.Equal(OldR.ToString(), oldR.Properties["ObjectId"].Value);
        Assert.Equal("Old R", oldR.Properties["EnvironmentName"].Value);
        Assert.Equal(EnvironmentRepository, oldR.Properties["Repository"].Value);
        Assert.Equal(this.registry.Digests[Tag(OldR, 1)], oldR.Properties["Digest"].Value);
        Assert.Equal(1, oldR.Properties["Revision"].Value);
        Assert.DoesNotContain(result.Output, o => (string)o.Properties["Tag"].Value is var t && (t == MongoCmdletRegistry.SuperstringDecoy || t == MongoCmdletRegistry.PrefixedDecoy));
    }

    [Fact]
    public void IncludeModels_adds_archived_model_tags_and_ObjectId_narrows_before_any_remote_call()
    {
        PowerShellResult models = this.Run($"Find-ArchivedEnvTag {this.Connection} -IncludeModels");
        Assert.Empty(models.Errors);
        PSObject model = Assert.Single(models.Output, o => (string)o.Properties["Kind"].Value == "Model");
        Assert.Equal(MongoCmdletRegistry.ArchivedModelTag, model.Properties["Tag"].Value);
        Assert.Equal(ModelRepository, model.Properties["Repository"].Value);
        Assert.Equal(ArchivedModel.ToString(), model.Properties["ObjectId"].Value);
        Assert.Null(model.Properties["EnvironmentId"].Value);
        Assert.Equal("v1-202401010000_Zzzzzzzz", model.Properties["Revision"].Value);
        Assert.Equal(3, models.Output.Count);

        PowerShellResult narrowed = this.Run($"Find-ArchivedEnvTag {this.Connection} -IncludeModels -ObjectId {OldR.ToString().ToUpperInvariant()}");
        Assert.Equal(Tag(OldR, 1), Assert.Single(narrowed.Output).Properties["Tag"].Value);

        int commands = this.database.StandIn?.Commands.Count ?? 0;
        PowerShellResult invalid = this.Run($"Find-ArchivedEnvTag {this.Connection} -ObjectId 659c7bce85f6381e675bb20");
        Assert.Equal("ObjectIdInvalid", ErrorIdOf(invalid));
        Assert.Equal(commands, this.database.StandIn?.Commands.Count ?? 0);
    }

    [Fact]
    public async Task The_active_revision_of_a_live_environment_is_skipped_with_its_reason()
    {
        PowerShellResult result = this.Run($"Remove-MongoEnvRevision -Tag {Tag(Python, 2)} -SkipRegistryCheck -Confirm:$false {this.Connection}");

        Assert.Empty(result.Errors);
        PSObject outcome = Assert.Single(result.Output);
        Assert.Equal("RegistryCleaner.MongoEnvRevisionDeletion", outcome.TypeNames[0]);
        Assert.Equal("Skipped", outcome.Properties["Status"].Value.ToString());
        Assert.Equal(Python2.ToString(), outcome.Properties["RevisionId"].Value);
        Assert.Contains("Active revision of environment Python", (string)outcome.Properties["Reason"].Value, StringComparison.Ordinal);
        Assert.Equal(6, (await this.RevisionsAsync()).Count);
    }

    [Fact]
    public async Task An_image_still_in_the_registry_keeps_its_revision_unless_SkipRegistryCheck_and_backups_parse_back_identical()
    {
        // A revision of an archived environment whose image is gone and that no record pins; created at a millisecond.
        var oldR7 = MongoObjectId.Parse("65a000000000000000000007");
        await this.database.SeedAsync(DominoDatabase.EnvironmentRevisionsCollection, Revision(oldR7, OldR, 7, Python1Created));
        BsonDocument original = (await this.RevisionsAsync()).Single(d => d["_id"] == OldR1);
        string backup = Path.Combine(this.directory, "backup.jsonl");

        PowerShellResult guarded = this.Run($"Remove-MongoEnvRevision -Tag {Tag(OldR, 1)}, {Tag(OldR, 7)}, {Tag(Python, 1)}, no-such-tag -BackupPath backup.jsonl -Confirm:$false {this.Connection}");

        Assert.Empty(guarded.Errors);
        Assert.Equal(new[] { "Skipped", "Deleted", "Skipped", "NotFound" }, guarded.Output.Select(o => o.Properties["Status"].Value.ToString()));
        Assert.Contains("still exists in the registry", (string)guarded.Output[0].Properties["Reason"].Value, StringComparison.Ordinal);
        Assert.Equal(oldR7.ToString(), guarded.Output[1].Properties["RevisionId"].Value);
        Assert.Equal(backup, guarded.Output[1].Properties["BackupPath"].Value);

        // Python's revision 1 has no image any more, but the live model 'scorer' was built on it.
        Assert.Equal(Python1.ToString(), guarded.Output[2].Properties["RevisionId"].Value);
        Assert.StartsWith($"In use by Domino model version {LiveVersion} 'scorer': environment revision {Python1} it was built on", (string)guarded.Output[2].Properties["Reason"].Value, StringComparison.Ordinal);

        PowerShellResult forced = this.Run($"Remove-MongoEnvRevision -Tag {Tag(OldR, 1)} -Repository {EnvironmentRepository} -SkipRegistryCheck -BackupPath backup.jsonl -Confirm:$false {this.Connection}");
        Assert.Equal("Deleted", Assert.Single(forced.Output).Properties["Status"].Value.ToString());

        List<BsonDocument> left = await this.RevisionsAsync();
        Assert.DoesNotContain(left, d => d["_id"] == OldR1 || d["_id"] == oldR7);
        Assert.Contains(left, d => d["_id"] == Python1);
        IReadOnlyList<EnvironmentRevision> backedUp = RevisionBackupReader.ReadRevisions(backup);
        Assert.Equal(new[] { oldR7.ToString(), OldR1.ToString() }, backedUp.Select(r => r.RevisionId));
        Assert.Equal(original, BsonDocument.Parse(backedUp[1].ExtendedJson));
        Assert.Equal(Revision(oldR7, OldR, 7, Python1Created), BsonDocument.Parse(backedUp[0].ExtendedJson));
    }

    [Fact]
    public async Task A_piped_image_deletion_that_did_not_delete_keeps_its_revision()
    {
        string script = $$"""
            @(
                [pscustomobject]@{ PSTypeName = 'RegistryCleaner.ImageDeletion'; Repository = '{{EnvironmentRepository}}'; Tag = '{{Tag(OldR, 1)}}'; Status = 'Deleted' }
                [pscustomobject]@{ PSTypeName = 'RegistryCleaner.ImageDeletion'; Repository = '{{EnvironmentRepository}}'; Tag = '{{Tag(Legacy, 3)}}'; Status = 'Failed' }
            ) | Remove-MongoEnvRevision -SkipRegistryCheck -Confirm:$false {{this.Connection}}
            """;

        PowerShellResult result = this.Run(script);

        Assert.Empty(result.Errors);
        Assert.Equal(new[] { "Deleted", "Skipped" }, result.Output.Select(o => o.Properties["Status"].Value.ToString()));
        Assert.Contains("Failed", (string)result.Output[1].Properties["Reason"].Value, StringComparison.Ordinal);
        List<BsonDocument> left = await this.RevisionsAsync();
        Assert.DoesNotContain(left, d => d["_id"] == OldR1);
        Assert.Contains(left, d => d["_id"] == Legacy3);
    }

    [Fact]
    public async Task Every_revision_list_line_format_is_accepted_and_a_bad_line_stops_before_any_change()
    {
        string bad = Path.Combine(this.directory, "bad.txt");
        await File.WriteAllLinesAsync(bad, [Tag(Python, 1), "# fine so far", "dominodatalab/environment", Tag(Legacy, 3)]);
        PowerShellResult refused = this.Run($"Remove-MongoEnvRevision -Path bad.txt -SkipRegistryCheck -Confirm:$false {this.Connection}");
        Assert.Equal("RevisionListInvalid", ErrorIdOf(refused));
        Assert.Contains("line 3", ErrorOf(refused)!.Exception.Message, StringComparison.Ordinal);
        Assert.Equal(6, (await this.RevisionsAsync()).Count);

        string list = Path.Combine(this.directory, "revisions.txt");
        await File.WriteAllLinesAsync(list,
        [
            "# revisions of archived environments",
            string.Empty,
            $"docker-registry:5000/dominodatalab/environment:{Tag(Python, 1)}   old python, image already deleted",
            $"environment:{Tag(OldR, 1)}",
            $"  {Tag(Legacy, 3)}",
            Spark.ToString(),
        ]);
        PowerShellResult result = this.Run($"Remove-MongoEnvRevision -Path revisions.txt -SkipRegistryCheck -Confirm:$false {this.Connection}");

        Assert.Empty(result.Errors);
        // Every line found its revision; Python 1 and Legacy 3 stay because Domino's records pin them.
        Assert.Equal(
            new[] { (Python1, "Skipped"), (OldR1, "Deleted"), (Legacy3, "Skipped"), (Spark2, "Skipped") }.Select(x => (x.Item1.ToString(), x.Item2)),
            result.Output.Select(o => ((string)o.Properties["RevisionId"].Value, o.Properties["Status"].Value.ToString()!)));
        Assert.Contains($"Domino model version {LiveVersion} 'scorer'", (string)result.Output[0].Properties["Reason"].Value, StringComparison.Ordinal);
        Assert.Contains($"Domino project {ProjectOnLegacy} 'churn'", (string)result.Output[2].Properties["Reason"].Value, StringComparison.Ordinal);
        Assert.Contains("Active revision of environment Spark", (string)result.Output[3].Properties["Reason"].Value, StringComparison.Ordinal);
        Assert.Equal(5, (await this.RevisionsAsync()).Count);
        Assert.Single(Directory.GetFiles(Path.Combine(this.directory, "reports"), "mongo-revisions-*.jsonl"));
    }

    [Fact]
    public async Task WhatIf_deletes_nothing_and_writes_no_backup_and_the_archived_tags_pipe_into_it()
    {
        PowerShellResult result = this.Run(
            $"Find-ArchivedEnvTag {this.Connection} | Remove-MongoEnvRevision -SkipRegistryCheck -WhatIf -BackupPath whatif.jsonl {this.Connection}");

        // Old R's revision would go; Legacy's is the default environment of project churn.
        Assert.Null(result.Terminating);
        Assert.Empty(result.Errors);
        PSObject kept = Assert.Single(result.Output);
        Assert.Equal((Legacy3.ToString(), "Skipped"), ((string)kept.Properties["RevisionId"].Value, kept.Properties["Status"].Value.ToString()));
        Assert.Contains($"Domino project {ProjectOnLegacy} 'churn'", (string)kept.Properties["Reason"].Value, StringComparison.Ordinal);
        Assert.Equal(6, (await this.RevisionsAsync()).Count);
        Assert.False(File.Exists(Path.Combine(this.directory, "whatif.jsonl")));
        Assert.False(Directory.Exists(Path.Combine(this.directory, "reports")));
        if (this.database.StandIn is { } standIn)
        {
            // Both archived tags were bound by property name and looked up.
            string finds = string.Join('\n', standIn.Commands.Where(c => c.Contains("find")).Select(c => c.ToJson()));
            Assert.Contains(Tag(OldR, 1), finds, StringComparison.Ordinal);
            Assert.Contains(Tag(Legacy, 3), finds, StringComparison.Ordinal);
        }

        PowerShellResult deleted = this.Run(
            $"Find-ArchivedEnvTag {this.Connection} | Select-Object Repository, Tag, @{{ n = 'Status'; e = {{ 'Deleted' }} }} | Remove-MongoEnvRevision -SkipRegistryCheck -Confirm:$false {this.Connection}");
        Assert.Equal(new[] { "Deleted", "Skipped" }, deleted.Output.Select(o => o.Properties["Status"].Value.ToString()));
    }

    [Fact]
    public void An_unreachable_MongoDB_is_a_clear_error_within_the_timeout_without_the_password()
    {
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        var stopwatch = Stopwatch.StartNew();
        PowerShellResult result = this.session.Run(
            $"Remove-MongoEnvRevision -Tag {Tag(OldR, 1)} -SkipRegistryCheck -Confirm:$false -Verbose -MongoUri 'mongodb://127.0.0.1:{port}/?directConnection=true' -MongoCredential $credential -TimeoutSec 2",
            new Dictionary<string, object?> { ["credential"] = new PSCredential("admin", new NetworkCredential(string.Empty, Secret).SecurePassword) });

        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(20), $"took {stopwatch.Elapsed}");
        Assert.Equal("MongoUnreachable", ErrorIdOf(result));
        Assert.Contains($"127.0.0.1:{port}", ErrorOf(result)!.Exception.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, result.AllText, StringComparison.Ordinal);
    }

    [Fact]
    public void A_wrong_password_is_MongoCredentialsRefused_without_the_password()
    {
        if (this.database.StandIn is not { } standIn)
        {
            return; // A real MongoDB may run without authentication.
        }

        PowerShellResult result = this.session.Run(
            $"Find-ArchivedEnvTag -Registry '{this.registry.Registry}' -MongoUri 'mongodb://{standIn.Address}/?replicaSet=rs0' -MongoCredential $credential -TimeoutSec 10",
            new Dictionary<string, object?> { ["credential"] = new PSCredential(MongoTestDatabase.StandInUser, new NetworkCredential(string.Empty, Secret).SecurePassword) });

        Assert.Equal("MongoCredentialsRefused", ErrorIdOf(result));
        Assert.DoesNotContain(Secret, result.AllText, StringComparison.Ordinal);
    }

    // A terminating error inside a script lands in the error stream (the script goes on), or is thrown when it stops the script.
    private static ErrorRecord? ErrorOf(PowerShellResult result) =>
        (result.Terminating as IContainsErrorRecord)?.ErrorRecord ?? result.Errors.FirstOrDefault();

    private static string? ErrorIdOf(PowerShellResult result) => ErrorOf(result)?.FullyQualifiedErrorId.Split(',')[0];

    private PowerShellResult Run(string script)
    {
        MongoConnectionSettings settings = this.database.Settings;
        string uri = settings.Uri ?? $"mongodb://127.0.0.1:{settings.Port}/?replicaSet={settings.ReplicaSet}";
        PSCredential? credential = settings.Password is { } password
            ? new PSCredential(settings.Username ?? MongoTestDatabase.StandInUser, new NetworkCredential(string.Empty, password).SecurePassword)
            : null;
        return this.session.Run(script, new Dictionary<string, object?>
        {
            ["mongoUri"] = uri,
            ["database"] = settings.DatabaseName,
            ["mongoCredential"] = credential,
        });
    }

    private Task<List<BsonDocument>> RevisionsAsync() => this.database.DocumentsAsync(DominoDatabase.EnvironmentRevisionsCollection);
}
