using RegistryCleaner.Registry;
using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.Registry;

/// <summary>
/// The benchmarks lay out registries by writing distribution's storage directly (<see cref="StorageSeeder"/>); the
/// real registry must serve such a storage exactly as if the images had been pushed, or every figure measured on it
/// is about something else.
/// </summary>
public sealed class StorageSeederTests : IDisposable
{
    private readonly RegistryServer registry = new(new RegistryServerOptions());

    public void Dispose() => this.registry.Dispose();

    [Fact]
    public async Task The_real_registry_serves_a_seeded_storage_as_if_pushed_and_garbage_collection_finds_nothing_to_free()
    {
        var seeder = new StorageSeeder(this.registry.StoragePath);
        byte[] shared = ImagePusher.Layer(1, 4096);
        var images = new List<PushedImage>();
        for (int i = 0; i < 12; i++)
        {
            string repository = i % 3 == 0 ? "dominodatalab/model" : "dominodatalab/environment";
            images.Add(seeder.WriteImage(repository, $"659c7bce85f6381e675bb2{i:x2}-1", [shared, ImagePusher.Layer(100 + i, 1024 + i)], new DateTimeOffset(2025, 1, 1 + i, 0, 0, 0, TimeSpan.Zero)));
        }

        using var client = new RegistryClient(RegistryEndpoint.Parse(this.registry.BaseAddress.ToString()));
        Assert.Equal(["dominodatalab/environment", "dominodatalab/model"], (await client.GetCatalogAsync()).Order(StringComparer.Ordinal));
        foreach (IGrouping<string, PushedImage> repository in images.GroupBy(i => i.Repository))
        {
            IReadOnlyList<string> tags = await client.ListTagsAsync(repository.Key);
            Assert.Equal(repository.Count(), tags.Count);
        }

        RegistryInventory inventory = await new InventoryReader(client).ReadAllAsync(CancellationToken.None);
        Assert.True(inventory.Complete);
        Assert.Equal(images.Count, inventory.Tags.Count);
        foreach (PushedImage image in images)
        {
            TagRecord tag = Assert.Single(inventory.Tags, t => t.Repository == image.Repository && t.Digest == image.Digest);
            ManifestRecord manifest = Assert.Single(inventory.Manifests, m => m.Repository == image.Repository && m.Digest == tag.Digest);
            Assert.Equal(image.Layers.Select(l => l.Digest), manifest.Layers.Select(l => l.Digest));
        }

        // An independent client pulls an image whole, and the registry's own garbage collection finds every blob in use.
        string layout = Path.Combine(this.registry.StoragePath, "..", "pulled");
        Skopeo.Copy($"docker://{this.registry.BaseAddress.Authority}/dominodatalab/model:659c7bce85f6381e675bb200-1", $"oci:{layout}:pulled");
        long before = this.registry.BlobBytes();
        string collected = this.registry.RunGarbageCollect();
        Assert.Equal(before, this.registry.BlobBytes());
        Assert.True(collected.Contains("0 blobs and 0 manifests eligible for deletion", StringComparison.Ordinal), collected);
    }
}
