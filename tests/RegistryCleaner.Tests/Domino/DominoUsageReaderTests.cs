using MongoDB.Bson;
using RegistryCleaner.Domino;
using RegistryCleaner.Tests.Infrastructure;
using static RegistryCleaner.Tests.Domino.DominoUsageScenario;
using static RegistryCleaner.Tests.Infrastructure.DominoDocuments;
using MongoObjectId = MongoDB.Bson.ObjectId;

namespace RegistryCleaner.Tests.Domino;

/// <summary>
/// Reading Domino's records through the real MongoDB.Driver, against the wire-protocol stand-in (or a real MongoDB when
/// REGISTRYCLEANER_TEST_MONGODB_URI is set): every kind of record, the decoys that pin nothing, owners, and the cost.
/// </summary>
public sealed class DominoUsageReaderTests : IAsyncLifetime
{
    private MongoTestDatabase database = null!;

    public async Task InitializeAsync()
    {
        database = MongoTestDatabase.Create();
        await SeedAsync(database);
    }

    public async Task DisposeAsync() => await database.DisposeAsync();

    [Fact]
    public async Task Every_kind_of_record_names_exactly_its_image_and_the_decoys_name_none()
    {
        DominoUsageReport report = await this.ReadAsync();

        foreach (ScenarioImage image in Images)
        {
            DominoImageReference[] pins = report.Pins.Where(r => r.Repository == image.Repository && r.Tag == image.Tag).ToArray();
            if (image.KeptBy is null or DominoRecordKind.ClonedRevision)
            {
                Assert.True(pins.Length == 0, $"{image.Tag} ({image.Names}) must not be pinned, but: {string.Join("; ", pins.Select(p => p.Reason))}");
                continue;
            }

            Assert.Contains(pins, p => p.Kind == image.KeptBy && p.Reason.Contains(image.Names, StringComparison.Ordinal));
        }

        // The clone chain is reported as references from the clone to its source's image.
        Assert.Contains(report.References, r => r.Kind == DominoRecordKind.ClonedRevision && r.Tag == Tag(Python, 9) && r.RecordId == Rev(Python, 15).ToString());
        Assert.Contains(report.References, r => r.Kind == DominoRecordKind.ClonedRevision && r.Tag == Tag(Python, 16) && r.RecordId == Rev(Cloned, 1).ToString());
        Assert.DoesNotContain(report.References, r => r.Repository.Length == 0);
        Assert.StartsWith($"1 model version(s) name a model that Domino's records do not have, or no readable modelId ({OrphanVersion})", Assert.Single(report.Notes), StringComparison.Ordinal);
    }

    [Fact]
    public async Task References_carry_ids_project_owner_last_use_and_status()
    {
        DominoUsageReport report = await this.ReadAsync();

        DominoImageReference run = Assert.Single(report.References, r => r.Kind == DominoRecordKind.Run && r.Tag == Tag(Python, 1));
        Assert.Equal(RunsRecordOf(run), (RecentRun.ToString(), Churn.ToString(), "churn", Alice.ToString(), "alice", "Alice Admin"));
        Assert.Equal(Rev(Python, 1).ToString(), run.RevisionId);
        Assert.Equal(Python.ToString(), run.EnvironmentId);
        Assert.Equal("Python", run.EnvironmentName);
        Assert.Equal(Python.ToString(), run.ObjectId);
        Assert.Equal(DominoDatabase.RunsCollection, run.Source);
        Assert.Equal("Succeeded", run.Status);
        Assert.InRange(run.LastUsed!.Value, DateTimeOffset.UtcNow.AddDays(-3), DateTimeOffset.UtcNow);

        DominoImageReference workspace = Assert.Single(report.References, r => r.Kind == DominoRecordKind.Workspace && r.Tag == Tag(Python, 4));
        Assert.Equal(("notebook", "Stopped", "alice"), (workspace.RecordName, workspace.Status, workspace.Owner));
        Assert.Equal(new DateTimeOffset(Epoch.AddDays(30)), workspace.LastUsed);
        Assert.Contains($"environmentRevisionSpec SomeRevision({Rev(Python, 4)})", workspace.Reason, StringComparison.Ordinal);

        DominoImageReference build = Assert.Single(report.References, r => r.Kind == DominoRecordKind.ModelBuild && r.Tag == LiveModelTag);
        Assert.Equal((LiveModelTag, LiveVersion.ToString(), LiveModel.ToString(), "churn", "bob"), (build.Tag, build.RecordId, build.ModelId, build.Project, build.Owner));
        Assert.Equal("StartModelVersion succeeded", build.Status);
        Assert.Equal(Python.ToString(), build.EnvironmentId);
        Assert.Null(build.RevisionId);

        DominoImageReference organization = Assert.Single(report.References, r => r.Kind == DominoRecordKind.OrganizationDefault);
        Assert.Equal(("acme", OrgDefault.ToString(), "Org default"), (organization.RecordName, organization.EnvironmentId, organization.EnvironmentName));
        Assert.Null(organization.Owner);
    }

