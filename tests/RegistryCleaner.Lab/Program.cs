using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using RegistryCleaner.Tests.Infrastructure;

// Lab services for build.ps1 Demo and Bench. Each command prints one JSON line; a service command then keeps
// serving until its standard input closes, so the script that started it ends it by closing the pipe.
return args.Length == 0 ? Usage() : args[0] switch
{
    "kubernetes" => await ServeKubernetesAsync(Options(args)),
    "seed-registry" => await SeedRegistryAsync(Options(args)),
    "seed-storage" => SeedStorage(Options(args)),
    "delete-all" => await DeleteAllAsync(Options(args)),
    "plan" => Plan(Options(args)),
    "seed-demo" => await SeedDemoAsync(Options(args)),
    "mongo-demo" => await ServeMongoAsync(DominoLabRecords.Demo()),
    "mongo-bench" => await ServeMongoAsync(DominoLabRecords.Bench(Int(Options(args), "runs", 100_000), Int(Options(args), "workspaces", 10_000))),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("""
        usage:
          RegistryCleaner.Lab kubernetes --pods N --controllers N --kubeconfig PATH [--snapshot PATH]
              Serves the Kubernetes API stand-in (anonymous, loopback) with a Domino-like cluster and writes a
              kubeconfig for it (and, with --snapshot, the same cluster as kubectl List JSON). Prints {"url":…}
              and serves until standard input closes.
          RegistryCleaner.Lab seed-registry --url URL --tags N [--tag-list PATH] [--concurrency N]
              Pushes N Domino-like tags (environments with revisions sharing base layers, models built on them)
              and prints a JSON summary; --tag-list writes "repository:tag" lines.
          RegistryCleaner.Lab seed-storage --root DIR --tags N [--tag-list PATH] [--image-list PATH]
              Writes the same N tags straight into a registry's filesystem storage (DIR is its rootdirectory), in
              the layout distribution writes on a push, so 100,000 tags take minutes instead of hours. Prints a JSON
              summary; --image-list writes "repository tag manifest-digest config-digest" lines (tab-separated).
          RegistryCleaner.Lab delete-all --url URL --list PATH [--concurrency N]
              Sends "DELETE <path>" once for every path in PATH (one "/v2/<name>/manifests/<digest>" a line) over N
              connections (default 16) and prints how many were accepted (202), how many were not, and the seconds
              from the first DELETE sent to the last answer read: the registry's bare-DELETE capacity.
          RegistryCleaner.Lab seed-demo --url URL
              Pushes the Demo's sample images (samples/README.md tells their story) and prints one JSON line per
              tag: repository, tag, digest, size.
          RegistryCleaner.Lab mongo-demo
              Serves the MongoDB stand-in (no authentication, loopback) with the Demo's Domino records (samples/README.md)
              in database domino. Prints {"uri":…,"database":…,"documents":…} and serves until standard input closes.
          RegistryCleaner.Lab mongo-bench [--runs N] [--workspaces N]
              The same with a large Domino install: N runs (default 100000), N workspaces (default 10000) and their
              sessions, environments, revisions, projects, users and models.
          RegistryCleaner.Lab plan --tags N [--layers N]
              Times the deletion planner alone on a synthetic inventory of N tags (warm-up run first) and prints
              seconds, bytes allocated and peak working set.
        """);
    return 2;
}

static Dictionary<string, string> Options(string[] args)
{
    var options = new Dictionary<string, string>(StringComparer.Ordinal);
    for (int i = 1; i + 1 < args.Length; i += 2)
    {
        options[args[i].TrimStart('-')] = args[i + 1];
    }

    return options;
}

static int Int(Dictionary<string, string> options, string name, int fallback) =>
    options.TryGetValue(name, out string? text) ? int.Parse(text, CultureInfo.InvariantCulture) : fallback;

