using System.Security.Cryptography;
using k8s;
using k8s.Models;
using RegistryCleaner.Tests.Infrastructure;
using static RegistryCleaner.Tests.Infrastructure.KubernetesSampleCluster;

namespace RegistryCleaner.Tests.Deletion;

/// <summary>
/// A fresh real registry seeded with Domino-like images, and the workloads that use some of them, in every way usage can
/// be expressed: by tag under another host name, by digest only, by imageID only, from an init container, a 0-replica
/// Deployment, a suspended CronJob and a pod in another namespace. Layers are shared between environments and models.
/// </summary>
public sealed class DeletionScenario : IDisposable
{
    public const string Env = "dominodatalab/environment";
    public const string Model = "dominodatalab/model";

    private DeletionScenario(RegistryServer registry, string folder)
    {
        this.Registry = registry;
        this.Folder = folder;
    }

    public RegistryServer Registry { get; }

    /// <summary>Gets a temporary working folder (journals, kubeconfig).</summary>
    public string Folder { get; }

    public Dictionary<string, PushedImage> Images { get; } = new(StringComparer.Ordinal);

    /// <summary>Gets every repository:tag the seed pushed.</summary>
    public List<string> AllTags { get; } = [];

    /// <summary>Gets the repository:tag entries nothing uses (what a plan over dominodatalab/* must delete).</summary>
    public List<string> UnusedTags { get; } = [];

    /// <summary>Gets the workloads that use the other images.</summary>
    public List<IKubernetesObject<V1ObjectMeta>> Workloads { get; } = [];

    public static async Task<DeletionScenario> CreateAsync(bool deleteEnabled = true, bool restartable = false)
    {
        var registry = new RegistryServer(new RegistryServerOptions { DeleteEnabled = deleteEnabled, Restartable = restartable });
        var scenario = new DeletionScenario(registry, Directory.CreateTempSubdirectory("registrycleaner-deletion-").FullName);
        await scenario.SeedAsync();
        return scenario;
    }

    public void Dispose()
    {
        this.Registry.Dispose();
        Directory.Delete(this.Folder, recursive: true);
    }

