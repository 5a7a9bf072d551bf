using System.Globalization;
using MongoDB.Bson;
using MongoDB.Bson.IO;
using MongoDB.Driver;
using MongoObjectId = MongoDB.Bson.ObjectId;

namespace RegistryCleaner.Domino;

/// <summary>
/// Domino's records in MongoDB, read and changed the way RegistryCleaner needs. Identifiers are queried as ObjectIds and
/// tags and repositories as strings, because that is how Domino stores them (an ObjectId never equals its hex string).
/// Every MongoDB failure surfaces as a <see cref="DominoDatabaseException"/> without the password; a malformed id is a
/// <see cref="FormatException"/> before any I/O.
/// </summary>
public sealed partial class DominoDatabase
{
    /// <summary>The collection of environments.</summary>
    public const string EnvironmentsCollection = "environments_v2";

    /// <summary>The collection of environment revisions.</summary>
    public const string EnvironmentRevisionsCollection = "environment_revisions";

    /// <summary>The collection of projects.</summary>
    public const string ProjectsCollection = "projects";

    /// <summary>The collection of models.</summary>
    public const string ModelsCollection = "models";

    /// <summary>The collection of model versions.</summary>
    public const string ModelVersionsCollection = "model_versions";

    // Large $in lists are split so that no command comes near the 16 MB document limit.
    private const int InBatchSize = 1000;

    private static readonly JsonWriterSettings CanonicalJson = new() { OutputMode = JsonOutputMode.CanonicalExtendedJson, Indent = false };

    private static readonly BsonDocument NotArchived = new("isArchived", new BsonDocument("$ne", true));

    private readonly IMongoDatabase database;
    private readonly MongoConnectionSettings settings;

    internal DominoDatabase(IMongoDatabase database, MongoConnectionSettings settings)
    {
        this.database = database;
        this.settings = settings;
    }

    /// <summary>Connects and authenticates, so that a bad address or password fails before any other work.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the server answered.</returns>
    public Task PingAsync(CancellationToken cancellationToken = default) =>
        RunAsync("ping", async () =>
        {
            await database.RunCommandAsync<BsonDocument>(new BsonDocument("ping", 1), cancellationToken: cancellationToken).ConfigureAwait(false);
            return true;
        });

    /// <summary>Reads the archived environments (<c>environments_v2 {isArchived: true}</c>).</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Each archived environment's id and name, ordered by id.</returns>
    public Task<IReadOnlyList<DominoEnvironment>> GetArchivedEnvironmentsAsync(CancellationToken cancellationToken = default) =>
        RunAsync<IReadOnlyList<DominoEnvironment>>("read archived environments", async () =>
        {
            List<BsonDocument> documents = await FindAsync(
                EnvironmentsCollection, new BsonDocument("isArchived", true), ["name"], cancellationToken).ConfigureAwait(false);
            return documents
                .Select(d => (Id: IdOf(d["_id"]), Name: StringAt(d, "name") ?? string.Empty))
                .Where(e => e.Id is not null)
                .Select(e => new DominoEnvironment(e.Id!, e.Name))
                .OrderBy(e => e.Id, StringComparer.Ordinal)
                .ToList();
        });

    /// <summary>Reads the ids of the archived models (<c>models {isArchived: true}</c>).</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The archived models' ids, lower-case hex, ordered.</returns>
    public Task<IReadOnlyList<string>> GetArchivedModelIdsAsync(CancellationToken cancellationToken = default) =>
        RunAsync<IReadOnlyList<string>>("read archived models", async () =>
        {
            List<BsonDocument> documents = await FindAsync(
                ModelsCollection, new BsonDocument("isArchived", true), [], cancellationToken).ConfigureAwait(false);
            return documents.Select(d => IdOf(d["_id"])).OfType<string>().Order(StringComparer.Ordinal).ToList();
        });

