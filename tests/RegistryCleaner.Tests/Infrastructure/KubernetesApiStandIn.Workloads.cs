using System.Globalization;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using Microsoft.AspNetCore.Http;

namespace RegistryCleaner.Tests.Infrastructure;

/// <summary>One <c>pods/exec</c> call the stand-in received.</summary>
/// <param name="Namespace">The pod's namespace.</param>
/// <param name="Pod">The pod.</param>
/// <param name="Container">The container.</param>
/// <param name="Command">The command and its arguments.</param>
/// <param name="Protocol">The streaming protocol the stand-in chose (<c>v5.channel.k8s.io</c> or <c>v4.channel.k8s.io</c>).</param>
public sealed record PodExecRequest(string Namespace, string Pod, string Container, IReadOnlyList<string> Command, string Protocol);

/// <content>
/// What the registry-maintenance cmdlets need of the API server: GET and JSON PATCH of a StatefulSet (a patch that
/// changes the pod template starts a rollout that the test's <see cref="StatefulSetRollout"/> carries out, then the
/// status and the pods' revision labels move on as the StatefulSet controller would move them), GET of a pod, label
/// selectors on lists, and <c>pods/exec</c> over a WebSocket in the channel protocols KubernetesClient speaks.
/// </content>
public sealed partial class KubernetesApiStandIn
{
    private const string V5 = "v5.channel.k8s.io";
    private const string V4 = "v4.channel.k8s.io";
    private readonly object workloadGate = new();

    /// <summary>Carries out a rollout (restarts what the pods run) with the StatefulSet as patched; the status follows once it returns.</summary>
    public Func<V1StatefulSet, Task>? StatefulSetRollout { get; set; }

    /// <summary>
    /// Decides, per patched StatefulSet, whether its rollout stalls: the pods of the new revision never become ready
    /// (their Ready condition goes False and the status stays on the old revision), as a crash-looping registry does.
    /// A later patch rolls out again.
    /// </summary>
    public Func<V1StatefulSet, bool>? StatefulSetRolloutStalls { get; set; }

    /// <summary>Runs an exec: writes standard output and error through the two functions and returns the exit code.</summary>
    public Func<PodExecRequest, Func<string, Task>, Func<string, Task>, Task<int>>? Exec { get; set; }

    /// <summary>Gets or sets whether the stand-in speaks <c>v5.channel.k8s.io</c> (Kubernetes 1.30+); when not, only v4.</summary>
    public bool OfferV5 { get; set; } = true;

    /// <summary>Gets every exec the stand-in ran, in order.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<PodExecRequest> Execs { get; } = new();

    /// <summary>Gets a stored object as the API serves it now.</summary>
    /// <typeparam name="T">The object type.</typeparam>
    /// <param name="resource">The resource, e.g. <c>statefulsets</c>.</param>
    /// <param name="namespace">The namespace.</param>
    /// <param name="name">The name.</param>
    /// <returns>The object, or <see langword="null"/>.</returns>
    public T? Get<T>(string resource, string @namespace, string name)
        where T : class
    {
        List<StoredObject> list = objects.GetOrAdd(resource, _ => []);
        lock (list)
        {
            StoredObject? found = list.FirstOrDefault(o => o.Namespace == @namespace && o.Name == name);
            return found is null ? null : KubernetesJson.Deserialize<T>(Encoding.UTF8.GetString(found.Json));
        }
    }

    private static StoredObject[] WithLabels(StoredObject[] items, string? selector)
    {
        if (string.IsNullOrEmpty(selector))
        {
            return items;
        }

        (string Key, string Value)[] wanted = selector.Split(',', StringSplitOptions.RemoveEmptyEntries)
            .Select(term => term.Split('=', 2))
            .Select(pair => (pair[0].Trim(), pair.Length > 1 ? pair[1].Trim() : string.Empty))
            .ToArray();
        return items.Where(item =>
        {
            using JsonDocument document = JsonDocument.Parse(item.Json);
            return document.RootElement.TryGetProperty("metadata", out JsonElement metadata)
                && metadata.TryGetProperty("labels", out JsonElement labels)
                && wanted.All(w => labels.TryGetProperty(w.Key, out JsonElement value) && value.GetString() == w.Value);
        }).ToArray();
    }

