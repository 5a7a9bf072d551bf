using System.Text.Json;
using k8s;
using k8s.Models;

namespace RegistryCleaner.Workloads;

/// <summary>
/// A Kubernetes kind whose objects decide which images are in use: its API group and resource, how a page of it is
/// listed, and where its pod template is. Adding a kind is one row of <see cref="All"/>.
/// </summary>
internal abstract class WorkloadKind
{
    private WorkloadKind(string kind, string group, string resource)
    {
        this.Kind = kind;
        this.Group = group;
        this.Resource = resource;
    }

    /// <summary>Every kind read, in the order scans list them.</summary>
    public static IReadOnlyList<WorkloadKind> All { get; } =
    [
        Pods(
            "Pod", "", "pods",
            (client, next, limit, token) => client.CoreV1.ListPodForAllNamespacesAsync(continueParameter: next, limit: limit, cancellationToken: token),
            (client, ns, next, limit, token) => client.CoreV1.ListNamespacedPodAsync(ns, continueParameter: next, limit: limit, cancellationToken: token)),
        Templates<V1Deployment, V1DeploymentList>(
            "Deployment", "apps", "deployments", item => item.Spec?.Template,
            (client, next, limit, token) => client.AppsV1.ListDeploymentForAllNamespacesAsync(continueParameter: next, limit: limit, cancellationToken: token),
            (client, ns, next, limit, token) => client.AppsV1.ListNamespacedDeploymentAsync(ns, continueParameter: next, limit: limit, cancellationToken: token)),
        Templates<V1ReplicaSet, V1ReplicaSetList>(
            "ReplicaSet", "apps", "replicasets", item => item.Spec?.Template,
            (client, next, limit, token) => client.AppsV1.ListReplicaSetForAllNamespacesAsync(continueParameter: next, limit: limit, cancellationToken: token),
            (client, ns, next, limit, token) => client.AppsV1.ListNamespacedReplicaSetAsync(ns, continueParameter: next, limit: limit, cancellationToken: token)),
        Templates<V1StatefulSet, V1StatefulSetList>(
            "StatefulSet", "apps", "statefulsets", item => item.Spec?.Template,
            (client, next, limit, token) => client.AppsV1.ListStatefulSetForAllNamespacesAsync(continueParameter: next, limit: limit, cancellationToken: token),
            (client, ns, next, limit, token) => client.AppsV1.ListNamespacedStatefulSetAsync(ns, continueParameter: next, limit: limit, cancellationToken: token)),
        Templates<V1DaemonSet, V1DaemonSetList>(
            "DaemonSet", "apps", "daemonsets", item => item.Spec?.Template,
            (client, next, limit, token) => client.AppsV1.ListDaemonSetForAllNamespacesAsync(continueParameter: next, limit: limit, cancellationToken: token),
            (client, ns, next, limit, token) => client.AppsV1.ListNamespacedDaemonSetAsync(ns, continueParameter: next, limit: limit, cancellationToken: token)),
        Templates<V1ReplicationController, V1ReplicationControllerList>(
            "ReplicationController", "", "replicationcontrollers", item => item.Spec?.Template,
            (client, next, limit, token) => client.CoreV1.ListReplicationControllerForAllNamespacesAsync(continueParameter: next, limit: limit, cancellationToken: token),
            (client, ns, next, limit, token) => client.CoreV1.ListNamespacedReplicationControllerAsync(ns, continueParameter: next, limit: limit, cancellationToken: token)),
        Templates<V1Job, V1JobList>(
            "Job", "batch", "jobs", item => item.Spec?.Template,
            (client, next, limit, token) => client.BatchV1.ListJobForAllNamespacesAsync(continueParameter: next, limit: limit, cancellationToken: token),
            (client, ns, next, limit, token) => client.BatchV1.ListNamespacedJobAsync(ns, continueParameter: next, limit: limit, cancellationToken: token)),
        Templates<V1CronJob, V1CronJobList>(
            "CronJob", "batch", "cronjobs", item => item.Spec?.JobTemplate?.Spec?.Template,
            (client, next, limit, token) => client.BatchV1.ListCronJobForAllNamespacesAsync(continueParameter: next, limit: limit, cancellationToken: token),
            (client, ns, next, limit, token) => client.BatchV1.ListNamespacedCronJobAsync(ns, continueParameter: next, limit: limit, cancellationToken: token)),
    ];

