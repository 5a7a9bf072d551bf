using RegistryCleaner.Registry;
using RegistryCleaner.Tests.Infrastructure;
using static RegistryCleaner.Tests.Infrastructure.PopulatedRegistry;

namespace RegistryCleaner.Tests.Registry;

/// <summary>What a read keeps: nothing per tag when streaming, one copy of what tags share when it keeps the snapshot.</summary>
[Collection(PopulatedRegistryCollection.Name)]
public class InventoryMemoryTests(PopulatedRegistry registry)
{
    [Fact]
    public async Task A_streaming_read_yields_what_a_kept_read_yields_and_keeps_no_snapshot()
    {
        using RegistryClient client = registry.CreateClient();
        var kept = new InventoryReader(client, new InventoryReaderOptions { Repositories = [EnvRepo, ModelRepo] });
        var streaming = new InventoryReader(client, new InventoryReaderOptions { Repositories = [EnvRepo, ModelRepo], KeepInventory = false });

        List<string> keptResults = await DescribeAsync(kept);
        List<string> streamedResults = await DescribeAsync(streaming);

        Assert.Equal(registry.Images.Values.Count(static i => i.Repository is EnvRepo or ModelRepo), keptResults.Count);
        Assert.Equal(keptResults, streamedResults);
        Assert.Equal(keptResults.Count, kept.Inventory.Tags.Count);
        InvalidOperationException error = Assert.Throws<InvalidOperationException>(() => streaming.Inventory);
        Assert.Contains("KeepInventory", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_streaming_read_takes_configurations_from_the_cache_counting_each_once()
    {
        string folder = Directory.CreateTempSubdirectory("registrycleaner-cache-").FullName;
        try
        {
            using RegistryClient client = registry.CreateClient();
            var keeping = new InventoryReader(client, new InventoryReaderOptions { Repositories = [EnvRepo] });
            List<string> kept = await DescribeAsync(keeping);
            var byDigest = keeping.Inventory.Manifests.ToDictionary(static m => m.Digest);
            string[] configsPerTag = [.. keeping.Inventory.Tags
                .Select(t => byDigest[t.Digest])
                .SelectMany(m => m.Children.Count == 0 ? [m] : m.Children.Select(c => byDigest[c.Digest]))
                .Where(static m => m.Config is not null && m.ArtifactType is null)
                .Select(static m => m.Config!.Digest)];

            ImageConfigCache cold = ImageConfigCache.Open(folder);
            Assert.Equal(kept, await DescribeAsync(new InventoryReader(client, new InventoryReaderOptions { Repositories = [EnvRepo], KeepInventory = false, ConfigCache = cold })));
            Assert.Null(cold.Save());
            ImageConfigCache warm = ImageConfigCache.Open(folder);
            Assert.Equal(kept, await DescribeAsync(new InventoryReader(client, new InventoryReaderOptions { Repositories = [EnvRepo], KeepInventory = false, ConfigCache = warm })));

            // Two tags on one image (and indexes sharing children) ask for one configuration: it counts once.
            Assert.True(configsPerTag.Distinct().Count() < configsPerTag.Length);
            Assert.Equal((0, configsPerTag.Distinct().Count()), (cold.Hits, cold.Misses));
            Assert.Equal((configsPerTag.Distinct().Count(), 0), (warm.Hits, warm.Misses));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void The_inventory_is_not_available_before_the_read_ends()
    {
        using RegistryClient client = registry.CreateClient();
        var reader = new InventoryReader(client, new InventoryReaderOptions { Repositories = [EnvRepo], KeepInventory = false });
        InvalidOperationException error = Assert.Throws<InvalidOperationException>(() => reader.Inventory);
        Assert.Contains("until ReadAsync has been enumerated", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_kept_inventory_holds_one_descriptor_per_blob_and_one_string_per_media_type()
    {
        using RegistryClient client = registry.CreateClient();
        RegistryInventory inventory = await new InventoryReader(client).ReadAllAsync(CancellationToken.None);

        // Every manifest that names a blob (by the same digest, size and media type) names the same descriptor object.
        var blobs = inventory.Manifests
            .SelectMany(static m => m.Config is null ? m.Layers : m.Layers.Prepend(m.Config))
            .Where(static b => b.Urls is null)
            .GroupBy(static b => (b.Digest, b.Size, b.MediaType))
            .ToArray();
        Assert.Contains(blobs, static g => g.Count() > 3);
        Assert.All(blobs, static group => Assert.All(group, blob => Assert.Same(group.First(), blob)));

        Assert.All(
            inventory.Manifests.GroupBy(static m => m.MediaType, StringComparer.Ordinal),
            static group => Assert.All(group, manifest => Assert.Same(group.First().MediaType, manifest.MediaType)));
        Assert.All(
            inventory.Manifests.Where(static m => m.Platform is not null).GroupBy(static m => m.Platform, StringComparer.Ordinal),
            static group => Assert.All(group, manifest => Assert.Same(group.First().Platform, manifest.Platform)));

        // A tag holds its manifest's digest, not a copy of it.
        var byKey = inventory.Manifests.ToDictionary(static m => (m.Repository, m.Digest));
        Assert.All(inventory.Tags, tag => Assert.Same(byKey[(tag.Repository, tag.Digest)].Digest, tag.Digest));
    }

    [Fact]
    public async Task Layers_enumerated_one_at_a_time_equal_the_layer_view()
    {
        using RegistryClient client = registry.CreateClient();
        RegistryInventory inventory = await new InventoryReader(client).ReadAllAsync(CancellationToken.None);
        Assert.Equal(
            InventoryViews.Layers(inventory).Select(Describe),
            InventoryViews.EnumerateLayers(inventory).Select(Describe));
        Assert.Equal(
            InventoryViews.Images(inventory).Select(static i => $"{i.Repository}:{i.Tag} {i.Digest} {i.Size}"),
            InventoryViews.EnumerateImages(inventory).Select(static i => $"{i.Repository}:{i.Tag} {i.Digest} {i.Size}"));
    }

    [Fact]
    public void Layer_tags_sort_by_name_and_ObjectIds_are_listed_once_across_repositories()
    {
        // "a-b:x" sorts before "a:x" although repository a comes first; one ObjectId tagged in both repositories once.
        const string Id = "659c7bce85f6381e675bb205";
        const string Other = "659c7bce85f6381e675bb206";
        var shared = new BlobDescriptor(Digest('1'), 10, "application/vnd.docker.image.rootfs.diff.tar.gzip");
        var only = new BlobDescriptor(Digest('2'), 20, "application/vnd.docker.image.rootfs.diff.tar.gzip");
        ManifestRecord Image(string repository, char digest, char config, params BlobDescriptor[] layers) =>
            new(repository, Digest(digest), MediaTypes.DockerManifest, 100, new BlobDescriptor(Digest(config), 5, "application/vnd.docker.container.image.v1+json"), layers, [], null);
        ManifestRecord a1 = Image("a", 'a', 'c', shared);
        ManifestRecord a2 = Image("a", 'b', 'd', shared, only);
        ManifestRecord ab = Image("a-b", 'e', 'f', shared);
        var inventory = new RegistryInventory(
            "registry.test",
            ["a", "a-b"],
            [new TagRecord("a", $"{Id}-1", a1.Digest), new TagRecord("a", $"{Other}-1", a2.Digest), new TagRecord("a", "x", a1.Digest), new TagRecord("a-b", $"{Id}-2", ab.Digest), new TagRecord("a-b", "x", ab.Digest)],
            [a1, a2, ab],
            Complete: true);

        IReadOnlyList<RegistryLayer> layers = InventoryViews.Layers(inventory);
        RegistryLayer sharedLayer = layers.Single(static l => l.Digest == Digest('1'));
        Assert.Equal(new[] { $"a-b:{Id}-2", "a-b:x", $"a:{Id}-1", $"a:{Other}-1", "a:x" }, sharedLayer.Tags);
        Assert.Equal(5, sharedLayer.TagCount);
        Assert.Equal(new[] { "a", "a-b" }, sharedLayer.Repositories);
        Assert.Equal(new[] { Id, Other }, sharedLayer.ObjectIds);
        Assert.Equal("Layer", sharedLayer.Kind);
        RegistryLayer onlyLayer = layers.Single(static l => l.Digest == Digest('2'));
        Assert.Equal(new[] { $"a:{Other}-1" }, onlyLayer.Tags);
        Assert.Equal(new[] { Other }, onlyLayer.ObjectIds);
        Assert.Equal("Config", layers.Single(static l => l.Digest == Digest('f')).Kind);

        // Repository, then the first name that needs the blob, then digest: a-b's blobs come after a's.
        Assert.Equal(
            new[] { Digest('1'), Digest('c'), Digest('2'), Digest('d'), Digest('f') },
            layers.Select(static l => l.Digest));
    }

    private static string Digest(char c) => "sha256:" + new string(c, 64);

    private static string Describe(RegistryLayer l) =>
        $"{l.Digest} {l.Size} {l.MediaType} {l.Kind} [{string.Join(',', l.Repositories)}] [{string.Join(',', l.Tags)}] {l.TagCount} [{string.Join(',', l.ObjectIds)}]";

    private static async Task<List<string>> DescribeAsync(InventoryReader reader)
    {
        var described = new List<string>();
        await foreach (TagReadResult result in reader.ReadAsync(CancellationToken.None))
        {
            Assert.Null(result.Error);
            ManifestRecord manifest = result.Manifest!;
            IEnumerable<ManifestRecord> all = result.Children.Prepend(manifest);
            described.Add(string.Join(
                " | ",
                all.Select(static m => $"{m.Repository} {m.Digest} {m.MediaType} {m.ManifestSize} {m.Config?.Digest} {m.Config?.Size} "
                    + $"[{string.Join(',', m.Layers.Select(static l => $"{l.Digest}/{l.Size}/{l.MediaType}"))}] "
                    + $"[{string.Join(',', m.Children.Select(static c => $"{c.Digest}/{c.Platform}"))}] {m.Created:o} {m.Platform} {m.Subject} {m.ArtifactType}")
                .Prepend($"{result.Repository}:{result.Tag}")));
        }

        return described;
    }
}
