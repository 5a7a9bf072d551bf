using RegistryCleaner.Registry;
using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.Registry;

public sealed class DeleteDisabledRegistry : RegistryServer
{
    public DeleteDisabledRegistry()
        : base(new RegistryServerOptions { DeleteEnabled = false })
    {
    }
}

public class RegistryDeleteTests(DeleteEnabledRegistry registry) : IClassFixture<DeleteEnabledRegistry>
{
    [Fact]
    public async Task Delete_removes_every_tag_of_the_digest_and_put_restores_it()
    {
        using var pusher = new ImagePusher(registry.BaseAddress);
        PushedImage image = await pusher.PushImageAsync("del/restore", "a", [ImagePusher.Layer(41, 300)]);
        await pusher.TagAsync(image, "b");
        using var client = new RegistryClient(RegistryEndpoint.Parse(registry.Registry));
        ManifestContent saved = await client.GetManifestAsync("del/restore", "a", CancellationToken.None);

        ManifestDeleteResult result = await client.DeleteManifestAsync("del/restore", image.Digest, CancellationToken.None);
        Assert.Equal(ManifestDeleteOutcome.Deleted, result.Outcome);
        Assert.Null(await client.HeadManifestAsync("del/restore", "a", CancellationToken.None));
        Assert.Null(await client.HeadManifestAsync("del/restore", "b", CancellationToken.None));
        Assert.Null(await client.HeadManifestAsync("del/restore", image.Digest, CancellationToken.None));
        Assert.Equal(ManifestDeleteOutcome.NotFound, (await client.DeleteManifestAsync("del/restore", image.Digest, CancellationToken.None)).Outcome);

        // Until garbage collection runs, the blobs are still there and the raw manifest puts the image back.
        string restored = await client.PutManifestAsync("del/restore", "a", saved.Content, saved.MediaType, CancellationToken.None);
        Assert.Equal(image.Digest, restored);
        Assert.Equal(image.Digest, await client.HeadManifestAsync("del/restore", "a", CancellationToken.None));
    }

    [Fact]
    public async Task Garbage_collection_after_delete_frees_exactly_the_unshared_blobs()
    {
        using var pusher = new ImagePusher(registry.BaseAddress);
        byte[] shared = ImagePusher.Layer(51, 4000);
        PushedImage kept = await pusher.PushImageAsync("del/gc", "kept", [shared, ImagePusher.Layer(52, 500)]);
        PushedImage doomed = await pusher.PushImageAsync("del/gc", "doomed", [shared, ImagePusher.Layer(53, 700)], created: DateTimeOffset.UnixEpoch);
        using var client = new RegistryClient(RegistryEndpoint.Parse(registry.Registry));

        long before = registry.BlobBytes();
        Assert.Equal(ManifestDeleteOutcome.Deleted, (await client.DeleteManifestAsync("del/gc", doomed.Digest, CancellationToken.None)).Outcome);
        registry.RunGarbageCollect();
        long freed = before - registry.BlobBytes();

        Assert.Equal(doomed.Config!.Size + doomed.Layers[1].Size + doomed.Manifest.Length, freed);
        Assert.Equal(kept.Digest, await client.HeadManifestAsync("del/gc", "kept", CancellationToken.None));
        Assert.Equal(shared.Length, await client.HeadBlobAsync("del/gc", ImagePusher.Digest(shared), CancellationToken.None));
    }

    [Fact]
    public async Task Delete_by_tag_is_refused_before_any_request()
    {
        using var client = new RegistryClient(RegistryEndpoint.Parse(registry.Registry));
        await Assert.ThrowsAsync<ArgumentException>(() => client.DeleteManifestAsync("del/x", "latest", CancellationToken.None));
    }
}

public class RegistryDeleteDisabledTests(DeleteDisabledRegistry registry) : IClassFixture<DeleteDisabledRegistry>
{
    [Fact]
    public async Task Delete_answers_Unsupported_with_the_setting_to_change()
    {
        using var pusher = new ImagePusher(registry.BaseAddress);
        PushedImage image = await pusher.PushImageAsync("nodelete/app", "v1", [ImagePusher.Layer(61, 100)]);
        using var client = new RegistryClient(RegistryEndpoint.Parse(registry.Registry));

        ManifestDeleteResult result = await client.DeleteManifestAsync("nodelete/app", image.Digest, CancellationToken.None);
        Assert.Equal(ManifestDeleteOutcome.Unsupported, result.Outcome);
        Assert.Equal(System.Net.HttpStatusCode.MethodNotAllowed, result.StatusCode);
        Assert.Contains("storage.delete.enabled", result.Message, StringComparison.Ordinal);
        Assert.Equal(image.Digest, await client.HeadManifestAsync("nodelete/app", "v1", CancellationToken.None));
    }
}

public sealed class DeleteEnabledRegistry : RegistryServer
{
    public DeleteEnabledRegistry()
        : base(new RegistryServerOptions { DeleteEnabled = true })
    {
    }
}
