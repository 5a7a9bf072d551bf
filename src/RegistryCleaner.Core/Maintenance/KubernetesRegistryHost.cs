using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Exceptions;
using k8s.Models;
using RegistryCleaner.Workloads;

namespace RegistryCleaner.Maintenance;

/// <summary>
/// A registry that a Kubernetes StatefulSet runs (Domino's <c>docker-registry</c> in <c>domino-platform</c>). Its
/// settings change through the container's environment, patched with a JSON patch guarded by a test of the
/// container's name, and take effect with the StatefulSet's own rolling update, which this waits for (every replica
/// updated and ready). The previous value of a variable the read-only window replaces is kept in an annotation of the
/// StatefulSet, so a later run can restore it after an interrupted one. Garbage collection runs in a ready pod of the
/// new revision, through <c>pods/exec</c>.
/// </summary>
public sealed class KubernetesRegistryHost : IRegistryHost
{
    /// <summary>The annotation that marks a read-only window and holds what the variable was before it.</summary>
    public const string WindowAnnotation = "registrycleaner.io/read-only-window";

    /// <summary>The registry's variable for <c>storage.delete.enabled</c>.</summary>
    public const string DeleteVariable = "REGISTRY_STORAGE_DELETE_ENABLED";

    private const string RevisionLabel = "controller-revision-hash";
    private readonly KubernetesRegistryTarget target;
    private Kubernetes? client;
    private string container = string.Empty;
    private RegistryStorageSettings? storage;
    private JsonNode? previousEntry;

    /// <summary>Initializes the host.</summary>
    /// <param name="target">Which StatefulSet, where.</param>
    public KubernetesRegistryHost(KubernetesRegistryTarget target)
    {
        ArgumentNullException.ThrowIfNull(target);
        this.target = target;
    }

    /// <inheritdoc/>
    public string Mode => "Kubernetes";

    /// <inheritdoc/>
    public string Target => $"StatefulSet {this.target.Namespace}/{this.target.StatefulSet}{(this.container.Length == 0 ? string.Empty : $" (container {this.container})")}";

    /// <inheritdoc/>
    public int? ProcessId => null;

    /// <inheritdoc/>
    public string? LeftoverWindow { get; private set; }

    /// <inheritdoc/>
    public string ConfigPath => this.target.ConfigPath;

    /// <summary>Gets the registry's container (known after <see cref="InspectAsync"/>).</summary>
    public string Container => this.container;

    /// <summary>Gets the container's environment variables with literal values, as the StatefulSet declares them.</summary>
    public IReadOnlyDictionary<string, string> Environment { get; private set; } = new Dictionary<string, string>();

    private Kubernetes Client => this.client ?? throw new InvalidOperationException("Inspect the host first.");

    /// <inheritdoc/>
    public async Task InspectAsync(CancellationToken cancellationToken)
    {
        this.client ??= CreateClient(this.target);
        V1StatefulSet set = await this.ReadAsync(cancellationToken).ConfigureAwait(false);
        V1Container registry = this.PickContainer(set);
        this.container = registry.Name;
        this.Environment = (registry.Env ?? [])
            .Where(e => e.Value is not null && e.ValueFrom is null)
            .GroupBy(e => e.Name, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Last().Value, StringComparer.Ordinal);
        if ((set.Spec.Replicas ?? 1) == 0)
        {
            throw new RegistryHostException($"The StatefulSet {this.target.Namespace}/{this.target.StatefulSet} is scaled to 0: the registry is not running, so there is nothing to switch (scale it up first).");
        }

        if (string.Equals(set.Spec.UpdateStrategy?.Type, "OnDelete", StringComparison.Ordinal))
        {
            throw new RegistryHostException($"The StatefulSet {this.target.Namespace}/{this.target.StatefulSet} updates its pods OnDelete, so a changed setting would never reach the running registry: use the RollingUpdate strategy.");
        }

        if (set.Metadata.Annotations?.TryGetValue(WindowAnnotation, out string? window) == true)
        {
            this.LeftoverWindow = $"the annotation {WindowAnnotation} of an earlier run";
            this.previousEntry = ParseWindow(window);
        }

        // The storage settings come from the container's own config file and environment.
        var text = new System.Text.StringBuilder();
        try
        {
            int exit = await this.RunRegistryCommandAsync(["cat", this.target.ConfigPath], line => text.AppendLine(line), cancellationToken).ConfigureAwait(false);
            this.storage = exit == 0 ? RegistryStorageSettings.Parse(text.ToString(), this.Environment, $"{this.target.ConfigPath} in {this.Target}") : null;
        }
        catch (Exception ex) when (ex is RegistryHostException or FormatException)
        {
            // Without it bytes are not measured; garbage collection still runs on the config path.
            this.storage = null;
        }
    }