static async Task<int> ServeKubernetesAsync(Dictionary<string, string> options)
{
    int pods = Int(options, "pods", 20_000);
    int controllers = Int(options, "controllers", 4_000);
    await using KubernetesApiStandIn standIn = await KubernetesApiStandIn.StartAsync(token: null);
    var cluster = KubernetesSampleCluster.Generate(pods, controllers).ToList();
    standIn.Add(cluster);
    string kubeconfig = options["kubeconfig"];
    standIn.WriteKubeConfig(kubeconfig);
    if (options.TryGetValue("snapshot", out string? snapshot))
    {
        KubernetesSampleCluster.WriteKubectlList(snapshot, cluster);
    }

    Console.WriteLine(JsonSerializer.Serialize(new { url = standIn.BaseAddress.ToString(), kubeconfig, pods, controllers }));
    await Console.Out.FlushAsync();
    await Console.In.ReadToEndAsync();
    return 0;
}

static async Task<int> ServeMongoAsync(IReadOnlyDictionary<string, IReadOnlyList<MongoDB.Bson.BsonDocument>> collections)
{
    const string Database = "domino";
    await using var standIn = new MongoWireStandIn();
    foreach ((string collection, IReadOnlyList<MongoDB.Bson.BsonDocument> documents) in collections)
    {
        standIn.Seed(Database, collection, [.. documents]);
    }

    Console.WriteLine(JsonSerializer.Serialize(new
    {
        uri = $"mongodb://{standIn.Address}/?directConnection=true",
        database = Database,
        documents = collections.ToDictionary(c => c.Key, c => c.Value.Count),
    }));
    await Console.Out.FlushAsync();
    await Console.In.ReadToEndAsync();
    return 0;
}

static int Plan(Dictionary<string, string> options)
{
    int tags = Int(options, "tags", 100_000);
    int layers = Int(options, "layers", 10);
    RegistryCleaner.Planning.PlanRequest request = RegistryCleaner.Tests.Planning.SyntheticInventory.Create(tags, layers, seed: 1);
    long layerReferences = request.Inventory.Manifests.Sum(static m => (long)m.Layers.Count);

    // The first run pays for JIT compilation; the second is what a long-lived session sees.
    var cold = Stopwatch.StartNew();
    RegistryCleaner.Planning.DeletionPlan plan = RegistryCleaner.Planning.DeletionPlanner.Plan(request);
    cold.Stop();
    long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
    var warm = Stopwatch.StartNew();
    plan = RegistryCleaner.Planning.DeletionPlanner.Plan(request);
    warm.Stop();
    long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
    Console.WriteLine(JsonSerializer.Serialize(new
    {
        tags = request.Inventory.Tags.Count,
        layerReferences,
        candidates = plan.Candidates.Count,
        coldSeconds = Math.Round(cold.Elapsed.TotalSeconds, 3),
        warmSeconds = Math.Round(warm.Elapsed.TotalSeconds, 3),
        allocatedMegabytes = allocated / (1024 * 1024),
        peakWorkingSetMegabytes = Process.GetCurrentProcess().PeakWorkingSet64 / (1024 * 1024),
    }));
    return 0;
}

