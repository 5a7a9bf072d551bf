using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using k8s;
using k8s.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace RegistryCleaner.Tests.Infrastructure;

/// <summary>
/// A Kubernetes API server stand-in on loopback: discovery (<c>/api</c>, <c>/apis</c>, <c>/version</c>) and list
/// endpoints for pods, replicationcontrollers, deployments, replicasets, statefulsets, daemonsets, jobs and cronjobs,
/// cluster-wide and namespaced, paged with <c>limit</c>/<c>continue</c> like the real server, with bearer-token auth
/// and injectable faults. Good enough for the real KubernetesClient and for kubectl.
/// </summary>
public sealed partial class KubernetesApiStandIn : IAsyncDisposable
{
    private static readonly Dictionary<string, (string Kind, string Group, string Version)> Resources = new(StringComparer.Ordinal)
    {
        ["pods"] = ("Pod", "", "v1"),
        ["replicationcontrollers"] = ("ReplicationController", "", "v1"),
        ["deployments"] = ("Deployment", "apps", "v1"),
        ["replicasets"] = ("ReplicaSet", "apps", "v1"),
        ["statefulsets"] = ("StatefulSet", "apps", "v1"),
        ["daemonsets"] = ("DaemonSet", "apps", "v1"),
        ["jobs"] = ("Job", "batch", "v1"),
        ["cronjobs"] = ("CronJob", "batch", "v1"),
    };

    private readonly WebApplication app;
    private readonly ConcurrentDictionary<string, List<StoredObject>> objects = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> expiringContinueTokens = new(StringComparer.Ordinal);
    private readonly ConcurrentBag<Fault> faults = [];
    private readonly ConcurrentDictionary<string, bool> namespaces = new(StringComparer.Ordinal);

    private KubernetesApiStandIn(WebApplication app, string? token)
    {
        this.app = app;
        Token = token;
        BaseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
    }

    /// <summary>The server address, e.g. <c>http://127.0.0.1:40123</c>.</summary>
    public Uri BaseAddress { get; }

    /// <summary>The bearer token every request must carry; <see langword="null"/> serves anonymous requests.</summary>
    /// <remarks>kubectl never sends a token over plain http, so kubectl comparisons run anonymous.</remarks>
    public string? Token { get; }

    /// <summary>Every request served, as <c>GET /path?query</c>, in arrival order.</summary>
    public ConcurrentQueue<string> Requests { get; } = new();

    /// <summary>The resourceVersion reported on lists.</summary>
    public string ResourceVersion { get; set; } = "424242";

