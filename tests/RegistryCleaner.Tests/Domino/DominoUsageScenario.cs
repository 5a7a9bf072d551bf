using MongoDB.Bson;
using RegistryCleaner.Domino;
using RegistryCleaner.Tests.Infrastructure;
using static RegistryCleaner.Tests.Infrastructure.DominoDocuments;
using MongoObjectId = MongoDB.Bson.ObjectId;

namespace RegistryCleaner.Tests.Domino;

/// <summary>One image of the scenario and what Domino's records make of it.</summary>
/// <param name="Repository">The repository.</param>
/// <param name="Tag">The tag.</param>
/// <param name="KeptBy">The kind of record that keeps it (and what its reason must name), or <see langword="null"/> when nothing does.</param>
/// <param name="Names">Text the kept reason must contain (the record id, project or owner).</param>
/// <param name="OnlyRecentRuns">Whether it is kept only by an old run, so -UnusedSince lets it go.</param>
public sealed record ScenarioImage(string Repository, string Tag, DominoRecordKind? KeptBy, string Names, bool OnlyRecentRuns = false);

/// <summary>
/// A Domino install where every kind of record pins exactly one image, next to decoys that look alike and pin nothing:
/// a workspace-session run, a deleted workspace and its session, an archived project, an archived app, an archived
/// model, a failed build, the active revision of an archived environment, an unreferenced revision and an image no
/// record knows. Environments whose only protection is another record are archived, so that record alone keeps them.
/// </summary>
public static class DominoUsageScenario
{
    public static readonly MongoObjectId Alice = Id("0a11ce00", 1);
    public static readonly MongoObjectId Bob = Id("0b0b0000", 2);
    public static readonly MongoObjectId Churn = Id("0c0c0000", 1);
    public static readonly MongoObjectId OldProject = Id("0c0c0000", 2);

    public static readonly MongoObjectId Python = Id("e1000000", 1);
    public static readonly MongoObjectId Jobs = Id("e2000000", 2);
    public static readonly MongoObjectId OrgDefault = Id("e3000000", 3);
    public static readonly MongoObjectId UserDefault = Id("e4000000", 4);
    public static readonly MongoObjectId AppEnvironment = Id("e5000000", 5);
    public static readonly MongoObjectId DeadAppEnvironment = Id("e6000000", 6);
    public static readonly MongoObjectId Cloned = Id("e7000000", 7);
    public static readonly MongoObjectId ProjectActive = Id("e8000000", 8);
    public static readonly MongoObjectId Compute = Id("e9000000", 9);
    public static readonly MongoObjectId WorkspaceActive = Id("ea000000", 10);
    public static readonly MongoObjectId Archived = Id("eb000000", 11);

    public static readonly MongoObjectId LiveModel = Id("f1000000", 1);
    public static readonly MongoObjectId ArchivedModel = Id("f2000000", 2);
    public static readonly MongoObjectId UnknownModel = Id("f3000000", 3);
    public static readonly MongoObjectId LiveVersion = Id("f1f10000", 1);
    public static readonly MongoObjectId ArchivedVersion = Id("f2f20000", 2);
    public static readonly MongoObjectId FailedBuild = Id("b0b00000", 2);
    public static readonly MongoObjectId DeployedModel = Id("f4000000", 4);
    public static readonly MongoObjectId StoppedModel = Id("f5000000", 5);
    public static readonly MongoObjectId DeployedVersion = Id("f4f40000", 4);
    public static readonly MongoObjectId StoppedVersion = Id("f5f50000", 5);
    public static readonly MongoObjectId DeployingSaga = Id("5a9a0000", 4);
    public static readonly MongoObjectId MissingModel = Id("f6000000", 6);
    public static readonly MongoObjectId OrphanVersion = Id("f6f60000", 6);

    public static readonly MongoObjectId StoppedWorkspace = Id("a0a00000", 1);
    public static readonly MongoObjectId DeletedWorkspace = Id("a0a00000", 2);
    public static readonly MongoObjectId ComputeWorkspace = Id("a0a00000", 3);
    public static readonly MongoObjectId RecentRun = Id("0e0e0000", 1);
    public static readonly MongoObjectId OldRun = Id("0e0e0000", 3);
    public static readonly MongoObjectId Job = Id("0f0f0000", 1);
    public static readonly MongoObjectId Organization = Id("0d0d0000", 1);
    public static readonly MongoObjectId Preference = Id("0dd00000", 1);
    public static readonly MongoObjectId LiveApp = Id("0aa00000", 1);
    public static readonly MongoObjectId LiveAppVersion = Id("0ab00000", 1);