    [Fact]
    public async Task UnusedSince_drops_runs_that_neither_started_nor_ended_in_the_window_and_nothing_else()
    {
        DominoUsageReport all = await this.ReadAsync();
        DominoUsageReport recent = await this.ReadAsync(new DominoUsageOptions { RunsSince = DateTimeOffset.UtcNow.AddDays(-30) });

        Assert.Contains(all.References, r => r.Kind == DominoRecordKind.Run && r.Tag == Tag(Python, 3));
        Assert.DoesNotContain(recent.References, r => r.Tag == Tag(Python, 3));
        Assert.Equal(all.References.Count - 1, recent.References.Count);
    }

    [Fact]
    public async Task UnusedSince_keeps_a_run_that_started_before_the_window_and_has_not_completed()
    {
        DateTime old = DateTime.UtcNow.AddDays(-400);
        await database.SeedAsync(DominoDatabase.RunsCollection, Run(Id("0e0e0000", 60), Python, Rev(Python, 14), Churn, Bob, old, null));

        DominoUsageReport recent = await this.ReadAsync(new DominoUsageOptions { RunsSince = DateTimeOffset.UtcNow.AddDays(-30) });

        DominoImageReference run = Assert.Single(recent.Pins, r => r.Tag == Tag(Python, 14));
        Assert.Equal((DominoRecordKind.Run, Id("0e0e0000", 60).ToString(), "Running"), (run.Kind, run.RecordId, run.Status));
        Assert.DoesNotContain(recent.Pins, r => r.Tag == Tag(Python, 3));
    }