    private static bool Apply(JsonNode document, JsonArray patch, out string? problem)
    {
        foreach (JsonNode? operation in patch)
        {
            string op = operation!["op"]!.GetValue<string>();
            string path = operation["path"]!.GetValue<string>();
            string[] tokens = path.Split('/').Skip(1).Select(t => t.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal)).ToArray();
            JsonNode? parent = document;
            foreach (string token in tokens[..^1])
            {
                parent = parent is JsonArray array ? array[int.Parse(token, CultureInfo.InvariantCulture)] : parent?[token];
            }

            string last = tokens[^1];
            JsonNode? value = operation["value"]?.DeepClone();
            switch (op, parent)
            {
                case ("test", _):
                    JsonNode? actual = parent is JsonArray a ? a[int.Parse(last, CultureInfo.InvariantCulture)] : parent?[last];
                    if (!JsonNode.DeepEquals(actual, value))
                    {
                        problem = $"the test of {path} failed: it is {actual?.ToJsonString() ?? "missing"}";
                        return false;
                    }

                    break;
                case ("add", JsonArray array):
                    if (last == "-")
                    {
                        array.Add(value);
                    }
                    else
                    {
                        array.Insert(int.Parse(last, CultureInfo.InvariantCulture), value);
                    }

                    break;
                case ("add" or "replace", JsonObject obj):
                    if (op == "replace" && !obj.ContainsKey(last))
                    {
                        problem = $"replace of {path}, which does not exist";
                        return false;
                    }

                    obj[last] = value;
                    break;
                case ("replace", JsonArray array):
                    array[int.Parse(last, CultureInfo.InvariantCulture)] = value;
                    break;
                case ("remove", JsonArray array):
                    array.RemoveAt(int.Parse(last, CultureInfo.InvariantCulture));
                    break;
                case ("remove", JsonObject obj):
                    if (!obj.Remove(last))
                    {
                        problem = $"remove of {path}, which does not exist";
                        return false;
                    }

                    break;
                default:
                    problem = $"{op} of {path}: no such parent";
                    return false;
            }
        }

