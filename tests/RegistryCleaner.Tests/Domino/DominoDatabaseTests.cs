using MongoDB.Bson;
using RegistryCleaner.Domino;
using RegistryCleaner.Tests.Infrastructure;
using static RegistryCleaner.Tests.Domino.DominoRecordsSeed;

namespace RegistryCleaner.Tests.Domino;

/// <summary>
/// DominoDatabase end to end through the real MongoDB.Driver, against the wire-protocol stand-in (or a real MongoDB when
/// REGISTRYCLEANER_TEST_MONGODB_URI is set).
/// </summary>
public sealed class DominoDatabaseTests : IAsyncLifetime
{
    private MongoTestDatabase database = null!;
    private MongoConnection connection = null!;

    private DominoDatabase Domino => connection.Domino;

    public async Task InitializeAsync()
    {
        database = MongoTestDatabase.Create();
        await SeedAsync(database);
        connection = database.Open();
    }

    public async Task DisposeAsync()
    {
        connection.Dispose();
        await database.DisposeAsync();
    }

    [Fact]
    public async Task Archived_environments_are_listed_with_their_names()
    {
        IReadOnlyList<DominoEnvironment> archived = await Domino.GetArchivedEnvironmentsAsync();

        Assert.Equal([new DominoEnvironment(OldR.ToString(), "Old R"), new DominoEnvironment(Legacy.ToString(), "Legacy")], archived);
    }

    [Fact]
    public async Task Archived_models_are_listed_by_id()
    {
        Assert.Equal([ArchivedModel.ToString()], await Domino.GetArchivedModelIdsAsync());
    }

