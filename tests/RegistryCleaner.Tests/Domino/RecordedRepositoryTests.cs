using RegistryCleaner.Domino;

namespace RegistryCleaner.Tests.Domino;

/// <summary>How a repository that Domino's records name is tied to the registry's repositories (pure).</summary>
public sealed class RecordedRepositoryTests
{
    private static readonly string[] DominoRepositories = ["dominodatalab/environment", "dominodatalab/model"];

    [Theory]
    [InlineData("dominodatalab/environment")]
    [InlineData("/dominodatalab/environment/")]
    [InlineData("docker-registry/dominodatalab/environment")]
    [InlineData("docker-registry:5000/dominodatalab/environment")]
    [InlineData("10.0.0.1:5000/dominodatalab/environment")]
    [InlineData("[::1]:5000/dominodatalab/environment")]
    [InlineData("docker-registry.domino-platform.svc.cluster.local:5000/dominodatalab/environment")]
    [InlineData("localhost:5000/dominodatalab/environment")]
    public void Every_way_Domino_records_its_registry_is_the_registry_path(string recorded) =>
        Assert.Equal("dominodatalab/environment", DominoDatabase.RepositoryPath(recorded));

    [Fact]
    public void A_recorded_repository_the_registry_lacks_matches_by_whole_components_or_is_kept_in_every_Domino_repository()
    {
        DominoImageReference[] references =
        [
            Reference("dominodatalab/environment", "a-1"),
            Reference("mirror/dominodatalab/environment", "b-1"),
            Reference("model", "c-1"),
            Reference("legacy/env", "d-1"),
            Reference("legacy/env", "d-2"),
            Reference(string.Empty, "e-1"),
            Reference("xdominodatalab/environment", "f-1"),
        ];
        var notes = new List<string>();

        IReadOnlyList<DominoImageReference> matched = DominoProtection.MatchRepositories(references, [.. DominoRepositories, "other/app"], DominoRepositories, notes);

        string[] Where(string tag) => [.. matched.Where(r => r.Tag == tag).Select(r => r.Repository).Order(StringComparer.Ordinal)];
        Assert.Equal(["dominodatalab/environment"], Where("a-1"));
        Assert.Equal(["dominodatalab/environment"], Where("b-1"));
        Assert.Equal(["dominodatalab/model"], Where("c-1"));
        Assert.Equal(DominoRepositories, Where("d-1"));
        Assert.Equal(DominoRepositories, Where("e-1"));
        Assert.Equal(DominoRepositories, Where("f-1"));
        Assert.Equal("Domino workspace w1: x", matched.Single(r => r.Tag == "a-1").Reason);
        Assert.EndsWith("(recorded in repository 'mirror/dominodatalab/environment')", matched.Single(r => r.Tag == "b-1").Reason, StringComparison.Ordinal);
        Assert.All(matched.Where(r => r.Tag == "d-1"), r => Assert.EndsWith("(recorded in repository 'legacy/env', which the registry does not have: the tag is kept in every Domino repository)", r.Reason, StringComparison.Ordinal));
        Assert.Contains("(recorded without a repository, which the registry does not have", matched.First(r => r.Tag == "e-1").Reason, StringComparison.Ordinal);
        Assert.Contains("2 reference(s) name images in repository 'legacy/env', which the registry does not have: their tags are kept in every Domino repository (dominodatalab/environment, dominodatalab/model).", notes);
        Assert.Contains("1 reference(s) name an image tag without a repository: their tags are kept in every Domino repository (dominodatalab/environment, dominodatalab/model).", notes);
        Assert.Contains("1 reference(s) name images in repository 'mirror/dominodatalab/environment', which the registry does not have: it is taken as dominodatalab/environment, where their tags are kept.", notes);
        Assert.Equal(5, notes.Count);
    }

    private static DominoImageReference Reference(string repository, string tag) => new(
        DominoRecordKind.Workspace, DominoDatabase.WorkspacesCollection, "w1", null, repository, tag, null, null, null, null, null, null, null, null, null, null, null, 1, null, "Domino workspace w1: x");
}