    /// <summary>Gets the kind, e.g. <c>Deployment</c>.</summary>
    public string Kind { get; }

    /// <summary>Gets the API group; empty for the core group.</summary>
    public string Group { get; }

    /// <summary>Gets the resource, e.g. <c>deployments</c>.</summary>
    public string Resource { get; }

    /// <summary>Adds one deserialised object of a known kind; returns false for kinds that are not workloads.</summary>
    /// <param name="collector">Where its images go.</param>
    /// <param name="kind">The object's kind.</param>
    /// <param name="json">The object as JSON.</param>
    /// <param name="options">Serializer options; <see langword="null"/> uses KubernetesClient's own.</param>
    public static bool TryAdd(WorkloadUsageCollector collector, string kind, string json, JsonSerializerOptions? options = null)
    {
        foreach (WorkloadKind known in All)
        {
            if (known.Kind == kind)
            {
                known.AddJson(collector, json, options);
                return true;
            }
        }

        return false;
    }

    /// <summary>Lists one page of this kind and adds its objects.</summary>
    /// <param name="client">The cluster's client.</param>
    /// <param name="ns">The namespace; <see langword="null"/> lists all namespaces.</param>
    /// <param name="continueToken">The previous page's continue token; <see langword="null"/> for the first page.</param>
    /// <param name="limit">The page size.</param>
    /// <param name="collector">Where the page's images go.</param>
    /// <param name="token">Stops the request.</param>
    /// <returns>The continue token of the next page; null or empty after the last.</returns>
    public abstract Task<string?> ListPageAsync(
        Kubernetes client, string? ns, string? continueToken, int limit, WorkloadUsageCollector collector, CancellationToken token);

    /// <summary>Adds one object of this kind, given as JSON.</summary>
    /// <param name="collector">Where its images go.</param>
    /// <param name="json">The object as JSON.</param>
    /// <param name="options">Serializer options; <see langword="null"/> uses KubernetesClient's own.</param>
    public abstract void AddJson(WorkloadUsageCollector collector, string json, JsonSerializerOptions? options);

    private static Row<V1Pod, V1PodList> Pods(
        string kind,
        string group,
        string resource,
        Func<Kubernetes, string?, int, CancellationToken, Task<V1PodList>> listAll,
        Func<Kubernetes, string, string?, int, CancellationToken, Task<V1PodList>> listNamespaced) =>
        new(kind, group, resource, listAll, listNamespaced, (collector, _, pod) => collector.AddPod(pod));

    private static Row<TItem, TList> Templates<TItem, TList>(
        string kind,
        string group,
        string resource,
        Func<TItem, V1PodTemplateSpec?> template,
        Func<Kubernetes, string?, int, CancellationToken, Task<TList>> listAll,
        Func<Kubernetes, string, string?, int, CancellationToken, Task<TList>> listNamespaced)
        where TItem : IMetadata<V1ObjectMeta>
        where TList : IItems<TItem>, IMetadata<V1ListMeta> =>
        new(kind, group, resource, listAll, listNamespaced, (collector, name, item) => collector.AddTemplate(name, item.Metadata, template(item)));

    /// <summary>One kind's row: its typed list calls and how an object of it adds its images.</summary>
    private sealed class Row<TItem, TList>(
        string kind,
        string group,
        string resource,
        Func<Kubernetes, string?, int, CancellationToken, Task<TList>> listAll,
        Func<Kubernetes, string, string?, int, CancellationToken, Task<TList>> listNamespaced,
        Action<WorkloadUsageCollector, string, TItem> add) : WorkloadKind(kind, group, resource)
        where TList : IItems<TItem>, IMetadata<V1ListMeta>
    {
        public override async Task<string?> ListPageAsync(
            Kubernetes client, string? ns, string? continueToken, int limit, WorkloadUsageCollector collector, CancellationToken token)
        {
            TList list = ns is null
                ? await listAll(client, continueToken, limit, token).ConfigureAwait(false)
                : await listNamespaced(client, ns, continueToken, limit, token).ConfigureAwait(false);
            foreach (TItem item in list.Items)
            {
                add(collector, this.Kind, item);
            }

            return list.Metadata?.ContinueProperty;
        }

        public override void AddJson(WorkloadUsageCollector collector, string json, JsonSerializerOptions? options) =>
            add(collector, this.Kind, KubernetesJson.Deserialize<TItem>(json, options));
    }
}