    /// <inheritdoc/>
    public async Task RestartAsync(bool readOnly, CancellationToken cancellationToken)
    {
        V1StatefulSet set = await this.ReadAsync(cancellationToken).ConfigureAwait(false);
        (int index, V1Container registry) = this.Locate(set);
        var patch = new JsonArray { Test($"/spec/template/spec/containers/{index}/name", registry.Name) };
        IList<V1EnvVar>? env = registry.Env;
        int entry = env is null ? -1 : env.Select((e, i) => (e, i)).LastOrDefault(p => p.e.Name == ReadOnlyWindow.Variable, (null!, -1)).i;
        string envPath = $"/spec/template/spec/containers/{index}/env";
        bool hasAnnotations = set.Metadata.Annotations is not null;
        string annotationPath = "/metadata/annotations/" + WindowAnnotation.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);
        if (readOnly)
        {
            if (this.LeftoverWindow is null)
            {
                this.previousEntry = entry >= 0 ? JsonNode.Parse(KubernetesJson.Serialize(env![entry])) : null;
            }

            var value = new JsonObject { ["name"] = ReadOnlyWindow.Variable, ["value"] = ReadOnlyWindow.Enabled };
            patch.Add(entry >= 0 ? Op("replace", $"{envPath}/{entry}", value) : env is null ? Op("add", envPath, new JsonArray(value)) : Op("add", $"{envPath}/-", value));
            string marker = JsonSerializer.Serialize(new { since = DateTimeOffset.UtcNow, previous = this.previousEntry });
            patch.Add(hasAnnotations ? Op("add", annotationPath, marker) : Op("add", "/metadata/annotations", new JsonObject { [WindowAnnotation] = marker }));
        }
        else
        {
            if (this.previousEntry is not null)
            {
                patch.Add(entry >= 0 ? Op("replace", $"{envPath}/{entry}", this.previousEntry.DeepClone()) : env is null ? Op("add", envPath, new JsonArray(this.previousEntry.DeepClone())) : Op("add", $"{envPath}/-", this.previousEntry.DeepClone()));
            }
            else if (entry >= 0)
            {
                patch.Add(new JsonObject { ["op"] = "remove", ["path"] = $"{envPath}/{entry}" });
            }

            if (set.Metadata.Annotations?.ContainsKey(WindowAnnotation) == true)
            {
                patch.Add(new JsonObject { ["op"] = "remove", ["path"] = annotationPath });
            }
        }