    [Fact]
    public async Task Image_usage_counts_live_environments_project_defaults_and_live_model_versions_only()
    {
        DominoUsageReport report = await Domino.ReadImageUsageAsync();

        (DominoRecordKind, string, string, string)[] expected =
        [
            (DominoRecordKind.ActiveRevision, EnvironmentRepository, Tag(Python, 2), Python.ToString()),
            (DominoRecordKind.ActiveRevision, EnvironmentRepository, Tag(Spark, 2), Spark.ToString()),
            (DominoRecordKind.ProjectDefault, EnvironmentRepository, Tag(Legacy, 3), ProjectOnLegacy.ToString()),
            (DominoRecordKind.ProjectDefault, EnvironmentRepository, Tag(Spark, 2), ProjectOnSpark.ToString()),
            (DominoRecordKind.ModelBuild, ModelRepository, $"{LiveModel}-v1-202419163323_HfGeD8Ia", LiveVersion.ToString()),
            (DominoRecordKind.ModelBuild, ModelRepository, $"{LiveModel}-v1-202419170000_AbCdEfGh", LiveVersion.ToString()),
            (DominoRecordKind.ModelEnvironment, EnvironmentRepository, Tag(Python, 1), LiveVersion.ToString()),
        ];
        Assert.Equal(expected.Order(), report.References.Select(r => (r.Kind, r.Repository, r.Tag, r.RecordId)).Order());
        DominoImageReference legacy = Assert.Single(report.References, r => r.Tag == Tag(Legacy, 3));
        Assert.Equal("churn", legacy.Project);
        Assert.Equal(Legacy.ToString(), legacy.EnvironmentId);
        Assert.Equal("Legacy", legacy.EnvironmentName);
        Assert.Contains($"Domino project {ProjectOnLegacy} 'churn'", legacy.Reason, StringComparison.Ordinal);
        Assert.Contains($"default environment Legacy ({Legacy}): its active revision", legacy.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain(report.References, u => u.Tag == Tag(OldR, 1) || u.Tag.StartsWith(ArchivedModel.ToString(), StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(null)]
    [InlineData(EnvironmentRepository)]
    [InlineData("docker-registry:5000/" + EnvironmentRepository)]
    public async Task Revisions_are_found_by_tag_with_or_without_repository(string? repository)
    {
        EnvironmentRevision revision = Assert.Single(await Domino.FindRevisionsByTagAsync(Tag(Python, 1), repository));

        Assert.Equal(Python1.ToString(), revision.RevisionId);
        Assert.Equal(Python.ToString(), revision.EnvironmentId);
        Assert.Equal(EnvironmentRepository, revision.Repository);
        Assert.Equal(Tag(Python, 1), revision.Tag);
        Assert.Equal(new DateTimeOffset(Python1Created), revision.Created);
    }

    [Fact]
    public async Task A_tag_in_another_repository_finds_nothing()
    {
        Assert.Empty(await Domino.FindRevisionsByTagAsync(Tag(Python, 1), "someone/else"));
        Assert.Empty(await Domino.FindRevisionsByTagAsync("no-such-tag"));
    }

    [Fact]
    public async Task Revisions_are_found_by_environment_id_as_an_ObjectId_only()
    {
        IReadOnlyList<EnvironmentRevision> revisions = await Domino.FindRevisionsByEnvironmentAsync(Python.ToString().ToUpperInvariant());

        // The decoy stores environmentId as a hex string: MongoDB does not match it, and neither must we.
        Assert.Equal([Python1.ToString(), Python2.ToString()], revisions.Select(r => r.RevisionId));
    }

    [Fact]
    public async Task A_selector_finds_by_tag_or_by_environment()
    {
        Assert.Equal(2, (await Domino.FindRevisionsAsync(RevisionSelector.Parse(Python.ToString()))).Count);
        Assert.Single(await Domino.FindRevisionsAsync(RevisionSelector.Parse($"{EnvironmentRepository}:{Tag(Spark, 2)}")));
    }

    [Fact]
    public async Task The_active_revision_of_a_live_environment_is_guarded_and_others_are_not()
    {
        Assert.Equal(new DominoEnvironment(Python.ToString(), "Python"), await Domino.FindLiveEnvironmentWithActiveRevisionAsync(Python2.ToString()));
        Assert.True(await Domino.IsActiveRevisionAsync(Spark2.ToString()));
        Assert.False(await Domino.IsActiveRevisionAsync(Python1.ToString()));
        Assert.False(await Domino.IsActiveRevisionAsync(OldR1.ToString())); // active, but its environment is archived
    }

    [Fact]
    public async Task Deleting_a_revision_removes_exactly_that_document()
    {
        Assert.True(await Domino.DeleteRevisionAsync(OldR1.ToString()));
        Assert.False(await Domino.DeleteRevisionAsync(OldR1.ToString()));

        List<BsonDocument> left = await database.DocumentsAsync(DominoDatabase.EnvironmentRevisionsCollection);
        Assert.Equal(5, left.Count);
        Assert.DoesNotContain(left, d => d["_id"] == OldR1);
    }

    [Fact]
    public async Task A_malformed_id_is_rejected_before_any_query()
    {
        await Assert.ThrowsAsync<FormatException>(() => Domino.DeleteRevisionAsync("65a00000000000000000000z"));
        await Assert.ThrowsAsync<FormatException>(() => Domino.FindRevisionsByEnvironmentAsync("Python"));
        await Assert.ThrowsAsync<FormatException>(() => Domino.IsActiveRevisionAsync("65a0"));
        Assert.Equal(6, (await database.DocumentsAsync(DominoDatabase.EnvironmentRevisionsCollection)).Count);
    }

    [Fact]
    public async Task Backups_parse_back_to_the_identical_documents()
    {
        IReadOnlyList<EnvironmentRevision> revisions = await Domino.FindRevisionsByEnvironmentAsync(Python.ToString());
        string path = Path.Combine(Path.GetTempPath(), $"registrycleaner-{Guid.NewGuid():N}", "mongo-revisions.jsonl");
        try
        {
            await using (RevisionBackupWriter writer = RevisionBackupWriter.Open(path))
            {
                foreach (EnvironmentRevision revision in revisions)
                {
                    await writer.AppendAsync(revision);
                }
            }

            List<BsonDocument> stored = (await database.DocumentsAsync(DominoDatabase.EnvironmentRevisionsCollection))
                .Where(d => d["environmentId"] == Python).OrderBy(d => d["_id"]).ToList();
            Assert.Equal(stored, RevisionBackupReader.ReadDocuments(path));
            Assert.Equal(revisions, RevisionBackupReader.ReadRevisions(path));
            Assert.Equal(2, File.ReadAllLines(path).Length);
            string text = File.ReadAllText(path);
            Assert.Contains("\"$oid\" : \"" + Python1 + "\"", text, StringComparison.Ordinal);
            Assert.Contains("\"$numberLong\" : \"1234567890123\"", text, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
        }
    }
}