    /// <summary>Hashes every file under the registry's storage, by relative path.</summary>
    public SortedDictionary<string, string> StorageHashes()
    {
        var hashes = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (string file in Directory.EnumerateFiles(this.Registry.StoragePath, "*", SearchOption.AllDirectories))
        {
            hashes[Path.GetRelativePath(this.Registry.StoragePath, file)] = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(file)));
        }

        return hashes;
    }

    /// <summary>Gets the -InUse objects equivalent to <see cref="Workloads"/> (what Get-WorkloadImage would emit).</summary>
    public IReadOnlyList<System.Management.Automation.PSObject> InUseObjects()
    {
        var rows = new List<System.Management.Automation.PSObject>();
        foreach ((string image, string[] digests) in this.UsedReferences())
        {
            var row = new System.Management.Automation.PSObject();
            row.Properties.Add(new System.Management.Automation.PSNoteProperty("Image", image));
            row.Properties.Add(new System.Management.Automation.PSNoteProperty("Digests", digests));
            rows.Add(row);
        }

        return rows;
    }

    private static string Ref(string repository, string tag) => $"{DominoRegistry}/{repository}:{tag}";

    private IEnumerable<(string Image, string[] Digests)> UsedReferences()
    {
        foreach (IKubernetesObject<V1ObjectMeta> item in this.Workloads)
        {
            V1PodSpec? spec = item switch
            {
                V1Pod pod => pod.Spec,
                V1Deployment deployment => deployment.Spec.Template.Spec,
                V1CronJob cron => cron.Spec.JobTemplate.Spec.Template.Spec,
                _ => null,
            };
            var statuses = (item as V1Pod)?.Status?.ContainerStatuses ?? [];
            foreach (V1Container container in (spec?.Containers ?? []).Concat(spec?.InitContainers ?? []))
            {
                string[] digests = statuses.Where(s => s.Name == container.Name).Select(s => s.ImageID[(s.ImageID.IndexOf('@', StringComparison.Ordinal) + 1)..]).ToArray();
                yield return (container.Image, digests);
            }
        }
    }

    private async Task<PushedImage> PushAsync(ImagePusher pusher, string repository, string tag, bool used, params byte[][] layers)
    {
        PushedImage image = await pusher.PushImageAsync(repository, tag, layers);
        this.Images[$"{repository}:{tag}"] = image;
        this.AllTags.Add($"{repository}:{tag}");
        if (!used)
        {
            this.UnusedTags.Add($"{repository}:{tag}");
        }

        return image;
    }

    private async Task SeedAsync()
    {
        using var pusher = new ImagePusher(this.Registry.BaseAddress);
        byte[] baseLayer = ImagePusher.Layer(1, 6000);
        string e = "659c7bce85f6381e675bb2";

        // Used by tag, under another host name of the same registry.
        await this.PushAsync(pusher, Env, $"{e}01-1", true, baseLayer, ImagePusher.Layer(2, 1000));
        this.Workloads.Add(Pod("domino-compute", "run-1", "Running", Ref(Env, $"{e}01-1")));

        // Unused environment revision; a model is built on it (shares its layers).
        byte[] revisionLayer = ImagePusher.Layer(3, 1500);
        await this.PushAsync(pusher, Env, $"{e}01-2", false, baseLayer, revisionLayer);
        await this.PushAsync(pusher, Model, "659d755348824d102d3ec6df-v1-202419163323_HfGeD8Ia", false, baseLayer, revisionLayer, ImagePusher.Layer(6, 2200));

        // Used by digest only.
        PushedImage byDigest = await this.PushAsync(pusher, Env, $"{e}02-1", true, baseLayer, ImagePusher.Layer(4, 1100));
        this.Workloads.Add(Pod("domino-compute", "run-2", "Running", $"{DominoRegistry}/{Env}@{byDigest.Digest}"));

        // Used by imageID only: the pod names a tag that has moved on; the status says what runs.
        PushedImage byImageId = await this.PushAsync(pusher, Env, $"{e}03-1", true, ImagePusher.Layer(5, 900));
        V1Pod moved = Pod("domino-compute", "run-3", "Running", Ref(Env, "moved-away"));
        moved.Status.ContainerStatuses = [new V1ContainerStatus { Name = "c0", Image = Ref(Env, "moved-away"), ImageID = $"docker-pullable://{DominoRegistry}/{Env}@{byImageId.Digest}", Ready = true, RestartCount = 0 }];
        this.Workloads.Add(moved);

        // Used by an init container.
        await this.PushAsync(pusher, Env, $"{e}04-1", true, ImagePusher.Layer(7, 800));
        V1Pod init = Pod("domino-compute", "run-4", "Pending", Ref(Env, $"{e}01-1"));
        init.Spec.InitContainers = [Container("init", Ref(Env, $"{e}04-1"))];
        this.Workloads.Add(init);

        // Used by a Deployment scaled to 0, by a suspended CronJob, and by a pod in another namespace.
        await this.PushAsync(pusher, Env, $"{e}05-1", true, ImagePusher.Layer(8, 700));
        this.Workloads.Add(Deployment("domino-platform", "idle", 0, Ref(Env, $"{e}05-1")));
        await this.PushAsync(pusher, Env, $"{e}06-1", true, ImagePusher.Layer(9, 600));
        this.Workloads.Add(CronJob("team-b", "nightly", true, Ref(Env, $"{e}06-1")));
        await this.PushAsync(pusher, Model, "model-other-ns", true, ImagePusher.Layer(10, 500));
        this.Workloads.Add(Pod("team-b", "model-x", "Running", Ref(Model, "model-other-ns")));

        // Two tags on one unused manifest: one DELETE removes both.
        PushedImage twin = await this.PushAsync(pusher, Model, "twin-a", false, baseLayer, ImagePusher.Layer(11, 1300));
        await pusher.TagAsync(twin, "twin-b");
        this.Images[$"{Model}:twin-b"] = twin;
        this.AllTags.Add($"{Model}:twin-b");
        this.UnusedTags.Add($"{Model}:twin-b");

        // Two tags on one manifest, one of them in use: both stay.
        PushedImage shared = await this.PushAsync(pusher, Model, "kept-a", true, ImagePusher.Layer(12, 400));
        await pusher.TagAsync(shared, "kept-b");
        this.Images[$"{Model}:kept-b"] = shared;
        this.AllTags.Add($"{Model}:kept-b");
        this.Workloads.Add(Pod("domino-compute", "model-k", "Running", Ref(Model, "kept-a")));

        // An unused OCI index with two children.
        PushedImage amd = await pusher.PushImageAsync(Env, null, [baseLayer, ImagePusher.Layer(13, 300)], oci: true);
        PushedImage arm = await pusher.PushImageAsync(Env, null, [ImagePusher.Layer(14, 300)], oci: true, platform: "linux/arm64");
        this.Images[$"{Env}:multi"] = await pusher.PushIndexAsync(Env, "multi", [amd, arm], oci: true);
        this.AllTags.Add($"{Env}:multi");
        this.UnusedTags.Add($"{Env}:multi");

        // Outside the cleaned repositories, sharing the base layer: never deleted, and keeps the base layer alive.
        await this.PushAsync(pusher, "other/app", "v1", true, baseLayer, ImagePusher.Layer(15, 200));
    }
}