        await this.PatchAndRollAsync(patch, cancellationToken).ConfigureAwait(false);
        if (!readOnly)
        {
            this.LeftoverWindow = null;
        }
    }

    /// <summary>
    /// Sets one variable of the registry's container (or removes it, for <see langword="null"/>) and waits for the
    /// rollout; does nothing when it already has that value.
    /// </summary>
    /// <param name="name">The variable.</param>
    /// <param name="value">Its value, or <see langword="null"/> to remove it.</param>
    /// <param name="cancellationToken">Cancels waiting.</param>
    /// <returns>The previous value (<see langword="null"/> when it was not set), and whether anything changed.</returns>
    public async Task<(string? Previous, bool Changed)> SetVariableAsync(string name, string? value, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        V1StatefulSet set = await this.ReadAsync(cancellationToken).ConfigureAwait(false);
        (int index, V1Container registry) = this.Locate(set);
        IList<V1EnvVar> env = registry.Env ?? [];
        int entry = env.Select((e, i) => (e, i)).LastOrDefault(p => p.e.Name == name, (null!, -1)).i;
        string? previous = entry >= 0 ? env[entry].Value : null;
        if (entry >= 0 && env[entry].ValueFrom is not null)
        {
            throw new RegistryHostException($"{name} of {this.Target} comes from a ConfigMap or Secret (valueFrom): change it there.");
        }

        if ((entry >= 0 && value is not null && previous == value) || (entry < 0 && value is null))
        {
            return (previous, false);
        }

        string envPath = $"/spec/template/spec/containers/{index}/env";
        var patch = new JsonArray { Test($"/spec/template/spec/containers/{index}/name", registry.Name) };
        var item = new JsonObject { ["name"] = name, ["value"] = value };
        patch.Add(value is null
            ? new JsonObject { ["op"] = "remove", ["path"] = $"{envPath}/{entry}" }
            : entry >= 0 ? Op("replace", $"{envPath}/{entry}", item) : registry.Env is null ? Op("add", envPath, new JsonArray(item)) : Op("add", $"{envPath}/-", item));
        await this.PatchAndRollAsync(patch, cancellationToken).ConfigureAwait(false);
        return (previous, true);
    }

    /// <inheritdoc/>
    public Task<int> RunRegistryAsync(IReadOnlyList<string> arguments, Action<string> onLine, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        return this.RunRegistryCommandAsync([this.target.Command, .. arguments], onLine, cancellationToken);
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyDictionary<string, long>?> MeasureBlobsAsync(IReadOnlyCollection<string> digests, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(digests);
        if (this.storage?.RootDirectory is null)
        {
            return null;
        }

        var sizes = new Dictionary<string, long>(StringComparer.Ordinal);
        var byPath = digests.Select(d => (Digest: d, Path: this.storage.BlobDataPath(d))).Where(p => p.Path is not null).ToDictionary(p => p.Path!, p => p.Digest, StringComparer.Ordinal);
        foreach (string[] batch in byPath.Keys.Chunk(200))
        {
            int exit;
            try
            {
                // stat prints the files that exist and complains about the others (exit 1).
                exit = await this.RunRegistryCommandAsync(
                    ["stat", "-c", "%s %n", .. batch],
                    line =>
                    {
                        int space = line.IndexOf(' ', StringComparison.Ordinal);
                        if (space > 0 && long.TryParse(line.AsSpan(0, space), NumberStyles.None, CultureInfo.InvariantCulture, out long size) && byPath.TryGetValue(line[(space + 1)..], out string? digest))
                        {
                            sizes[digest] = size;
                        }
                    },
                    cancellationToken).ConfigureAwait(false);
            }
            catch (RegistryHostException)
            {
                return null; // the image has no stat
            }

            if (exit > 1)
            {
                return null;
            }
        }

        return sizes;
    }

    /// <inheritdoc/>
    public void Dispose() => this.client?.Dispose();

    private static JsonObject Op(string op, string path, JsonNode value) => new() { ["op"] = op, ["path"] = path, ["value"] = value };

    private static JsonObject Op(string op, string path, string value) => new() { ["op"] = op, ["path"] = path, ["value"] = value };

    private static JsonObject Test(string path, string value) => new() { ["op"] = "test", ["path"] = path, ["value"] = value };

    private static JsonNode? ParseWindow(string annotation)
    {
        try
        {
            return JsonNode.Parse(annotation)?["previous"]?.DeepClone();
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static Kubernetes CreateClient(KubernetesRegistryTarget target)
    {
        KubernetesClientConfiguration configuration;
        string? path;
        try
        {
            path = KubeConfigLocator.Resolve(target.KubeConfigPath);
        }
        catch (FileNotFoundException ex)
        {
            throw new RegistryHostException(ex.Message, ex);
        }

        try
        {
            if (path is null)
            {
                if (!KubernetesClientConfiguration.IsInCluster())
                {
                    throw new RegistryHostException("No kubeconfig was found (no -KubeConfig, KUBECONFIG or ~/.kube/config) and this process does not run inside a cluster: pass -KubeConfig, or use -ProcessId or -ServiceName for a registry on this host.");
                }

                configuration = KubernetesClientConfiguration.InClusterConfig();
            }
            else
            {
                configuration = KubernetesClientConfiguration.BuildConfigFromConfigFile(path, target.Context);
            }
        }
        catch (KubeConfigException ex)
        {
            throw new RegistryHostException($"The kubeconfig '{path}' cannot be used{(target.Context is null ? string.Empty : $" for context '{target.Context}'")}: {ex.Message}", ex);
        }

        configuration.HttpClientTimeout = target.RequestTimeout;
        return new Kubernetes(configuration);
    }

    private static string? RevisionOf(V1Pod pod) =>
        pod.Metadata.Labels is { } labels && labels.TryGetValue(RevisionLabel, out string? revision) ? revision : null;

    private static bool IsReady(V1Pod pod) =>
        pod.Metadata.DeletionTimestamp is null
        && pod.Status?.Phase == "Running"
        && pod.Status.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true;

    private V1Container PickContainer(V1StatefulSet set)
    {
        IList<V1Container> containers = set.Spec.Template.Spec.Containers;
        string[] preferred = this.target.Container is { } named ? [named] : [this.target.StatefulSet, "registry", "docker-registry"];
        V1Container? found = preferred.Select(n => containers.FirstOrDefault(c => c.Name == n)).FirstOrDefault(c => c is not null)
            ?? (this.target.Container is null && containers.Count == 1 ? containers[0] : null);
        return found ?? throw new RegistryHostException(
            $"The StatefulSet {this.target.Namespace}/{this.target.StatefulSet} has no container {(this.target.Container is null ? "named like the registry" : $"'{this.target.Container}'")} (it has {string.Join(", ", containers.Select(c => c.Name))}): set kubernetes.registry_container.");
    }

    private (int Index, V1Container Container) Locate(V1StatefulSet set)
    {
        IList<V1Container> containers = set.Spec.Template.Spec.Containers;
        for (int i = 0; i < containers.Count; i++)
        {
            if (containers[i].Name == this.container)
            {
                return (i, containers[i]);
            }
        }

        throw new RegistryHostException($"The container {this.container} is no longer in the StatefulSet {this.target.Namespace}/{this.target.StatefulSet}.");
    }

    private async Task<V1StatefulSet> ReadAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await this.Client.AppsV1.ReadNamespacedStatefulSetAsync(this.target.StatefulSet, this.target.Namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException ex)
        {
            throw this.Refused(ex, "get");
        }
        catch (HttpRequestException ex)
        {
            throw new RegistryHostException($"The Kubernetes API server could not be reached ({ex.Message}): check the kubeconfig's server and the network.", ex);
        }
        catch (TaskCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new RegistryHostException($"The Kubernetes API server did not answer within {this.target.RequestTimeout.TotalSeconds:0} s (-TimeoutSec).", ex);
        }
    }

    private RegistryHostException Refused(HttpOperationException ex, string verb)
    {
        HttpStatusCode? code = ex.Response?.StatusCode;
        string what = $"statefulsets/{this.target.StatefulSet} in {this.target.Namespace}";
        return code switch
        {
            HttpStatusCode.NotFound => new RegistryHostException($"There is no StatefulSet {this.target.StatefulSet} in namespace {this.target.Namespace}: name the registry's workload with -StatefulSet (kubernetes.registry_statefulset) and its namespace with -Namespace (kubernetes.platform_namespace).", ex),
            HttpStatusCode.Forbidden => new RegistryHostException($"Kubernetes refused to {verb} {what} (403): garbage collection needs get and patch on statefulsets, list on pods and create on pods/exec in {this.target.Namespace}.", ex),
            HttpStatusCode.Unauthorized => new RegistryHostException("Kubernetes refused the kubeconfig's credentials (401): refresh the token or certificate.", ex),
            HttpStatusCode.UnprocessableEntity or HttpStatusCode.Conflict => new RegistryHostException($"Kubernetes refused the change to {what} ({(int)code}): the StatefulSet changed while it was patched ({ex.Response?.Content}); run again.", ex),
            _ => new RegistryHostException($"Kubernetes answered {(int?)code} to {verb} {what}: {ex.Response?.Content}", ex),
        };
    }

    private async Task PatchAndRollAsync(JsonArray patch, CancellationToken cancellationToken)
    {
        V1StatefulSet patched;
        try
        {
            patched = await this.Client.AppsV1.PatchNamespacedStatefulSetAsync(
                new V1Patch(patch.ToJsonString(), V1Patch.PatchType.JsonPatch), this.target.StatefulSet, this.target.Namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException ex)
        {
            throw this.Refused(ex, "patch");
        }
        catch (HttpRequestException ex)
        {
            throw new RegistryHostException($"The Kubernetes API server could not be reached to patch {this.Target} ({ex.Message}).", ex);
        }

        await this.WaitForRolloutAsync(patched.Metadata.Generation ?? 0, cancellationToken).ConfigureAwait(false);
    }

    private async Task WaitForRolloutAsync(long generation, CancellationToken cancellationToken)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        string state = "not observed yet";
        while (waited.Elapsed < this.target.RolloutTimeout)
        {
            V1StatefulSet set = await this.ReadAsync(cancellationToken).ConfigureAwait(false);
            V1StatefulSetStatus? status = set.Status;
            int replicas = set.Spec.Replicas ?? 1;
            state = $"generation {status?.ObservedGeneration}/{generation}, {status?.UpdatedReplicas ?? 0} of {replicas} updated, {status?.ReadyReplicas ?? 0} ready";
            if (status is not null && (status.ObservedGeneration ?? 0) >= generation && (status.UpdatedReplicas ?? 0) == replicas
                && (status.ReadyReplicas ?? 0) == replicas && (status.UpdateRevision is null || status.CurrentRevision == status.UpdateRevision))
            {
                IReadOnlyList<V1Pod> pods = await this.PodsAsync(cancellationToken).ConfigureAwait(false);
                if (pods.Count(p => IsReady(p) && (status.UpdateRevision is null || RevisionOf(p) == status.UpdateRevision)) >= replicas)
                {
                    return;
                }
            }

            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
        }

        throw new RegistryHostException($"The StatefulSet {this.target.Namespace}/{this.target.StatefulSet} did not finish its rollout within {this.target.RolloutTimeout.TotalMinutes:0.#} min ({state}): see kubectl rollout status statefulset/{this.target.StatefulSet} -n {this.target.Namespace}.");
    }

    private async Task<IReadOnlyList<V1Pod>> PodsAsync(CancellationToken cancellationToken)
    {
        V1StatefulSet set = await this.ReadAsync(cancellationToken).ConfigureAwait(false);
        IDictionary<string, string> labels = set.Spec.Selector?.MatchLabels ?? new Dictionary<string, string> { ["app"] = this.target.StatefulSet };
        string selector = string.Join(',', labels.Select(l => $"{l.Key}={l.Value}"));
        try
        {
            V1PodList list = await this.Client.CoreV1.ListNamespacedPodAsync(this.target.Namespace, labelSelector: selector, cancellationToken: cancellationToken).ConfigureAwait(false);
            return list.Items.ToArray();
        }
        catch (HttpOperationException ex)
        {
            throw this.Refused(ex, "list pods of");
        }
        catch (HttpRequestException ex)
        {
            throw new RegistryHostException($"The Kubernetes API server could not be reached to list the pods of {this.Target} ({ex.Message}).", ex);
        }
    }

    private async Task<int> RunRegistryCommandAsync(IReadOnlyList<string> command, Action<string> onLine, CancellationToken cancellationToken)
    {
        V1StatefulSet set = await this.ReadAsync(cancellationToken).ConfigureAwait(false);
        string? revision = set.Status?.UpdateRevision;
        IReadOnlyList<V1Pod> pods = await this.PodsAsync(cancellationToken).ConfigureAwait(false);
        V1Pod pod = pods
            .Where(IsReady)
            .OrderBy(p => revision is not null && RevisionOf(p) == revision ? 0 : 1)
            .ThenBy(p => p.Metadata.Name, StringComparer.Ordinal)
            .FirstOrDefault()
            ?? throw new RegistryHostException($"No pod of {this.Target} is running and ready: check kubectl get pods -n {this.target.Namespace}.");
        return await PodExec.RunAsync(this.Client, this.target.Namespace, pod.Metadata.Name, this.container, command, onLine, cancellationToken).ConfigureAwait(false);
    }
}
