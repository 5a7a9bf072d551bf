using MongoDB.Bson;
using MongoObjectId = MongoDB.Bson.ObjectId;

namespace RegistryCleaner.Tests.Infrastructure;

/// <summary>
/// Documents shaped as Domino stores them (ObjectId identifiers, nested configTemplate, SomeRevision(…) strings, build
/// ids as <c>{value: ObjectId}</c>, dates as BSON dates), with the fields a real record carries around the ones
/// RegistryCleaner reads, so projections are exercised. Shared by the tests, the Demo and the Bench.
/// </summary>
public static class DominoDocuments
{
    public const string EnvironmentRepository = "dominodatalab/environment";
    public const string ModelRepository = "dominodatalab/model";

    public static readonly DateTime Epoch = new(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    /// <summary>A deterministic ObjectId from a prefix (up to 8 hex digits) and a number.</summary>
    public static MongoObjectId Id(string prefix, int number) =>
        MongoObjectId.Parse(prefix.PadRight(8, '0')[..8] + number.ToString("x16", System.Globalization.CultureInfo.InvariantCulture));

    public static string Tag(MongoObjectId environment, int revision) => $"{environment}-{revision}";

    public static BsonDocument User(MongoObjectId id, string login, string fullName) => new()
    {
        { "_id", id },
        { "loginId", new BsonDocument { { "id", login }, { "type", "Ldap" } } },
        { "fullName", fullName },
        { "email", login + "@example.com" },
    };

    public static BsonDocument Environment(MongoObjectId id, string name, MongoObjectId? activeRevision, bool archived = false, MongoObjectId? owner = null) => new()
    {
        { "_id", id },
        { "name", name },
        { "isArchived", archived },
        { "activeRevisionId", activeRevision is { } a ? a : BsonNull.Value },
        { "ownerId", owner is { } o ? o : BsonNull.Value },
        { "visibility", "Global" },
        { "description", "An environment" },
    };

    /// <summary>An environment revision; <paramref name="repository"/> as Domino recorded it (empty: no repository field).</summary>
    public static BsonDocument Revision(MongoObjectId id, MongoObjectId environment, int number, MongoObjectId? author = null, MongoObjectId? clonedFrom = null, bool? built = null, string repository = EnvironmentRepository)
    {
        var image = new BsonDocument { { "repository", repository }, { "tag", Tag(environment, number) } };
        if (repository.Length == 0)
        {
            image.Remove("repository");
        }

        var metadata = new BsonDocument
        {
            { "dockerImageName", image },
            { "created", new BsonDateTime(Epoch.AddDays(number)) },
            { "dockerfileInstructions", "RUN pip install pandas" },
        };
        if (author is { } a)
        {
            metadata["authorId"] = a;
        }

        if (built is { } b)
        {
            metadata["isBuilt"] = b;
        }

        var document = new BsonDocument { { "_id", id }, { "environmentId", environment }, { "number", number }, { "metadata", metadata } };
        if (clonedFrom is { } c)
        {
            document["clonedEnvironmentRevisionId"] = c;
        }

        return document;
    }

    public static BsonDocument Run(MongoObjectId id, MongoObjectId environment, MongoObjectId revision, MongoObjectId project, MongoObjectId user, DateTime? started, DateTime? completed, bool workspaceSession = false) => new()
    {
        { "_id", id },
        { "projectId", project },
        { "startingUserId", user },
        { "environmentId", environment },
        { "environmentRevisionId", revision },
        { "started", started is { } s ? new BsonDateTime(s) : BsonNull.Value },
        { "completed", completed is { } c ? new BsonDateTime(c) : BsonNull.Value },
        { "status", completed is null ? "Running" : "Succeeded" },
        { "title", "train.py" },
        {
            "volumeSpecification", workspaceSession
                ? new BsonDocument { { "_t", "RunReusableVolumeSpecification" }, { "volumeId", MongoObjectId.GenerateNewId() } }
                : new BsonDocument { { "_t", "RunVolumeSpecification" }, { "size", 10 } }
        },
    };

    public static BsonDocument Workspace(MongoObjectId id, string name, MongoObjectId project, MongoObjectId owner, string state, MongoObjectId environment, string revisionSpec, MongoObjectId? computeEnvironment = null)
    {
        var template = new BsonDocument
        {
            { "environmentId", environment },
            { "environmentRevisionSpec", revisionSpec },
            { "hardwareTierId", "small-k8s" },
            { "tools", new BsonArray { "jupyter" } },
        };
        if (computeEnvironment is { } compute)
        {
            template["computeClusterProps"] = new BsonDocument { { "computeEnvironmentId", compute }, { "clusterType", "Spark" }, { "workerCount", 2 } };
        }

        return new BsonDocument
        {
            { "_id", id },
            { "name", name },
            { "projectId", project },
            { "ownerId", owner },
            { "state", state },
            { "stateUpdatedAt", new BsonDateTime(Epoch.AddDays(30)) },
            { "configTemplate", template },
        };
    }

    public static BsonDocument WorkspaceSession(MongoObjectId id, MongoObjectId workspace, MongoObjectId? revision, MongoObjectId? computeRevision = null, string status = "Stopped") => new()
    {
        { "_id", id },
        { "workspaceId", workspace },
        { "environmentRevisionId", revision is { } r ? r : BsonNull.Value },
        { "computeClusterEnvironmentRevisionId", computeRevision is { } c ? c : BsonNull.Value },
        { "rawExecutionDisplayStatus", status },
        { "executionId", MongoObjectId.GenerateNewId() },
    };

    public static BsonDocument Project(MongoObjectId id, string name, MongoObjectId owner, MongoObjectId? defaultEnvironment = null, string? revisionSpec = null, bool archived = false)
    {
        var document = new BsonDocument { { "_id", id }, { "name", name }, { "ownerId", owner }, { "isArchived", archived } };
        if (defaultEnvironment is { } environment)
        {
            document["overrideV2EnvironmentId"] = environment;
        }

        if (revisionSpec is not null)
        {
            document["defaultEnvironmentRevisionSpec"] = revisionSpec;
        }

        return document;
    }

    public static BsonDocument SchedulerJob(MongoObjectId id, string name, MongoObjectId project, MongoObjectId environment) => new()
    {
        { "_id", id },
        { "jobName", name },
        { "projectId", project },
        { "jobDataPlain", new BsonDocument { { "overrideEnvironmentId", environment }, { "command", "main.py" } } },
        { "cronString", "0 3 * * *" },
    };

    public static BsonDocument Organization(MongoObjectId id, string name, MongoObjectId environment) =>
        new() { { "_id", id }, { "name", name }, { "defaultV2EnvironmentId", environment } };

    public static BsonDocument UserPreference(MongoObjectId id, MongoObjectId user, MongoObjectId environment) =>
        new() { { "_id", id }, { "userId", user }, { "defaultEnvironmentId", environment } };

    public static BsonDocument App(MongoObjectId id, string name, MongoObjectId project, bool archived = false) =>
        new() { { "_id", id }, { "name", name }, { "projectId", project }, { "isArchived", archived }, { "productType", "App" } };

    public static BsonDocument AppVersion(MongoObjectId id, MongoObjectId app, MongoObjectId environment, int number) =>
        new() { { "_id", id }, { "appId", app }, { "environmentId", environment }, { "versionNumber", number } };

    public static BsonDocument Model(MongoObjectId id, string name, MongoObjectId project, bool archived = false) =>
        new() { { "_id", id }, { "name", name }, { "projectId", project }, { "isArchived", archived } };

    /// <summary>A model version; each build is (tag, build id) and its image lives in the model repository.</summary>
    public static BsonDocument ModelVersion(MongoObjectId id, MongoObjectId model, MongoObjectId revision, MongoObjectId creator, params (string Tag, MongoObjectId Build)[] builds) => new()
    {
        { "_id", id },
        { "modelId", new BsonDocument("value", model) },
        { "environmentRevisionId", revision },
        { "number", 1 },
        {
            "metadata", new BsonDocument
            {
                { "createdBy", creator },
                {
                    "builds", new BsonArray(builds.Select(b => new BsonDocument
                    {
                        { "buildId", new BsonDocument("value", b.Build) },
                        { "slug", new BsonDocument("image", new BsonDocument { { "repository", ModelRepository }, { "tag", b.Tag } }) },
                        { "logs", "…" },
                    }))
                },
            }
        },
    };

    public static BsonDocument Build(MongoObjectId id, string status) => new() { { "_id", id }, { "status", status } };

    public static BsonDocument Saga(MongoObjectId id, MongoObjectId version, string name, DateTime started, string state = "succeeded", bool completed = true) => new()
    {
        { "_id", id },
        { "sagaName", name },
        { "state", state },
        { "isCompleted", completed },
        { "started", new BsonDateTime(started) },
        { "parameters", new BsonDocument { { "modelVersionId", version }, { "replicas", 1 } } },
    };

    public static string ModelTag(MongoObjectId model, int version, string suffix) => $"{model}-v{version}-20260101000000_{suffix}";
}