    public static string LiveModelTag => ModelTag(LiveModel, 1, "HfGeD8Ia");

    public static string FailedModelTag => ModelTag(LiveModel, 1, "FaILeD00");

    public static string ArchivedModelTag => ModelTag(ArchivedModel, 1, "Zzzzzzzz");

    public static string UnknownModelTag => ModelTag(UnknownModel, 1, "Unknown0");

    public static string DeployedModelTag => ModelTag(DeployedModel, 1, "DePLoYed");

    public static string StoppedModelTag => ModelTag(StoppedModel, 1, "SToPPeD0");

    public static string OrphanModelTag => ModelTag(MissingModel, 1, "oRPHaN00");

    /// <summary>Every image pushed, with its fate. Revision n of Python is <c>Rev(Python, n)</c>.</summary>
    public static IReadOnlyList<ScenarioImage> Images { get; } =
    [
        Env(Python, 9, DominoRecordKind.ActiveRevision, $"Domino environment {Python}"),
        Env(Python, 1, DominoRecordKind.Run, $"Domino run {RecentRun} (project churn, owner alice)"),
        Env(Python, 2, null, "a workspace session's run"),
        Env(Python, 3, DominoRecordKind.Run, $"Domino run {OldRun}", onlyRecentRuns: true),
        Env(Python, 4, DominoRecordKind.Workspace, $"Domino workspace {StoppedWorkspace} 'notebook' (project churn, owner alice)"),
        Env(Python, 5, null, "a deleted workspace"),
        Env(Python, 6, DominoRecordKind.WorkspaceSession, "'notebook' (project churn, owner alice)"),
        Env(Python, 7, null, "a session of a deleted workspace"),
        Env(Python, 8, DominoRecordKind.ModelEnvironment, $"Domino model version {LiveVersion} 'churn model' (project churn, owner bob)"),
        Env(Python, 10, DominoRecordKind.ProjectDefault, $"Domino project {Churn} 'churn' (project churn, owner alice)"),
        Env(Python, 11, null, "an archived project"),
        Env(Python, 12, null, "a version of an archived model"),
        Env(Python, 13, DominoRecordKind.WorkspaceSession, "compute cluster environment revision"),
        Env(Python, 14, null, "nothing"),
        Env(Python, 15, DominoRecordKind.ClonedRevision, $"cloned from revision {Rev(Python, 9)}"),
        Env(Python, 16, DominoRecordKind.ClonedRevision, $"revision {Rev(Cloned, 1)}"),
        Env(Jobs, 1, DominoRecordKind.SchedulerJob, $"Domino scheduled job {Job} 'nightly' (project churn, owner alice)"),
        Env(Jobs, 2, null, "not the active revision"),
        Env(OrgDefault, 1, DominoRecordKind.OrganizationDefault, $"Domino organization {Organization} 'acme'"),
        Env(UserDefault, 1, DominoRecordKind.UserDefault, $"Domino user preference {Preference} (owner bob)"),
        Env(AppEnvironment, 1, DominoRecordKind.AppVersion, $"Domino app version {LiveAppVersion} 'dashboard v3' (project churn, owner alice)"),
        Env(DeadAppEnvironment, 1, null, "an archived app"),
        Env(Cloned, 1, DominoRecordKind.ActiveRevision, $"Domino environment {Cloned}"),
        Env(ProjectActive, 1, DominoRecordKind.ProjectDefault, "defaultEnvironmentRevisionSpec ActiveRevision"),
        Env(Compute, 1, DominoRecordKind.Workspace, $"Domino workspace {ComputeWorkspace} 'spark' (project churn, owner bob): compute cluster environment"),
        Env(WorkspaceActive, 1, DominoRecordKind.Workspace, "environmentRevisionSpec ActiveRevision"),
        Env(Archived, 1, null, "the active revision of an archived environment"),
        Env(Python, 17, DominoRecordKind.ModelEnvironment, $"Domino model deployment {DeployingSaga} 'deployed model' (project churn, owner bob)"),
        new(ModelRepository, LiveModelTag, DominoRecordKind.ModelBuild, $"Domino model version {LiveVersion} 'churn model' (project churn, owner bob)"),
        new(ModelRepository, FailedModelTag, null, "a failed build"),
        new(ModelRepository, ArchivedModelTag, null, "an archived model"),
        new(ModelRepository, UnknownModelTag, null, "no record"),
        new(ModelRepository, DeployedModelTag, DominoRecordKind.ModelBuild, $"Domino model deployment {DeployingSaga} 'deployed model' (project churn, owner bob): its latest deployment saga (StartModelVersion succeeded) deploys model version {DeployedVersion} (model {DeployedModel} is archived)"),
        new(ModelRepository, StoppedModelTag, null, "a stopped version of an archived model"),
        new(ModelRepository, OrphanModelTag, DominoRecordKind.ModelBuild, $"Domino model version {OrphanVersion} (owner bob): its model {MissingModel} is not in Domino's records, so the version is treated as live"),
    ];

