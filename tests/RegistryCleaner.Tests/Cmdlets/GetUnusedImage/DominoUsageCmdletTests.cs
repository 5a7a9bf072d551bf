using System.Management.Automation;
using System.Net;
using System.Net.Sockets;
using MongoDB.Bson;
using RegistryCleaner.Domino;
using RegistryCleaner.Registry;
using RegistryCleaner.Tests.Infrastructure;
using static RegistryCleaner.Tests.Domino.DominoUsageScenario;
using static RegistryCleaner.Tests.Infrastructure.DominoDocuments;

namespace RegistryCleaner.Tests.Domino;

/// <summary>A real registry holding every image of <see cref="DominoUsageScenario"/>, plus one image outside the Domino repositories.</summary>
public sealed class DominoScenarioRegistry : RegistryServer, IAsyncLifetime
{
    public const string OtherRepository = "other/app";

    public DominoScenarioRegistry()
        : base(new RegistryServerOptions())
    {
    }

    public Dictionary<string, string> Digests { get; private set; } = [];

    public async Task InitializeAsync()
    {
        this.Digests = await PushAsync(this.BaseAddress);
        using var pusher = new ImagePusher(this.BaseAddress);
        this.Digests[$"{OtherRepository}:v1"] = (await pusher.PushImageAsync(OtherRepository, "v1", [ImagePusher.Layer(6999, 300)])).Digest;
    }

    public Task DisposeAsync() => Task.CompletedTask;
}

/// <summary>Shared by the end-to-end tests of Domino's records: a seeded database and the typed connection parameters.</summary>
public abstract class DominoCmdletTestBase : IAsyncLifetime, IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("registrycleaner-domino-").FullName;

    protected DominoCmdletTestBase() => this.Session = new PowerShellSession(this.directory);

    protected PowerShellSession Session { get; }

    protected MongoTestDatabase Database { get; private set; } = null!;

    protected string Folder => this.directory;

    /// <summary>Gets -MongoUri, -Database and (for the stand-in) -MongoCredential, as variables set by <see cref="Run"/>.</summary>
    protected static string Mongo => "-MongoUri $mongoUri -Database $database" + (MongoTestDatabase.RealUri is null ? " -MongoCredential $mongoCredential" : string.Empty);

    /// <summary>Gets a MongoDB address nothing listens on, with a short timeout.</summary>
    protected static string UnreachableMongo
    {
        get
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            int port = ((IPEndPoint)listener.LocalEndpoint).Port;
            return $"-MongoUri 'mongodb://127.0.0.1:{port}/?directConnection=true' -TimeoutSec 2";
        }
    }

    public virtual async Task InitializeAsync()
    {
        this.Database = MongoTestDatabase.Create();
        await SeedAsync(this.Database);
    }

    public virtual async Task DisposeAsync() => await this.Database.DisposeAsync();

    public void Dispose()
    {
        this.Session.Dispose();
        Directory.Delete(this.directory, recursive: true);
        GC.SuppressFinalize(this);
    }

    protected static string? ErrorIdOf(PowerShellResult result) =>
        ((result.Terminating as IContainsErrorRecord)?.ErrorRecord ?? result.Errors.FirstOrDefault())?.FullyQualifiedErrorId.Split(',')[0];

    protected static string[] Names(PowerShellResult result) =>
        [.. result.Output.Select(o => $"{o.Properties["Repository"].Value}:{o.Properties["Tag"].Value}").Order(StringComparer.Ordinal)];

    protected static string[] Expected(Func<ScenarioImage, bool> deleted) =>
        [.. Images.Where(deleted).Select(i => $"{i.Repository}:{i.Tag}").Order(StringComparer.Ordinal)];

    protected PowerShellResult Run(string script)
    {
        MongoConnectionSettings settings = this.Database.Settings;
        string uri = settings.Uri ?? $"mongodb://127.0.0.1:{settings.Port}/?replicaSet={settings.ReplicaSet}";
        PSCredential? credential = settings.Password is { } password
            ? new PSCredential(settings.Username ?? MongoTestDatabase.StandInUser, new NetworkCredential(string.Empty, password).SecurePassword)
            : null;
        return this.Session.Run(script, new Dictionary<string, object?>
        {
            ["mongoUri"] = uri,
            ["database"] = settings.DatabaseName,
            ["mongoCredential"] = credential,
        });
    }
}

