using MongoDB.Bson;
using MongoDB.Driver;
using RegistryCleaner.Domino;

namespace RegistryCleaner.Tests.Infrastructure;

/// <summary>
/// A fresh Domino database for one test: on a real MongoDB when <c>REGISTRYCLEANER_TEST_MONGODB_URI</c> is set (a
/// uniquely named database, dropped afterwards), otherwise on a <see cref="MongoWireStandIn"/>. Seeding and reading
/// back go through the real driver in both cases.
/// </summary>
public sealed class MongoTestDatabase : IAsyncDisposable
{
    /// <summary>The environment variable naming a real MongoDB to test against.</summary>
    public const string UriVariable = "REGISTRYCLEANER_TEST_MONGODB_URI";

    /// <summary>The user the stand-in accepts.</summary>
    public const string StandInUser = "admin";

    /// <summary>The password the stand-in accepts.</summary>
    public const string StandInPassword = "Stand-In-Pa55word!";

    private readonly MongoClient seeder;

    private MongoTestDatabase(MongoConnectionSettings settings, MongoWireStandIn? standIn)
    {
        Settings = settings;
        StandIn = standIn;
        seeder = new MongoClient(settings.ToClientSettings());
    }

    /// <summary>Settings that reach the test database.</summary>
    public MongoConnectionSettings Settings { get; }

    /// <summary>The stand-in, or null when testing against a real MongoDB.</summary>
    public MongoWireStandIn? StandIn { get; }

    /// <summary>The real MongoDB URI from the environment, if any.</summary>
    public static string? RealUri => Environment.GetEnvironmentVariable(UriVariable) is { Length: > 0 } uri ? uri : null;

    /// <summary>Creates an empty test database.</summary>
    /// <param name="replicaSetName">The stand-in's replica set name (null: a standalone server).</param>
    /// <returns>The database; dispose it at the end of the test.</returns>
    public static MongoTestDatabase Create(string? replicaSetName = "rs0")
    {
        string database = "registrycleaner_test_" + Guid.NewGuid().ToString("N")[..12];
        if (RealUri is { } uri)
        {
            var url = new MongoUrlBuilder(uri) { DatabaseName = database };
            return new MongoTestDatabase(new MongoConnectionSettings { Uri = url.ToString(), Database = database, Timeout = TimeSpan.FromSeconds(10) }, null);
        }

        var standIn = new MongoWireStandIn(replicaSetName, StandInUser, StandInPassword);
        return new MongoTestDatabase(
            new MongoConnectionSettings
            {
                Host = "127.0.0.1",
                Port = standIn.Port,
                ReplicaSet = replicaSetName,
                Database = database,
                Username = StandInUser,
                Password = StandInPassword,
                Timeout = TimeSpan.FromSeconds(10),
            },
            standIn);
    }

    /// <summary>Inserts documents through the driver.</summary>
    /// <param name="collection">The collection.</param>
    /// <param name="documents">The documents.</param>
    /// <returns>A task that completes when they are stored.</returns>
    public Task SeedAsync(string collection, params BsonDocument[] documents) =>
        Collection(collection).InsertManyAsync(documents.Select(d => d.DeepClone().AsBsonDocument));

    /// <summary>Reads a whole collection through the driver.</summary>
    /// <param name="collection">The collection.</param>
    /// <returns>Its documents.</returns>
    public Task<List<BsonDocument>> DocumentsAsync(string collection) =>
        Collection(collection).Find(new BsonDocument()).ToListAsync();

    /// <summary>
    /// Makes a collection unreadable while the others stay readable: the stand-in refuses it (Unauthorized, as for a
    /// user without the read role on it); a real MongoDB gets a view of that name whose pipeline fails on every document.
    /// </summary>
    /// <param name="collection">The collection.</param>
    /// <returns>A task that completes when reads of it fail.</returns>
    public async Task MakeUnreadableAsync(string collection)
    {
        if (StandIn is { } standIn)
        {
            standIn.RefuseReads(collection);
            return;
        }

        // $toInt of an ObjectId is a conversion error at run time, for each document the view's $match looks at (a
        // filter cannot be optimised away, as an unused computed field could). The read's own filter must let the
        // source's documents through: environment_revisions has no state, so a workspace read reaches the error.
        IMongoDatabase database = seeder.GetDatabase(Settings.DatabaseName);
        await database.DropCollectionAsync(collection);
        BsonDocument[] failing = [new("$match", new BsonDocument("$expr", new BsonDocument("$eq", new BsonArray { new BsonDocument("$toInt", "$_id"), 0 })))];
        await database.CreateViewAsync(collection, DominoDatabase.EnvironmentRevisionsCollection, PipelineDefinition<BsonDocument, BsonDocument>.Create(failing));
    }

    /// <summary>Opens a connection the way the cmdlets do.</summary>
    /// <param name="settings">Other settings; the test database's by default.</param>
    /// <returns>The connection.</returns>
    public MongoConnection Open(MongoConnectionSettings? settings = null) => MongoConnection.Open(settings ?? Settings);

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (StandIn is null)
        {
            await seeder.DropDatabaseAsync(Settings.DatabaseName);
        }

        seeder.Dispose();
        if (StandIn is not null)
        {
            await StandIn.DisposeAsync();
        }
    }

    private IMongoCollection<BsonDocument> Collection(string name) =>
        seeder.GetDatabase(Settings.DatabaseName).GetCollection<BsonDocument>(name);
}
