using System.Net;
using System.Text.Json;
using k8s;
using k8s.Autorest;
using k8s.Exceptions;

namespace RegistryCleaner.Workloads;

/// <summary>
/// Reads which images live workloads use, through the Kubernetes API: pods and the pod templates of every controller
/// kind, in every namespace (or the ones asked for), of one or more contexts merged into one usage set.
/// </summary>
/// <remarks>
/// Fails closed: any listing that cannot be completed (401, 403, 5xx, timeout, unreachable server, a continue token
/// that expires twice) throws <see cref="WorkloadAccessException"/>; a partial set is never returned.
/// </remarks>
public static class KubernetesWorkloadScanner
{
    private const string InClusterContext = "in-cluster";

    /// <summary>Scans the contexts and namespaces the options name.</summary>
    /// <param name="options">Kubeconfig, contexts, namespaces, timeout, page size and parallelism.</param>
    /// <param name="cancellationToken">Stops every listing.</param>
    /// <returns>The merged scan; <see cref="WorkloadScan.Complete"/> is <see langword="true"/>.</returns>
    /// <exception cref="WorkloadAccessException">A kind could not be listed completely in a namespace of a context.</exception>
    /// <exception cref="FileNotFoundException">The explicit kubeconfig does not exist.</exception>
    /// <exception cref="KubeConfigInvalidException">
    /// No kubeconfig was found and the process does not run in a cluster, or a context is missing or unusable.
    /// </exception>
    public static async Task<WorkloadScan> ScanAsync(WorkloadScanOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.PageSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.ThrottleLimit, 1);
        DateTimeOffset readAt = DateTimeOffset.UtcNow;

