using MongoDB.Bson;
using RegistryCleaner.Domino;
using RegistryCleaner.Tests.Infrastructure;
using MongoObjectId = MongoDB.Bson.ObjectId;

namespace RegistryCleaner.Tests.Domino;

/// <summary>
/// A small Domino install: live and archived environments with revisions, projects with and without an override
/// environment, live and archived models with versions, and decoys stored with the wrong types.
/// </summary>
internal static class DominoRecordsSeed
{
    public const string EnvironmentRepository = "dominodatalab/environment";
    public const string ModelRepository = "dominodatalab/model";

    // Environments: Python (live), Old R (archived), Legacy (archived but a project's override), Spark (live).
    public static readonly MongoObjectId Python = MongoObjectId.Parse("659c7bce85f6381e675bb205");
    public static readonly MongoObjectId OldR = MongoObjectId.Parse("659c7bce85f6381e675bb206");
    public static readonly MongoObjectId Legacy = MongoObjectId.Parse("659c7bce85f6381e675bb207");
    public static readonly MongoObjectId Spark = MongoObjectId.Parse("659c7bce85f6381e675bb208");

    // Revisions: Python has 1 (older) and 2 (active); the others one active each.
    public static readonly MongoObjectId Python1 = MongoObjectId.Parse("65a000000000000000000001");
    public static readonly MongoObjectId Python2 = MongoObjectId.Parse("65a000000000000000000002");
    public static readonly MongoObjectId OldR1 = MongoObjectId.Parse("65a000000000000000000003");
    public static readonly MongoObjectId Legacy3 = MongoObjectId.Parse("65a000000000000000000004");
    public static readonly MongoObjectId Spark2 = MongoObjectId.Parse("65a000000000000000000005");
    public static readonly MongoObjectId StringTypedDecoy = MongoObjectId.Parse("65a000000000000000000006");

    public static readonly MongoObjectId ProjectOnLegacy = MongoObjectId.Parse("65b000000000000000000001");
    public static readonly MongoObjectId ProjectOnSpark = MongoObjectId.Parse("65b000000000000000000002");
    public static readonly MongoObjectId ProjectWithoutOverride = MongoObjectId.Parse("65b000000000000000000003");

    public static readonly MongoObjectId LiveModel = MongoObjectId.Parse("659d755348824d102d3ec6df");
    public static readonly MongoObjectId ArchivedModel = MongoObjectId.Parse("659d755348824d102d3ec6e0");
    public static readonly MongoObjectId LiveVersion = MongoObjectId.Parse("65c000000000000000000001");
    public static readonly MongoObjectId ArchivedVersion = MongoObjectId.Parse("65c000000000000000000002");

    public static readonly DateTime Python1Created = new(2024, 1, 9, 10, 30, 15, 123, DateTimeKind.Utc);

    public static string Tag(MongoObjectId environment, int revision) => $"{environment}-{revision}";

    public static BsonDocument Revision(MongoObjectId id, MongoObjectId environment, int number, DateTime? created = null) => new()
    {
        { "_id", id },
        { "environmentId", environment },
        { "number", number },
        {
            "metadata", new BsonDocument
            {
                { "dockerImageName", new BsonDocument { { "repository", EnvironmentRepository }, { "tag", Tag(environment, number) } } },
                { "created", new BsonDateTime(created ?? new DateTime(2024, 2, 1, 0, 0, 0, DateTimeKind.Utc)) },
                { "sizeBytes", 1_234_567_890_123L },
                { "ratio", 0.1 },
                { "labels", new BsonArray { "gpu", 3, BsonNull.Value } },
            }
        },
    };

    public static async Task SeedAsync(MongoTestDatabase database)
    {
        await database.SeedAsync(
            DominoDatabase.EnvironmentsCollection,
            new BsonDocument { { "_id", Python }, { "name", "Python" }, { "isArchived", false }, { "activeRevisionId", Python2 } },
            new BsonDocument { { "_id", OldR }, { "name", "Old R" }, { "isArchived", true }, { "activeRevisionId", OldR1 } },
            new BsonDocument { { "_id", Legacy }, { "name", "Legacy" }, { "isArchived", true }, { "activeRevisionId", Legacy3 } },
            // No isArchived field at all: live, like older Domino records.
            new BsonDocument { { "_id", Spark }, { "name", "Spark" }, { "activeRevisionId", Spark2 } });
        await database.SeedAsync(
            DominoDatabase.EnvironmentRevisionsCollection,
            Revision(Python1, Python, 1, Python1Created),
            Revision(Python2, Python, 2),
            Revision(OldR1, OldR, 1),
            Revision(Legacy3, Legacy, 3),
            Revision(Spark2, Spark, 2),
            // environmentId stored as a string: MongoDB never matches it against the ObjectId.
            new BsonDocument
            {
                { "_id", StringTypedDecoy },
                { "environmentId", Python.ToString() },
                { "metadata", new BsonDocument("dockerImageName", new BsonDocument { { "repository", EnvironmentRepository }, { "tag", "decoy" } }) },
            });
        await database.SeedAsync(
            DominoDatabase.ProjectsCollection,
            new BsonDocument { { "_id", ProjectOnLegacy }, { "name", "churn" }, { "overrideV2EnvironmentId", Legacy } },
            new BsonDocument { { "_id", ProjectOnSpark }, { "name", "etl" }, { "overrideV2EnvironmentId", Spark } },
            new BsonDocument { { "_id", ProjectWithoutOverride }, { "name", "plain" }, { "overrideV2EnvironmentId", BsonNull.Value } });
        await database.SeedAsync(
            DominoDatabase.ModelsCollection,
            new BsonDocument { { "_id", LiveModel }, { "name", "scorer" }, { "isArchived", false } },
            new BsonDocument { { "_id", ArchivedModel }, { "name", "old scorer" }, { "isArchived", true } });
        await database.SeedAsync(
            DominoDatabase.ModelVersionsCollection,
            new BsonDocument
            {
                { "_id", LiveVersion },
                { "modelId", new BsonDocument("value", LiveModel) },
                { "environmentRevisionId", Python1 },
                {
                    "metadata", new BsonDocument("builds", new BsonArray
                    {
                        Build($"{LiveModel}-v1-202419163323_HfGeD8Ia"),
                        Build($"{LiveModel}-v1-202419170000_AbCdEfGh"),
                        new BsonDocument("status", "failed"),
                    })
                },
            },
            new BsonDocument
            {
                { "_id", ArchivedVersion },
                { "modelId", new BsonDocument("value", ArchivedModel) },
                { "environmentRevisionId", OldR1 },
                { "metadata", new BsonDocument("builds", new BsonArray { Build($"{ArchivedModel}-v1-202401010000_Zzzzzzzz") }) },
            });
    }

    private static BsonDocument Build(string tag) =>
        new("slug", new BsonDocument("image", new BsonDocument { { "repository", ModelRepository }, { "tag", tag } }));
}