        problem = null;
        return true;
    }

    private static string Revision(string name, JsonNode? template) =>
        $"{name}-{Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(template?.ToJsonString() ?? string.Empty)))[..10].ToLowerInvariant()}";

    private async Task<bool> TryHandleRegistryWorkloadAsync(HttpContext context, string[] parts)
    {
        string method = context.Request.Method;

        // /apis/apps/v1/namespaces/{ns}/statefulsets/{name}
        if (parts is ["apis", "apps", "v1", "namespaces", string ns, "statefulsets", string name])
        {
            if (method == "GET")
            {
                await this.WriteObjectAsync(context, "statefulsets", ns, name, "StatefulSet");
                return true;
            }

            if (method == "PATCH")
            {
                await this.PatchStatefulSetAsync(context, ns, name);
                return true;
            }
        }

        // /api/v1/namespaces/{ns}/pods/{name}[/exec]
        if (parts is ["api", "v1", "namespaces", string podNamespace, "pods", string pod] && method == "GET")
        {
            await this.WriteObjectAsync(context, "pods", podNamespace, pod, "Pod");
            return true;
        }

        if (parts is ["api", "v1", "namespaces", string execNamespace, "pods", string execPod, "exec"])
        {
            await this.ExecAsync(context, execNamespace, execPod);
            return true;
        }

        return false;
    }

    private async Task WriteObjectAsync(HttpContext context, string resource, string ns, string name, string kind)
    {
        List<StoredObject> list = objects.GetOrAdd(resource, _ => []);
        byte[]? json;
        lock (list)
        {
            json = list.FirstOrDefault(o => o.Namespace == ns && o.Name == name)?.Json;
        }

        if (json is null)
        {
            await WriteStatusAsync(context, 404, "NotFound", $"{resource} \"{name}\" not found", kind);
            return;
        }

        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        await context.Response.Body.WriteAsync(json, context.RequestAborted);
    }

    private async Task PatchStatefulSetAsync(HttpContext context, string ns, string name)
    {
        if (context.Request.ContentType?.StartsWith("application/json-patch+json", StringComparison.Ordinal) != true)
        {
            await WriteStatusAsync(context, 415, "UnsupportedMediaType", $"the stand-in applies JSON patches only, not {context.Request.ContentType}", "StatefulSet");
            return;
        }

        JsonArray patch = (JsonArray)(await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted))!;
        List<StoredObject> sets = objects.GetOrAdd("statefulsets", _ => []);
        JsonNode document;
        V1StatefulSet patched;
        bool rolling;
        string? rejected = null;
        lock (this.workloadGate)
        {
            StoredObject? stored;
            lock (sets)
            {
                stored = sets.FirstOrDefault(o => o.Namespace == ns && o.Name == name);
            }

            if (stored is null)
            {
                document = null!;
                patched = null!;
                rolling = false;
            }
            else
            {
                document = JsonNode.Parse(stored.Json)!;
                string before = document["spec"]?["template"]?.ToJsonString() ?? string.Empty;
                if (!Apply(document, patch, out rejected))
                {
                    patched = null!;
                    rolling = false;
                }
                else
                {
                JsonNode metadata = document["metadata"]!;
                long generation = (metadata["generation"]?.GetValue<long>() ?? 1) + 1;
                metadata["generation"] = generation;
                metadata["resourceVersion"] = (long.Parse(metadata["resourceVersion"]?.GetValue<string>() ?? "1", CultureInfo.InvariantCulture) + 1).ToString(CultureInfo.InvariantCulture);
                rolling = document["spec"]?["template"]?.ToJsonString() != before;
                JsonObject status = document["status"] as JsonObject ?? new JsonObject();
                document["status"] = status;
                if (rolling)
                {
                    status["updateRevision"] = Revision(name, document["spec"]?["template"]);
                    status["updatedReplicas"] = 0;
                    status["readyReplicas"] = 0;
                }

                status["observedGeneration"] = generation;
                this.Replace("statefulsets", ns, name, document);
                patched = KubernetesJson.Deserialize<V1StatefulSet>(document.ToJsonString());
                }
            }
        }

        if (rejected is not null)
        {
            await WriteStatusAsync(context, 422, "Invalid", $"the server rejected our request due to an error in our request: {rejected}", "StatefulSet");
            return;
        }

        if (patched is null)
        {
            await WriteStatusAsync(context, 404, "NotFound", $"statefulsets.apps \"{name}\" not found", "StatefulSet");
            return;
        }

        if (rolling)
        {
            // The controller rolls the pods after the patch is answered, as the real one does.
            _ = Task.Run(async () =>
            {
                if (this.StatefulSetRollout is { } rollout)
                {
                    await rollout(patched);
                }

                if (this.StatefulSetRolloutStalls?.Invoke(patched) == true)
                {
                    this.StallRollout(ns, name);
                }
                else
                {
                    this.FinishRollout(ns, name);
                }
            });
        }

        await WriteJsonAsync(context, 200, document.ToJsonString());
    }

    private void FinishRollout(string ns, string name)
    {
        lock (this.workloadGate)
        {
            V1StatefulSet set = this.Get<V1StatefulSet>("statefulsets", ns, name)!;
            JsonNode document = JsonNode.Parse(KubernetesJson.Serialize(set))!;
            JsonObject status = (JsonObject)document["status"]!;
            string revision = status["updateRevision"]!.GetValue<string>();
            int replicas = set.Spec.Replicas ?? 1;
            status["currentRevision"] = revision;
            status["updatedReplicas"] = replicas;
            status["readyReplicas"] = replicas;
            status["currentReplicas"] = replicas;
            status["availableReplicas"] = replicas;
            this.Replace("statefulsets", ns, name, document);

            List<StoredObject> pods = objects.GetOrAdd("pods", _ => []);
            StoredObject[] owned;
            lock (pods)
            {
                owned = WithLabels(pods.Where(p => p.Namespace == ns).ToArray(), string.Join(',', (set.Spec.Selector?.MatchLabels ?? new Dictionary<string, string>()).Select(l => $"{l.Key}={l.Value}")));
            }

            foreach (StoredObject pod in owned)
            {
                JsonNode node = JsonNode.Parse(pod.Json)!;
                node["metadata"]!["labels"]!["controller-revision-hash"] = revision;
                SetReady(node, true);
                this.Replace("pods", pod.Namespace, pod.Name, node);
            }
        }
    }

    private void StallRollout(string ns, string name)
    {
        lock (this.workloadGate)
        {
            V1StatefulSet set = this.Get<V1StatefulSet>("statefulsets", ns, name)!;
            JsonNode document = JsonNode.Parse(KubernetesJson.Serialize(set))!;
            JsonObject status = (JsonObject)document["status"]!;
            status["readyReplicas"] = 0;
            status["updatedReplicas"] = 0;
            status["availableReplicas"] = 0;
            this.Replace("statefulsets", ns, name, document);

            List<StoredObject> pods = objects.GetOrAdd("pods", _ => []);
            StoredObject[] owned;
            lock (pods)
            {
                owned = WithLabels(pods.Where(p => p.Namespace == ns).ToArray(), string.Join(',', (set.Spec.Selector?.MatchLabels ?? new Dictionary<string, string>()).Select(l => $"{l.Key}={l.Value}")));
            }

            foreach (StoredObject pod in owned)
            {
                JsonNode node = JsonNode.Parse(pod.Json)!;
                SetReady(node, false);
                this.Replace("pods", pod.Namespace, pod.Name, node);
            }
        }
    }

    private static void SetReady(JsonNode pod, bool ready)
    {
        if (pod["status"]?["conditions"] is JsonArray conditions)
        {
            foreach (JsonNode? condition in conditions)
            {
                if (condition?["type"]?.GetValue<string>() == "Ready")
                {
                    condition["status"] = ready ? "True" : "False";
                }
            }
        }
    }

    private void Replace(string resource, string ns, string name, JsonNode document)
    {
        List<StoredObject> list = objects.GetOrAdd(resource, _ => []);
        lock (list)
        {
            int index = list.FindIndex(o => o.Namespace == ns && o.Name == name);
            list[index] = new StoredObject(ns, name, Encoding.UTF8.GetBytes(document.ToJsonString()));
        }
    }

    private async Task ExecAsync(HttpContext context, string ns, string pod)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            await WriteStatusAsync(context, 400, "BadRequest", "Upgrade request required", "Pod");
            return;
        }

        IList<string> offered = context.WebSockets.WebSocketRequestedProtocols;
        string? protocol = offered.FirstOrDefault(p => (p == V5 && this.OfferV5) || p == V4);
        if (protocol is null)
        {
            await WriteStatusAsync(context, 400, "BadRequest", $"none of the offered protocols is spoken here ({string.Join(", ", offered)})", "Pod");
            return;
        }

        var request = new PodExecRequest(ns, pod, context.Request.Query["container"].ToString(), context.Request.Query["command"].Select(c => c ?? string.Empty).ToArray(), protocol);
        this.Execs.Enqueue(request);
        using WebSocket socket = await context.WebSockets.AcceptWebSocketAsync(protocol);
        using var sending = new SemaphoreSlim(1);
        async Task SendAsync(byte channel, byte[] payload)
        {
            byte[] frame = new byte[payload.Length + 1];
            frame[0] = channel;
            payload.CopyTo(frame, 1);
            await sending.WaitAsync();
            try
            {
                await socket.SendAsync(frame, WebSocketMessageType.Binary, endOfMessage: true, CancellationToken.None);
            }
            finally
            {
                sending.Release();
            }
        }

        string status;
        try
        {
            int exit = this.Exec is { } exec
                ? await exec(request, text => SendAsync(1, Encoding.UTF8.GetBytes(text)), text => SendAsync(2, Encoding.UTF8.GetBytes(text)))
                : throw new System.ComponentModel.Win32Exception(2, "no exec handler");
            status = exit == 0
                ? """{"metadata":{},"status":"Success"}"""
                : new JsonObject
                {
                    ["metadata"] = new JsonObject(),
                    ["status"] = "Failure",
                    ["message"] = $"command terminated with non-zero exit code: error executing command [{string.Join(' ', request.Command)}], exit code {exit}",
                    ["reason"] = "NonZeroExitCode",
                    ["details"] = new JsonObject { ["causes"] = new JsonArray(new JsonObject { ["reason"] = "ExitCode", ["message"] = exit.ToString(CultureInfo.InvariantCulture) }) },
                }.ToJsonString();
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            // What the API server sends when the container has no such program.
            status = $$"""{"metadata":{},"status":"Failure","message":{{JsonSerializer.Serialize($"OCI runtime exec failed: exec failed: unable to start container process: exec: \"{request.Command.FirstOrDefault()}\": executable file not found in $PATH: {ex.Message}")}},"reason":"InternalError","code":500}""";
        }

        if (protocol == V5)
        {
            // v5 closes each output channel before the status.
            await SendAsync(255, [1]);
            await SendAsync(255, [2]);
        }

        await SendAsync(3, Encoding.UTF8.GetBytes(status));
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, string.Empty, CancellationToken.None);
    }
}