    /// <summary>How some environments' revisions record the environment repository: with each way of naming the registry.</summary>
    public static IReadOnlyDictionary<MongoObjectId, string> RecordedRepositories { get; } = new Dictionary<MongoObjectId, string>
    {
        [Jobs] = "docker-registry/" + EnvironmentRepository,
        [OrgDefault] = "docker-registry:5000/" + EnvironmentRepository,
        [UserDefault] = "10.0.0.1:5000/" + EnvironmentRepository,
        [AppEnvironment] = "[::1]:5000/" + EnvironmentRepository,
        [Compute] = "docker-registry.domino-platform.svc.cluster.local:5000/" + EnvironmentRepository,
    };

    /// <summary>The revision id of revision <paramref name="number"/> of an environment (deterministic).</summary>
    public static MongoObjectId Rev(MongoObjectId environment, int number) =>
        MongoObjectId.Parse(environment.ToString()[..8] + "ee" + number.ToString("x14", System.Globalization.CultureInfo.InvariantCulture));

    public static async Task SeedAsync(MongoTestDatabase database)
    {
        DateTime recent = DateTime.UtcNow.AddDays(-2);
        DateTime old = DateTime.UtcNow.AddDays(-400);
        await database.SeedAsync(DominoDatabase.UsersCollection, User(Alice, "alice", "Alice Admin"), User(Bob, "bob", "Bob Builder"));
        await database.SeedAsync(
            DominoDatabase.ProjectsCollection,
            Project(Churn, "churn", Alice, Python, $"SomeRevision({Rev(Python, 10)})"),
            Project(OldProject, "old", Bob, Python, $"SomeRevision({Rev(Python, 11)})", archived: true),
            Project(Id("0c0c0000", 3), "active-default", Bob, ProjectActive, "ActiveRevision"));
        await database.SeedAsync(
            DominoDatabase.EnvironmentsCollection,
            Environment(Python, "Python", Rev(Python, 9), owner: Bob),
            Environment(Jobs, "Jobs", Rev(Jobs, 1), archived: true),
            Environment(OrgDefault, "Org default", Rev(OrgDefault, 1), archived: true),
            Environment(UserDefault, "User default", Rev(UserDefault, 1), archived: true),
            Environment(AppEnvironment, "App", Rev(AppEnvironment, 1), archived: true),
            Environment(DeadAppEnvironment, "Dead app", Rev(DeadAppEnvironment, 1), archived: true),
            Environment(Cloned, "Cloned", Rev(Cloned, 1)),
            Environment(ProjectActive, "Project active", Rev(ProjectActive, 1), archived: true),
            Environment(Compute, "Spark cluster", Rev(Compute, 1), archived: true),
            Environment(WorkspaceActive, "Workspace active", Rev(WorkspaceActive, 1), archived: true),
            Environment(Archived, "Archived", Rev(Archived, 1), archived: true));

        var revisions = new List<BsonDocument>();
        foreach (ScenarioImage image in Images.Where(i => i.Repository == EnvironmentRepository))
        {
            var environment = MongoObjectId.Parse(image.Tag[..24]);
            int number = int.Parse(image.Tag[25..], System.Globalization.CultureInfo.InvariantCulture);
            MongoObjectId? clonedFrom = (environment == Python && number == 15) ? Rev(Python, 9) : (environment == Cloned ? Rev(Python, 16) : null);
            revisions.Add(Revision(Rev(environment, number), environment, number, author: Alice, clonedFrom: clonedFrom, repository: RecordedRepositories.GetValueOrDefault(environment, EnvironmentRepository)));
        }

        await database.SeedAsync(DominoDatabase.EnvironmentRevisionsCollection, [.. revisions]);
        await database.SeedAsync(
            DominoDatabase.RunsCollection,
            Run(RecentRun, Python, Rev(Python, 1), Churn, Alice, recent, recent.AddHours(1)),
            Run(Id("0e0e0000", 2), Python, Rev(Python, 2), Churn, Alice, recent, null, workspaceSession: true),
            Run(OldRun, Python, Rev(Python, 3), Churn, Bob, old, old.AddHours(1)));
        await database.SeedAsync(
            DominoDatabase.WorkspacesCollection,
            Workspace(StoppedWorkspace, "notebook", Churn, Alice, "Stopped", Python, $"SomeRevision({Rev(Python, 4)})"),
            Workspace(DeletedWorkspace, "gone", Churn, Alice, "Deleted", Python, $"SomeRevision({Rev(Python, 5)})"),
            Workspace(ComputeWorkspace, "spark", Churn, Bob, "Stopped", WorkspaceActive, "ActiveRevision", computeEnvironment: Compute));
        await database.SeedAsync(
            DominoDatabase.WorkspaceSessionsCollection,
            WorkspaceSession(Id("05e50000", 1), StoppedWorkspace, Rev(Python, 6), Rev(Python, 13)),
            WorkspaceSession(Id("05e50000", 2), DeletedWorkspace, Rev(Python, 7)));
        await database.SeedAsync(DominoDatabase.SchedulerJobsCollection, SchedulerJob(Job, "nightly", Churn, Jobs));
        await database.SeedAsync(DominoDatabase.OrganizationsCollection, Organization(Organization, "acme", OrgDefault));
        await database.SeedAsync(DominoDatabase.UserPreferencesCollection, UserPreference(Preference, Bob, UserDefault));
        await database.SeedAsync(
            DominoDatabase.ModelProductsCollection,
            App(LiveApp, "dashboard", Churn),
            App(Id("0aa00000", 2), "retired", Churn, archived: true));
        await database.SeedAsync(
            DominoDatabase.AppVersionsCollection,
            AppVersion(LiveAppVersion, LiveApp, AppEnvironment, 3),
            AppVersion(Id("0ab00000", 2), Id("0aa00000", 2), DeadAppEnvironment, 1));
        await database.SeedAsync(
            DominoDatabase.ModelsCollection,
            Model(LiveModel, "churn model", Churn),
            Model(ArchivedModel, "old model", Churn, archived: true),
            Model(DeployedModel, "deployed model", Churn, archived: true),
            Model(StoppedModel, "stopped model", Churn, archived: true));
        await database.SeedAsync(
            DominoDatabase.ModelVersionsCollection,
            ModelVersion(LiveVersion, LiveModel, Rev(Python, 8), Bob, (LiveModelTag, Id("b0b00000", 1)), (FailedModelTag, FailedBuild)),
            ModelVersion(ArchivedVersion, ArchivedModel, Rev(Python, 12), Bob, (ArchivedModelTag, Id("b0b00000", 3))),
            ModelVersion(DeployedVersion, DeployedModel, Rev(Python, 17), Bob, (DeployedModelTag, Id("b0b00000", 4))),
            ModelVersion(StoppedVersion, StoppedModel, Rev(Python, 12), Bob, (StoppedModelTag, Id("b0b00000", 5))),
            ModelVersion(OrphanVersion, MissingModel, Rev(Python, 17), Bob, (OrphanModelTag, Id("b0b00000", 6))));
        await database.SeedAsync(
            DominoDatabase.BuildsCollection,
            Build(Id("b0b00000", 1), "Succeeded"),
            Build(FailedBuild, "Failed"),
            Build(Id("b0b00000", 3), "Succeeded"));
        await database.SeedAsync(
            DominoDatabase.SagasCollection,
            Saga(Id("5a9a0000", 1), LiveVersion, "ModelVersionDeployment", recent.AddDays(-1)),
            Saga(Id("5a9a0000", 2), LiveVersion, "StartModelVersion", recent),
            Saga(Id("5a9a0000", 3), DeployedVersion, "ModelVersionDeployment", old),
            Saga(DeployingSaga, DeployedVersion, "StartModelVersion", recent),
            Saga(Id("5a9a0000", 5), StoppedVersion, "StartModelVersion", old),
            Saga(Id("5a9a0000", 6), StoppedVersion, "StopModelVersion", recent));
    }

    /// <summary>Pushes every image to a registry, each with a layer of its own; returns the digests by repository:tag.</summary>
    public static async Task<Dictionary<string, string>> PushAsync(Uri registry)
    {
        using var pusher = new ImagePusher(registry);
        var digests = new Dictionary<string, string>(StringComparer.Ordinal);
        int seed = 7000;
        foreach (ScenarioImage image in Images)
        {
            digests[$"{image.Repository}:{image.Tag}"] = (await pusher.PushImageAsync(image.Repository, image.Tag, [ImagePusher.Layer(seed++, 300)])).Digest;
        }

        return digests;
    }

    private static ScenarioImage Env(MongoObjectId environment, int revision, DominoRecordKind? keptBy, string names, bool onlyRecentRuns = false) =>
        new(EnvironmentRepository, Tag(environment, revision), keptBy, names, onlyRecentRuns);
}
