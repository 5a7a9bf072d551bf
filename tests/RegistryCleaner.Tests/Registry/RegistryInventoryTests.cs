using System.Collections.Concurrent;
using RegistryCleaner.Registry;
using RegistryCleaner.Tests.Infrastructure;
using static RegistryCleaner.Tests.Infrastructure.PopulatedRegistry;

namespace RegistryCleaner.Tests.Registry;

[Collection(PopulatedRegistryCollection.Name)]
public class RegistryInventoryTests(PopulatedRegistry registry)
{
    [Fact]
    public async Task Catalog_follows_Link_pages()
    {
        using RegistryClient client = registry.CreateClient();
        IReadOnlyList<string> repositories = await client.GetCatalogAsync(pageSize: 1, CancellationToken.None);
        Assert.Equal(new[] { EnvRepo, ModelRepo, Many }.Order(StringComparer.Ordinal), repositories);
    }

    [Fact]
    public async Task More_than_1000_tags_are_all_listed()
    {
        using RegistryClient client = registry.CreateClient();
        IReadOnlyList<string> tags = await client.ListTagsAsync(Many, 1000, CancellationToken.None);
        Assert.Equal(ManyTagCount, tags.Count);
        Assert.Equal(ManyTagCount, tags.Distinct().Count());
    }