    [Fact]
    public async Task Run_times_stored_as_epoch_milliseconds_and_runs_not_yet_started_are_read_under_UnusedSince()
    {
        BsonDocument Millis(BsonDocument run, DateTime? started, DateTime? completed)
        {
            run["started"] = started is { } s ? new BsonInt64(new DateTimeOffset(s).ToUnixTimeMilliseconds()) : BsonNull.Value;
            run["completed"] = completed is { } c ? new BsonInt64(new DateTimeOffset(c).ToUnixTimeMilliseconds()) : BsonNull.Value;
            return run;
        }

        DateTime recent = DateTime.UtcNow.AddDays(-3);
        DateTime old = DateTime.UtcNow.AddDays(-400);
        BsonDocument queued = Run(Id("0e0e0000", 72), Python, Rev(Python, 12), Churn, Alice, null, null);
        queued.Remove("started");
        queued["status"] = "Queued";
        await database.SeedAsync(
            DominoDatabase.RunsCollection,
            Millis(Run(Id("0e0e0000", 70), Python, Rev(Python, 14), Churn, Alice, null, null), recent, recent.AddHours(1)),
            Millis(Run(Id("0e0e0000", 71), Python, Rev(Python, 11), Churn, Alice, null, null), old, old.AddHours(1)),
            Millis(Run(Id("0e0e0000", 73), Python, Rev(Python, 5), Churn, Alice, null, null), old.AddDays(-1), recent),
            queued);

        DominoUsageReport report = await this.ReadAsync(new DominoUsageOptions { RunsSince = DateTimeOffset.UtcNow.AddDays(-30) });

        DominoImageReference epoch = Assert.Single(report.Pins, r => r.Tag == Tag(Python, 14));
        Assert.Equal(Id("0e0e0000", 70).ToString(), epoch.RecordId);
        Assert.Equal(new DateTimeOffset(recent.AddHours(1)).ToUnixTimeMilliseconds(), epoch.LastUsed!.Value.ToUnixTimeMilliseconds());
        Assert.DoesNotContain(report.Pins, r => r.Tag == Tag(Python, 11));
        Assert.Equal(Id("0e0e0000", 73).ToString(), Assert.Single(report.Pins, r => r.Tag == Tag(Python, 5)).RecordId);
        DominoImageReference waiting = Assert.Single(report.Pins, r => r.Tag == Tag(Python, 12));
        Assert.Equal((Id("0e0e0000", 72).ToString(), "Queued"), (waiting.RecordId, waiting.Status));
        Assert.Null(waiting.LastUsed);
    }