/// <summary>
/// Planning with Domino's records end to end: real runspace, real registry, MongoDB stand-in (or a real MongoDB). By
/// default (mongo.usage: auto) planning in a Domino repository reads them and fails closed; other repositories do not.
/// </summary>
public sealed class DominoUsagePlanningTests(DominoScenarioRegistry registry) : DominoCmdletTestBase, IClassFixture<DominoScenarioRegistry>
{
    // -InUse @() stands for a cluster where nothing runs: only Domino's records protect.
    private string Plan => $"Get-UnusedImage -Registry '{registry.Registry}' -InUse @()";

    [Fact]
    public void Every_source_protects_exactly_its_images_by_default_and_names_its_record()
    {
        PowerShellResult result = this.Run($"{this.Plan} {Mongo} -Verbose");

        Assert.Null(result.Terminating);
        Assert.Empty(result.Errors);
        Assert.Equal(Expected(i => i.KeptBy is null), Names(result));
        foreach (ScenarioImage image in Images.Where(i => i.KeptBy is not null))
        {
            string kept = Assert.Single(result.Verbose, v => v.StartsWith($"kept: {image.Repository}:{image.Tag} ", StringComparison.Ordinal));
            Assert.Contains(image.Names, kept, StringComparison.Ordinal);
        }

        Assert.Contains(result.Verbose, v => v.Contains("mongo.usage: auto", StringComparison.Ordinal));
        Assert.DoesNotContain(MongoTestDatabase.StandInPassword, result.AllText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_record_whose_repository_the_registry_lacks_keeps_its_tag_in_every_Domino_repository_and_says_so()
    {
        await this.Database.SeedAsync(DominoDatabase.EnvironmentRevisionsCollection, Revision(Rev(Python, 60), Python, 14, repository: "mirror.example:443/legacy/env"));
        await this.Database.SeedAsync(DominoDatabase.WorkspacesCollection, Workspace(Id("a0a00000", 60), "mirrored", Churn, Alice, "Stopped", Python, $"SomeRevision({Rev(Python, 60)})"));

        PowerShellResult result = this.Run($"{this.Plan} {Mongo} -Verbose");

        Assert.Empty(result.Errors);
        Assert.Equal(Expected(i => i.KeptBy is null && i.Tag != Tag(Python, 14)), Names(result));
        string kept = Assert.Single(result.Verbose, v => v.StartsWith($"kept: {EnvironmentRepository}:{Tag(Python, 14)} ", StringComparison.Ordinal));
        Assert.Contains($"Domino workspace {Id("a0a00000", 60)} 'mirrored'", kept, StringComparison.Ordinal);
        Assert.Contains("recorded in repository 'legacy/env', which the registry does not have", kept, StringComparison.Ordinal);
        Assert.Contains(result.Verbose, v => v.StartsWith("Domino: 1 reference(s) name images in repository 'legacy/env', which the registry does not have: their tags are kept in every Domino repository", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_running_old_run_a_workspace_without_environmentId_and_a_revision_without_repository_keep_their_images()
    {
        BsonDocument workspace = Workspace(Id("a0a00000", 61), "bare", Churn, Alice, "Stopped", Python, $"SomeRevision({Rev(Python, 61)})");
        workspace["configTemplate"].AsBsonDocument.Remove("environmentId");
        await this.Database.SeedAsync(DominoDatabase.WorkspacesCollection, workspace);
        await this.Database.SeedAsync(DominoDatabase.EnvironmentRevisionsCollection, Revision(Rev(Python, 61), Python, 14, repository: string.Empty));
        await this.Database.SeedAsync(DominoDatabase.RunsCollection, DominoDocuments.Run(Id("0e0e0000", 61), Python, Rev(Python, 11), Churn, Bob, DateTime.UtcNow.AddDays(-400), null));

        PowerShellResult result = this.Run($"{this.Plan} {Mongo} -UnusedSince 30 -Verbose");

        Assert.Empty(result.Errors);
        Assert.Equal(Expected(i => (i.KeptBy is null || i.OnlyRecentRuns) && i.Tag != Tag(Python, 14) && i.Tag != Tag(Python, 11)), Names(result));
        Assert.Contains(
            $"revision {Rev(Python, 61)} records tag {Tag(Python, 14)} without a repository, so the tag is kept in {EnvironmentRepository}",
            Assert.Single(result.Verbose, v => v.StartsWith($"kept: {EnvironmentRepository}:{Tag(Python, 14)} ", StringComparison.Ordinal)),
            StringComparison.Ordinal);
        Assert.Contains($"Domino run {Id("0e0e0000", 61)}", Assert.Single(result.Verbose, v => v.StartsWith($"kept: {EnvironmentRepository}:{Tag(Python, 11)} ", StringComparison.Ordinal)), StringComparison.Ordinal);
    }

    [Fact]
    public void Unused_images_carry_their_environment_project_and_owner_so_space_groups_by_owner()
    {
        PowerShellResult result = this.Run(
            $"{this.Plan} {Mongo} | Group-Object Owner | Sort-Object Name | ForEach-Object {{ '{{0}}={{1}}' -f $_.Name, $_.Count }}");
        PowerShellResult images = this.Run($"{this.Plan} {Mongo}");

        PSObject unreferenced = Assert.Single(images.Output, o => (string)o.Properties["Tag"].Value == Tag(Python, 14));
        Assert.Equal(("Python", null, "alice"), ((string?)unreferenced.Properties["EnvironmentName"].Value, (string?)unreferenced.Properties["Project"].Value, (string?)unreferenced.Properties["Owner"].Value));
        PSObject archivedModel = Assert.Single(images.Output, o => (string)o.Properties["Tag"].Value == ArchivedModelTag);
        Assert.Equal(("Python", "churn", "bob"), ((string?)archivedModel.Properties["EnvironmentName"].Value, (string?)archivedModel.Properties["Project"].Value, (string?)archivedModel.Properties["Owner"].Value));
        Assert.Null(Assert.Single(images.Output, o => (string)o.Properties["Tag"].Value == UnknownModelTag).Properties["Owner"].Value);

        // Revision authors (alice) own the environment images, model version creators (bob) the model images.
        Assert.Equal(["=1", "alice=9", "bob=3"], result.Output.Select(o => o.BaseObject.ToString()));
    }

    [Fact]
    public void UnusedSince_lets_the_images_of_old_runs_go_and_keeps_every_other_record()
    {
        PowerShellResult result = this.Run($"{this.Plan} {Mongo} -UnusedSince 30");

        Assert.Empty(result.Errors);
        Assert.Equal(Expected(i => i.KeptBy is null || i.OnlyRecentRuns), Names(result));
    }

    [Fact]
    public void Kubernetes_usage_still_protects_on_top_of_the_records()
    {
        PowerShellResult result = this.Run(
            $"Get-UnusedImage -Registry '{registry.Registry}' -InUse @([pscustomobject]@{{ Image = 'docker-registry:5000/{EnvironmentRepository}:{Tag(Python, 14)}' }}) {Mongo}");

        Assert.Empty(result.Errors);
        Assert.Equal(Expected(i => i.KeptBy is null && i.Tag != Tag(Python, 14)), Names(result));
    }

    [Fact]
    public void An_unreadable_MongoDB_stops_planning_and_deleting_in_Domino_repositories_and_deletes_nothing()
    {
        SortedDictionary<string, string> before = StorageHashes(registry.StoragePath);

        PowerShellResult planned = this.Run($"{this.Plan} {UnreachableMongo}");
        PowerShellResult removed = this.Run($"Remove-UnusedImage -Registry '{registry.Registry}' -InUse @() {UnreachableMongo} -Confirm:$false -JournalPath j.jsonl");
        PowerShellResult piped = this.Run(
            $"[pscustomobject]@{{ Repository = '{EnvironmentRepository}'; Tag = '{Tag(Python, 14)}' }} | Remove-UnusedImage -Registry '{registry.Registry}' -InUse @() {UnreachableMongo} -Confirm:$false -JournalPath j.jsonl");

        foreach (PowerShellResult result in new[] { planned, removed, piped })
        {
            Assert.Equal("DominoUsageUnreadable", ErrorIdOf(result));
            Assert.Empty(result.Output);
        }

        string message = ((planned.Terminating as IContainsErrorRecord)?.ErrorRecord ?? planned.Errors[0]).Exception.Message;
        Assert.Contains("mongo.usage: auto", message, StringComparison.Ordinal);
        Assert.Contains("-MongoUsage:$false", message, StringComparison.Ordinal);
        Assert.Equal(before, StorageHashes(registry.StoragePath));
        Assert.False(File.Exists(Path.Combine(this.Folder, "j.jsonl")));
    }

    [Fact]
    public async Task One_unreadable_collection_stops_planning_and_deleting_in_Domino_repositories_and_deletes_nothing()
    {
        SortedDictionary<string, string> before = StorageHashes(registry.StoragePath);
        await this.Database.MakeUnreadableAsync(DominoDatabase.WorkspacesCollection);

        PowerShellResult planned = this.Run($"{this.Plan} {Mongo}");
        PowerShellResult removed = this.Run($"Remove-UnusedImage -Registry '{registry.Registry}' -InUse @() {Mongo} -Confirm:$false -JournalPath j.jsonl");
        PowerShellResult piped = this.Run(
            $"[pscustomobject]@{{ Repository = '{EnvironmentRepository}'; Tag = '{Tag(Python, 4)}' }} | Remove-UnusedImage -Registry '{registry.Registry}' -InUse @() {Mongo} -Confirm:$false -JournalPath j.jsonl");

        foreach (PowerShellResult result in new[] { planned, removed, piped })
        {
            Assert.Equal("DominoUsageUnreadable", ErrorIdOf(result));
            Assert.StartsWith(
                "Domino's records could not be read from MongoDB, so nothing is planned or deleted (mongo.usage: auto)",
                ((result.Terminating as IContainsErrorRecord)?.ErrorRecord ?? result.Errors[0]).Exception.Message,
                StringComparison.Ordinal);
            Assert.Empty(result.Output);
        }

        Assert.Equal(before, StorageHashes(registry.StoragePath));
        Assert.False(File.Exists(Path.Combine(this.Folder, "j.jsonl")));
    }

    [Fact]
    public void A_piped_Domino_tag_that_a_record_pins_is_skipped_with_the_record_named()
    {
        SortedDictionary<string, string> before = StorageHashes(registry.StoragePath);

        PowerShellResult result = this.Run(
            $"@([pscustomobject]@{{ Repository = '{EnvironmentRepository}'; Tag = '{Tag(Python, 4)}' }}, [pscustomobject]@{{ Repository = '{ModelRepository}'; Tag = '{DeployedModelTag}' }}) | Remove-UnusedImage -Registry '{registry.Registry}' -InUse @() {Mongo} -Confirm:$false -JournalPath j.jsonl");

        Assert.Null(result.Terminating);
        Assert.Empty(result.Errors);
        Assert.Equal([$"{EnvironmentRepository}:{Tag(Python, 4)}", $"{ModelRepository}:{DeployedModelTag}"], Names(result));
        Assert.All(result.Output, o => Assert.Equal("Skipped", o.Properties["Status"].Value.ToString()));
        string Reason(string tag) => (string)result.Output.Single(o => (string)o.Properties["Tag"].Value == tag).Properties["Reason"].Value;
        Assert.Contains($"Domino workspace {StoppedWorkspace} 'notebook' (project churn, owner alice)", Reason(Tag(Python, 4)), StringComparison.Ordinal);
        Assert.Contains($"Domino model deployment {DeployingSaga}", Reason(DeployedModelTag), StringComparison.Ordinal);
        Assert.Equal(before, StorageHashes(registry.StoragePath));
    }

    [Fact]
    public void A_refused_MongoDB_password_stops_deletion_in_Domino_repositories_without_showing_it()
    {
        // A real MongoDB may run without authentication, but it still refuses credentials of a user it does not have.
        const string Wrong = "Wr0ng-Domino-Pa55word";
        (string uri, string user) = this.Database.StandIn is { } standIn
            ? ($"mongodb://{standIn.Address}/?replicaSet=rs0", MongoTestDatabase.StandInUser)
            : (new MongoDB.Driver.MongoUrlBuilder(MongoTestDatabase.RealUri) { Username = null, Password = null, DatabaseName = null }.ToString(), "registrycleaner-no-such-user");
        PowerShellResult result = this.Session.Run(
            $"Remove-UnusedImage -Registry '{registry.Registry}' -InUse @() -MongoUri $uri -MongoCredential $credential -Confirm:$false -JournalPath j.jsonl -Verbose",
            new Dictionary<string, object?> { ["uri"] = uri, ["credential"] = new PSCredential(user, new NetworkCredential(string.Empty, Wrong).SecurePassword) });

        Assert.Equal("DominoUsageUnreadable", ErrorIdOf(result));
        Assert.Contains("rejected the credentials", ((result.Terminating as IContainsErrorRecord)?.ErrorRecord ?? result.Errors[0]).Exception.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Wrong, result.AllText, StringComparison.Ordinal);
        Assert.Empty(result.Output);
        Assert.False(File.Exists(Path.Combine(this.Folder, "j.jsonl")));
    }

    [Fact]
    public void Other_repositories_are_planned_and_deleted_without_MongoDB()
    {
        PowerShellResult planned = this.Run($"Get-UnusedImage -Registry '{registry.Registry}' -Repository '{DominoScenarioRegistry.OtherRepository}' -InUse @() {UnreachableMongo} -Verbose");
        PowerShellResult piped = this.Run(
            $"[pscustomobject]@{{ Repository = '{DominoScenarioRegistry.OtherRepository}'; Tag = 'v1' }} | Remove-UnusedImage -Registry '{registry.Registry}' -InUse @() {UnreachableMongo} -WhatIf");

        Assert.Empty(planned.Errors);
        Assert.Equal([$"{DominoScenarioRegistry.OtherRepository}:v1"], Names(planned));
        Assert.Contains(planned.Verbose, v => v.Contains("Domino's records are not read (mongo.usage: auto): no Domino repository", StringComparison.Ordinal));
        Assert.Null(piped.Terminating);
        Assert.Empty(piped.Errors);
    }

    [Fact]
    public void MongoUsage_false_opts_out_and_says_so_once()
    {
        PowerShellResult result = this.Run($"{this.Plan} -MongoUsage:$false {UnreachableMongo}");

        Assert.Empty(result.Errors);
        Assert.Equal(Expected(_ => true), Names(result));
        // Said once (the plan's bytes may add their own warning: no -StoragePath was given).
        string warning = Assert.Single(result.Warnings, w => w.StartsWith("Domino's records are not read", StringComparison.Ordinal));
        Assert.Contains("-MongoUsage:$false", warning, StringComparison.Ordinal);
        Assert.Contains($"{EnvironmentRepository}, {ModelRepository}", warning, StringComparison.Ordinal);
    }

    [Fact]
    public void Mongo_usage_true_reads_the_records_for_any_repository_and_false_opts_out()
    {
        string always = Path.Combine(this.Folder, "always.yaml");
        File.WriteAllText(always, "mongo:\n  usage: true\n");
        string never = Path.Combine(this.Folder, "never.yaml");
        File.WriteAllText(never, "mongo:\n  usage: no\n");

        PowerShellResult other = this.Run($"Get-UnusedImage -Registry '{registry.Registry}' -Repository '{DominoScenarioRegistry.OtherRepository}' -InUse @() -ConfigPath '{always}' {UnreachableMongo}");
        PowerShellResult optedOut = this.Run($"{this.Plan} -ConfigPath '{never}' {UnreachableMongo}");

        Assert.Equal("DominoUsageUnreadable", ErrorIdOf(other));
        Assert.Contains($"mongo.usage: true in {always}", ((other.Terminating as IContainsErrorRecord)?.ErrorRecord ?? other.Errors[0]).Exception.Message, StringComparison.Ordinal);
        Assert.Empty(optedOut.Errors);
        Assert.Equal(Expected(_ => true), Names(optedOut));
        Assert.Contains("mongo.usage: false", Assert.Single(optedOut.Warnings, w => w.StartsWith("Domino's records are not read", StringComparison.Ordinal)), StringComparison.Ordinal);
    }

    [Fact]
    public void A_mongo_usage_that_is_not_auto_true_or_false_stops_with_the_line()
    {
        string config = Path.Combine(this.Folder, "typo.yaml");
        File.WriteAllText(config, "mongo:\n  usage: sometimes\n");

        PowerShellResult result = this.Run($"{this.Plan} -ConfigPath '{config}'");

        Assert.Equal("ConfigFileInvalid", ErrorIdOf(result));
        string message = ((result.Terminating as IContainsErrorRecord)?.ErrorRecord ?? result.Errors[0]).Exception.Message;
        Assert.Contains("line 2", message, StringComparison.Ordinal);
        Assert.Contains("'mongo.usage' must be auto, true or false", message, StringComparison.Ordinal);
        Assert.Empty(result.Output);
    }

    [Fact]
    public void Get_RegistryImage_MongoUsage_names_each_images_owner_for_a_space_report()
    {
        PowerShellResult result = this.Run(
            $"Get-RegistryImage -Registry '{registry.Registry}' -Repository '{EnvironmentRepository}', '{ModelRepository}' -MongoUsage {Mongo} | Group-Object Owner | Sort-Object Name | ForEach-Object {{ '{{0}}={{1}}' -f $_.Name, ($_.Group | Measure-Object Size -Sum).Count }}");
        PowerShellResult plain = this.Run($"Get-RegistryImage -Registry '{registry.Registry}' -Repository '{ModelRepository}'");

        Assert.Empty(result.Errors);
        Assert.Equal(["=1", "alice=28", "bob=6"], result.Output.Select(o => o.BaseObject.ToString()));
        Assert.All(plain.Output, o => Assert.Null(o.Properties["Owner"].Value));
    }

    [Fact]
    public void Get_DominoImageUsage_answers_who_still_uses_an_environment()
    {
        PowerShellResult result = this.Run($"Get-DominoImageUsage -ObjectId {Python.ToString().ToUpperInvariant()} {Mongo} | Where-Object Kind -eq Workspace");
        PowerShellResult all = this.Run($"Get-DominoImageUsage {Mongo}");

        Assert.Empty(result.Errors);
        PSObject workspace = Assert.Single(result.Output);
        Assert.Equal("RegistryCleaner.DominoImageUsage", workspace.TypeNames[0]);
        Assert.Equal((StoppedWorkspace.ToString(), "notebook", "churn", "alice", "Stopped"), (
            (string)workspace.Properties["RecordId"].Value,
            (string)workspace.Properties["RecordName"].Value,
            (string)workspace.Properties["Project"].Value,
            (string)workspace.Properties["Owner"].Value,
            (string)workspace.Properties["Status"].Value));
        Assert.Equal(Tag(Python, 4), workspace.Properties["Tag"].Value);
        Assert.Contains(all.Output, o => o.Properties["Kind"].Value.ToString() == "SchedulerJob");
        Assert.True(all.Output.Count > result.Output.Count);
    }

    [Fact]
    public void Get_DominoImageUsage_checks_ObjectIds_before_any_query()
    {
        int commands = this.Database.StandIn?.Commands.Count ?? 0;

        PowerShellResult result = this.Run($"Get-DominoImageUsage -ObjectId 659c7bce85f6381e675bb20 {Mongo}");

        Assert.Equal("ObjectIdInvalid", ErrorIdOf(result));
        Assert.Equal(commands, this.Database.StandIn?.Commands.Count ?? 0);
    }

    internal static SortedDictionary<string, string> StorageHashes(string root)
    {
        var hashes = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (string file in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
        {
            hashes[Path.GetRelativePath(root, file)] = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(file)));
        }

        return hashes;
    }
}

/// <summary>Deleting with Domino's records and comparing them with the registry: each test gets a registry of its own.</summary>
public sealed class DominoUsageDeletionTests : DominoCmdletTestBase
{
    private DominoScenarioRegistry registry = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        this.registry = new DominoScenarioRegistry();
        await this.registry.InitializeAsync();
    }

    public override async Task DisposeAsync()
    {
        this.registry.Dispose();
        await base.DisposeAsync();
    }

    [Fact]
    public async Task A_real_run_deletes_exactly_what_no_record_pins_and_garbage_collection_frees_the_planned_bytes()
    {
        PowerShellResult planned = this.Run($"Get-UnusedImage -Registry '{this.registry.Registry}' -InUse @() {Mongo}");
        long plannedBytes = planned.Output.Sum(o => (long)o.Properties["ReclaimableBytes"].Value);

        PowerShellResult result = this.Run($"Remove-UnusedImage -Registry '{this.registry.Registry}' -InUse @() {Mongo} -JournalPath j.jsonl -Confirm:$false");

        Assert.Null(result.Terminating);
        Assert.Empty(result.Errors);
        Assert.Equal(Expected(i => i.KeptBy is null), Names(result));
        Assert.All(result.Output, o => Assert.Equal("Deleted", o.Properties["Status"].Value.ToString()));
        using var client = new RegistryClient(RegistryEndpoint.Parse(this.registry.Registry));
        foreach (ScenarioImage image in Images)
        {
            Assert.True((await client.HeadManifestAsync(image.Repository, image.Tag, CancellationToken.None) is not null) == (image.KeptBy is not null), $"{image.Tag}: {image.Names}");
        }

        long before = this.registry.BlobBytes();
        this.registry.RunGarbageCollect();
        Assert.Equal(plannedBytes, before - this.registry.BlobBytes());
    }

    [Fact]
    public async Task Compare_DominoRegistry_finds_both_ways_and_its_output_pipes_into_the_removal_cmdlets()
    {
        // A revision and a build whose images were never pushed, and a registry tag no record names.
        var gone = Rev(Python, 40);
        await this.Database.SeedAsync(DominoDatabase.EnvironmentRevisionsCollection, Revision(gone, Python, 40, author: Alice));
        await this.Database.SeedAsync(DominoDatabase.ModelVersionsCollection, ModelVersion(Id("f1f10000", 9), LiveModel, Rev(Python, 8), Bob, (ModelTag(LiveModel, 2, "Missing0"), Id("b0b00000", 9))));
        using (var pusher = new ImagePusher(this.registry.BaseAddress))
        {
            await pusher.PushImageAsync(EnvironmentRepository, "base-image", [ImagePusher.Layer(6998, 300)]);
        }

        PowerShellResult differences = this.Run($"Compare-DominoRegistry -Registry '{this.registry.Registry}' {Mongo}");

        Assert.Empty(differences.Errors);
        Assert.Equal(
            new[]
            {
                ("RecordMissing", "EnvironmentRevision", $"{EnvironmentRepository}:base-image"),
                ("ImageMissing", "EnvironmentRevision", $"{EnvironmentRepository}:{Tag(Python, 40)}"),
                ("ImageMissing", "ModelBuild", $"{ModelRepository}:{ModelTag(LiveModel, 2, "Missing0")}"),
                ("RecordMissing", "ModelBuild", $"{ModelRepository}:{UnknownModelTag}"),
            }.OrderBy(d => d.Item3, StringComparer.Ordinal),
            differences.Output.Select(o => ((string)o.Properties["Difference"].Value, (string)o.Properties["RecordKind"].Value, $"{o.Properties["Repository"].Value}:{o.Properties["Tag"].Value}")));
        PSObject missing = Assert.Single(differences.Output, o => (string)o.Properties["Tag"].Value == Tag(Python, 40));
        Assert.Equal("RegistryCleaner.DominoRegistryDifference", missing.TypeNames[0]);
        Assert.Equal((gone.ToString(), Python.ToString(), "Python"), ((string)missing.Properties["RevisionId"].Value, (string)missing.Properties["EnvironmentId"].Value, (string)missing.Properties["EnvironmentName"].Value));
        Assert.Contains("which the registry does not have", (string)missing.Properties["Reason"].Value, StringComparison.Ordinal);
        Assert.Equal(this.registry.Digests[$"{ModelRepository}:{UnknownModelTag}"], Assert.Single(differences.Output, o => (string)o.Properties["Tag"].Value == UnknownModelTag).Properties["Digest"].Value);

        PowerShellResult revisions = this.Run(
            $"Compare-DominoRegistry -Registry '{this.registry.Registry}' {Mongo} | Where-Object Difference -eq ImageMissing | Remove-MongoEnvRevision -Registry '{this.registry.Registry}' -BackupPath b.jsonl -Confirm:$false {Mongo}");
        PowerShellResult images = this.Run(
            $"Compare-DominoRegistry -Registry '{this.registry.Registry}' {Mongo} | Where-Object Difference -eq RecordMissing | Remove-UnusedImage -Registry '{this.registry.Registry}' -InUse @() {Mongo} -JournalPath j.jsonl -Confirm:$false");

        Assert.Empty(revisions.Errors);
        Assert.Equal([(gone.ToString(), "Deleted"), (null, "NotFound")], revisions.Output.Select(o => ((string?)o.Properties["RevisionId"].Value, o.Properties["Status"].Value.ToString()!)));
        Assert.DoesNotContain(await this.Database.DocumentsAsync(DominoDatabase.EnvironmentRevisionsCollection), d => d["_id"] == gone);
        Assert.Empty(images.Errors);
        Assert.Equal([$"{EnvironmentRepository}:base-image", $"{ModelRepository}:{UnknownModelTag}"], Names(images));
        Assert.All(images.Output, o => Assert.Equal("Deleted", o.Properties["Status"].Value.ToString()));

        PowerShellResult after = this.Run($"Compare-DominoRegistry -Registry '{this.registry.Registry}' {Mongo}");
        Assert.Equal([$"{ModelRepository}:{ModelTag(LiveModel, 2, "Missing0")}"], Names(after));
    }
}