static async Task<int> SeedDemoAsync(Dictionary<string, string> options)
{
    using var pusher = new ImagePusher(new Uri(options["url"]));
    const string Environment = "dominodatalab/environment";
    const string Model = "dominodatalab/model";
    const string Python = "659c7bce85f6381e675bb205";
    const string Spark = "6601a2b3c4d5e6f708192a3b";
    const string Archived = "65a0c1d2e3f4a5b6c7d8e9f0";
    const string Churn = "659d755348824d102d3ec6df";
    const string Forecast = "66b1c2d3e4f5a6b7c8d9e0f1";
    const int MiB = 1024 * 1024;
    byte[] os = ImagePusher.Layer(1, 3 * MiB);
    byte[] python = ImagePusher.Layer(2, 2 * MiB);
    byte[] spark = ImagePusher.Layer(3, 2 * MiB);
    var epoch = new DateTimeOffset(2026, 6, 1, 9, 0, 0, TimeSpan.Zero);
    var pushed = new List<(string Tag, PushedImage Image)>();

    async Task<PushedImage> Push(string repository, string tag, DateTimeOffset created, params byte[][] layers)
    {
        PushedImage image = await pusher.PushImageAsync(repository, tag, layers, created: created);
        pushed.Add((tag, image));
        return image;
    }

    // Python environment: four revisions on shared OS and Python layers.
    for (int revision = 1; revision <= 4; revision++)
    {
        await Push(Environment, $"{Python}-{revision}", epoch.AddDays(revision * 7), os, python, ImagePusher.Layer(10 + revision, 512 * 1024));
    }

    // Revision 4 is also tagged "-latest": one manifest, two tags.
    PushedImage latest = pushed[^1].Image;
    await pusher.TagAsync(latest, $"{Python}-latest");
    pushed.Add(($"{Python}-latest", latest));

    // Spark environment: three revisions.
    for (int revision = 1; revision <= 3; revision++)
    {
        await Push(Environment, $"{Spark}-{revision}", epoch.AddDays(10 + (revision * 7)), os, spark, ImagePusher.Layer(20 + revision, 768 * 1024));
    }

    // An archived environment with its own large layer.
    await Push(Environment, $"{Archived}-1", epoch.AddDays(-60), os, ImagePusher.Layer(30, 4 * MiB));
    await Push(Environment, $"{Archived}-2", epoch.AddDays(-30), os, ImagePusher.Layer(30, 4 * MiB), ImagePusher.Layer(31, MiB));

    // Models are built on environment revisions and share their layers.
    await Push(Model, $"{Churn}-v1-20260610093000_HfGeD8Ia", epoch.AddDays(9), os, python, ImagePusher.Layer(11, 512 * 1024), ImagePusher.Layer(40, MiB));
    await Push(Model, $"{Churn}-v2-20260701120000_Qm7Rt2Lp", epoch.AddDays(30), os, python, ImagePusher.Layer(14, 512 * 1024), ImagePusher.Layer(41, MiB));
    await Push(Model, $"{Forecast}-v1-20260615080000_Zx9Wv3Nb", epoch.AddDays(14), os, spark, ImagePusher.Layer(21, 768 * 1024), ImagePusher.Layer(42, 1536 * 1024));

    // A multi-architecture base image: an OCI index over amd64 and arm64 images.
    PushedImage amd64 = await pusher.PushImageAsync(Environment, null, [ImagePusher.Layer(50, MiB)], oci: true, platform: "linux/amd64", created: epoch);
    PushedImage arm64 = await pusher.PushImageAsync(Environment, null, [ImagePusher.Layer(51, MiB)], oci: true, platform: "linux/arm64", created: epoch);
    PushedImage index = await pusher.PushIndexAsync(Environment, "base-multiarch", [amd64, arm64], oci: true);
    pushed.Add(("base-multiarch", index));

    foreach ((string tag, PushedImage image) in pushed)
    {
        Console.WriteLine(JsonSerializer.Serialize(new { repository = image.Repository, tag, digest = image.Digest, size = image.Size }));
    }

    return 0;
}

static async Task<int> SeedRegistryAsync(Dictionary<string, string> options)
{
    var started = Stopwatch.StartNew();
    int tags = Int(options, "tags", 2_000);
    int concurrency = Int(options, "concurrency", 16);
    using var pusher = new ImagePusher(new Uri(options["url"]));
    DominoSeedPlan plan = DominoSeedPlan.Create(tags);

    // Base and environment layers first, so concurrent pushes of revisions never upload the same blob twice.
    using var gate = new SemaphoreSlim(concurrency);
    var lines = new System.Collections.Concurrent.ConcurrentBag<string>();
    long pushedTags = 0;
    await Task.WhenAll(plan.Images.Select(async image =>
    {
        await gate.WaitAsync();
        try
        {
            await pusher.PushImageAsync(image.Repository, image.Tag, image.Layers, created: image.Created);
            lines.Add($"{image.Repository}:{image.Tag}");
            Interlocked.Increment(ref pushedTags);
        }
        finally
        {
            gate.Release();
        }
    }));

    if (options.TryGetValue("tag-list", out string? tagList))
    {
        await File.WriteAllLinesAsync(tagList, lines.Order(StringComparer.Ordinal));
    }

    Console.WriteLine(JsonSerializer.Serialize(new
    {
        tags = pushedTags,
        environments = plan.Environments,
        models = plan.Models,
        seconds = Math.Round(started.Elapsed.TotalSeconds, 1),
    }));
    return 0;
}