    [Fact]
    public async Task A_workspace_naming_SomeRevision_without_an_environmentId_pins_that_revision()
    {
        BsonDocument Without(BsonDocument workspace)
        {
            workspace["configTemplate"].AsBsonDocument.Remove("environmentId");
            return workspace;
        }

        await database.SeedAsync(
            DominoDatabase.WorkspacesCollection,
            Without(Workspace(Id("a0a00000", 61), "no-env", Churn, Alice, "Stopped", Python, $"SomeRevision({Rev(Python, 14)})")),
            Without(Workspace(Id("a0a00000", 62), "no-env-active", Churn, Alice, "Stopped", Python, "ActiveRevision")));

        DominoUsageReport report = await this.ReadAsync();

        DominoImageReference pin = Assert.Single(report.Pins, r => r.Tag == Tag(Python, 14));
        Assert.Equal((DominoRecordKind.Workspace, Id("a0a00000", 61).ToString(), Rev(Python, 14).ToString()), (pin.Kind, pin.RecordId, pin.RevisionId));
        Assert.Contains($"environmentRevisionSpec SomeRevision({Rev(Python, 14)}) (the workspace records no environmentId)", pin.Reason, StringComparison.Ordinal);
        Assert.Contains(report.Notes, n => n.StartsWith("1 Workspace reference(s)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_revision_with_a_tag_but_no_repository_pins_its_tag_in_the_environment_repository_and_says_so()
    {
        await database.SeedAsync(DominoDatabase.EnvironmentRevisionsCollection, Revision(Rev(Python, 61), Python, 61, repository: string.Empty));
        await database.SeedAsync(DominoDatabase.WorkspacesCollection, Workspace(Id("a0a00000", 63), "bare", Churn, Alice, "Stopped", Python, $"SomeRevision({Rev(Python, 61)})"));

        DominoUsageReport named = await this.ReadAsync(new DominoUsageOptions { EnvironmentRepository = "/" + EnvironmentRepository });
        DominoUsageReport unnamed = await this.ReadAsync();

        DominoImageReference pin = Assert.Single(named.Pins, r => r.Tag == Tag(Python, 61));
        Assert.Equal((EnvironmentRepository, Rev(Python, 61).ToString()), (pin.Repository, pin.RevisionId));
        Assert.Contains($"revision {Rev(Python, 61)} records tag {Tag(Python, 61)} without a repository, so the tag is kept in {EnvironmentRepository}", pin.Reason, StringComparison.Ordinal);
        DominoImageReference bare = Assert.Single(unnamed.Pins, r => r.Tag == Tag(Python, 61));
        Assert.Equal(string.Empty, bare.Repository);
        Assert.Contains("so the tag is kept in every Domino repository", bare.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain(named.RevisionPinsWithoutImage, r => r.RevisionId == Rev(Python, 61).ToString());
    }

    [Fact]
    public async Task Runs_of_one_revision_project_and_user_are_one_reference_naming_the_latest()
    {
        DateTime start = DateTime.UtcNow.AddDays(-10);
        await database.SeedAsync(DominoDatabase.RunsCollection, [.. Enumerable.Range(10, 5).Select(i =>
            Run(Id("0e0e0000", i), Python, Rev(Python, 1), Churn, Alice, start.AddHours(i), start.AddHours(i + 1)))]);

        DominoUsageReport report = await this.ReadAsync();

        DominoImageReference run = Assert.Single(report.References, r => r.Kind == DominoRecordKind.Run && r.Tag == Tag(Python, 1));
        Assert.Equal(6, run.Count);
        Assert.Equal(RecentRun.ToString(), run.RecordId);
        Assert.Contains("6 runs on environment revision", run.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_revision_spec_that_is_not_understood_keeps_every_revision_of_the_environment_and_says_so()
    {
        await database.SeedAsync(
            DominoDatabase.WorkspacesCollection,
            Workspace(Id("a0a00000", 9), "odd", Churn, Alice, "Running", Jobs, "LatestRevision"));

        DominoUsageReport report = await this.ReadAsync();

        string[] kept = report.Pins.Where(r => r.RecordId == Id("a0a00000", 9).ToString()).Select(r => r.Tag).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal([Tag(Jobs, 1), Tag(Jobs, 2)], kept);
        Assert.Contains(report.Notes, n => n.Contains("'LatestRevision'", StringComparison.Ordinal) && n.Contains(Jobs.ToString(), StringComparison.Ordinal));
    }

    [Fact]
    public async Task Records_naming_revisions_or_environments_Domino_no_longer_has_are_counted_in_a_note()
    {
        await database.SeedAsync(
            DominoDatabase.RunsCollection,
            Run(Id("0e0e0000", 50), Python, Id("dead0000", 1), Churn, Alice, DateTime.UtcNow, null));
        await database.SeedAsync(DominoDatabase.OrganizationsCollection, Organization(Id("0d0d0000", 9), "gone", Id("dead0000", 2)));

        DominoUsageReport report = await this.ReadAsync();

        Assert.Contains(report.Notes, n => n.StartsWith("1 Run reference(s)", StringComparison.Ordinal));
        Assert.Contains(report.Notes, n => n.StartsWith("1 OrganizationDefault reference(s)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_record_naming_a_revision_without_an_image_pins_its_record_and_no_image()
    {
        await RevisionRecordScenario.SeedExtrasAsync(database);

        DominoUsageReport report = await this.ReadAsync();

        string broken = Rev(RevisionRecordScenario.Broken, 1).ToString();
        DominoImageReference pin = Assert.Single(report.RevisionPinsWithoutImage);
        Assert.Equal((DominoRecordKind.Workspace, broken, RevisionRecordScenario.Broken.ToString(), "Broken build", string.Empty, string.Empty), (pin.Kind, pin.RevisionId, pin.EnvironmentId, pin.EnvironmentName, pin.Repository, pin.Tag));
        Assert.StartsWith($"Domino workspace {RevisionRecordScenario.BrokenWorkspace} 'broken-notebook' (project churn, owner bob)", pin.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain(report.References, r => r.RevisionId == broken);
        Assert.Contains(report.References, r => r.Kind == DominoRecordKind.ClonedRevision && r.RevisionId == RevisionRecordScenario.CloneSource.ToString() && r.RecordId == RevisionRecordScenario.CloneOfSource.ToString());
        Assert.Contains(report.Notes, n => n.StartsWith("1 Workspace reference(s)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_version_whose_latest_deployment_saga_is_not_a_completed_stop_is_deployed_whatever_its_model()
    {
        // Versions of an archived model (and one of a model Domino no longer has), each with one build of its own.
        DateTime day = DateTime.UtcNow.AddDays(-5);
        var cases = new (string Name, MongoObjectId Model, bool Kept, BsonDocument[] Sagas)[]
        {
            ("stopping", ArchivedModel, true, [Saga(Id("5a9b0000", 1), Id("f2f20000", 11), "StartModelVersion", day), Saga(Id("5a9b0000", 2), Id("f2f20000", 11), "StopModelVersion", day.AddHours(1), "running", completed: false)]),
            ("stop failed", ArchivedModel, true, [Saga(Id("5a9b0000", 3), Id("f2f20000", 12), "StartModelVersion", day), Saga(Id("5a9b0000", 4), Id("f2f20000", 12), "StopModelVersion", day.AddHours(1), "failed")]),
            ("start failed", ArchivedModel, true, [Saga(Id("5a9b0000", 5), Id("f2f20000", 13), "StartModelVersion", day, "failed")]),
            ("restarted", ArchivedModel, true, [Saga(Id("5a9b0000", 6), Id("f2f20000", 14), "StopModelVersion", day), Saga(Id("5a9b0000", 7), Id("f2f20000", 14), "ModelVersionDeployment", day.AddHours(1))]),
            ("stopped, same start time", ArchivedModel, false, [Saga(Id("5a9b0000", 8), Id("f2f20000", 15), "StartModelVersion", day), Saga(Id("5a9b0000", 9), Id("f2f20000", 15), "StopModelVersion", day)]),
            ("never deployed", ArchivedModel, false, []),
            ("model gone", Id("dead0000", 7), true, [Saga(Id("5a9b0000", 10), Id("f2f20000", 17), "StartModelVersion", day)]),
        };
        for (int i = 0; i < cases.Length; i++)
        {
            await database.SeedAsync(DominoDatabase.ModelVersionsCollection, ModelVersion(Id("f2f20000", 11 + i), cases[i].Model, Rev(Python, 12), Bob, (ModelTag(cases[i].Model, 11 + i, "Case0000"), Id("b0b00000", 11 + i))));
            if (cases[i].Sagas.Length > 0)
            {
                await database.SeedAsync(DominoDatabase.SagasCollection, cases[i].Sagas);
            }
        }

        DominoUsageReport report = await this.ReadAsync();

        for (int i = 0; i < cases.Length; i++)
        {
            DominoImageReference[] pins = report.Pins.Where(r => r.Tag == ModelTag(cases[i].Model, 11 + i, "Case0000")).ToArray();
            if (!cases[i].Kept)
            {
                Assert.True(pins.Length == 0, $"{cases[i].Name}: {string.Join("; ", pins.Select(p => p.Reason))}");
                continue;
            }

            DominoImageReference pin = Assert.Single(pins);
            string latest = cases[i].Sagas[^1]["_id"].AsObjectId.ToString();
            Assert.Equal((DominoDatabase.SagasCollection, latest, DominoRecordKind.ModelBuild), (pin.Source, pin.RecordId, pin.Kind));
            Assert.StartsWith($"Domino model deployment {latest}", pin.Reason, StringComparison.Ordinal);
            Assert.Contains($"deploys model version {Id("f2f20000", 11 + i)}", pin.Reason, StringComparison.Ordinal);
            Assert.Contains(cases[i].Model == ArchivedModel ? $"model {ArchivedModel} is archived" : $"model {cases[i].Model} is not in Domino's records", pin.Reason, StringComparison.Ordinal);
        }

        // The revision a deployed version was built on is pinned by the same saga.
        Assert.Contains(report.Pins, r => r.Kind == DominoRecordKind.ModelEnvironment && r.Tag == Tag(Python, 12) && r.RecordId == Id("5a9b0000", 2).ToString());
    }

    [Fact]
    public async Task A_version_whose_model_is_unknown_is_treated_as_live_and_said_so_and_a_plain_modelId_is_read()
    {
        BsonDocument Version(int number, BsonValue? modelId)
        {
            BsonDocument version = ModelVersion(Id("f7f70000", number), LiveModel, Rev(Python, 14), Bob, (ModelTag(Id("f7000000", number), 1, "Plain000"), Id("b0b00000", 20 + number)));
            if (modelId is null)
            {
                version.Remove("modelId");
            }
            else
            {
                version["modelId"] = modelId;
            }

            return version;
        }

        await database.SeedAsync(
            DominoDatabase.ModelVersionsCollection,
            Version(1, LiveModel),
            Version(2, new BsonString(LiveModel.ToString())),
            Version(3, ArchivedModel),
            Version(4, null),
            Version(5, new BsonString("churn-model")),
            Version(6, new BsonDocument("value", Id("dead0000", 9))));

        DominoUsageReport report = await this.ReadAsync();

        DominoImageReference[] PinsOf(int number) => report.Pins.Where(r => r.Tag == ModelTag(Id("f7000000", number), 1, "Plain000")).ToArray();
        foreach (int live in new[] { 1, 2 })
        {
            DominoImageReference pin = Assert.Single(PinsOf(live));
            Assert.Equal((DominoRecordKind.ModelBuild, Id("f7f70000", live).ToString(), LiveModel.ToString(), "churn"), (pin.Kind, pin.RecordId, pin.ModelId, pin.Project));
            Assert.DoesNotContain("treated as live", pin.Reason, StringComparison.Ordinal);
        }

        Assert.Empty(PinsOf(3));
        foreach ((int number, string names) in new[] { (4, "its modelId (none)"), (5, "its modelId \"churn-model\""), (6, $"its model {Id("dead0000", 9)}") })
        {
            DominoImageReference pin = Assert.Single(PinsOf(number));
            Assert.Equal((DominoDatabase.ModelVersionsCollection, Id("f7f70000", number).ToString()), (pin.Source, pin.RecordId));
            Assert.Contains($"{names} is not in Domino's records, so the version is treated as live", pin.Reason, StringComparison.Ordinal);
        }

        // The environment revision such a version was built on is kept too, and a note names the versions.
        Assert.Contains(report.Pins, r => r.Kind == DominoRecordKind.ModelEnvironment && r.Tag == Tag(Python, 14) && r.RecordId == Id("f7f70000", 4).ToString());
        string note = Assert.Single(report.Notes, n => n.Contains("model version(s) name a model", StringComparison.Ordinal));
        Assert.All(new[] { OrphanVersion, Id("f7f70000", 4), Id("f7f70000", 5), Id("f7f70000", 6) }, id => Assert.Contains(id.ToString(), note, StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_catalog_names_each_images_environment_project_and_owner()
    {
        using MongoConnection connection = database.Open();
        DominoImageCatalog catalog = await connection.Domino.ReadImageCatalogAsync();

        DominoImageOwner environment = catalog.Describe("docker-registry:5000/" + EnvironmentRepository, Tag(Python, 14))!;
        Assert.Equal((Python.ToString(), "Python", null, "alice", "Alice Admin"), (environment.EnvironmentId, environment.EnvironmentName, environment.Project, environment.Owner, environment.OwnerName));
        DominoImageOwner model = catalog.Describe(ModelRepository, ArchivedModelTag)!;
        Assert.Equal(("old model", "churn", "bob", "Python"), (model.ModelName, model.Project, model.Owner, model.EnvironmentName));
        Assert.Null(catalog.Describe(ModelRepository, UnknownModelTag));
        Assert.True(catalog.BuildsOfImage(ModelRepository, FailedModelTag) is [{ Failed: true }]);
    }

    [Fact]
    public async Task Large_collections_cost_one_projected_query_each_paged_in_batches_with_ids_queried_as_ObjectIds()
    {
        // 12,000 runs on 600 revisions by 50 users, 2,600 workspaces: one find per collection, and getMore for the rest.
        await database.SeedAsync(DominoDatabase.UsersCollection, [.. Enumerable.Range(100, 50).Select(i => User(Id("05e40000", i), $"user{i}", $"User {i}"))]);
        await database.SeedAsync(DominoDatabase.EnvironmentRevisionsCollection, [.. Enumerable.Range(100, 600).Select(i => Revision(Rev(Python, i), Python, i, author: Id("05e40000", 100 + (i % 50))))]);
        await database.SeedAsync(DominoDatabase.RunsCollection, [.. Enumerable.Range(1000, 12_000).Select(i =>
            Run(Id("0e0e0000", i), Python, Rev(Python, 100 + (i % 600)), Churn, Id("05e40000", 100 + (i % 50)), Epoch.AddMinutes(i), Epoch.AddMinutes(i + 5)))]);
        await database.SeedAsync(DominoDatabase.WorkspacesCollection, [.. Enumerable.Range(1000, 2_600).Select(i =>
            Workspace(Id("a0a00000", i), $"ws{i}", Churn, Alice, "Stopped", Python, $"SomeRevision({Rev(Python, 100 + (i % 600))})"))]);
        int before = database.StandIn?.Commands.Count ?? 0;

        DominoUsageReport report = await this.ReadAsync();

        // On any server: every record is read through the cursor's batches and folded the same way.
        DominoImageReference runs = Assert.Single(report.References, r => r.Kind == DominoRecordKind.Run && r.Tag == Tag(Python, 100));
        Assert.Equal((20, "user100"), (runs.Count, runs.Owner));
        Assert.Equal(12_002, report.References.Where(r => r.Kind == DominoRecordKind.Run).Sum(r => r.Count));
        Assert.Equal(2_603, report.References.Count(r => r.Kind == DominoRecordKind.Workspace));
        if (database.StandIn is not { } standIn)
        {
            return; // The command log is the stand-in's.
        }

        BsonDocument[] commands = standIn.Commands.Skip(before).ToArray();
        BsonDocument[] finds = commands.Where(c => c.GetElement(0).Name == "find").ToArray();
        Assert.All(finds.GroupBy(f => f["find"].AsString).Where(g => g.Key != DominoDatabase.UsersCollection), g => Assert.Single(g));
        Assert.All(finds, f => Assert.True((f.Contains("projection") && f["projection"].AsBsonDocument.ElementCount > 1) || f["find"] == DominoDatabase.BuildsCollection, $"{f["find"]} without projection"));
        Assert.Single(finds, f => f["find"] == DominoDatabase.UsersCollection);
        BsonValue[] userIds = [.. finds.Single(f => f["find"] == DominoDatabase.UsersCollection)["filter"]["_id"]["$in"].AsBsonArray];
        Assert.All(userIds, id => Assert.IsType<BsonObjectId>(id));
        Assert.Equal(52, userIds.Length);
        string[] getMores = commands.Where(c => c.GetElement(0).Name == "getMore").Select(c => c["collection"].AsString).ToArray();
        Assert.Equal(2, getMores.Count(c => c == DominoDatabase.RunsCollection));
        Assert.Equal(0, getMores.Count(c => c == DominoDatabase.WorkspacesCollection));
        Assert.True(commands.Length < 40, $"{commands.Length} commands");
    }

    private static (string, string?, string?, string?, string?, string?) RunsRecordOf(DominoImageReference run) =>
        (run.RecordId, run.ProjectId, run.Project, run.OwnerId, run.Owner, run.OwnerName);

    private async Task<DominoUsageReport> ReadAsync(DominoUsageOptions? options = null)
    {
        using MongoConnection connection = database.Open();
        return await connection.Domino.ReadImageUsageAsync(options);
    }
}
