using System.Globalization;
using RegistryCleaner.Planning;
using RegistryCleaner.Registry;
using RegistryCleaner.Workloads;

namespace RegistryCleaner.Tests.Planning;

/// <summary>
/// Builds a large, Domino-shaped registry and usage snapshot for benchmarks: environment revisions sharing base layers,
/// model images built on environment images, a few indexes, some images in use. Deterministic for a given seed.
/// </summary>
public static class SyntheticInventory
{
    /// <summary>The registry name the synthetic inventory uses.</summary>
    public const string Registry = "docker-registry:5000";

    /// <summary>The environment repository.</summary>
    public const string EnvironmentRepository = "dominodatalab/environment";

    /// <summary>The model repository.</summary>
    public const string ModelRepository = "dominodatalab/model";

    private const int RevisionsPerEnvironment = 20;
    private const int BaseLayerPool = 64;

    /// <summary>Creates a plan request over a synthetic registry.</summary>
    /// <param name="tagCount">Total tags, half environment revisions and half model builds (100,000 for the benchmark).</param>
    /// <param name="layersPerImage">Layers per image (10 gives 1,000,000 layer references for 100,000 tags).</param>
    /// <param name="seed">The random seed.</param>
    /// <returns>A request with KeepLatest 2 and OlderThan 30 days at a fixed Now.</returns>
    public static PlanRequest Create(int tagCount = 100_000, int layersPerImage = 10, int seed = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(tagCount, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(layersPerImage, 4);
        Random random = new(seed);
        DateTimeOffset now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        long counter = 0;
        string NextDigest() => string.Create(CultureInfo.InvariantCulture, $"sha256:{++counter:x64}");

        BlobDescriptor[] baseLayers = new BlobDescriptor[BaseLayerPool];
        for (int i = 0; i < baseLayers.Length; i++)
        {
            baseLayers[i] = new BlobDescriptor(NextDigest(), random.NextInt64(10_000_000, 500_000_000), "application/vnd.docker.image.rootfs.diff.tar.gzip");
        }

        List<TagRecord> tags = new(tagCount);
        List<ManifestRecord> manifests = new(tagCount + (tagCount / 50));
        List<ManifestRecord> environmentImages = new(tagCount / 2);
        List<ImageUsage> images = [];
        List<string> running = [];

        int environmentTags = tagCount / 2;
        for (int i = 0; i < environmentTags; i++)
        {
            string objectId = string.Create(CultureInfo.InvariantCulture, $"{0x659c0000 + (i / RevisionsPerEnvironment):x8}{seed:x8}{0:x8}");
            string tag = string.Create(CultureInfo.InvariantCulture, $"{objectId}-{(i % RevisionsPerEnvironment) + 1}");
            List<BlobDescriptor> layers = new(layersPerImage);
            int bases = layersPerImage / 2;
            int start = random.Next(BaseLayerPool - bases);
            for (int l = 0; l < bases; l++)
            {
                layers.Add(baseLayers[start + l]);
            }

            while (layers.Count < layersPerImage)
            {
                layers.Add(new BlobDescriptor(NextDigest(), random.NextInt64(1_000, 50_000_000), "application/vnd.docker.image.rootfs.diff.tar.gzip"));
            }

            ManifestRecord image = Image(EnvironmentRepository, NextDigest(), layers, now.AddHours(-random.Next(1, 24 * 365)), NextDigest());
            manifests.Add(image);
            environmentImages.Add(image);
            tags.Add(new TagRecord(EnvironmentRepository, tag, image.Digest));
            if (i % 50 == 0)
            {
                images.Add(Use(EnvironmentRepository, tag, i));
            }
        }

        for (int i = environmentTags; i < tagCount; i++)
        {
            int m = i - environmentTags;
            string objectId = string.Create(CultureInfo.InvariantCulture, $"{0x659d0000 + (m / RevisionsPerEnvironment):x8}{seed:x8}{0:x8}");
            string tag = string.Create(CultureInfo.InvariantCulture, $"{objectId}-v{(m % RevisionsPerEnvironment) + 1}-2024{m:d8}_HfGeD8Ia");

            // Model images are built on environment images: their layers are shared across repositories.
            ManifestRecord environment = environmentImages[random.Next(environmentImages.Count)];
            List<BlobDescriptor> layers = [.. environment.Layers.Take(layersPerImage - 2)];
            while (layers.Count < layersPerImage)
            {
                layers.Add(new BlobDescriptor(NextDigest(), random.NextInt64(1_000, 5_000_000), "application/vnd.docker.image.rootfs.diff.tar.gzip"));
            }

            DateTimeOffset? created = m % 97 == 0 ? null : now.AddHours(-random.Next(1, 24 * 365));
            ManifestRecord image = Image(ModelRepository, NextDigest(), layers, created, NextDigest());
            manifests.Add(image);
            string digest = image.Digest;
            if (m % 100 == 0)
            {
                // An index over the image and a sibling platform image, tagged instead of the image itself.
                ManifestRecord sibling = Image(ModelRepository, NextDigest(), layers.Take(layersPerImage - 1).ToList(), created, NextDigest());
                manifests.Add(sibling);
                ManifestRecord index = new(
                    ModelRepository,
                    NextDigest(),
                    MediaTypes.OciIndex,
                    700,
                    null,
                    [],
                    [new ChildDescriptor(image.Digest, image.ManifestSize, image.MediaType, "linux/amd64"), new ChildDescriptor(sibling.Digest, sibling.ManifestSize, sibling.MediaType, "linux/arm64")],
                    null);
                manifests.Add(index);
                digest = index.Digest;
            }

            tags.Add(new TagRecord(ModelRepository, tag, digest));
            if (m % 40 == 0)
            {
                images.Add(Use(ModelRepository, tag, i));
            }
            else if (m % 333 == 0)
            {
                running.Add(digest);
            }
        }

        RegistryInventory inventory = new(Registry, [EnvironmentRepository, ModelRepository], tags, manifests, Complete: true);
        UsageSnapshot usage = new(images, running, ["synthetic"], now, Complete: true);
        PlanOptions options = new() { KeepLatest = 2, OlderThan = TimeSpan.FromDays(30), Now = now };
        return new PlanRequest(inventory, usage, options);
    }

    private static ManifestRecord Image(string repository, string digest, IReadOnlyList<BlobDescriptor> layers, DateTimeOffset? created, string configDigest) =>
        new(repository, digest, MediaTypes.DockerManifest, 1_500, new BlobDescriptor(configDigest, 8_000, "application/vnd.docker.container.image.v1+json"), layers, [], created);

    private static ImageUsage Use(string repository, string tag, int n) =>
        new(
            new ImageReference($"{Registry}/{repository}:{tag}", Registry, repository, tag, null),
            [],
            [string.Create(CultureInfo.InvariantCulture, $"Pod/domino-compute/run-{n}")]);
}
