using System.Diagnostics;
using System.Management.Automation;
using RegistryCleaner.Configuration;
using RegistryCleaner.Domino;
using RegistryCleaner.Planning;
using RegistryCleaner.Registry;
using RegistryCleaner.Workloads;

namespace RegistryCleaner.PowerShell;

/// <summary>The plan both Get-UnusedImage and Remove-UnusedImage work from, with the client that read it.</summary>
/// <param name="Plan">The plan.</param>
/// <param name="Client">The registry client; the caller disposes it.</param>
/// <param name="Usage">The usage the plan protected.</param>
/// <param name="PlannedTags">The digest of every tag of every repository when the inventory was read (repository to tag to digest).</param>
public sealed record UnusedImagePlan(DeletionPlan Plan, RegistryClient Client, UsageSnapshot Usage, IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> PlannedTags)
{
    /// <summary>Gets Domino's revisions and builds with their owners, when Domino's records were read.</summary>
    public DominoImageCatalog? Domino { get; init; }
}

/// <content>Planning unused images: usage, the whole-catalog inventory and the planner, shared by the unused-image cmdlets.</content>
public abstract partial class RegistryCmdlet
{
    /// <summary>
    /// Reads usage (from -InUse or live, fail closed), the inventory of the whole catalog (blobs are shared across
    /// repositories, so exact bytes need every repository) and plans. Stops the command with a terminating error when
    /// usage or the inventory cannot be read completely enough to plan. Call on the pipeline thread.
    /// </summary>
    /// <param name="query">The bound parameters.</param>
    /// <returns>The plan and the client that read it (the caller disposes it).</returns>
    protected UnusedImagePlan PlanUnusedImages(UnusedImageQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        RegistryCleanerConfiguration configuration = this.Configuration;
        IReadOnlyList<string>? objectIds = this.ResolveObjectIds(query.ObjectId, query.ObjectIdPath);
        RegistryEndpoint endpoint = this.ResolveEndpoint();
        UsageSnapshot? given = null;
        if (query.InUse is not null)
        {
            try
            {
                given = UsageSource.FromInUse(query.InUse);
            }
            catch (ArgumentException ex)
            {
                throw this.Terminate(ex, "InUseInvalid", ErrorCategory.InvalidData, null);
            }
        }

        WorkloadScanOptions? scanOptions = given is null
            ? UsageSource.ScanOptions(configuration, query.KubeConfig is null ? null : this.ResolveFilePath(query.KubeConfig), query.Context, query.Namespace, this.EffectiveTimeout, null)
            : null;
        IReadOnlyList<string> dominoRepositories = configuration.DominoRepositories();
        ImageConfigCache? cache = this.OpenConfigCache();
        RegistryClient client = this.CreateRegistryClient(endpoint);
        try
        {
            (DeletionPlan plan, UsageSnapshot usage, IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> plannedTags, DominoImageCatalog? domino) = this.RunEngine(async (queue, token) =>
            {
                UsageSnapshot usage;
                if (given is not null)
                {
                    usage = given;
                }
                else
                {
                    queue.Verbose($"Reading the images Kubernetes workloads use ({DescribeScan(scanOptions!)}).");
                    var progress = new ThrottledProgress(queue, 1, "Reading Kubernetes workloads");
                    usage = await UsageSource.ReadLiveAsync(
                        scanOptions! with { Progress = new Progress<WorkloadListingProgress>(p => progress.Report($"{p.Context}: {p.Resource}{(p.Namespace is null ? string.Empty : " in " + p.Namespace)} ({p.ObjectsRead})", -1)) },
                        token).ConfigureAwait(false);
                    progress.Complete();
                }

                IReadOnlyList<string> repositories = await this.ResolveRepositoriesAsync(query.Repository, client, token).ConfigureAwait(false);
                DominoUsageReport? records = query.Mongo is { } mongo
                    ? await ReadDominoUsageAsync(mongo, query.Targets?.Select(t => t.Repository) ?? repositories, dominoRepositories, queue, token).ConfigureAwait(false)
                    : null;
                if (records is not null)
                {
                    usage = DominoProtection.Protect(usage, endpoint.DisplayName, records.Pins, $"MongoDB {query.Mongo!.Settings?.Target} ({records.References.Count} references)");
                }

                foreach (string source in usage.Sources)
                {
                    queue.Verbose($"Usage read from {source}.");
                }

                queue.Verbose($"Reading the whole catalog of {endpoint.DisplayName} (layers are shared across repositories).");
                var inventoryProgress = new ThrottledProgress(queue, 2, $"Reading {endpoint.DisplayName}");
                var reader = new InventoryReader(client, new InventoryReaderOptions
                {
                    Progress = new Progress<InventoryProgress>(p => inventoryProgress.Report(
                        p.TagsTotal == 0 ? $"Listing tags: {p.RepositoriesListed} of {p.RepositoriesTotal} repositories" : $"Reading manifests: {p.TagsDone} of {p.TagsTotal} tags",
                        p.TagsTotal == 0 ? -1 : (int)(100L * p.TagsDone / Math.Max(1, p.TagsTotal)))),
                    ConfigCache = cache,
                });
                RegistryInventory inventory = await reader.ReadAllAsync(token).ConfigureAwait(false);
                SaveConfigCache(cache, queue);
                inventoryProgress.Complete();
                foreach (TagReadResult failed in reader.Errors)
                {
                    queue.Error(RegistryErrorRecord(failed.Error!, failed.Name));
                }

                var hosts = new List<string> { endpoint.DisplayName };
                hosts.AddRange(configuration.GetList(ConfigSchema.RegistryAliases));
                var options = new PlanOptions
                {
                    Repositories = query.Targets is null ? repositories : [],
                    Include = query.Include,
                    Exclude = query.Exclude,
                    ObjectIds = objectIds ?? [],
                    KeepLatest = query.KeepLatest,
                    OlderThan = query.OlderThan,
                    Now = DateTimeOffset.UtcNow,
                    StrictHost = query.StrictHost,
                    RegistryHosts = hosts,
                    Targets = query.Targets,
                    AcceptIncompleteInventory = !query.ForDeletion,
                };
                IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> tagsByRepository = inventory.Tags
                    .GroupBy(t => t.Repository, StringComparer.Ordinal)
                    .ToDictionary(g => g.Key, g => (IReadOnlyDictionary<string, string>)g.ToDictionary(t => t.Tag, t => t.Digest, StringComparer.Ordinal), StringComparer.Ordinal);
                var request = new PlanRequest(inventory, usage, options);
                DeletionPlan planned = DeletionPlanner.Plan(request);
                if (records is not null)
                {
                    (planned, usage) = KeepCloneChains(request, planned, records.Catalog, endpoint.DisplayName);
                }

                return (planned, usage, tagsByRepository, records?.Catalog);
            });

            if (plan.BytesAreEstimates)
            {
                this.WriteWarning("Some tags could not be read, so ReclaimableBytes are estimates (blobs are shared with what was not read).");
            }

            return new UnusedImagePlan(plan, client, usage, plannedTags) { Domino = domino };
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            client.Dispose();
            ErrorRecord record = ex switch
            {
                WorkloadAccessException access => new ErrorRecord(
                    new InvalidOperationException($"Image usage could not be read, so nothing is planned or deleted: {access.Message}", access),
                    "WorkloadUsageUnreadable",
                    access.StatusCode is 401 or 403 ? ErrorCategory.PermissionDenied : ErrorCategory.ResourceUnavailable,
                    access.Context),
                UsageIncompleteException incomplete => new ErrorRecord(incomplete, "WorkloadUsageIncomplete", ErrorCategory.ResourceUnavailable, null),
                DominoDatabaseException unreadable => DominoUsageUnreadable(unreadable, query.Mongo),
                InventoryIncompleteException inventory => new ErrorRecord(inventory, "RegistryInventoryIncomplete", ErrorCategory.ResourceUnavailable, endpoint.DisplayName),
                RegistryException registry => RegistryErrorRecord(registry, endpoint.DisplayName),
                ArgumentException argument => new ErrorRecord(argument, "PlanOptionsInvalid", ErrorCategory.InvalidArgument, null),

                // The Kubernetes scanner's own refusals: no kubeconfig outside a cluster, an unknown context, an unusable file.
                InvalidOperationException kube when given is null && ex.Source?.StartsWith("RegistryCleaner", StringComparison.Ordinal) == true =>
                    new ErrorRecord(kube, "KubeConfigInvalid", ErrorCategory.InvalidArgument, query.KubeConfig),
                _ => null!,
            };
            if (record is null)
            {
                throw;
            }

            this.ThrowTerminatingError(record);
            throw;
        }
    }

    private static string DescribeScan(WorkloadScanOptions options) =>
        $"contexts: {(options.Contexts.Count == 0 ? "current" : string.Join(", ", options.Contexts))}; namespaces: {(options.Namespaces.Count == 0 ? "all" : string.Join(", ", options.Namespaces))}";

    /// <summary>Posts progress to the pipeline thread at most a few times a second, and always completes it.</summary>
    private sealed class ThrottledProgress(PipelineQueue queue, int activityId, string activity)
    {
        private readonly Stopwatch sinceLast = Stopwatch.StartNew();
        private readonly object gate = new();
        private bool started;

        public void Report(string status, int percent)
        {
            lock (this.gate)
            {
                if (this.started && this.sinceLast.ElapsedMilliseconds < 250)
                {
                    return;
                }

                this.started = true;
                this.sinceLast.Restart();
            }

            var record = new ProgressRecord(activityId, activity, status) { PercentComplete = Math.Clamp(percent, -1, 100) };
            queue.Post(c => c.WriteProgress(record));
        }

        public void Complete()
        {
            var record = new ProgressRecord(activityId, activity, "Done") { RecordType = ProgressRecordType.Completed };
            queue.Post(c => c.WriteProgress(record));
        }
    }
}