    /// <summary>Starts a stand-in on 127.0.0.1 with a free port.</summary>
    /// <param name="token">The bearer token clients must send; <see langword="null"/> for anonymous access.</param>
    /// <returns>The running stand-in.</returns>
    public static async Task<KubernetesApiStandIn> StartAsync(string? token = "stand-in-token")
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
        WebApplication app = builder.Build();
        KubernetesApiStandIn? standIn = null;
        app.UseWebSockets();
        app.Run(context => standIn!.HandleAsync(context));
        await app.StartAsync();
        standIn = new KubernetesApiStandIn(app, token);
        return standIn;
    }

    /// <summary>Adds objects of any served kind; they are listed in namespace/name order.</summary>
    /// <param name="items">Typed objects (<see cref="V1Pod"/>, <see cref="V1Deployment"/>, ...).</param>
    public void Add(params IEnumerable<IKubernetesObject<V1ObjectMeta>> items)
    {
        var touched = new HashSet<List<StoredObject>>();
        foreach (IKubernetesObject<V1ObjectMeta> item in items)
        {
            string resource = KubernetesSampleCluster.ResourceOf(item);
            List<StoredObject> list = objects.GetOrAdd(resource, _ => []);
            lock (list)
            {
                list.Add(new StoredObject(item.Metadata.NamespaceProperty ?? "", item.Metadata.Name, Encoding.UTF8.GetBytes(KubernetesJson.Serialize(item))));
            }

            touched.Add(list);
        }

        foreach (List<StoredObject> list in touched)
        {
            lock (list)
            {
                list.Sort((a, b) => string.CompareOrdinal(a.SortKey, b.SortKey));
            }
        }
    }

    /// <summary>Makes a namespace exist without any object in it (namespaces holding an object always exist).</summary>
    /// <param name="name">The namespace.</param>
    public void AddNamespace(string name) => namespaces[name] = true;

    /// <summary>Answers list requests for a resource with 403 and a real Status object (<c>namespaces</c>: every namespace GET).</summary>
    /// <param name="resource">The resource, e.g. <c>pods</c>.</param>
    /// <param name="namespace">The namespace whose namespaced list is forbidden; <see langword="null"/> forbids the cluster-wide list.</param>
    public void Forbid(string resource, string? @namespace = null) =>
        faults.Add(new Fault(resource, @namespace, Page: null, StatusCode: 403, Delay: null));

    /// <summary>Fails one page of every listing of a resource with a status code (500 by default).</summary>
    /// <param name="resource">The resource.</param>
    /// <param name="page">The 1-based page that fails (2 = the first request with a continue token).</param>
    /// <param name="statusCode">The status code to answer.</param>
    /// <param name="namespace">The namespace of the listing; <see langword="null"/> for the cluster-wide listing.</param>
    public void FailPage(string resource, int page, int statusCode = 500, string? @namespace = null) =>
        faults.Add(new Fault(resource, @namespace, page, statusCode, Delay: null));

    /// <summary>Delays every page of a resource, to provoke client timeouts.</summary>
    /// <param name="resource">The resource.</param>
    /// <param name="delay">How long each page waits before answering.</param>
    /// <param name="namespace">The namespace of the listing; <see langword="null"/> for the cluster-wide listing.</param>
    public void Delay(string resource, TimeSpan delay, string? @namespace = null) =>
        faults.Add(new Fault(resource, @namespace, Page: null, StatusCode: null, delay));

    /// <summary>Makes the next <paramref name="times"/> requests with a continue token for a resource answer 410 Expired.</summary>
    /// <param name="resource">The resource.</param>
    /// <param name="times">How many continued requests expire.</param>
    public void ExpireContinueTokens(string resource, int times = 1) => expiringContinueTokens[resource] = times;

    /// <summary>Writes a kubeconfig with one context (token auth) pointing at this stand-in, and makes it current.</summary>
    /// <param name="path">The file to write.</param>
    /// <param name="context">The context name.</param>
    public void WriteKubeConfig(string path, string context = "stand-in") => WriteKubeConfig(path, [(context, this)]);

    /// <summary>Writes a kubeconfig with one context per stand-in; the first is current.</summary>
    /// <param name="path">The file to write.</param>
    /// <param name="contexts">Context names and the stand-ins they point at.</param>
    public static void WriteKubeConfig(string path, IReadOnlyList<(string Context, KubernetesApiStandIn StandIn)> contexts)
    {
        var yaml = new StringBuilder();
        yaml.AppendLine("apiVersion: v1").AppendLine("kind: Config").AppendLine("clusters:");
        foreach ((string context, KubernetesApiStandIn standIn) in contexts)
        {
            yaml.AppendLine(CultureInfo.InvariantCulture, $"- name: {context}-cluster")
                .AppendLine("  cluster:")
                .AppendLine(CultureInfo.InvariantCulture, $"    server: {standIn.BaseAddress.ToString().TrimEnd('/')}");
        }

        yaml.AppendLine("users:");
        foreach ((string context, KubernetesApiStandIn standIn) in contexts)
        {
            yaml.AppendLine(CultureInfo.InvariantCulture, $"- name: {context}-user")
                .AppendLine("  user:")
                .AppendLine(CultureInfo.InvariantCulture, $"    token: {standIn.Token ?? "anonymous"}"); // KubernetesClient insists on a credential
        }

        yaml.AppendLine("contexts:");
        foreach ((string context, _) in contexts)
        {
            yaml.AppendLine(CultureInfo.InvariantCulture, $"- name: {context}")
                .AppendLine("  context:")
                .AppendLine(CultureInfo.InvariantCulture, $"    cluster: {context}-cluster")
                .AppendLine(CultureInfo.InvariantCulture, $"    user: {context}-user");
        }

        yaml.AppendLine(CultureInfo.InvariantCulture, $"current-context: {contexts[0].Context}");
        File.WriteAllText(path, yaml.ToString());
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        HttpRequest request = context.Request;
        Requests.Enqueue($"{request.Method} {request.Path}{request.QueryString}");
        if (Token is not null && request.Headers.Authorization.ToString() != $"Bearer {Token}")
        {
            await WriteStatusAsync(context, 401, "Unauthorized", "Unauthorized", null);
            return;
        }

        string path = request.Path.Value ?? "/";
        string[] parts = path.Trim('/').Split('/');
        if (await TryHandleRegistryWorkloadAsync(context, parts))
        {
            return;
        }

        if (await TryHandleSecretAsync(context, parts))
        {
            return;
        }
        switch (path)
        {
            case "/version":
                await WriteJsonAsync(context, 200, """{"major":"1","minor":"31","gitVersion":"v1.31.0","gitCommit":"stand-in","gitTreeState":"clean","buildDate":"2024-08-13T00:00:00Z","goVersion":"go1.22.5","compiler":"gc","platform":"linux/amd64"}""");
                return;
            case "/api":
                await WriteJsonAsync(context, 200, """{"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[{"clientCIDR":"0.0.0.0/0","serverAddress":"127.0.0.1"}]}""");
                return;
            case "/apis":
                await WriteJsonAsync(context, 200, """{"kind":"APIGroupList","apiVersion":"v1","groups":[{"name":"apps","versions":[{"groupVersion":"apps/v1","version":"v1"}],"preferredVersion":{"groupVersion":"apps/v1","version":"v1"}},{"name":"batch","versions":[{"groupVersion":"batch/v1","version":"v1"}],"preferredVersion":{"groupVersion":"batch/v1","version":"v1"}}]}""");
                return;
            case "/api/v1":
                await WriteResourceListAsync(context, "v1", "");
                return;
            case "/apis/apps/v1":
                await WriteResourceListAsync(context, "apps/v1", "apps");
                return;
            case "/apis/batch/v1":
                await WriteResourceListAsync(context, "batch/v1", "batch");
                return;
        }

        if (request.Method == "GET" && parts is ["api", "v1", "namespaces", string name])
        {
            await ReadNamespaceAsync(context, name);
            return;
        }

        // /api/v1/[namespaces/{ns}/]{resource} or /apis/{group}/v1/[namespaces/{ns}/]{resource}
        int start = parts.Length > 0 && parts[0] == "api" ? 2 : 3;
        string group = start == 3 && parts.Length > 1 ? parts[1] : "";
        string? ns = null;
        string? resource = null;
        if (parts.Length == start + 1)
        {
            resource = parts[start];
        }
        else if (parts.Length == start + 3 && parts[start] == "namespaces")
        {
            ns = parts[start + 1];
            resource = parts[start + 2];
        }

        if (request.Method != "GET" || resource is null || !Resources.TryGetValue(resource, out var info) || info.Group != group)
        {
            await WriteStatusAsync(context, 404, "NotFound", "the server could not find the requested resource", null);
            return;
        }

        await ListAsync(context, resource, info.Kind, info.Group.Length == 0 ? "v1" : $"{info.Group}/v1", ns);
    }

    /// <summary>Serves GET of one namespace: those holding an object, and those added with <see cref="AddNamespace"/>, exist.</summary>
    private async Task ReadNamespaceAsync(HttpContext context, string name)
    {
        if (faults.Any(fault => fault.Resource == "namespaces" && fault.StatusCode == 403))
        {
            await WriteStatusAsync(context, 403, "Forbidden", $"namespaces \"{name}\" is forbidden: User \"system:serviceaccount:domino-platform:registry-cleaner\" cannot get resource \"namespaces\" in API group \"\" in the namespace \"{name}\"", "namespaces");
            return;
        }

        bool exists = namespaces.ContainsKey(name) || objects.Values.Any(list =>
        {
            lock (list)
            {
                return list.Exists(item => item.Namespace == name);
            }
        });
        if (!exists)
        {
            await WriteStatusAsync(context, 404, "NotFound", $"namespaces \"{name}\" not found", "namespaces");
            return;
        }

        string body = JsonSerializer.Serialize(new { kind = "Namespace", apiVersion = "v1", metadata = new { name, resourceVersion = "1" }, status = new { phase = "Active" } });
        await WriteJsonAsync(context, 200, body);
    }

    private async Task ListAsync(HttpContext context, string resource, string kind, string apiVersion, string? ns)
    {
        string? limitText = context.Request.Query["limit"];
        string? continueToken = context.Request.Query["continue"];
        int offset = 0;
        int page = 1;
        if (!string.IsNullOrEmpty(continueToken))
        {
            string[] token = Encoding.UTF8.GetString(Convert.FromBase64String(continueToken)).Split('|');
            offset = int.Parse(token[0], CultureInfo.InvariantCulture);
            page = int.Parse(token[1], CultureInfo.InvariantCulture);
            if (expiringContinueTokens.TryGetValue(resource, out int remaining) && remaining > 0)
            {
                expiringContinueTokens[resource] = remaining - 1;
                await WriteStatusAsync(context, 410, "Expired", "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.", null);
                return;
            }
        }

        foreach (Fault fault in faults.Where(fault => fault.Resource == resource && fault.Namespace == ns))
        {
            if (fault.Delay is { } delay)
            {
                await Task.Delay(delay, context.RequestAborted);
            }

            if (fault.StatusCode == 403)
            {
                string group = Resources[resource].Group;
                string scope = ns is null ? "at the cluster scope" : $"in the namespace \"{ns}\"";
                await WriteStatusAsync(context, 403, "Forbidden", $"{resource}{(group.Length == 0 ? "" : "." + group)} is forbidden: User \"system:serviceaccount:domino-platform:registry-cleaner\" cannot list resource \"{resource}\" in API group \"{group}\" {scope}", resource);
                return;
            }

            if (fault.StatusCode is { } code && fault.Page == page)
            {
                await WriteStatusAsync(context, code, code >= 500 ? "InternalError" : "BadRequest", $"Internal error occurred: stand-in fault on page {page} of {resource}", resource);
                return;
            }
        }

        List<StoredObject> all = objects.GetOrAdd(resource, _ => []);
        StoredObject[] scoped;
        lock (all)
        {
            scoped = ns is null ? all.ToArray() : all.Where(item => item.Namespace == ns).ToArray();
        }

        scoped = WithLabels(scoped, context.Request.Query["labelSelector"]);

        int limit = int.TryParse(limitText, CultureInfo.InvariantCulture, out int parsed) && parsed > 0 ? parsed : int.MaxValue;
        int count = Math.Min(limit, Math.Max(0, scoped.Length - offset));
        bool more = offset + count < scoped.Length;

        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        Stream body = context.Response.Body;
        var header = new StringBuilder();
        header.Append(CultureInfo.InvariantCulture, $"{{\"kind\":\"{kind}List\",\"apiVersion\":\"{apiVersion}\",\"metadata\":{{\"resourceVersion\":\"{ResourceVersion}\"");
        if (more)
        {
            string next = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{offset + count}|{page + 1}"));
            header.Append(CultureInfo.InvariantCulture, $$""","continue":"{{next}}","remainingItemCount":{{scoped.Length - offset - count}}""");
        }

        header.Append("},\"items\":[");
        await body.WriteAsync(Encoding.UTF8.GetBytes(header.ToString()), context.RequestAborted);
        for (int i = 0; i < count; i++)
        {
            if (i > 0)
            {
                await body.WriteAsync(","u8.ToArray(), context.RequestAborted);
            }

            await body.WriteAsync(scoped[offset + i].Json, context.RequestAborted);
        }

        await body.WriteAsync("]}"u8.ToArray(), context.RequestAborted);
    }

    private static Task WriteResourceListAsync(HttpContext context, string groupVersion, string group)
    {
        var resources = Resources
            .Where(pair => pair.Value.Group == group)
            .Select(pair => new
            {
                name = pair.Key,
                singularName = pair.Value.Kind.ToLowerInvariant(),
                @namespaced = true,
                kind = pair.Value.Kind,
                verbs = new[] { "get", "list", "watch" },
                shortNames = ShortNames(pair.Key),
            });
        return WriteJsonAsync(context, 200, JsonSerializer.Serialize(new { kind = "APIResourceList", apiVersion = "v1", groupVersion, resources }));
    }

    private static string[] ShortNames(string resource) => resource switch
    {
        "pods" => ["po"],
        "replicationcontrollers" => ["rc"],
        "deployments" => ["deploy"],
        "replicasets" => ["rs"],
        "statefulsets" => ["sts"],
        "daemonsets" => ["ds"],
        "cronjobs" => ["cj"],
        _ => [],
    };

    private static Task WriteStatusAsync(HttpContext context, int code, string reason, string message, string? kind)
    {
        string details = kind is null ? "" : $",\"details\":{{\"kind\":\"{kind}\"}}";
        return WriteJsonAsync(context, code, $$"""{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":{{JsonSerializer.Serialize(message)}},"reason":"{{reason}}"{{details}},"code":{{code}}}""");
    }

    private static async Task WriteJsonAsync(HttpContext context, int code, string json)
    {
        context.Response.StatusCode = code;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(json, context.RequestAborted);
    }

    private sealed record StoredObject(string Namespace, string Name, byte[] Json)
    {
        public string SortKey { get; } = $"{Namespace}/{Name}";
    }

    private sealed record Fault(string Resource, string? Namespace, int? Page, int? StatusCode, TimeSpan? Delay);
}
