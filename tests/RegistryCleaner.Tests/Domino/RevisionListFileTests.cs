using RegistryCleaner.Domino;

namespace RegistryCleaner.Tests.Domino;

public class RevisionListFileTests
{
    private const string EnvironmentId = "659c7bce85f6381e675bb205";

    [Theory]
    [InlineData("dominodatalab/environment:659c7bce85f6381e675bb205-12", "dominodatalab/environment", "659c7bce85f6381e675bb205-12")]
    [InlineData("environment:659c7bce85f6381e675bb205-12", "environment", "659c7bce85f6381e675bb205-12")]
    [InlineData("659c7bce85f6381e675bb205-12", null, "659c7bce85f6381e675bb205-12")]
    [InlineData("docker-registry:5000/dominodatalab/environment:659c7bce85f6381e675bb205-3", "docker-registry:5000/dominodatalab/environment", "659c7bce85f6381e675bb205-3")]
    [InlineData("localhost:5000/model:659d755348824d102d3ec6df-v1-202419163323_HfGeD8Ia", "localhost:5000/model", "659d755348824d102d3ec6df-v1-202419163323_HfGeD8Ia")]
    public void A_token_selects_a_tag_with_its_repository(string token, string? repository, string tag)
    {
        RevisionSelector selector = RevisionSelector.Parse(token);

        Assert.Equal(repository, selector.Repository);
        Assert.Equal(tag, selector.Tag);
        Assert.Null(selector.EnvironmentId);
        Assert.Equal(token, selector.ToString());
    }

    [Fact]
    public void A_24_hex_token_selects_every_revision_of_the_environment()
    {
        RevisionSelector selector = RevisionSelector.Parse("659C7BCE85F6381E675BB205");

        Assert.Equal(EnvironmentId, selector.EnvironmentId);
        Assert.Null(selector.Tag);
        Assert.Null(selector.Repository);
    }

    [Fact]
    public void A_file_keeps_the_first_token_of_each_line_and_skips_blank_and_comment_lines()
    {
        string[] lines =
        [
            "# revisions of archived environments",
            "",
            "   ",
            "dominodatalab/environment:659c7bce85f6381e675bb205-12   deleted 2026-11-01",
            "\tenvironment:659c7bce85f6381e675bb205-13",
            "659c7bce85f6381e675bb205-14 # a trailing comment",
            "  # indented comment",
            "docker-registry:5000/dominodatalab/environment:659c7bce85f6381e675bb205-15",
            EnvironmentId,
        ];

        IReadOnlyList<RevisionListEntry> entries = RevisionListFile.Parse(lines, "revisions.txt");

        Assert.Equal([4, 5, 6, 8, 9], entries.Select(e => e.LineNumber));
        Assert.Equal(
            [
                "dominodatalab/environment:659c7bce85f6381e675bb205-12",
                "environment:659c7bce85f6381e675bb205-13",
                "659c7bce85f6381e675bb205-14",
                "docker-registry:5000/dominodatalab/environment:659c7bce85f6381e675bb205-15",
                EnvironmentId,
            ],
            entries.Select(e => e.Selector.ToString()));
        Assert.Equal(EnvironmentId, entries[^1].Selector.EnvironmentId);
    }

    [Theory]
    [InlineData("docker-registry:5000/dominodatalab/environment")]
    [InlineData("dominodatalab/environment:")]
    [InlineData("dominodatalab/environment@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]
    [InlineData("Dominodatalab/Environment:tag")]
    [InlineData("-leading-dash")]
    [InlineData("tag!")]
    [InlineData("a//b:tag")]
    public void A_bad_line_fails_with_the_file_line_number_and_value(string bad)
    {
        string[] lines = ["# header", "659c7bce85f6381e675bb205-1", "", bad, "659c7bce85f6381e675bb205-2"];

        RevisionListFormatException error = Assert.Throws<RevisionListFormatException>(() => RevisionListFile.Parse(lines, "/data/revisions.txt"));

        Assert.Equal("/data/revisions.txt", error.Path);
        Assert.Equal(4, error.LineNumber);
        Assert.Equal(bad, error.Value);
        Assert.StartsWith("/data/revisions.txt, line 4: '" + bad + "'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_validates_the_whole_file_before_returning_anything()
    {
        string path = Path.GetTempFileName();
        try
        {
            File.WriteAllLines(path, ["\uFEFF659c7bce85f6381e675bb205-1", "ok-tag", "also ok", "bad:tag:", "659c7bce85f6381e675bb205"]);

            RevisionListFormatException error = Assert.Throws<RevisionListFormatException>(() => RevisionListFile.Read(path));

            Assert.Equal(4, error.LineNumber);
            Assert.Contains(path, error.Message, StringComparison.Ordinal);
            File.WriteAllLines(path, ["659c7bce85f6381e675bb205-1", "ok-tag"]);
            Assert.Equal(2, RevisionListFile.Read(path).Count);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
