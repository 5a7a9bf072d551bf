using k8s;
using k8s.Models;
using RegistryCleaner.Workloads;
using static RegistryCleaner.Tests.Infrastructure.KubernetesSampleCluster;

namespace RegistryCleaner.Tests.Workloads;

public sealed class WorkloadSnapshotReaderTests : IDisposable
{
    private const string Digest = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    private readonly string directory = Directory.CreateTempSubdirectory("registrycleaner-snapshot-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Fact]
    public async Task A_kubectl_list_of_mixed_kinds_is_read_and_unknown_kinds_are_noted()
    {
        V1Pod pod = Pod("domino-compute", "run-1", "Running", "env:1");
        pod.Status.ContainerStatuses = [new V1ContainerStatus { Name = "c0", ImageID = $"docker-pullable://env@{Digest}" }];
        string file = Write("all.json", List(
            KubernetesJson.Serialize(pod),
            KubernetesJson.Serialize(Pod("domino-compute", "run-2", "Succeeded", "old:1")),
            KubernetesJson.Serialize(Deployment("domino-platform", "nucleus", 0, "nucleus:1")),
            KubernetesJson.Serialize(CronJob("domino-platform", "backup", suspend: true, "backup:1")),
            """{"apiVersion":"v1","kind":"Service","metadata":{"name":"svc","namespace":"x"},"spec":{}}"""));

        WorkloadScan scan = await WorkloadSnapshotReader.ReadAsync([file]);

        Assert.Equal(["backup:1", "env:1", "nucleus:1"], scan.GetImages().Select(image => image.Image));
        Assert.Equal([Digest], scan.GetImages().Single(image => image.Image == "env:1").Digests);
        Assert.Contains(scan.Notes, note => note.Contains("1 object(s) of kind 'Service'", StringComparison.Ordinal) && note.Contains(file, StringComparison.Ordinal));
        string source = Assert.Single(scan.Sources);
        Assert.Equal($"file '{file}': 1 CronJob, 1 Deployment, 2 Pod; namespaces domino-compute, domino-platform", source);
        Assert.True(scan.ToUsageSnapshot().Complete);
    }

    [Fact]
    public async Task Single_objects_typed_lists_and_lists_of_lists_are_read_and_merged()
    {
        string single = Write("pod.json", KubernetesJson.Serialize(Pod("ns", "p", "Running", "single:1")));
        string typed = Write("jobs.json", """{"apiVersion":"batch/v1","kind":"JobList","metadata":{},"items":[""" + TypedItem(Job("ns", "j", "typed:1")) + "]}");
        string nested = Write("nested.json", List(
            List(KubernetesJson.Serialize(StatefulSet("ns", "s", "nested-sts:1"))),
            List(KubernetesJson.Serialize(ReplicationController("ns", "r", "nested-rc:1")), KubernetesJson.Serialize(DaemonSet("ns", "d", "nested-ds:1")))));

        WorkloadScan scan = await WorkloadSnapshotReader.ReadAsync([single, typed, nested]);

        Assert.Equal(["nested-ds:1", "nested-rc:1", "nested-sts:1", "single:1", "typed:1"], scan.GetImages().Select(image => image.Image));
        Assert.Equal(["Job/ns/j"], scan.GetImages().Single(image => image.Image == "typed:1").Workloads);
        Assert.Equal(3, scan.Sources.Count);
    }

    [Fact]
    public async Task Malformed_json_names_the_file_line_and_position()
    {
        string file = Write("broken.json", "{\n  \"kind\": \"List\",\n  \"items\": [ { \"kind\": \"Pod\" ,, } ]\n}");

        WorkloadSnapshotException error = await Assert.ThrowsAsync<WorkloadSnapshotException>(() => WorkloadSnapshotReader.ReadAsync([file]));

        Assert.Equal(file, error.FilePath);
        Assert.Equal(3, error.LineNumber);
        Assert.NotNull(error.BytePositionInLine);
        Assert.Contains($"'{file}' is not valid JSON at line 3, position", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Json_that_is_not_kubernetes_objects_names_the_file()
    {
        string noKind = Write("nokind.json", """{"items":[{"metadata":{}}]}""");
        string array = Write("array.json", "[1, 2]");
        string missing = Path.Combine(directory, "missing.json");

        foreach (string file in new[] { noKind, array, missing })
        {
            WorkloadSnapshotException error = await Assert.ThrowsAsync<WorkloadSnapshotException>(() => WorkloadSnapshotReader.ReadAsync([file]));
            Assert.Contains($"'{file}'", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Invalid_image_references_are_reported_but_protect_nothing()
    {
        string file = Write("bad-image.json", List(KubernetesJson.Serialize(Pod("ns", "p", "Running", "Bad/Image:1", "good:1"))));

        WorkloadScan scan = await WorkloadSnapshotReader.ReadAsync([file]);

        WorkloadImage bad = scan.GetImages().Single(image => image.Image == "Bad/Image:1");
        Assert.Null(bad.Repository);
        Assert.Equal(["ns/p"], bad.Pods);
        Assert.Contains(scan.Notes, note => note.Contains("'Bad/Image:1' is not a valid image reference", StringComparison.Ordinal) && note.Contains("Pod/ns/p", StringComparison.Ordinal));
        Assert.Equal(["good:1"], scan.ToUsageSnapshot().Images.Select(usage => usage.Reference.Original));
    }

    private string Write(string name, string content)
    {
        string path = Path.Combine(directory, name);
        File.WriteAllText(path, content);
        return path;
    }

    private static string List(params string[] items) =>
        "{\"apiVersion\":\"v1\",\"kind\":\"List\",\"metadata\":{\"resourceVersion\":\"\"},\"items\":[" + string.Join(",", items) + "]}";

    // Items of a typed list (JobList) carry no kind of their own.
    private static string TypedItem(V1Job job)
    {
        job.Kind = null;
        job.ApiVersion = null;
        return KubernetesJson.Serialize(job);
    }
}
