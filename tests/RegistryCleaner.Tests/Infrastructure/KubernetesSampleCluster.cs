using System.Globalization;
using System.Text;
using k8s;
using k8s.Models;

namespace RegistryCleaner.Tests.Infrastructure;

/// <summary>
/// Builds Kubernetes objects for tests: single pods and controllers with given images, Domino-like clusters of any
/// size for paging and speed checks, and kubectl <c>-o json</c> List files.
/// </summary>
public static class KubernetesSampleCluster
{
    /// <summary>The registry host Domino workloads use.</summary>
    public const string DominoRegistry = "docker-registry:5000";

    /// <summary>A container spec with an image.</summary>
    public static V1Container Container(string name, string image) => new() { Name = name, Image = image };

    /// <summary>A pod with one container per image (named c0, c1, ...), in a phase.</summary>
    public static V1Pod Pod(string ns, string name, string phase, params string[] images) => new()
    {
        ApiVersion = "v1",
        Kind = "Pod",
        Metadata = Metadata(ns, name),
        Spec = new V1PodSpec { Containers = images.Select((image, i) => Container($"c{i}", image)).ToList() },
        Status = new V1PodStatus { Phase = phase },
    };

    /// <summary>A pod template with one container per image.</summary>
    public static V1PodTemplateSpec Template(params string[] images) => new()
    {
        Metadata = new V1ObjectMeta { Labels = new Dictionary<string, string> { ["app"] = "sample" } },
        Spec = new V1PodSpec { Containers = images.Select((image, i) => Container($"c{i}", image)).ToList() },
    };

    /// <summary>A deployment with a replica count.</summary>
    public static V1Deployment Deployment(string ns, string name, int replicas, params string[] images) => new()
    {
        ApiVersion = "apps/v1",
        Kind = "Deployment",
        Metadata = Metadata(ns, name),
        Spec = new V1DeploymentSpec { Replicas = replicas, Selector = Selector(), Template = Template(images) },
    };

    /// <summary>A replica set with a replica count (0 for rollback history).</summary>
    public static V1ReplicaSet ReplicaSet(string ns, string name, int replicas, params string[] images) => new()
    {
        ApiVersion = "apps/v1",
        Kind = "ReplicaSet",
        Metadata = Metadata(ns, name),
        Spec = new V1ReplicaSetSpec { Replicas = replicas, Selector = Selector(), Template = Template(images) },
    };

    /// <summary>A stateful set.</summary>
    public static V1StatefulSet StatefulSet(string ns, string name, params string[] images) => new()
    {
        ApiVersion = "apps/v1",
        Kind = "StatefulSet",
        Metadata = Metadata(ns, name),
        Spec = new V1StatefulSetSpec { Replicas = 1, Selector = Selector(), ServiceName = name, Template = Template(images) },
    };

    /// <summary>A daemon set.</summary>
    public static V1DaemonSet DaemonSet(string ns, string name, params string[] images) => new()
    {
        ApiVersion = "apps/v1",
        Kind = "DaemonSet",
        Metadata = Metadata(ns, name),
        Spec = new V1DaemonSetSpec { Selector = Selector(), Template = Template(images) },
    };

    /// <summary>A replication controller.</summary>
    public static V1ReplicationController ReplicationController(string ns, string name, params string[] images) => new()
    {
        ApiVersion = "v1",
        Kind = "ReplicationController",
        Metadata = Metadata(ns, name),
        Spec = new V1ReplicationControllerSpec { Replicas = 1, Template = Template(images) },
    };

    /// <summary>A job.</summary>
    public static V1Job Job(string ns, string name, params string[] images) => new()
    {
        ApiVersion = "batch/v1",
        Kind = "Job",
        Metadata = Metadata(ns, name),
        Spec = new V1JobSpec { Template = Template(images) },
    };

    /// <summary>A cron job, suspended or not.</summary>
    public static V1CronJob CronJob(string ns, string name, bool suspend, params string[] images) => new()
    {
        ApiVersion = "batch/v1",
        Kind = "CronJob",
        Metadata = Metadata(ns, name),
        Spec = new V1CronJobSpec
        {
            Schedule = "0 3 * * *",
            Suspend = suspend,
            JobTemplate = new V1JobTemplateSpec { Spec = new V1JobSpec { Template = Template(images) } },
        },
    };

