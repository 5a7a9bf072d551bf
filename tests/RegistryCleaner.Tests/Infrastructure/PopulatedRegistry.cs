using RegistryCleaner.Registry;

namespace RegistryCleaner.Tests.Infrastructure;

/// <summary>
/// A plain registry filled once with a known data set: Docker and OCI manifests sharing base layers across tags and
/// repositories, a Docker manifest list and an OCI index, two tags on one digest, an OCI artifact, and 1050 tags in
/// one repository. Shared by the test classes of <see cref="PopulatedRegistryCollection"/>, filled once.
/// </summary>
public sealed class PopulatedRegistry : IAsyncLifetime, IDisposable
{
    public const string EnvRepo = "dominodatalab/environment";
    public const string ModelRepo = "dominodatalab/model";
    public const string Many = "many/tags";
    public const string Env1 = "659c7bce85f6381e675bb205-1";
    public const string Env2 = "659c7bce85f6381e675bb205-2";
    public const string Env3 = "659c7bce85f6381e675bb206-1";
    public const string Env3Alias = "latest";
    public const string DockerList = "multiarch";
    public const string OciIndex = "oci-multiarch";
    public const string Artifact = "helm-chart";
    public const string ModelTag = "659d755348824d102d3ec6df-v1-202419163323_HfGeD8Ia";
    public const int ManyTagCount = 1050;

    public RegistryServer Server { get; } = new(new RegistryServerOptions());

    public Dictionary<string, PushedImage> Images { get; } = new(StringComparer.Ordinal);

    public static byte[] Base1 { get; } = ImagePusher.Layer(1, 3000);

    public static byte[] Base2 { get; } = ImagePusher.Layer(2, 2000);

    public RegistryClient CreateClient(RegistryClientOptions? options = null) =>
        new(RegistryEndpoint.Parse(this.Server.Registry), options);

    public async Task InitializeAsync()
    {
        using var pusher = new ImagePusher(this.Server.BaseAddress);
        this.Images[Env1] = await pusher.PushImageAsync(EnvRepo, Env1, [Base1, Base2, ImagePusher.Layer(3, 1000)]);
        this.Images[Env2] = await pusher.PushImageAsync(EnvRepo, Env2, [Base1, Base2, ImagePusher.Layer(4, 1100)], oci: true, created: new DateTimeOffset(2024, 5, 6, 7, 8, 9, TimeSpan.Zero));
        this.Images[Env3] = await pusher.PushImageAsync(EnvRepo, Env3, [Base1, ImagePusher.Layer(5, 1200)]);
        await pusher.TagAsync(this.Images[Env3], Env3Alias);
        this.Images[Env3Alias] = this.Images[Env3];

        PushedImage amd64 = await pusher.PushImageAsync(EnvRepo, null, [Base1, ImagePusher.Layer(6, 1300)], platform: "linux/amd64");
        PushedImage arm64 = await pusher.PushImageAsync(EnvRepo, null, [Base1, ImagePusher.Layer(7, 1400)], platform: "linux/arm64");
        this.Images[DockerList] = await pusher.PushIndexAsync(EnvRepo, DockerList, [amd64, arm64]);

        PushedImage ociAmd64 = await pusher.PushImageAsync(EnvRepo, null, [Base2, ImagePusher.Layer(8, 1500)], oci: true, platform: "linux/amd64");
        PushedImage ociArm64 = await pusher.PushImageAsync(EnvRepo, null, [Base2, ImagePusher.Layer(8, 1500)], oci: true, platform: "linux/arm64");
        this.Images[OciIndex] = await pusher.PushIndexAsync(EnvRepo, OciIndex, [ociAmd64, ociArm64], oci: true);

        this.Images[Artifact] = await pusher.PushImageAsync(EnvRepo, Artifact, [ImagePusher.Layer(11, 900)], oci: true, configMediaType: "application/vnd.cncf.helm.config.v1+json");

        // ModelRepo images are built on environment images: they share base layers across repositories.
        this.Images[ModelTag] = await pusher.PushImageAsync(ModelRepo, ModelTag, [Base1, Base2, ImagePusher.Layer(4, 1100), ImagePusher.Layer(9, 800)]);

        PushedImage many = await pusher.PushImageAsync(Many, "tag-0000", [ImagePusher.Layer(10, 500)]);
        this.Images["tag-0000"] = many;
        await Parallel.ForEachAsync(Enumerable.Range(1, ManyTagCount - 1), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, _) =>
            await pusher.TagAsync(many, $"tag-{i:D4}"));
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose() => this.Server.Dispose();
}

[CollectionDefinition(Name)]
public sealed class PopulatedRegistryCollection : ICollectionFixture<PopulatedRegistry>
{
    public const string Name = "Populated registry";
}