    /// <summary>
    /// Finds the revisions whose image tag is <paramref name="tag"/> (<c>metadata.dockerImageName.tag</c>), and, when
    /// <paramref name="repository"/> is given, whose repository is the same path (a registry host in front of either
    /// side is ignored, since the same registry is reached under many names).
    /// </summary>
    /// <param name="tag">The image tag, for example <c>659c7bce85f6381e675bb205-12</c>.</param>
    /// <param name="repository">The image repository, or null for any.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The matching revisions, ordered by id.</returns>
    public Task<IReadOnlyList<EnvironmentRevision>> FindRevisionsByTagAsync(
        string tag, string? repository = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tag);
        return RunAsync<IReadOnlyList<EnvironmentRevision>>($"find environment revisions with tag {tag}", async () =>
        {
            List<BsonDocument> documents = await FindAsync(
                EnvironmentRevisionsCollection, new BsonDocument("metadata.dockerImageName.tag", tag), null, cancellationToken).ConfigureAwait(false);
            return documents
                .Select(ToRevision)
                .Where(r => repository is null || (r.Repository is not null && SameRepositoryPath(r.Repository, repository)))
                .OrderBy(r => r.RevisionId, StringComparer.Ordinal)
                .ToList();
        });
    }

    /// <summary>Finds every revision of an environment (<c>environmentId</c>).</summary>
    /// <param name="environmentId">The environment's ObjectId (24 hex characters).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The environment's revisions, ordered by id.</returns>
    /// <exception cref="FormatException">The id is not 24 hexadecimal characters.</exception>
    public Task<IReadOnlyList<EnvironmentRevision>> FindRevisionsByEnvironmentAsync(
        string environmentId, CancellationToken cancellationToken = default)
    {
        MongoObjectId id = ToObjectId(environmentId);
        return RunAsync<IReadOnlyList<EnvironmentRevision>>($"find the revisions of environment {id}", async () =>
        {
            List<BsonDocument> documents = await FindAsync(
                EnvironmentRevisionsCollection, new BsonDocument("environmentId", id), null, cancellationToken).ConfigureAwait(false);
            return documents.Select(ToRevision).OrderBy(r => r.RevisionId, StringComparer.Ordinal).ToList();
        });
    }

    /// <summary>Finds the revisions a line of a revision list or a piped object selects.</summary>
    /// <param name="selector">A tag (optionally with repository) or an environment id.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The matching revisions, ordered by id.</returns>
    public Task<IReadOnlyList<EnvironmentRevision>> FindRevisionsAsync(
        RevisionSelector selector, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(selector);
        return selector.EnvironmentId is { } environmentId
            ? FindRevisionsByEnvironmentAsync(environmentId, cancellationToken)
            : FindRevisionsByTagAsync(selector.Tag!, selector.Repository, cancellationToken);
    }

    /// <summary>
    /// Returns the environment that is not archived and whose <c>activeRevisionId</c> is <paramref name="revisionId"/>:
    /// deleting that revision would break the environment's next run.
    /// </summary>
    /// <param name="revisionId">The revision's ObjectId (24 hex characters).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The environment, or null when no live environment has the revision active.</returns>
    /// <exception cref="FormatException">The id is not 24 hexadecimal characters.</exception>
    public Task<DominoEnvironment?> FindLiveEnvironmentWithActiveRevisionAsync(
        string revisionId, CancellationToken cancellationToken = default)
    {
        MongoObjectId id = ToObjectId(revisionId);
        return RunAsync($"check whether revision {id} is active", async () =>
        {
            var filter = new BsonDocument { { "activeRevisionId", id }, { "isArchived", new BsonDocument("$ne", true) } };
            List<BsonDocument> documents = await FindAsync(EnvironmentsCollection, filter, ["name"], cancellationToken, limit: 1).ConfigureAwait(false);
            return documents.Count == 0 || IdOf(documents[0]["_id"]) is not { } environmentId
                ? null
                : new DominoEnvironment(environmentId, StringAt(documents[0], "name") ?? string.Empty);
        });
    }

    /// <summary>Returns whether a revision is the active revision of an environment that is not archived.</summary>
    /// <param name="revisionId">The revision's ObjectId (24 hex characters).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns><see langword="true"/> when deleting the revision would break a live environment.</returns>
    /// <exception cref="FormatException">The id is not 24 hexadecimal characters.</exception>
    public async Task<bool> IsActiveRevisionAsync(string revisionId, CancellationToken cancellationToken = default) =>
        await FindLiveEnvironmentWithActiveRevisionAsync(revisionId, cancellationToken).ConfigureAwait(false) is not null;

    /// <summary>Deletes one environment revision by its <c>_id</c>.</summary>
    /// <param name="revisionId">The revision's ObjectId (24 hex characters).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns><see langword="true"/> when a document was deleted, <see langword="false"/> when none had that id.</returns>
    /// <exception cref="FormatException">The id is not 24 hexadecimal characters.</exception>
    public Task<bool> DeleteRevisionAsync(string revisionId, CancellationToken cancellationToken = default)
    {
        MongoObjectId id = ToObjectId(revisionId);
        return RunAsync($"delete environment revision {id}", async () =>
        {
            DeleteResult result = await database.GetCollection<BsonDocument>(EnvironmentRevisionsCollection)
                .DeleteOneAsync(new BsonDocument("_id", id), cancellationToken).ConfigureAwait(false);
            return result.DeletedCount == 1;
        });
    }

    /// <summary>Turns a stored revision document into the project's record, keeping the whole document as JSON.</summary>
    internal static EnvironmentRevision ToRevision(BsonDocument document) => new(
        IdOf(document.GetValue("_id", BsonNull.Value)) ?? string.Empty,
        IdOf(document.GetValue("environmentId", BsonNull.Value)) ?? string.Empty,
        StringAt(document, "metadata.dockerImageName.repository"),
        StringAt(document, "metadata.dockerImageName.tag"),
        DateAt(document, "metadata.created"),
        ToCanonicalJson(document));

    /// <summary>Serialises a document as canonical Extended JSON on one line (types survive a round trip).</summary>
    internal static string ToCanonicalJson(BsonDocument document) => document.ToJson(CanonicalJson);

    /// <summary>Compares repository paths, ignoring a registry host (see <see cref="RepositoryPath"/>).</summary>
    internal static bool SameRepositoryPath(string left, string right) =>
        string.Equals(RepositoryPath(left), RepositoryPath(right), StringComparison.Ordinal);

    private static MongoObjectId ToObjectId(string hex)
    {
        ArgumentNullException.ThrowIfNull(hex);
        return MongoObjectId.Parse(ObjectId.Normalize(hex));
    }

    /// <summary>The lower-case hex of an ObjectId value (or of a 24-hex string, which older records sometimes hold).</summary>
    private static string? IdOf(BsonValue? value) => value switch
    {
        BsonObjectId id => id.Value.ToString(),
        BsonString s when ObjectId.IsValid(s.Value) => s.Value.ToLowerInvariant(),
        _ => null,
    };

    private static BsonValue? ValueAt(BsonDocument document, string dottedPath)
    {
        BsonValue current = document;
        foreach (string name in dottedPath.Split('.'))
        {
            if (current is not BsonDocument d || !d.TryGetValue(name, out current))
            {
                return null;
            }
        }

        return current;
    }

    private static string? StringAt(BsonDocument document, string dottedPath) =>
        ValueAt(document, dottedPath) is BsonString s ? s.Value : null;

    private static DateTimeOffset? DateAt(BsonDocument document, string dottedPath) => ValueAt(document, dottedPath) switch
    {
        BsonDateTime date => DateTimeOffset.FromUnixTimeMilliseconds(date.MillisecondsSinceEpoch),
        BsonInt64 millis => DateTimeOffset.FromUnixTimeMilliseconds(millis.Value),
        BsonString text when DateTimeOffset.TryParse(text.Value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out DateTimeOffset parsed) => parsed,
        _ => null,
    };

    private async Task<List<BsonDocument>> FindAsync(
        string collection, BsonDocument filter, string[]? fields, CancellationToken cancellationToken, int? limit = null)
    {
        IFindFluent<BsonDocument, BsonDocument> find = database.GetCollection<BsonDocument>(collection).Find(filter);
        if (fields is not null)
        {
            var projection = new BsonDocument("_id", 1);
            foreach (string field in fields)
            {
                projection[field] = 1;
            }

            find = find.Project(projection);
        }

        if (limit is { } n)
        {
            find = find.Limit(n);
        }

        return await find.ToListAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Runs one logical operation and turns driver failures into messages an administrator can act on.</summary>
    private async Task<T> RunAsync<T>(string operation, Func<Task<T>> action)
    {
        try
        {
            return await action().ConfigureAwait(false);
        }
        catch (MongoAuthenticationException ex)
        {
            throw Failure(
                $"MongoDB at {settings.Servers} rejected the credentials of user '{UserName()}' (authentication database '{AuthenticationDatabase()}'). Check the user name and password (-MongoCredential, MONGODB_USERNAME, MONGODB_PASSWORD).",
                DominoDatabaseError.AuthenticationFailed,
                ex);
        }
        catch (TimeoutException ex)
        {
            throw Failure(
                $"Could not {operation}: no MongoDB server at {settings.Servers} answered within {settings.Timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s{Cause(ex)}. Check the host, port and replica set name, and that this machine can reach them (connect directly with a single host when replica set members advertise names unreachable from here).",
                DominoDatabaseError.Unreachable,
                ex);
        }
        catch (MongoConnectionException ex)
        {
            throw Failure(
                $"Could not {operation}: the connection to MongoDB at {settings.Servers} failed: {ex.Message}",
                DominoDatabaseError.Unreachable,
                ex);
        }
        catch (MongoCommandException ex)
        {
            throw Failure(
                $"Could not {operation}: MongoDB at {settings.Servers} answered {ex.CodeName} ({ex.Code.ToString(CultureInfo.InvariantCulture)}): {ex.ErrorMessage}",
                ex.Code is 13 or 18 ? DominoDatabaseError.AuthenticationFailed : DominoDatabaseError.CommandFailed,
                ex);
        }
        catch (MongoException ex)
        {
            throw Failure($"Could not {operation} in MongoDB at {settings.Servers}: {ex.Message}", DominoDatabaseError.CommandFailed, ex);
        }
    }

    private DominoDatabaseException Failure(string message, DominoDatabaseError error, Exception cause) =>
        new(settings.Redact(message), error, settings.Reveals(cause.ToString()) ? null : cause);

    /// <summary>The innermost socket error of a server selection timeout, such as "Connection refused".</summary>
    private static string Cause(TimeoutException ex)
    {
        const string marker = "SocketException";
        int at = ex.Message.IndexOf(marker, StringComparison.Ordinal);
        if (at < 0)
        {
            return string.Empty;
        }

        int colon = ex.Message.IndexOf(':', at);
        int end = ex.Message.IndexOfAny(['\n', '\r', '"', '-'], colon + 1);
        return colon < 0 ? string.Empty : $" ({ex.Message[(colon + 1)..(end < 0 ? ex.Message.Length : end)].Trim()})";
    }

    private string UserName()
    {
        MongoCredential? credential = settings.ToClientSettings().Credential;
        return credential?.Username ?? string.Empty;
    }

    private string AuthenticationDatabase() => settings.ToClientSettings().Credential?.Source ?? settings.AuthSource;
}