    /// <summary>The API resource (plural) of an object, e.g. <c>pods</c>.</summary>
    public static string ResourceOf(IKubernetesObject<V1ObjectMeta> item) => item switch
    {
        V1Pod => "pods",
        V1ReplicationController => "replicationcontrollers",
        V1Deployment => "deployments",
        V1ReplicaSet => "replicasets",
        V1StatefulSet => "statefulsets",
        V1DaemonSet => "daemonsets",
        V1Job => "jobs",
        V1CronJob => "cronjobs",
        _ => throw new ArgumentException($"The stand-in does not serve {item.GetType().Name}.", nameof(item)),
    };

    /// <summary>An environment image reference of the Domino registry.</summary>
    public static string EnvironmentImage(int environment, int revision) =>
        $"{DominoRegistry}/dominodatalab/environment:{ObjectIdOf(environment)}-{revision}";

    /// <summary>A deterministic 24-hex ObjectId for a number.</summary>
    public static string ObjectIdOf(int number) => "659c7bce" + number.ToString("x16", CultureInfo.InvariantCulture);

    /// <summary>
    /// A Domino-like cluster: <paramref name="pods"/> running run/model pods in <c>domino-compute</c> with environment
    /// images, container statuses and Domino labels, and <paramref name="controllers"/> controllers spread over every
    /// kind in <c>domino-compute</c> and <c>domino-platform</c>.
    /// </summary>
    public static IEnumerable<IKubernetesObject<V1ObjectMeta>> Generate(int pods, int controllers)
    {
        for (int i = 0; i < pods; i++)
        {
            string name = (i % 3 == 0 ? "model-" : "run-") + ObjectIdOf(i);
            string image = EnvironmentImage(i % 400, i % 7);
            V1Pod pod = Pod("domino-compute", name, "Running", image, $"{DominoRegistry}/dominodatalab/executor:5.11.0");
            pod.Spec.InitContainers = [Container("init", $"{DominoRegistry}/dominodatalab/init:5.11.0")];
            pod.Metadata.Labels = new Dictionary<string, string>
            {
                ["dominodatalab.com/workload-type"] = i % 3 == 0 ? "ModelAPI" : "Batch",
                ["dominodatalab.com/project-name"] = $"project-{i % 50}",
                ["dominodatalab.com/project-owner-username"] = $"user-{i % 20}",
            };
            string digest = "sha256:" + (i % 400).ToString("x64", CultureInfo.InvariantCulture);
            pod.Status.ContainerStatuses =
            [
                new V1ContainerStatus { Name = "c0", Image = image, ImageID = $"docker-pullable://{DominoRegistry}/dominodatalab/environment@{digest}", Ready = true, RestartCount = 0 },
            ];
            yield return pod;
        }

        for (int i = 0; i < controllers; i++)
        {
            string ns = i % 2 == 0 ? "domino-compute" : "domino-platform";
            string image = EnvironmentImage(1000 + (i % 300), i % 5);
            string name = $"ctl-{i}";
            yield return (i % 8) switch
            {
                0 => Deployment(ns, name, i % 3, image),
                1 => ReplicaSet(ns, name, 0, image),
                2 => StatefulSet(ns, name, image),
                3 => DaemonSet(ns, name, image),
                4 => ReplicationController(ns, name, image),
                5 => Job(ns, name, image),
                6 => CronJob(ns, name, suspend: i % 2 == 0, image),
                _ => Deployment(ns, name, 1, image),
            };
        }
    }

    /// <summary>Writes objects as kubectl <c>get ... -o json</c> does: a <c>List</c> with items of mixed kinds.</summary>
    public static void WriteKubectlList(string path, IEnumerable<IKubernetesObject<V1ObjectMeta>> items)
    {
        var json = new StringBuilder("{\n    \"apiVersion\": \"v1\",\n    \"items\": [\n");
        bool first = true;
        foreach (IKubernetesObject<V1ObjectMeta> item in items)
        {
            json.Append(first ? "" : ",\n").Append(KubernetesJson.Serialize(item));
            first = false;
        }

        json.Append("\n    ],\n    \"kind\": \"List\",\n    \"metadata\": {\n        \"resourceVersion\": \"\"\n    }\n}\n");
        File.WriteAllText(path, json.ToString());
    }

    private static V1ObjectMeta Metadata(string ns, string name) => new()
    {
        Name = name,
        NamespaceProperty = ns,
        Uid = Guid.NewGuid().ToString(),
        ResourceVersion = "1",
        CreationTimestamp = new DateTime(2024, 6, 1, 0, 0, 0, DateTimeKind.Utc),
    };

    private static V1LabelSelector Selector() => new() { MatchLabels = new Dictionary<string, string> { ["app"] = "sample" } };
}
