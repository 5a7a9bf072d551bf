using MongoDB.Bson;
using RegistryCleaner.Domino;
using RegistryCleaner.Tests.Infrastructure;
using static RegistryCleaner.Tests.Infrastructure.DominoDocuments;
using MongoObjectId = MongoDB.Bson.ObjectId;

/// <summary>Domino's MongoDB records for the Demo (a few, telling a story) and the Bench (many).</summary>
internal static class DominoLabRecords
{
    /// <summary>
    /// The records behind the Demo's sample images (samples/README.md): Python and Spark environments with their
    /// revisions, an archived environment, a stopped workspace pinned to Python revision 2, a recent Spark run, and the
    /// versions of the two models that Domino still has (churn's v1 record is gone, so its image is no record's).
    /// </summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<BsonDocument>> Demo()
    {
        var python = MongoObjectId.Parse("659c7bce85f6381e675bb205");
        var spark = MongoObjectId.Parse("6601a2b3c4d5e6f708192a3b");
        var archived = MongoObjectId.Parse("65a0c1d2e3f4a5b6c7d8e9f0");
        var churnModel = MongoObjectId.Parse("659d755348824d102d3ec6df");
        var forecastModel = MongoObjectId.Parse("66b1c2d3e4f5a6b7c8d9e0f1");
        MongoObjectId alice = Id("a11ce000", 1), bob = Id("b0b00000", 1), carol = Id("ca201000", 1);
        MongoObjectId churn = Id("c0c00000", 1), forecasting = Id("c0c00000", 2);
        MongoObjectId Rev(MongoObjectId environment, int number) => Id(environment.ToString()[..6] + "ee", number);

        var revisions = new List<BsonDocument>();
        revisions.AddRange(Enumerable.Range(1, 4).Select(n => Revision(Rev(python, n), python, n, author: alice)));
        revisions.AddRange(Enumerable.Range(1, 3).Select(n => Revision(Rev(spark, n), spark, n, author: bob)));
        revisions.AddRange(Enumerable.Range(1, 2).Select(n => Revision(Rev(archived, n), archived, n, author: carol)));
        DateTime yesterday = DateTime.UtcNow.AddDays(-1);
        return new Dictionary<string, IReadOnlyList<BsonDocument>>
        {
            [DominoDatabase.UsersCollection] = [User(alice, "alice", "Alice Admin"), User(bob, "bob", "Bob Builder"), User(carol, "carol", "Carol Coder")],
            [DominoDatabase.ProjectsCollection] = [Project(churn, "churn", alice), Project(forecasting, "forecasting", bob)],
            [DominoDatabase.EnvironmentsCollection] =
            [
                DominoDocuments.Environment(python, "Python 3.11", Rev(python, 4), owner: alice),
                DominoDocuments.Environment(spark, "Spark 3.5", Rev(spark, 3), owner: bob),
                DominoDocuments.Environment(archived, "R 3.6 (retired)", Rev(archived, 2), archived: true, owner: carol),
            ],
            [DominoDatabase.EnvironmentRevisionsCollection] = revisions,
            [DominoDatabase.WorkspacesCollection] = [Workspace(Id("a0a00000", 1), "churn-notebook", churn, alice, "Stopped", python, $"SomeRevision({Rev(python, 2)})")],
            [DominoDatabase.RunsCollection] = [Run(Id("0e0e0000", 1), spark, Rev(spark, 3), forecasting, bob, yesterday, yesterday.AddMinutes(40))],
            [DominoDatabase.ModelsCollection] = [Model(churnModel, "churn predictor", churn), Model(forecastModel, "demand forecast", forecasting)],
            [DominoDatabase.ModelVersionsCollection] =
            [
                ModelVersion(Id("f1f10000", 2), churnModel, Rev(python, 4), alice, ($"{churnModel}-v2-20260701120000_Qm7Rt2Lp", Id("b0b00000", 2))),
                ModelVersion(Id("f2f20000", 1), forecastModel, Rev(spark, 2), bob, ($"{forecastModel}-v1-20260615080000_Zx9Wv3Nb", Id("b0b00000", 3))),
            ],
            [DominoDatabase.SagasCollection] = [Saga(Id("5a9a0000", 1), Id("f2f20000", 1), "StartModelVersion", yesterday)],
        };
    }

