using MongoDB.Bson;
using MongoDB.Driver;
using RegistryCleaner.Domino;
using RegistryCleaner.Tests.Infrastructure;
using MongoObjectId = MongoDB.Bson.ObjectId;

namespace RegistryCleaner.Tests.Domino;

/// <summary>
/// The stand-in behaves like MongoDB where the engine depends on it. These run against a real MongoDB too when
/// REGISTRYCLEANER_TEST_MONGODB_URI is set, which is what keeps the stand-in honest.
/// </summary>
public sealed class MongoWireStandInTests : IAsyncLifetime
{
    private static readonly MongoObjectId Id = MongoObjectId.Parse("659c7bce85f6381e675bb205");

    private MongoTestDatabase database = null!;
    private MongoClient client = null!;
    private IMongoCollection<BsonDocument> collection = null!;

    public async Task InitializeAsync()
    {
        database = MongoTestDatabase.Create();
        client = new MongoClient(database.Settings.ToClientSettings());
        collection = client.GetDatabase(database.Settings.DatabaseName).GetCollection<BsonDocument>("things");
        await collection.InsertManyAsync(
        [
            new BsonDocument
            {
                { "_id", 1 },
                { "ref", Id },
                { "count", 1 },
                { "maybe", BsonNull.Value },
                {
                    "metadata", new BsonDocument("builds", new BsonArray
                    {
                        new BsonDocument("slug", new BsonDocument("image", new BsonDocument { { "repository", "r" }, { "tag", "a" } })),
                        new BsonDocument("slug", new BsonDocument("image", new BsonDocument { { "repository", "r" }, { "tag", "b" } })),
                        "not a document",
                    })
                },
                { "tags", new BsonArray { "x", "y" } },
                { "when", new BsonDateTime(new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc)) },
                { "volume", new BsonDocument("_t", "RunReusableVolumeSpecification") },
            },
            new BsonDocument { { "_id", 2 }, { "ref", Id.ToString() }, { "count", 2.0 }, { "when", new BsonInt64(1_780_000_000_000) } },
        ]);
    }

    public async Task DisposeAsync()
    {
        client.Dispose();
        await database.DisposeAsync();
    }

    [Theory]
    [InlineData("{ 'metadata.builds.slug.image.tag': 'b' }", new[] { 1 })]
    [InlineData("{ 'metadata.builds.slug.image.tag': { $in: ['z', 'a'] } }", new[] { 1 })]
    [InlineData("{ 'metadata.builds.0.slug.image.tag': 'a' }", new[] { 1 })]
    [InlineData("{ 'metadata.builds.slug.image.tag': { $exists: false } }", new[] { 2 })]
    [InlineData("{ tags: 'y' }", new[] { 1 })]
    [InlineData("{ ref: ObjectId('659c7bce85f6381e675bb205') }", new[] { 1 })]
    [InlineData("{ ref: '659c7bce85f6381e675bb205' }", new[] { 2 })]
    [InlineData("{ count: 2 }", new[] { 2 })]
    [InlineData("{ count: { $ne: 1.0 } }", new[] { 2 })]
    [InlineData("{ maybe: null }", new[] { 1, 2 })]
    [InlineData("{ maybe: { $exists: true, $ne: null } }", new int[0])]
    [InlineData("{ maybe: { $exists: true } }", new[] { 1 })]
    [InlineData("{ $or: [ { _id: 2 }, { tags: 'x' } ] }", new[] { 1, 2 })]
    [InlineData("{ count: { $gt: 1 } }", new[] { 2 })]
    [InlineData("{ count: { $gte: 1, $lt: 2 } }", new[] { 1 })]
    [InlineData("{ count: { $lte: 2.0 } }", new[] { 1, 2 })]
    [InlineData("{ when: { $gte: ISODate('2025-01-01T00:00:00Z') } }", new[] { 1 })]
    [InlineData("{ when: { $gte: NumberLong(0) } }", new[] { 2 })]
    [InlineData("{ 'volume._t': { $ne: 'RunReusableVolumeSpecification' } }", new[] { 2 })]
    public async Task Filters_match_like_MongoDB(string filter, int[] expected)
    {
        List<BsonDocument> found = await collection.Find(BsonDocument.Parse(filter)).ToListAsync();

        Assert.Equal(expected, found.Select(d => d["_id"].AsInt32).Order());
    }

    [Fact]
    public async Task An_operator_the_stand_in_lacks_is_a_command_error_naming_it()
    {
        if (database.StandIn is null)
        {
            return; // a real server supports $size
        }

        MongoCommandException error = await Assert.ThrowsAsync<MongoCommandException>(
            () => collection.Find(BsonDocument.Parse("{ tags: { $size: 2 } }")).ToListAsync());

        Assert.Contains("$size", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Projections_reach_into_arrays_of_subdocuments()
    {
        BsonDocument projected = await collection
            .Find(new BsonDocument("_id", 1))
            .Project(BsonDocument.Parse("{ 'metadata.builds.slug.image.tag': 1, ref: 1 }"))
            .SingleAsync();

        Assert.Equal(
            BsonDocument.Parse("{ _id: 1, ref: ObjectId('659c7bce85f6381e675bb205'), metadata: { builds: [ { slug: { image: { tag: 'a' } } }, { slug: { image: { tag: 'b' } } } ] } }"),
            projected);
    }

    [Fact]
    public async Task Cursors_page_with_getMore_and_are_killed_when_abandoned()
    {
        IMongoCollection<BsonDocument> many = client.GetDatabase(database.Settings.DatabaseName).GetCollection<BsonDocument>("many");
        await many.InsertManyAsync(Enumerable.Range(0, 250).Select(i => new BsonDocument("_id", i)));

        List<BsonDocument> all = await many.Find(new BsonDocument()).ToListAsync();
        Assert.Equal(250, all.Count);

        using (IAsyncCursor<BsonDocument> cursor = await many.FindAsync(new BsonDocument(), new FindOptions<BsonDocument> { BatchSize = 10 }))
        {
            Assert.True(await cursor.MoveNextAsync());
            Assert.Equal(10, cursor.Current.Count());
        }

        if (database.StandIn is { } standIn)
        {
            Assert.Contains(standIn.Commands, c => c.Contains("getMore"));
            Assert.Contains(standIn.Commands, c => c.Contains("killCursors"));
        }
    }

    [Fact]
    public async Task Usage_over_more_ids_than_one_in_batch_is_complete()
    {
        MongoObjectId[] models = Enumerable.Range(0, 1200).Select(_ => MongoObjectId.GenerateNewId()).ToArray();
        await database.SeedAsync(DominoDatabase.ModelsCollection, [.. models.Select(m => new BsonDocument { { "_id", m }, { "isArchived", false } })]);
        await database.SeedAsync(DominoDatabase.ModelVersionsCollection, [.. models.Select(m => new BsonDocument
        {
            { "_id", MongoObjectId.GenerateNewId() },
            { "modelId", new BsonDocument("value", m) },
            { "metadata", new BsonDocument("builds", new BsonArray { new BsonDocument("slug", new BsonDocument("image", new BsonDocument { { "repository", "dominodatalab/model" }, { "tag", $"{m}-v1-x" } })) }) },
        })]);
        using MongoConnection connection = database.Open();

        DominoUsageReport usage = await connection.Domino.ReadImageUsageAsync();

        Assert.Equal(models.Select(m => $"{m}-v1-x").Order(StringComparer.Ordinal), usage.References.Select(u => u.Tag).Order(StringComparer.Ordinal));
    }
}
