using System.Text.Json;
using k8s;
using k8s.Models;

namespace RegistryCleaner.Workloads;

/// <summary>The Kubernetes kinds whose objects decide which images are in use.</summary>
internal static class WorkloadKind
{
    /// <summary>Every kind read, with its API group and resource, in the order scans list them.</summary>
    public static readonly IReadOnlyList<(string Kind, string Group, string Resource)> All =
    [
        ("Pod", "", "pods"),
        ("Deployment", "apps", "deployments"),
        ("ReplicaSet", "apps", "replicasets"),
        ("StatefulSet", "apps", "statefulsets"),
        ("DaemonSet", "apps", "daemonsets"),
        ("ReplicationController", "", "replicationcontrollers"),
        ("Job", "batch", "jobs"),
        ("CronJob", "batch", "cronjobs"),
    ];

    /// <summary>Adds one deserialised object of a known kind; returns false for kinds that are not workloads.</summary>
    /// <param name="collector">Where its images go.</param>
    /// <param name="kind">The object's kind.</param>
    /// <param name="json">The object as JSON.</param>
    /// <param name="options">Serializer options; <see langword="null"/> uses KubernetesClient's own.</param>
    public static bool TryAdd(WorkloadUsageCollector collector, string kind, string json, JsonSerializerOptions? options = null)
    {
        switch (kind)
        {
            case "Pod":
                collector.AddPod(KubernetesJson.Deserialize<V1Pod>(json, options));
                return true;
            case "Deployment":
                V1Deployment deployment = KubernetesJson.Deserialize<V1Deployment>(json, options);
                collector.AddTemplate(kind, deployment.Metadata, deployment.Spec?.Template);
                return true;
            case "ReplicaSet":
                V1ReplicaSet replicaSet = KubernetesJson.Deserialize<V1ReplicaSet>(json, options);
                collector.AddTemplate(kind, replicaSet.Metadata, replicaSet.Spec?.Template);
                return true;
            case "StatefulSet":
                V1StatefulSet statefulSet = KubernetesJson.Deserialize<V1StatefulSet>(json, options);
                collector.AddTemplate(kind, statefulSet.Metadata, statefulSet.Spec?.Template);
                return true;
            case "DaemonSet":
                V1DaemonSet daemonSet = KubernetesJson.Deserialize<V1DaemonSet>(json, options);
                collector.AddTemplate(kind, daemonSet.Metadata, daemonSet.Spec?.Template);
                return true;
            case "ReplicationController":
                V1ReplicationController controller = KubernetesJson.Deserialize<V1ReplicationController>(json, options);
                collector.AddTemplate(kind, controller.Metadata, controller.Spec?.Template);
                return true;
            case "Job":
                V1Job job = KubernetesJson.Deserialize<V1Job>(json, options);
                collector.AddTemplate(kind, job.Metadata, job.Spec?.Template);
                return true;
            case "CronJob":
                V1CronJob cronJob = KubernetesJson.Deserialize<V1CronJob>(json, options);
                collector.AddTemplate(kind, cronJob.Metadata, cronJob.Spec?.JobTemplate?.Spec?.Template);
                return true;
            default:
                return false;
        }
    }
}