        List<(string Context, Kubernetes Client, string Server)> clients = CreateClients(options);
        try
        {
            string?[] namespaces = options.Namespaces.Count == 0 ? new string?[] { null } : options.Namespaces.Distinct(StringComparer.Ordinal).ToArray();

            // A namespaced list of a namespace that does not exist answers an empty list, which would protect nothing.
            List<(string Context, string Namespace)> unverified = options.Namespaces.Count == 0
                ? []
                : await CheckNamespacesAsync(clients, namespaces.OfType<string>().ToArray(), options, cancellationToken).ConfigureAwait(false);
            var listings = (
                from client in clients
                from kind in WorkloadKind.All
                from ns in namespaces
                select new Listing(client.Context, client.Client, kind, ns)).ToList();

            using var failFast = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            using var throttle = new SemaphoreSlim(options.ThrottleLimit);
            Task<WorkloadUsageCollector>[] tasks = listings
                .Select(listing => RunThrottledAsync(listing, options, throttle, failFast))
                .ToArray();
            try
            {
                await Task.WhenAll(tasks).ConfigureAwait(false);
            }
            catch (Exception) when (!cancellationToken.IsCancellationRequested)
            {
                // Report the first real access failure, not the cancellations it caused in sibling listings.
                Exception? first = tasks
                    .Where(task => task.IsFaulted)
                    .Select(task => task.Exception!.InnerException!)
                    .OrderBy(error => error is WorkloadAccessException ? 0 : 1)
                    .FirstOrDefault();
                if (first is not null)
                {
                    System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(first).Throw();
                }

                throw;
            }

            foreach ((string context, string ns) in unverified)
            {
                int objects = listings.Select((listing, i) => (listing, i))
                    .Where(pair => pair.listing.Context == context && pair.listing.Namespace == ns)
                    .Sum(pair => tasks[pair.i].Result.ObjectCount);
                if (objects == 0)
                {
                    throw new WorkloadAccessException(
                        $"Namespace '{ns}' of context '{context}' holds no workloads, and whether it exists cannot be told: the API server forbids reading it (get namespaces). "
                        + $"Image usage is unknown, so nothing may be deleted. Check the name, or grant get on namespaces/{ns} to the user of context '{context}' (a ClusterRole with verb get on namespaces, bound by a ClusterRoleBinding).",
                        context,
                        "namespaces",
                        ns,
                        403,
                        $"get namespaces/{ns}",
                        null);
                }
            }

            var merged = new WorkloadUsageCollector();
            foreach (Task<WorkloadUsageCollector> task in tasks)
            {
                merged.MergeFrom(task.Result);
            }

            string scope = options.Namespaces.Count == 0 ? "all namespaces" : "namespaces " + string.Join(", ", namespaces);
            string kinds = string.Join(", ", WorkloadKind.All.Select(kind => kind.Resource));
            var sources = clients
                .Select(client => $"context '{client.Context}' ({client.Server}): {kinds} in {scope}")
                .ToArray();
            return merged.ToScan(sources, readAt, complete: true);
        }
        finally
        {
            foreach ((_, Kubernetes client, _) in clients)
            {
                client.Dispose();
            }
        }
    }

    private static List<(string Context, Kubernetes Client, string Server)> CreateClients(WorkloadScanOptions options)
    {
        string? path = KubeConfigLocator.Resolve(options.KubeConfigPath);
        var configurations = new List<(string Context, KubernetesClientConfiguration Configuration)>();
        if (path is null)
        {
            if (options.Contexts.Count > 0 || !KubernetesClientConfiguration.IsInCluster())
            {
                throw new KubeConfigInvalidException(
                    "No kubeconfig was found (no -KubeConfig, KUBECONFIG or ~/.kube/config)"
                    + (options.Contexts.Count > 0 ? $" to read the context(s) {string.Join(", ", options.Contexts)} from" : " and this process does not run inside a cluster")
                    + ". Pass -KubeConfig or set KUBECONFIG.");
            }

            configurations.Add((InClusterContext, KubernetesClientConfiguration.InClusterConfig()));
        }
        else if (options.Contexts.Count == 0)
        {
            KubernetesClientConfiguration configuration = LoadContext(path, null);
            configurations.Add((configuration.CurrentContext ?? "current", configuration));
        }
        else
        {
            string[] known = [.. KubeConfigContexts.Read(path).Contexts.Select(c => c.Name)];
            string[] missing = [.. options.Contexts.Where(c => !known.Contains(c, StringComparer.Ordinal)).Distinct(StringComparer.Ordinal)];
            if (missing.Length > 0)
            {
                throw new KubeConfigInvalidException(
                    $"The kubeconfig '{path}' has no context {string.Join(", ", missing.Select(m => $"'{m}'"))}, so its usage cannot be read. Contexts in the file: {(known.Length == 0 ? "none" : string.Join(", ", known))}.");
            }

            foreach (string context in options.Contexts.Distinct(StringComparer.Ordinal))
            {
                configurations.Add((context, LoadContext(path, context)));
            }
        }

        var clients = new List<(string, Kubernetes, string)>();
        foreach ((string context, KubernetesClientConfiguration configuration) in configurations)
        {
            // Our own per-request deadline fires first, so a timeout is told apart from the caller cancelling.
            configuration.HttpClientTimeout = options.RequestTimeout + TimeSpan.FromSeconds(5);
            clients.Add((context, new Kubernetes(configuration), configuration.Host ?? ""));
        }

        return clients;
    }

    /// <summary>
    /// Reads each namespace of each context: a 404 stops the scan naming it; a 403 leaves it unverified (returned), to be
    /// accepted only when its listings find workloads; any other failure is a <see cref="WorkloadAccessException"/>.
    /// </summary>
    private static async Task<List<(string Context, string Namespace)>> CheckNamespacesAsync(
        List<(string Context, Kubernetes Client, string Server)> clients, string[] namespaces, WorkloadScanOptions options, CancellationToken cancellationToken)
    {
        var checks = (from client in clients from ns in namespaces select CheckNamespaceAsync(client, ns, options.RequestTimeout, cancellationToken)).ToArray();
        (string, string)?[] results = await Task.WhenAll(checks).ConfigureAwait(false);
        return [.. results.OfType<(string, string)>()];
    }

    private static async Task<(string, string)?> CheckNamespaceAsync((string Context, Kubernetes Client, string Server) client, string ns, TimeSpan timeout, CancellationToken cancellationToken)
    {
        string permission = $"get namespaces/{ns}";
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            await client.Client.CoreV1.ReadNamespaceAsync(ns, cancellationToken: deadline.Token).ConfigureAwait(false);
            return null;
        }
        catch (HttpOperationException error) when (error.Response?.StatusCode == HttpStatusCode.NotFound)
        {
            throw new WorkloadNamespaceNotFoundException(
                $"Namespace '{ns}' does not exist in context '{client.Context}' ({client.Server}), so reading it would protect nothing: nothing is read, planned or deleted. "
                + "Check the name (kubectl get namespaces), or leave out -Namespace (and kubernetes.namespaces) to read every namespace.",
                client.Context,
                ns);
        }
        catch (HttpOperationException error) when (error.Response?.StatusCode == HttpStatusCode.Forbidden)
        {
            return (client.Context, ns);
        }
        catch (HttpOperationException error)
        {
            int code = (int)(error.Response?.StatusCode ?? 0);
            throw new WorkloadAccessException(
                $"Cannot read namespace '{ns}' of context '{client.Context}': the API server answered {code} {error.Response?.ReasonPhrase}. Image usage is unknown, so nothing may be deleted. Run the command again when the API server is healthy.",
                client.Context, "namespaces", ns, code, permission, error);
        }
        catch (OperationCanceledException error) when (!cancellationToken.IsCancellationRequested)
        {
            throw new WorkloadAccessException(
                $"Cannot read namespace '{ns}' of context '{client.Context}': the request timed out after {timeout.TotalSeconds:0.###} s. Image usage is unknown, so nothing may be deleted. Check that the API server is reachable, or raise -TimeoutSec.",
                client.Context, "namespaces", ns, null, permission, error);
        }
        catch (HttpRequestException error)
        {
            throw new WorkloadAccessException(
                $"Cannot read namespace '{ns}' of context '{client.Context}': the API server could not be reached ({error.Message}). Image usage is unknown, so nothing may be deleted. Check the server address in the kubeconfig and the network.",
                client.Context, "namespaces", ns, null, permission, error);
        }
    }

    private static KubernetesClientConfiguration LoadContext(string path, string? context)
    {
        try
        {
            return KubernetesClientConfiguration.BuildConfigFromConfigFile(path, context);
        }
        catch (KubeConfigException error)
        {
            // Keep KubernetesClient's exception type inside the engine; the message is what the user needs.
            throw new KubeConfigInvalidException(
                $"The kubeconfig '{path}' cannot be used for {(context is null ? "its current context" : $"context '{context}'")}: {error.Message}",
                error);
        }
    }

    private static async Task<WorkloadUsageCollector> RunThrottledAsync(
        Listing listing, WorkloadScanOptions options, SemaphoreSlim throttle, CancellationTokenSource failFast)
    {
        await throttle.WaitAsync(failFast.Token).ConfigureAwait(false);
        try
        {
            return await ListAllAsync(listing, options, failFast.Token).ConfigureAwait(false);
        }
        catch (Exception)
        {
            await failFast.CancelAsync().ConfigureAwait(false);
            throw;
        }
        finally
        {
            throttle.Release();
        }
    }

    private static async Task<WorkloadUsageCollector> ListAllAsync(Listing listing, WorkloadScanOptions options, CancellationToken cancellationToken)
    {
        bool restarted = false;
        while (true)
        {
            // A fresh collector per attempt: a restart must not keep pages of an inconsistent earlier list.
            var collector = new WorkloadUsageCollector();
            string? continueToken = null;
            try
            {
                do
                {
                    continueToken = await ListPageAsync(listing, continueToken, options, collector, cancellationToken).ConfigureAwait(false);
                    options.Progress?.Report(new WorkloadListingProgress(
                        listing.Context, listing.Resource, listing.Namespace, collector.ObjectCount, string.IsNullOrEmpty(continueToken)));
                }
                while (!string.IsNullOrEmpty(continueToken));

                return collector;
            }
            catch (HttpOperationException error) when (error.Response?.StatusCode == HttpStatusCode.Gone && continueToken is not null && !restarted)
            {
                restarted = true; // the continue token expired: list again from the start, once
            }
            catch (HttpOperationException error) when (error.Response?.StatusCode == HttpStatusCode.Gone)
            {
                throw listing.FailFromResponse(error);
            }
        }
    }

    private static async Task<string?> ListPageAsync(
        Listing listing, string? continueToken, WorkloadScanOptions options, WorkloadUsageCollector collector, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.RequestTimeout);
        try
        {
            return await listing.Type.ListPageAsync(listing.Client, listing.Namespace, continueToken, options.PageSize, collector, deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException error) when (!cancellationToken.IsCancellationRequested)
        {
            throw listing.Fail(
                $"the request timed out after {options.RequestTimeout.TotalSeconds:0.###} s",
                null,
                "Check that the API server is reachable and healthy, or raise the request timeout (-TimeoutSec).",
                error);
        }
        catch (HttpOperationException error) when (error.Response?.StatusCode != HttpStatusCode.Gone || continueToken is null)
        {
            // A 410 on a continued page propagates as is, so ListAllAsync can restart the listing.
            throw listing.FailFromResponse(error);
        }
        catch (HttpRequestException error)
        {
            throw listing.Fail($"the API server could not be reached ({error.Message})", null, "Check the server address in the kubeconfig and the network.", error);
        }
    }

    /// <summary>One kind in one namespace (or all) of one context.</summary>
    private sealed record Listing(string Context, Kubernetes Client, WorkloadKind Type, string? Namespace)
    {
        public string Resource => this.Type.Resource;

        private string Group => this.Type.Group;

        private string Scope => Namespace is null ? "all namespaces" : $"namespace '{Namespace}'";

        private string GroupResource => Group.Length == 0 ? Resource : $"{Resource}.{Group}";

        public string Permission => $"list {GroupResource} in {Scope}";

        public WorkloadAccessException Fail(string what, int? statusCode, string advice, Exception? inner) => new(
            $"Cannot list {Resource} in {Scope} of context '{Context}': {what}. Image usage is unknown, so nothing may be deleted. "
            + $"The scan needs permission to {Permission}. {advice}",
            Context,
            Resource,
            Namespace,
            statusCode,
            Permission,
            inner);

        public WorkloadAccessException FailFromResponse(HttpOperationException error)
        {
            int code = (int)(error.Response?.StatusCode ?? 0);
            string? serverMessage = ReadStatusMessage(error.Response?.Content);
            string what = $"the API server answered {code} {error.Response?.ReasonPhrase}"
                + (serverMessage is null ? "" : $" ({serverMessage})");
            string grant = Namespace is null
                ? $"Grant list on {GroupResource} in all namespaces to the user of context '{Context}' (a ClusterRole with verb list on {Resource} in API group \"{Group}\", bound by a ClusterRoleBinding), or narrow the scan to namespaces it may read (-Namespace)."
                : $"Grant list on {GroupResource} in namespace '{Namespace}' to the user of context '{Context}' (a Role or ClusterRole with verb list on {Resource} in API group \"{Group}\", bound by a RoleBinding in '{Namespace}').";
            string advice = code switch
            {
                401 => $"The credentials of context '{Context}' were rejected: refresh the token or certificate in the kubeconfig.",
                403 => grant,
                410 => "The list changed faster than it could be paged twice in a row; run the scan again.",
                >= 500 => "The API server failed; run the scan again when it is healthy.",
                _ => "Check the API server and the kubeconfig.",
            };
            return Fail(what, code, advice, error);
        }

        private static string? ReadStatusMessage(string? content)
        {
            if (string.IsNullOrWhiteSpace(content))
            {
                return null;
            }

            try
            {
                using JsonDocument status = JsonDocument.Parse(content);
                return status.RootElement.ValueKind == JsonValueKind.Object
                    && status.RootElement.TryGetProperty("message", out JsonElement message) && message.ValueKind == JsonValueKind.String
                    ? message.GetString()
                    : null;
            }
            catch (JsonException)
            {
                return content.Length > 200 ? content[..200] : content;
            }
        }
    }
}