    [Fact]
    public async Task Unknown_repository_says_it_does_not_exist()
    {
        using RegistryClient client = registry.CreateClient();
        RepositoryNotFoundException error = await Assert.ThrowsAsync<RepositoryNotFoundException>(() => client.ListTagsAsync("no/such-repo", 1000, CancellationToken.None));
        Assert.Contains("no/such-repo", error.Message, StringComparison.Ordinal);
        Assert.Contains("does not exist", error.Message, StringComparison.Ordinal);
        Assert.Contains(client.Endpoint.DisplayName, error.Message, StringComparison.Ordinal);

        var reader = new InventoryReader(client, new InventoryReaderOptions { Repositories = ["no/such-repo"] });
        await Assert.ThrowsAsync<RepositoryNotFoundException>(() => reader.ReadAllAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Manifests_of_all_media_types_are_read_with_digests_verified()
    {
        using RegistryClient client = registry.CreateClient();
        foreach (string tag in new[] { Env1, Env2, DockerList, OciIndex })
        {
            PushedImage pushed = registry.Images[tag];
            ManifestContent byTag = await client.GetManifestAsync(EnvRepo, tag, CancellationToken.None);
            Assert.Equal(pushed.Digest, byTag.Digest);
            Assert.Equal(pushed.MediaType, byTag.MediaType);
            Assert.Equal(pushed.Manifest, byTag.Content.ToArray());
            ManifestContent byDigest = await client.GetManifestAsync(EnvRepo, pushed.Digest, CancellationToken.None);
            Assert.Equal(pushed.Digest, byDigest.Digest);
        }
    }

    [Fact]
    public async Task Head_resolves_tags_and_blobs_and_answers_null_when_missing()
    {
        using RegistryClient client = registry.CreateClient();
        PushedImage env1 = registry.Images[Env1];
        Assert.Equal(env1.Digest, await client.HeadManifestAsync(EnvRepo, Env1, CancellationToken.None));
        Assert.Null(await client.HeadManifestAsync(EnvRepo, "no-such-tag", CancellationToken.None));
        Assert.Equal(env1.Layers[2].Size, await client.HeadBlobAsync(EnvRepo, env1.Layers[2].Digest, CancellationToken.None));
        Assert.Null(await client.HeadBlobAsync(EnvRepo, "sha256:" + new string('0', 64), CancellationToken.None));
        await client.PingAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Inventory_streams_every_tag_and_reports_progress()
    {
        using RegistryClient client = registry.CreateClient();
        var progress = new ConcurrentQueue<InventoryProgress>();
        var reader = new InventoryReader(client, new InventoryReaderOptions { Progress = new SynchronousProgress(progress.Enqueue) });
        var streamed = new List<TagReadResult>();
        await foreach (TagReadResult result in reader.ReadAsync(CancellationToken.None))
        {
            streamed.Add(result);
        }

        int expectedTags = ManyTagCount + 8;
        Assert.Equal(expectedTags, streamed.Count);
        Assert.All(streamed, static r => Assert.Null(r.Error));
        RegistryInventory inventory = reader.Inventory;
        Assert.True(inventory.Complete);
        Assert.Equal(expectedTags, inventory.Tags.Count);
        Assert.Equal(client.Endpoint.DisplayName, inventory.Registry);
        Assert.Contains(progress, p => p.TagsDone == expectedTags && p.TagsTotal == expectedTags);

        TagReadResult list = streamed.Single(static r => r.Tag == DockerList);
        Assert.Equal(2, list.Children.Count);
        Assert.Equal(registry.Images[DockerList].Children.Select(static c => c.Digest), list.Children.Select(static c => c.Digest));

        // One record per repository and digest: the alias tag and the 1050 tags of one manifest add none.
        Assert.Equal(inventory.Manifests.Count, inventory.Manifests.Select(static m => (m.Repository, m.Digest)).Distinct().Count());
        Assert.Equal(1, inventory.Manifests.Count(static m => m.Repository == Many));
        Assert.Equal(10, inventory.Manifests.Count(static m => m.Repository == EnvRepo));
    }

    [Fact]
    public async Task Image_view_sizes_equal_what_was_pushed()
    {
        RegistryInventory inventory = await this.ReadAsync();
        var images = InventoryViews.Images(inventory).ToDictionary(static i => $"{i.Repository}:{i.Tag}");

        foreach ((string tag, PushedImage pushed) in registry.Images)
        {
            RegistryImage image = images[$"{pushed.Repository}:{tag}"];
            Assert.Equal(pushed.Digest, image.Digest);
            Assert.Equal(pushed.MediaType, image.MediaType);
            Assert.Equal(pushed.Size, image.Size);
            Assert.Equal(pushed.Blobs.Count - (pushed.Children.Count == 0 ? 1 : pushed.Children.Select(static c => c.Config!.Digest).Distinct().Count()), image.LayerCount);
        }

        RegistryImage env1 = images[$"{EnvRepo}:{Env1}"];
        Assert.Equal("659c7bce85f6381e675bb205", env1.ObjectId);
        Assert.Equal(new[] { "linux/amd64" }, env1.Platforms);
        Assert.Equal(new DateTimeOffset(2024, 1, 2, 3, 4, 5, TimeSpan.Zero), env1.Created);
        Assert.Equal(registry.Images[Env1].Layers.Select(static l => l.Digest), env1.Layers);
        Assert.Equal(new DateTimeOffset(2024, 5, 6, 7, 8, 9, TimeSpan.Zero), images[$"{EnvRepo}:{Env2}"].Created);
        Assert.Null(images[$"{EnvRepo}:{Env2}"].ObjectId is null ? null : images[$"{EnvRepo}:latest"].ObjectId);
        Assert.Null(images[$"{EnvRepo}:{Artifact}"].Created);

        // An index counts the distinct blobs of its children once: the shared base layer is not counted twice.
        RegistryImage list = images[$"{EnvRepo}:{DockerList}"];
        PushedImage pushedList = registry.Images[DockerList];
        long naive = pushedList.Children.Sum(static c => c.Size);
        Assert.Equal(naive - Base1.Length, list.Size);
        Assert.Equal(new[] { "linux/amd64", "linux/arm64" }, list.Platforms);
        Assert.Equal(3, list.LayerCount);
        RegistryImage index = images[$"{EnvRepo}:{OciIndex}"];
        Assert.Equal(MediaTypes.OciIndex, index.MediaType);
        Assert.Equal(2, index.LayerCount);
    }

    [Fact]
    public async Task Layer_view_counts_every_blob_once_and_matches_the_blob_store()
    {
        RegistryInventory inventory = await this.ReadAsync();
        IReadOnlyList<RegistryLayer> layers = InventoryViews.Layers(inventory);
        Assert.Equal(layers.Count, layers.Select(static l => l.Digest).Distinct().Count());

        // The blob store holds exactly the layers, configs and manifests (each once, across repositories).
        long manifestBytes = inventory.Manifests.DistinctBy(static m => m.Digest).Sum(static m => m.ManifestSize);
        Assert.Equal(registry.Server.BlobBytes(), layers.Sum(static l => l.Size) + manifestBytes);

        RegistryLayer base1 = layers.Single(static l => l.Digest == ImagePusher.Digest(Base1));
        Assert.Equal(Base1.Length, base1.Size);
        Assert.Equal(new[] { EnvRepo, ModelRepo }, base1.Repositories);
        Assert.Equal(
            new[] { Env1, Env2, Env3, Env3Alias, DockerList }.Select(static t => $"{EnvRepo}:{t}").Append($"{ModelRepo}:{ModelTag}").Order(StringComparer.Ordinal),
            base1.Tags);
        Assert.Equal(6, base1.TagCount);
        Assert.Equal(new[] { "659c7bce85f6381e675bb205", "659c7bce85f6381e675bb206", "659d755348824d102d3ec6df" }, base1.ObjectIds);

        RegistryLayer manyLayer = layers.Single(l => l.Digest == registry.Images["tag-0000"].Layers[0].Digest);
        Assert.Equal(ManyTagCount, manyLayer.TagCount);
    }

    [Fact]
    public async Task Unique_bytes_are_the_blobs_only_one_tag_needs()
    {
        RegistryInventory inventory = await this.ReadAsync();
        IReadOnlyDictionary<TagRecord, long> unique = InventoryViews.UniqueBytesByTag(inventory);
        var images = unique.ToDictionary(static u => $"{u.Key.Repository}:{u.Key.Tag}", static u => new { UniqueBytes = u.Value });
        PushedImage env1 = registry.Images[Env1];
        Assert.Equal(env1.Config!.Size + env1.Layers[2].Size, images[$"{EnvRepo}:{Env1}"].UniqueBytes);

        // Two tags on one digest share everything; Env2's own layer is shared with the model image.
        Assert.Equal(0, images[$"{EnvRepo}:{Env3}"].UniqueBytes);
        Assert.Equal(0, images[$"{EnvRepo}:{Env3Alias}"].UniqueBytes);
        Assert.Equal(registry.Images[Env2].Config!.Size, images[$"{EnvRepo}:{Env2}"].UniqueBytes);
        Assert.Equal(inventory.Tags.Count, unique.Count);
    }

    [Fact]
    public async Task Repository_and_tag_filters_make_an_incomplete_inventory()
    {
        using RegistryClient client = registry.CreateClient();
        var reader = new InventoryReader(client, new InventoryReaderOptions
        {
            Repositories = [EnvRepo],
            TagFilter = static (_, tag) => tag.StartsWith("659c7bce85f6381e675bb205", StringComparison.Ordinal),
        });
        RegistryInventory inventory = await reader.ReadAllAsync(CancellationToken.None);
        Assert.False(inventory.Complete);
        Assert.Equal(new[] { Env1, Env2 }, inventory.Tags.Select(static t => t.Tag));
        Assert.Equal(2, inventory.Manifests.Count);
    }

    [Fact]
    public async Task Without_configurations_no_configuration_is_read_and_the_layer_view_is_the_same()
    {
        // Get-RegistryLayer reads this way: the cache is neither asked nor filled (a configuration downloaded would be
        // added to it), Created and Platform stay unknown, and the blobs are what the manifests name.
        string folder = Directory.CreateTempSubdirectory("registrycleaner-noconfig-").FullName;
        try
        {
            using RegistryClient client = registry.CreateClient();
            ImageConfigCache cache = ImageConfigCache.Open(folder);
            RegistryInventory without = await new InventoryReader(client, new InventoryReaderOptions { ConfigCache = cache, ReadConfigurations = false }).ReadAllAsync(CancellationToken.None);
            Assert.Equal(0, cache.Hits + cache.Misses);
            Assert.All(without.Manifests, static m => Assert.Null(m.Created));

            RegistryInventory with = await new InventoryReader(client, new InventoryReaderOptions { ConfigCache = cache }).ReadAllAsync(CancellationToken.None);
            Assert.True(cache.Misses > 0);
            Assert.Contains(with.Manifests, static m => m.Created is not null);
            Assert.Equal(
                InventoryViews.Layers(with).Select(static l => (l.Digest, l.Size, l.MediaType, l.Kind, string.Join(",", l.Tags), string.Join(",", l.Repositories))),
                InventoryViews.Layers(without).Select(static l => (l.Digest, l.Size, l.MediaType, l.Kind, string.Join(",", l.Tags), string.Join(",", l.Repositories))));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task Stopping_the_stream_early_stops_the_read()
    {
        using RegistryClient client = registry.CreateClient();
        var reader = new InventoryReader(client, new InventoryReaderOptions { Repositories = [Many] });
        int seen = 0;
        await foreach (TagReadResult _ in reader.ReadAsync(CancellationToken.None))
        {
            if (++seen == 5)
            {
                break;
            }
        }

        Assert.Equal(5, seen);
        Assert.Throws<InvalidOperationException>(() => reader.Inventory);
    }

    private async Task<RegistryInventory> ReadAsync()
    {
        using RegistryClient client = registry.CreateClient();
        return await new InventoryReader(client).ReadAllAsync(CancellationToken.None);
    }

    private sealed class SynchronousProgress(Action<InventoryProgress> report) : IProgress<InventoryProgress>
    {
        public void Report(InventoryProgress value) => report(value);
    }
}
