using RegistryCleaner.Registry;
using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.Registry;

/// <summary>Names that are not names and sizes that are not sizes, from a registry that sends them on purpose.</summary>
public class HostileRegistryTests
{
    [Fact]
    public async Task Names_that_are_not_names_never_reach_a_URL_and_are_errors_naming_them_while_valid_tags_are_read()
    {
        await using var registry = new HostileNameRegistry();
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
        Assert.Contains($"'{HostileNameRegistry.BadRepository}'", badRepository.Message, StringComparison.Ordinal);
        Assert.Contains("not a repository name", badRepository.Message, StringComparison.Ordinal);

        RegistryNameException badTag = Assert.IsType<RegistryNameException>(
            Assert.Single(results, static r => r.Tag.Contains("..", StringComparison.Ordinal)).Error);
        Assert.Contains($"'{HostileNameRegistry.BadTag}'", badTag.Message, StringComparison.Ordinal);
        Assert.Contains("app", badTag.Message, StringComparison.Ordinal);

        Assert.Contains("Docker-Content-Digest", Assert.IsType<ManifestFormatException>(results.Single(static r => r.Tag == "pathheader").Error).Message, StringComparison.Ordinal);
        Assert.Contains("digest is invalid", Assert.IsType<ManifestFormatException>(results.Single(static r => r.Tag == "pathdigest").Error).Message, StringComparison.Ordinal);

        Assert.Subset(reader.Inventory.Tags.Select(static t => t.Tag).ToHashSet(), HostileNameRegistry.GoodTags.ToHashSet());
        Assert.DoesNotContain(reader.Inventory.Repositories, static r => r.Contains('%', StringComparison.Ordinal));
        Assert.False(reader.Inventory.Complete);
    }

    [Fact]
    public async Task Negative_and_overflowing_sizes_make_that_tag_an_error_and_the_others_are_read()
    {
        await using var registry = new HostileNameRegistry();
        using var client = new RegistryClient(RegistryEndpoint.Parse(registry.Registry));
        var reader = new InventoryReader(client, new InventoryReaderOptions { Repositories = ["app"] });

        RegistryInventory inventory = await reader.ReadAllAsync(CancellationToken.None);

        ManifestFormatException huge = Assert.IsType<ManifestFormatException>(reader.Errors.Single(static r => r.Tag == "huge").Error);
        Assert.Contains("add up to more than 9223372036854775807 bytes", huge.Message, StringComparison.Ordinal);
        Assert.Contains("app:huge", huge.Message, StringComparison.Ordinal);
        ManifestFormatException negative = Assert.IsType<ManifestFormatException>(reader.Errors.Single(static r => r.Tag == "negative").Error);
        Assert.Contains("negative size -1000000000000000", negative.Message, StringComparison.Ordinal);

        Assert.Equal(HostileNameRegistry.GoodTags.Order(), inventory.Tags.Select(static t => t.Tag).Order());
        RegistryImage image = Assert.Single(InventoryViews.Images(inventory), static i => i.Tag == "good");
        Assert.True(image.Size > 0);
    }

    [Fact]
    public async Task Every_client_method_refuses_a_name_that_is_not_one_before_sending_anything()
    {
        await using var registry = new HostileNameRegistry();
        using var client = new RegistryClient(RegistryEndpoint.Parse(registry.Registry));
        string digest = "sha256:" + new string('a', 64);
        const string Bad = HostileNameRegistry.BadTag;
        const string BadRepository = HostileNameRegistry.BadRepository;
        var calls = new Func<Task>[]
        {
            () => client.ListTagsAsync(BadRepository),
            () => client.GetManifestAsync(BadRepository, "good", CancellationToken.None),
            () => client.GetManifestAsync("app", Bad, CancellationToken.None),
            () => client.GetManifestAsync("app", "sha256:../../x", CancellationToken.None),
            () => client.HeadManifestAsync("app", Bad, CancellationToken.None),
            () => client.GetBlobAsync("app", "sha256:../../x", 10, CancellationToken.None),
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
    public void A_manifest_descriptor_that_is_not_a_size_or_digest_is_malformed()
    {
        static string Manifest(string layer) =>
            $$"""{"schemaVersion":2,"mediaType":"{{MediaTypes.OciManifest}}","config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":2,"digest":"sha256:{{new string('c', 64)}}"},"layers":[{{layer}}]}""";
        string hex = new('1', 64);

        Assert.Contains("negative size", Parse(Manifest($$"""{"mediaType":"x","size":-1,"digest":"sha256:{{hex}}"}""")), StringComparison.Ordinal);
        Assert.Contains("add up to more than", Parse(Manifest($$"""{"size":9223372036854775807,"digest":"sha256:{{hex}}"}""")), StringComparison.Ordinal);
        Assert.Contains("digest is invalid", Parse(Manifest("""{"size":1,"digest":"sha256:ABC"}""")), StringComparison.Ordinal);
        Assert.Contains("'urls' is not a list", Parse(Manifest($$"""{"size":1,"digest":"sha256:{{hex}}","urls":"https://x"}""")), StringComparison.Ordinal);
        string subject = $$$"""{"schemaVersion":2,"mediaType":"{{{MediaTypes.OciManifest}}}","config":{"size":2,"digest":"sha256:{{{new string('c', 64)}}}"},"layers":[],"subject":{"size":1,"digest":"sha256:../../x"}}""";
        Assert.Contains("subject descriptor's digest is invalid", Parse(subject), StringComparison.Ordinal);
        string index = $$"""{"schemaVersion":2,"mediaType":"{{MediaTypes.OciIndex}}","manifests":[{"size":-5,"digest":"sha256:{{hex}}"}]}""";
        Assert.Contains("negative size", Parse(index), StringComparison.Ordinal);

        ManifestRecord foreign = ManifestParser.Parse(
            "r", "app", "sha256:" + new string('d', 64), null, System.Text.Encoding.UTF8.GetBytes(Manifest($$"""{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","size":5,"digest":"sha256:{{hex}}","urls":["https://mcr.example/blob"]}""")));
        BlobDescriptor layer = Assert.Single(foreign.Layers);
        Assert.Equal(["https://mcr.example/blob"], layer.Urls);
        Assert.True(layer.IsForeign);

        static string Parse(string json) =>
            Assert.Throws<ManifestFormatException>(() => ManifestParser.Parse("r", "app", "sha256:" + new string('d', 64), null, System.Text.Encoding.UTF8.GetBytes(json))).Message;
    }
}