static int SeedStorage(Dictionary<string, string> options)
{
    var started = Stopwatch.StartNew();
    int tags = Int(options, "tags", 2_000);
    var seeder = new StorageSeeder(options["root"]);
    var lines = new System.Collections.Concurrent.ConcurrentBag<string>();
    var images = new System.Collections.Concurrent.ConcurrentBag<string>();
    (int environments, int models) = DominoSeedPlan.Counts(tags);

    // Creating files is what takes the time, and it waits on the disk more than on a core.
    Parallel.ForEach(DominoSeedPlan.Enumerate(tags), new ParallelOptions { MaxDegreeOfParallelism = 8 }, image =>
    {
        PushedImage written = seeder.WriteImage(image.Repository, image.Tag, image.Layers, image.Created);
        lines.Add($"{image.Repository}:{image.Tag}");
        images.Add($"{image.Repository}\t{image.Tag}\t{written.Digest}\t{written.Config!.Digest}");
    });

    if (options.TryGetValue("tag-list", out string? tagList))
    {
        File.WriteAllLines(tagList, lines.Order(StringComparer.Ordinal));
    }

    if (options.TryGetValue("image-list", out string? imageList))
    {
        File.WriteAllLines(imageList, images.Order(StringComparer.Ordinal));
    }

    Console.WriteLine(JsonSerializer.Serialize(new
    {
        tags = lines.Count,
        environments,
        models,
        blobs = seeder.BlobCount,
        seconds = Math.Round(started.Elapsed.TotalSeconds, 1),
    }));
    return 0;
}

static async Task<int> DeleteAllAsync(Dictionary<string, string> options)
{
    int concurrency = Int(options, "concurrency", 16);
    string[] paths = [.. File.ReadLines(options["list"]).Where(line => line.Length > 0)];
    using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency, UseProxy = false })
    {
        BaseAddress = new Uri(options["url"]),
        Timeout = TimeSpan.FromMinutes(5),
    };
    int next = -1, accepted = 0, other = 0;
    long firstSent = long.MaxValue, lastAnswered = long.MinValue;
    var clock = Stopwatch.StartNew();

    // N workers, each taking the next path: every path is sent exactly once, N at a time. The seconds run from the
    // first DELETE sent to the last answer read, like the deletion phase of Remove-UnusedImage read from its journal:
    // neither the process start nor reading the list counts.
    await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
    {
        for (int i = Interlocked.Increment(ref next); i < paths.Length; i = Interlocked.Increment(ref next))
        {
            InterlockedMin(ref firstSent, clock.ElapsedTicks);
            using HttpResponseMessage response = await http.SendAsync(new HttpRequestMessage(HttpMethod.Delete, paths[i]));
            InterlockedMax(ref lastAnswered, clock.ElapsedTicks);
            if (response.StatusCode == System.Net.HttpStatusCode.Accepted)
            {
                Interlocked.Increment(ref accepted);
            }
            else
            {
                Interlocked.Increment(ref other);
            }
        }
    }));

    double seconds = paths.Length == 0 ? 0 : (double)(lastAnswered - firstSent) / Stopwatch.Frequency;
    Console.WriteLine(JsonSerializer.Serialize(new
    {
        requests = paths.Length,
        accepted,
        other,
        concurrency,
        seconds = Math.Round(seconds, 2),
        perSecond = seconds > 0 ? Math.Round(accepted / seconds, 1) : 0,
    }));
    return 0;
}

