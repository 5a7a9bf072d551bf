using RegistryCleaner.Deletion;

namespace RegistryCleaner.Tests.Deletion;

/// <summary>A journal is a file anyone with access to its folder can edit: its names are checked before a restore uses them.</summary>
public sealed class JournalNameTests : IDisposable
{
    private static readonly string Digest = "sha256:" + new string('a', 64);

    private readonly string path = Path.Combine(Directory.CreateTempSubdirectory("registrycleaner-journal-").FullName, "j.jsonl");

    [Theory]
    [InlineData("x/../../v2/other", "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "v1")]
    [InlineData("app", "sha256:../../_catalog", "v1")]
    [InlineData("app", "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "a/../../b%2F..")]
    [InlineData("app", "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "v1\u001b[2J")]
    public void A_record_whose_names_are_not_names_is_refused_naming_its_line(string repository, string digest, string tag)
    {
        File.WriteAllLines(this.path, [Line("app", Digest, "ok"), Line(repository, digest, tag), Line("app", Digest, "last")]);

        InvalidDataException error = Assert.Throws<InvalidDataException>(() => DeletionJournal.Read(this.path));

        Assert.Contains("line 2 is refused", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\u001b', error.Message);
    }

    [Fact]
    public void A_journal_of_valid_names_reads_as_before()
    {
        File.WriteAllLines(this.path, [Line("dominodatalab/environment", Digest, "659c7bce85f6381e675bb205-12")]);

        JournalRecord record = Assert.Single(DeletionJournal.Read(this.path));

        Assert.Equal(["659c7bce85f6381e675bb205-12"], record.Tags);
    }

    public void Dispose() => Directory.Delete(Path.GetDirectoryName(this.path)!, recursive: true);

    private static string Line(string repository, string digest, string tag) =>
        System.Text.Json.JsonSerializer.Serialize(new
        {
            kind = "attempt",
            time = "2024-01-01T00:00:00+00:00",
            registry = "docker-registry:5000",
            repository,
            digest,
            mediaType = "application/vnd.oci.image.manifest.v1+json",
            tags = new[] { tag },
            manifest = "e30=",
        });
}
