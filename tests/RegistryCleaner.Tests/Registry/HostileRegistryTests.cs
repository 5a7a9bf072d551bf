using RegistryCleaner.Registry;
using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.Registry;

/// <summary>Names that are not names and sizes that are not sizes, from a registry that sends them on purpose.</summary>
public class HostileRegistryTests
{
    [Fact]
    public async Task Names_that_are_not_names_never_reach_a_URL_and_are_errors_naming_them_while_valid_tags_are_read()
    {
        await using var registry = new HostileRegistry();
        using var client = new RegistryClient(RegistryEndpoint.Parse(registry.Registry));
        var reader = new InventoryReader(client);

        var results = new List<TagReadResult>();
        await foreach (TagReadResult result in reader.ReadAsync(CancellationToken.None))
        {
            results.Add(result);
        }

        Assert.Empty(registry.Escaped);
        Assert.DoesNotContain(registry.Requests, static r => r.Contains("%2E", StringComparison.OrdinalIgnoreCase) || r.Contains("b%2F", StringComparison.Ordinal));

        RegistryNameException badRepository = Assert.IsType<RegistryNameException>(
            Assert.Single(results, static r => r.Repository.Contains("%2E", StringComparison.Ordinal)).Error);
        Assert.Contains($"'{HostileRegistry.BadRepository}'", badRepository.Message, StringComparison.Ordinal);
        Assert.Contains("not a repository name", badRepository.Message, StringComparison.Ordinal);

        RegistryNameException badTag = Assert.IsType<RegistryNameException>(
            Assert.Single(results, static r => r.Tag.Contains("..", StringComparison.Ordinal)).Error);
        Assert.Contains($"'{HostileRegistry.BadTag}'", badTag.Message, StringComparison.Ordinal);
        Assert.Contains("app", badTag.Message, StringComparison.Ordinal);

        Assert.Contains("Docker-Content-Digest", Assert.IsType<ManifestFormatException>(results.Single(static r => r.Tag == "pathheader").Error).Message, StringComparison.Ordinal);
        Assert.Contains("digest is invalid", Assert.IsType<ManifestFormatException>(results.Single(static r => r.Tag == "pathdigest").Error).Message, StringComparison.Ordinal);

        Assert.Subset(reader.Inventory.Tags.Select(static t => t.Tag).ToHashSet(), HostileRegistry.GoodTags.ToHashSet());
        Assert.DoesNotContain(reader.Inventory.Repositories, static r => r.Contains('%', StringComparison.Ordinal));
        Assert.False(reader.Inventory.Complete);
    }

    [Fact]
    public async Task Every_client_method_refuses_a_name_that_is_not_one_before_sending_anything()
    {
        await using var registry = new HostileRegistry();
        using var client = new RegistryClient(RegistryEndpoint.Parse(registry.Registry));
        string digest = "sha256:" + new string('a', 64);
        const string Bad = HostileRegistry.BadTag;
        const string BadRepository = HostileRegistry.BadRepository;
        var calls = new Func<Task>[]
        {
            () => client.ListTagsAsync(BadRepository),
            () => client.GetManifestAsync(BadRepository, "good", CancellationToken.None),
            () => client.GetManifestAsync("app", Bad, CancellationToken.None),
            () => client.GetManifestAsync("app", "sha256:../../x", CancellationToken.None),
            () => client.HeadManifestAsync("app", Bad, CancellationToken.None),
            () => client.GetBlobAsync("app", "sha256:../../x", CancellationToken.None),
            () => client.HeadBlobAsync("app", "sha256:" + new string('A', 64), CancellationToken.None),
            () => client.CopyBlobAsync("app", "../x", Stream.Null, CancellationToken.None),
            () => client.DeleteManifestAsync("app", "sha256:../..", CancellationToken.None),
            () => client.DeleteTagAsync("app", Bad, CancellationToken.None),
            () => client.DeleteTagAsync("app", "..", CancellationToken.None),
            () => client.PutManifestAsync("app", Bad, new byte[] { 1 }, MediaTypes.DockerManifest, CancellationToken.None),
            () => client.GetReferrersAsync("app", "sha256:%2e%2e", CancellationToken.None),
            () => client.GetReferrersAsync(BadRepository, digest, CancellationToken.None),
            () => client.SupportsReferrersApiAsync("App", CancellationToken.None),
            () => client.SupportsTagDeletionAsync("app/", CancellationToken.None),
        };

        foreach (Func<Task> call in calls)
        {
            await Assert.ThrowsAnyAsync<ArgumentException>(call);
        }

        Assert.Empty(registry.Requests);
    }

    [Fact]
    public void A_manifest_descriptor_whose_digest_is_not_a_digest_is_malformed()
    {
        static string Manifest(string layer) =>
            $$"""{"schemaVersion":2,"mediaType":"{{MediaTypes.OciManifest}}","config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":2,"digest":"sha256:{{new string('c', 64)}}"},"layers":[{{layer}}]}""";
        Assert.Contains("digest is invalid", Parse(Manifest("""{"size":1,"digest":"sha256:ABC"}""")), StringComparison.Ordinal);
        string subject = $$$"""{"schemaVersion":2,"mediaType":"{{{MediaTypes.OciManifest}}}","config":{"size":2,"digest":"sha256:{{{new string('c', 64)}}}"},"layers":[],"subject":{"size":1,"digest":"sha256:../../x"}}""";
        Assert.Contains("subject descriptor's digest is invalid", Parse(subject), StringComparison.Ordinal);

        static string Parse(string json) =>
            Assert.Throws<ManifestFormatException>(() => ManifestParser.Parse("r", "app", "sha256:" + new string('d', 64), null, System.Text.Encoding.UTF8.GetBytes(json))).Message;
    }
}