    /// <summary>
    /// A large install: 200 environments of 10 revisions, 1,000 users, 500 projects, <paramref name="runs"/> runs over
    /// the revisions, <paramref name="workspaces"/> workspaces with two sessions each, 500 models with 4 versions each.
    /// </summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<BsonDocument>> Bench(int runs, int workspaces)
    {
        const int Environments = 200, RevisionsPerEnvironment = 10, Users = 1000, Projects = 500, Models = 500, VersionsPerModel = 4;
        MongoObjectId EnvironmentId(int i) => Id("e0000000", i);
        MongoObjectId Rev(int environment, int number) => Id("e1000000", (environment * RevisionsPerEnvironment) + number);
        MongoObjectId UserId(int i) => Id("05e40000", i % Users);
        MongoObjectId ProjectId(int i) => Id("c0c00000", i % Projects);

        return new Dictionary<string, IReadOnlyList<BsonDocument>>
        {
            [DominoDatabase.UsersCollection] = [.. Enumerable.Range(0, Users).Select(i => User(UserId(i), $"user{i}", $"User {i}"))],
            [DominoDatabase.ProjectsCollection] = [.. Enumerable.Range(0, Projects).Select(i => Project(ProjectId(i), $"project{i}", UserId(i), i % 5 == 0 ? EnvironmentId(i % Environments) : null, i % 10 == 0 ? $"SomeRevision({Rev(i % Environments, 1)})" : null))],
            [DominoDatabase.EnvironmentsCollection] = [.. Enumerable.Range(0, Environments).Select(i => DominoDocuments.Environment(EnvironmentId(i), $"env{i}", Rev(i, RevisionsPerEnvironment), i % 7 == 0, UserId(i)))],
            [DominoDatabase.EnvironmentRevisionsCollection] = [.. Enumerable.Range(0, Environments).SelectMany(e => Enumerable.Range(1, RevisionsPerEnvironment).Select(n => Revision(Rev(e, n), EnvironmentId(e), n, author: UserId(e + n))))],
            [DominoDatabase.RunsCollection] = [.. Enumerable.Range(0, runs).Select(i =>
            {
                int environment = i % Environments;
                return Run(Id("0e0e0000", i), EnvironmentId(environment), Rev(environment, 1 + (i / Environments % RevisionsPerEnvironment)), ProjectId(i), UserId(i), Epoch.AddMinutes(i), Epoch.AddMinutes(i + 30), workspaceSession: i % 4 == 0);
            })],
            [DominoDatabase.WorkspacesCollection] = [.. Enumerable.Range(0, workspaces).Select(i =>
                Workspace(Id("a0a00000", i), $"workspace{i}", ProjectId(i), UserId(i), i % 10 == 0 ? "Deleted" : "Stopped", EnvironmentId(i % Environments), i % 3 == 0 ? "ActiveRevision" : $"SomeRevision({Rev(i % Environments, 1 + (i % RevisionsPerEnvironment))})"))],
            [DominoDatabase.WorkspaceSessionsCollection] = [.. Enumerable.Range(0, workspaces * 2).Select(i =>
                WorkspaceSession(Id("05e50000", i), Id("a0a00000", i / 2), Rev((i / 2) % Environments, 1 + (i % RevisionsPerEnvironment))))],
            [DominoDatabase.ModelsCollection] = [.. Enumerable.Range(0, Models).Select(i => Model(Id("f0000000", i), $"model{i}", ProjectId(i), archived: i % 9 == 0))],
            [DominoDatabase.ModelVersionsCollection] = [.. Enumerable.Range(0, Models * VersionsPerModel).Select(i =>
                ModelVersion(Id("f1000000", i), Id("f0000000", i / VersionsPerModel), Rev(i % Environments, 1 + (i % RevisionsPerEnvironment)), UserId(i), (ModelTag(Id("f0000000", i / VersionsPerModel), 1 + (i % VersionsPerModel), "Bench000"), Id("b0000000", i))))],
        };
    }
}
