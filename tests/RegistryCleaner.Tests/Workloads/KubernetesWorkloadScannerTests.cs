using k8s;
using k8s.Models;
using RegistryCleaner.Tests.Infrastructure;
using RegistryCleaner.Workloads;
using static RegistryCleaner.Tests.Infrastructure.KubernetesSampleCluster;

namespace RegistryCleaner.Tests.Workloads;

public sealed class KubernetesWorkloadScannerTests : IAsyncLifetime
{
    private const string Compute = "domino-compute";
    private const string Platform = "domino-platform";
    private const string DigestA = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    private const string DigestB = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    private const string DigestC = "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc";
    private const string DigestD = "sha256:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd";

    private readonly string directory = Directory.CreateTempSubdirectory("registrycleaner-k8s-").FullName;
    private KubernetesApiStandIn standIn = null!;

    private string KubeConfig => Path.Combine(directory, "kubeconfig");

    public async Task InitializeAsync()
    {
        standIn = await KubernetesApiStandIn.StartAsync();
        standIn.WriteKubeConfig(KubeConfig, "prod-east");
    }

    public async Task DisposeAsync()
    {
        await standIn.DisposeAsync();
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task Containers_init_and_ephemeral_containers_of_live_pods_are_in_use()
    {
        V1Pod pod = Pod(Compute, "run-1", "Running", $"{DominoRegistry}/dominodatalab/environment:main");
        pod.Spec.InitContainers = [Container("init", $"{DominoRegistry}/dominodatalab/init:1")];
        pod.Spec.EphemeralContainers = [new V1EphemeralContainer { Name = "debug", Image = "busybox:1.36" }];
        standIn.Add(pod, Pod(Compute, "run-pending", "Pending", "nginx"));

        WorkloadScan scan = await ScanAsync();

        // Repository, then tag, whatever the host: dominodatalab/environment, dominodatalab/init, library/busybox, library/nginx.
        Assert.Equal(
            [$"{DominoRegistry}/dominodatalab/environment:main", $"{DominoRegistry}/dominodatalab/init:1", "busybox:1.36", "nginx"],
            scan.GetImages().Select(image => image.Image));
        Assert.All(scan.GetImages().Take(3), image => Assert.Equal(["domino-compute/run-1"], image.Pods));
        Assert.True(scan.Complete);
    }

    [Fact]
    public async Task Succeeded_and_failed_pods_are_not_in_use()
    {
        V1Pod done = Pod(Compute, "run-done", "Succeeded", "done:1");
        done.Status.ContainerStatuses = [new V1ContainerStatus { Name = "c0", ImageID = DigestA }];
        standIn.Add(done, Pod(Compute, "run-failed", "Failed", "failed:1"), Pod(Compute, "run-live", "Running", "live:1"), Pod(Compute, "run-unknown", "Unknown", "unknown:1"));

        WorkloadScan scan = await ScanAsync();

        Assert.Equal(["live:1", "unknown:1"], scan.GetImages().Select(image => image.Image));
        Assert.Empty(scan.RunningDigests);
    }

    [Fact]
    public async Task Status_image_ids_attach_to_their_container_and_untied_ones_also_protect_the_bare_digest()
    {
        string environment = $"{DominoRegistry}/dominodatalab/environment:659c7bce85f6381e675bb205-12";
        V1Pod pod = Pod(Compute, "run-1", "Running", environment, "nginx", "other:1");
        pod.Spec.InitContainers = [Container("init", "busybox")];
        pod.Status.ContainerStatuses =
        [
            // docker runtime, host as the node sees it (FQDN), same repository: ties to the reference.
            new V1ContainerStatus { Name = "c0", ImageID = $"docker-pullable://docker-registry.domino-platform.svc.cluster.local:5000/dominodatalab/environment@{DigestA}" },
            // containerd form without a scheme.
            new V1ContainerStatus { Name = "c1", ImageID = $"docker.io/library/nginx@{DigestB}" },
            // bare digest: nothing to tie it to.
            new V1ContainerStatus { Name = "c2", ImageID = DigestC },
        ];
        pod.Status.InitContainerStatuses = [new V1ContainerStatus { Name = "init", ImageID = $"docker://{DigestD}" }];
        V1Pod debug = Pod(Compute, "run-2", "Running", "app:1");
        debug.Spec.EphemeralContainers = [new V1EphemeralContainer { Name = "debug", Image = "busybox:1.36" }];
        string debugDigest = "sha256:" + new string('e', 64);
        string strayDigest = "sha256:" + new string('f', 64);
        debug.Status.EphemeralContainerStatuses = [new V1ContainerStatus { Name = "debug", ImageID = $"busybox@{debugDigest}" }];
        debug.Status.ContainerStatuses = [new V1ContainerStatus { Name = "c0", ImageID = $"elsewhere.io/unrelated@{strayDigest}" }];
        standIn.Add(pod, debug);

        WorkloadScan scan = await ScanAsync();

        Dictionary<string, WorkloadImage> images = scan.GetImages().ToDictionary(image => image.Image);
        Assert.Equal([DigestA], images[environment].Digests);
        Assert.Equal("659c7bce85f6381e675bb205", images[environment].ObjectId);
        Assert.Equal([DigestB], images["nginx"].Digests);
        // Untied IDs still belong to their container's image, so offline usage (-InUse) carries them too.
        Assert.Equal([DigestC], images["other:1"].Digests);
        Assert.Equal([DigestD], images["busybox"].Digests);
        Assert.Equal([strayDigest], images["app:1"].Digests);
        Assert.Equal([debugDigest], images["busybox:1.36"].Digests);
        Assert.Equal([DigestC, DigestD, strayDigest], scan.RunningDigests);
        UsageSnapshot snapshot = scan.ToUsageSnapshot();
        Assert.Equal([DigestC, DigestD, strayDigest], snapshot.RunningDigests);
        Assert.Equal([DigestA], snapshot.Images.Single(usage => usage.Reference.Original == environment).Digests);
    }

    [Fact]
    public async Task Pod_templates_of_every_controller_kind_are_in_use_whatever_their_replicas_or_suspension()
    {
        standIn.Add(
            Deployment(Compute, "model-idle", 0, "deploy:0"),
            ReplicaSet(Compute, "model-idle-old", 0, "rs:history"),
            StatefulSet(Platform, "mongodb-replicaset", "mongo:6"),
            DaemonSet(Platform, "fluentd", "fluentd:1"),
            ReplicationController(Platform, "legacy", "rc:1"),
            Job(Compute, "build-1", "job:1"),
            CronJob(Platform, "nightly", suspend: true, "cron:suspended"));

        WorkloadScan scan = await ScanAsync();

        Dictionary<string, WorkloadImage> images = scan.GetImages().ToDictionary(image => image.Image);
        Assert.Equal(["Deployment/domino-compute/model-idle"], images["deploy:0"].Workloads);
        Assert.Equal(["ReplicaSet/domino-compute/model-idle-old"], images["rs:history"].Workloads);
        Assert.Equal(["StatefulSet/domino-platform/mongodb-replicaset"], images["mongo:6"].Workloads);
        Assert.Equal(["DaemonSet/domino-platform/fluentd"], images["fluentd:1"].Workloads);
        Assert.Equal(["ReplicationController/domino-platform/legacy"], images["rc:1"].Workloads);
        Assert.Equal(["Job/domino-compute/build-1"], images["job:1"].Workloads);
        Assert.Equal(["CronJob/domino-platform/nightly"], images["cron:suspended"].Workloads);
        Assert.All(images.Values, image => Assert.Equal(0, image.PodCount));
        Assert.Equal(7, scan.ToUsageSnapshot().Images.Count);
    }

    [Fact]
    public async Task Lists_are_paged_with_limit_and_continue_across_pages()
    {
        standIn.Add(Enumerable.Range(0, 1234).Select(i => Pod(Compute, $"run-{i:D4}", "Running", EnvironmentImage(i % 10, 1))));
        standIn.Add(Enumerable.Range(0, 7).Select(i => Deployment(Compute, $"d-{i}", 1, $"deploy:{i}")));

        var progress = new List<WorkloadListingProgress>();
        WorkloadScan scan = await ScanAsync(options => options with { PageSize = 500, Progress = new SynchronousProgress(progress) });

        Assert.Equal(1234, scan.GetImages().Sum(image => image.PodCount));
        Assert.Equal(
            [(500, false), (1000, false), (1234, true)],
            progress.Where(report => report.Resource == "pods").Select(report => (report.ObjectsRead, report.Completed)));
        Assert.Equal(8, progress.Count(report => report.Completed));
        string[] podRequests = standIn.Requests.Where(request => request.StartsWith("GET /api/v1/pods", StringComparison.Ordinal)).ToArray();
        Assert.Equal(3, podRequests.Length);
        Assert.All(podRequests, request => Assert.Contains("limit=500", request, StringComparison.Ordinal));
        Assert.Equal(2, podRequests.Count(request => request.Contains("continue=", StringComparison.Ordinal)));

        WorkloadScan small = await ScanAsync(options => options with { PageSize = 2 });
        Assert.Equal(7, small.GetImages().Count(image => image.Image.StartsWith("deploy:", StringComparison.Ordinal)));
        Assert.Equal(4, standIn.Requests.Count(request => request.StartsWith("GET /apis/apps/v1/deployments?", StringComparison.Ordinal) && request.Contains("limit=2", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Several_contexts_are_read_and_merged()
    {
        await using KubernetesApiStandIn west = await KubernetesApiStandIn.StartAsync("west-token");
        standIn.Add(Pod(Compute, "run-east", "Running", "shared:1"), Deployment(Compute, "east-only", 1, "east:1"));
        west.Add(Pod(Compute, "run-west", "Running", "shared:1"), Deployment(Compute, "west-only", 0, "west:1"));
        KubernetesApiStandIn.WriteKubeConfig(KubeConfig, [("prod-east", standIn), ("prod-west", west)]);

        WorkloadScan scan = await ScanAsync(options => options with { Contexts = ["prod-east", "prod-west"] });

        Dictionary<string, WorkloadImage> images = scan.GetImages().ToDictionary(image => image.Image);
        Assert.Equal(["domino-compute/run-east", "domino-compute/run-west"], images["shared:1"].Pods);
        Assert.Contains("east:1", images.Keys);
        Assert.Contains("west:1", images.Keys);
        Assert.Equal(2, scan.Sources.Count);
        Assert.Contains(scan.Sources, source => source.StartsWith("context 'prod-west'", StringComparison.Ordinal) && source.Contains("all namespaces", StringComparison.Ordinal));
        Assert.NotEmpty(west.Requests);
    }

    [Fact]
    public async Task A_namespace_list_narrows_the_scan_to_namespaced_calls()
    {
        standIn.Add(
            Pod(Compute, "run-1", "Running", "compute:1"),
            Pod(Platform, "registry-0", "Running", "registry:2"),
            Pod("other", "x", "Running", "other:1"),
            CronJob(Platform, "backup", suspend: false, "backup:1"));

        WorkloadScan scan = await ScanAsync(options => options with { Namespaces = [Compute, Platform] });

        Assert.Equal(["backup:1", "compute:1", "registry:2"], scan.GetImages().Select(image => image.Image));
        Assert.All(standIn.Requests, request => Assert.Contains("/namespaces/domino-", request, StringComparison.Ordinal));
        Assert.Equal(["GET /api/v1/namespaces/domino-compute", "GET /api/v1/namespaces/domino-platform"], standIn.Requests.Where(r => r.Count(c => c == '/') == 4).Order(StringComparer.Ordinal));
        Assert.Equal(18, standIn.Requests.Count);
        Assert.Contains("namespaces domino-compute, domino-platform", scan.Sources.Single(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pod_prefixes_filter_the_report_but_never_the_usage_snapshot()
    {
        V1Pod run = Pod(Compute, "run-1", "Running", "env:1");
        run.Metadata.Labels = new Dictionary<string, string>
        {
            ["dominodatalab.com/workload-type"] = "Batch",
            ["dominodatalab.com/project-name"] = "churn",
            ["dominodatalab.com/project-owner-username"] = "alice",
        };
        V1Pod model = Pod(Compute, "model-1", "Running", "env:1");
        model.Metadata.Labels = new Dictionary<string, string> { ["dominodatalab.com/project-name"] = "fraud", ["dominodatalab.com/workload-type"] = "ModelAPI" };
        standIn.Add(run, model, Pod(Platform, "mongodb-0", "Running", "mongo:6"), Deployment(Platform, "nucleus", 1, "nucleus:1"));

        WorkloadScan scan = await ScanAsync();

        WorkloadImage env = scan.GetImages().Single(image => image.Image == "env:1");
        Assert.Equal(["Batch", "ModelAPI"], env.WorkloadType);
        Assert.Equal(["churn", "fraud"], env.ProjectName);
        Assert.Equal(["alice"], env.ProjectOwner);
        Assert.Equal(2, env.PodCount);

        IReadOnlyList<WorkloadImage> runs = scan.GetImages(["run-"]);
        WorkloadImage filtered = Assert.Single(runs);
        Assert.Equal(["domino-compute/run-1"], filtered.Pods);
        Assert.Equal(["churn"], filtered.ProjectName);
        Assert.Equal(["env:1", "mongo:6", "nucleus:1"], scan.ToUsageSnapshot().Images.Select(usage => usage.Reference.Original));
    }

    [Fact]
    public async Task A_forbidden_kind_fails_the_scan_naming_context_kind_scope_and_permission()
    {
        standIn.Add(Pod(Compute, "run-1", "Running", "env:1"));
        standIn.Forbid("statefulsets");

        WorkloadAccessException error = await Assert.ThrowsAsync<WorkloadAccessException>(() => ScanAsync());

        Assert.Equal(403, error.StatusCode);
        Assert.Equal("statefulsets", error.Resource);
        Assert.Null(error.Namespace);
        Assert.Equal("list statefulsets.apps in all namespaces", error.RequiredPermission);
        Assert.Contains("context 'prod-east'", error.Message, StringComparison.Ordinal);
        Assert.Contains("statefulsets in all namespaces", error.Message, StringComparison.Ordinal);
        Assert.Contains("Grant list on statefulsets.apps in all namespaces", error.Message, StringComparison.Ordinal);
        Assert.Contains("cannot list resource \"statefulsets\"", error.Message, StringComparison.Ordinal);
        Assert.Contains("nothing may be deleted", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_forbidden_namespace_fails_the_scan_naming_the_namespace()
    {
        standIn.AddNamespace(Compute);
        standIn.AddNamespace(Platform);
        standIn.Forbid("pods", Platform);

        WorkloadAccessException error = await Assert.ThrowsAsync<WorkloadAccessException>(
            () => ScanAsync(options => options with { Namespaces = [Compute, Platform] }));

        Assert.Equal(Platform, error.Namespace);
        Assert.Equal("list pods in namespace 'domino-platform'", error.RequiredPermission);
        Assert.Contains("Cannot list pods in namespace 'domino-platform' of context 'prod-east'", error.Message, StringComparison.Ordinal);
        Assert.Contains("RoleBinding in 'domino-platform'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_namespace_that_does_not_exist_stops_the_scan_before_any_listing()
    {
        standIn.Add(Pod(Compute, "run-1", "Running", "env:1"));

        WorkloadNamespaceNotFoundException error = await Assert.ThrowsAsync<WorkloadNamespaceNotFoundException>(
            () => ScanAsync(options => options with { Namespaces = [Compute, "domino-compte"] }));

        Assert.Equal("domino-compte", error.Namespace);
        Assert.Equal("prod-east", error.Context);
        Assert.Contains("Namespace 'domino-compte' does not exist in context 'prod-east'", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(standIn.Requests, r => r.Contains("/pods", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_namespace_whose_get_is_forbidden_counts_only_when_its_listings_find_workloads()
    {
        standIn.Add(Pod(Compute, "run-1", "Running", "env:1"));
        standIn.Forbid("namespaces");

        WorkloadScan scan = await ScanAsync(options => options with { Namespaces = [Compute] });
        WorkloadAccessException error = await Assert.ThrowsAsync<WorkloadAccessException>(
            () => ScanAsync(options => options with { Namespaces = [Compute, "empty-or-typo"] }));

        Assert.Equal(["env:1"], scan.GetImages().Select(image => image.Image));
        Assert.Equal("empty-or-typo", error.Namespace);
        Assert.Equal(403, error.StatusCode);
        Assert.Equal("get namespaces/empty-or-typo", error.RequiredPermission);
        Assert.Contains("nothing may be deleted", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_server_error_mid_paging_fails_the_scan()
    {
        standIn.Add(Enumerable.Range(0, 5).Select(i => Deployment(Compute, $"d-{i}", 1, $"deploy:{i}")));
        standIn.FailPage("deployments", page: 2);

        WorkloadAccessException error = await Assert.ThrowsAsync<WorkloadAccessException>(() => ScanAsync(options => options with { PageSize = 2 }));

        Assert.Equal(500, error.StatusCode);
        Assert.Equal("deployments", error.Resource);
        Assert.Contains("deployments in all namespaces", error.Message, StringComparison.Ordinal);
        Assert.Contains("list deployments.apps in all namespaces", error.Message, StringComparison.Ordinal);
        Assert.Contains("stand-in fault on page 2", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_slow_page_times_out_and_fails_the_scan()
    {
        standIn.Delay("jobs", TimeSpan.FromSeconds(10));

        var clock = System.Diagnostics.Stopwatch.StartNew();
        WorkloadAccessException error = await Assert.ThrowsAsync<WorkloadAccessException>(
            () => ScanAsync(options => options with { RequestTimeout = TimeSpan.FromMilliseconds(300) }));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        Assert.Null(error.StatusCode);
        Assert.Equal("jobs", error.Resource);
        Assert.Contains("timed out after 0.3 s", error.Message, StringComparison.Ordinal);
        Assert.Contains("list jobs.batch in all namespaces", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancellation_by_the_caller_is_not_reported_as_an_access_failure()
    {
        standIn.Delay("pods", TimeSpan.FromSeconds(10));
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => KubernetesWorkloadScanner.ScanAsync(
            new WorkloadScanOptions { KubeConfigPath = KubeConfig }, cancel.Token));
    }

    [Fact]
    public async Task Rejected_credentials_fail_the_scan()
    {
        await using KubernetesApiStandIn other = await KubernetesApiStandIn.StartAsync("other-token");
        KubernetesApiStandIn.WriteKubeConfig(KubeConfig, [("prod-east", standIn)]);
        File.WriteAllText(KubeConfig, File.ReadAllText(KubeConfig).Replace(standIn.Token!, "wrong-token", StringComparison.Ordinal));

        WorkloadAccessException error = await Assert.ThrowsAsync<WorkloadAccessException>(() => ScanAsync());

        Assert.Equal(401, error.StatusCode);
        Assert.Contains("credentials of context 'prod-east' were rejected", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unreachable_server_fails_the_scan()
    {
        KubernetesApiStandIn gone = await KubernetesApiStandIn.StartAsync();
        gone.WriteKubeConfig(KubeConfig, "prod-gone");
        await gone.DisposeAsync();

        WorkloadAccessException error = await Assert.ThrowsAsync<WorkloadAccessException>(() => ScanAsync());

        Assert.Equal("prod-gone", error.Context);
        Assert.Contains("could not be reached", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_context_is_an_error_naming_it()
    {
        KubeConfigInvalidException error = await Assert.ThrowsAsync<KubeConfigInvalidException>(
            () => ScanAsync(options => options with { Contexts = ["prod-east", "prod-nowhere"] }));

        Assert.Contains("context 'prod-nowhere'", error.Message, StringComparison.Ordinal);
        Assert.Contains("Contexts in the file: prod-east", error.Message, StringComparison.Ordinal);
        Assert.Empty(standIn.Requests);
    }

    [Fact]
    public async Task An_expired_continue_token_restarts_the_listing_once()
    {
        standIn.Add(Enumerable.Range(0, 5).Select(i => Pod(Compute, $"run-{i}", "Running", $"env:{i}")));
        standIn.ExpireContinueTokens("pods", times: 1);

        WorkloadScan scan = await ScanAsync(options => options with { PageSize = 2 });

        Assert.Equal(5, scan.GetImages().Sum(image => image.PodCount));
        string[] podRequests = standIn.Requests.Where(request => request.StartsWith("GET /api/v1/pods", StringComparison.Ordinal)).ToArray();
        Assert.Equal(2 + 3, podRequests.Length); // first page, expired continue, then three pages from scratch
        Assert.Equal(2, podRequests.Count(request => !request.Contains("continue=", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_continue_token_that_expires_twice_fails_closed()
    {
        standIn.Add(Enumerable.Range(0, 5).Select(i => Pod(Compute, $"run-{i}", "Running", $"env:{i}")));
        standIn.ExpireContinueTokens("pods", times: 2);

        WorkloadAccessException error = await Assert.ThrowsAsync<WorkloadAccessException>(() => ScanAsync(options => options with { PageSize = 2 }));

        Assert.Equal(410, error.StatusCode);
        Assert.Contains("pods in all namespaces", error.Message, StringComparison.Ordinal);
        Assert.Contains("too old", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_live_scan_and_a_kubectl_snapshot_of_the_same_cluster_agree()
    {
        IKubernetesObject<V1ObjectMeta>[] cluster = Generate(pods: 600, controllers: 80).ToArray();
        standIn.Add(cluster);
        string file = Path.Combine(directory, "cluster.json");
        WriteKubectlList(file, cluster);

        UsageSnapshot live = (await ScanAsync()).ToUsageSnapshot();
        UsageSnapshot offline = (await WorkloadSnapshotReader.ReadAsync([file])).ToUsageSnapshot();

        Assert.Equal(offline.Images.Count, live.Images.Count);
        Assert.Equal(
            offline.Images.Select(usage => (usage.Reference, string.Join(",", usage.Digests), string.Join(",", usage.UsedBy))),
            live.Images.Select(usage => (usage.Reference, string.Join(",", usage.Digests), string.Join(",", usage.UsedBy))));
        Assert.True(live.Complete);
        Assert.True(offline.Complete);
    }

    // Progress<T> posts to the thread pool; tests want the reports in order, as they happen.
    private sealed class SynchronousProgress(List<WorkloadListingProgress> reports) : IProgress<WorkloadListingProgress>
    {
        public void Report(WorkloadListingProgress value)
        {
            lock (reports)
            {
                reports.Add(value);
            }
        }
    }

    private Task<WorkloadScan> ScanAsync(Func<WorkloadScanOptions, WorkloadScanOptions>? configure = null)
    {
        var options = new WorkloadScanOptions { KubeConfigPath = KubeConfig, RequestTimeout = TimeSpan.FromSeconds(10) };
        return KubernetesWorkloadScanner.ScanAsync(configure is null ? options : configure(options));
    }
}