static void InterlockedMin(ref long location, long value)
{
    for (long seen = Volatile.Read(ref location); value < seen; seen = Volatile.Read(ref location))
    {
        if (Interlocked.CompareExchange(ref location, value, seen) == seen)
        {
            return;
        }
    }
}

static void InterlockedMax(ref long location, long value)
{
    for (long seen = Volatile.Read(ref location); value > seen; seen = Volatile.Read(ref location))
    {
        if (Interlocked.CompareExchange(ref location, value, seen) == seen)
        {
            return;
        }
    }
}

/// <summary>What to push: Domino-like environments with revisions and models built on them.</summary>
internal sealed record DominoSeedPlan(IReadOnlyList<DominoSeedImage> Images, int Environments, int Models)
{
    private const int RevisionsPerEnvironment = 5;

    public static DominoSeedPlan Create(int tags)
    {
        (int environments, int models) = Counts(tags);
        return new DominoSeedPlan([.. Enumerate(tags)], environments, models);
    }

    /// <summary>Gets how many environments and model tags <paramref name="tags"/> tags hold.</summary>
    public static (int Environments, int Models) Counts(int tags)
    {
        int environmentTags = Math.Max(1, tags * 3 / 5);
        return (Math.Max(1, environmentTags / RevisionsPerEnvironment), tags - environmentTags);
    }

    /// <summary>The images one by one, so that a writer of 100,000 tags never holds all their layers at once.</summary>
    public static IEnumerable<DominoSeedImage> Enumerate(int tags)
    {
        byte[][] baseLayers = [ImagePusher.Layer(1, 16 * 1024), ImagePusher.Layer(2, 8 * 1024), ImagePusher.Layer(3, 4 * 1024)];
        int environmentTags = Math.Max(1, tags * 3 / 5);
        (int environments, int models) = Counts(tags);
        var epoch = new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
        for (int i = 0; i < environmentTags; i++)
        {
            int environment = i / RevisionsPerEnvironment;
            int revision = (i % RevisionsPerEnvironment) + 1;
            byte[] environmentLayer = ImagePusher.Layer(100_000 + environment, 4 * 1024);
            byte[] revisionLayer = ImagePusher.Layer(1_000_000 + i, 2 * 1024);
            yield return new DominoSeedImage(
                "dominodatalab/environment",
                $"{KubernetesSampleCluster.ObjectIdOf(environment)}-{revision}",
                [.. baseLayers, environmentLayer, revisionLayer],
                epoch.AddHours(i));
        }

        for (int i = 0; i < models; i++)
        {
            int environment = i % environments;
            byte[] environmentLayer = ImagePusher.Layer(100_000 + environment, 4 * 1024);
            byte[] modelLayer = ImagePusher.Layer(5_000_000 + i, 2 * 1024);
            DateTimeOffset built = epoch.AddHours(environmentTags + i);
            string modelId = KubernetesSampleCluster.ObjectIdOf(500_000 + (i / 3));
            string tag = string.Create(CultureInfo.InvariantCulture, $"{modelId}-v{(i % 3) + 1}-{built:yyyyMMddHHmmss}_{Suffix(i)}");
            yield return new DominoSeedImage("dominodatalab/model", tag, [.. baseLayers, environmentLayer, modelLayer], built);
        }
    }

    private static string Suffix(int seed)
    {
        const string Alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        var chars = new char[8];
        var random = new Random(seed);
        for (int i = 0; i < chars.Length; i++)
        {
            chars[i] = Alphabet[random.Next(Alphabet.Length)];
        }

        return new string(chars);
    }
}

/// <summary>One image to push.</summary>
internal sealed record DominoSeedImage(string Repository, string Tag, IReadOnlyList<byte[]> Layers, DateTimeOffset Created);
