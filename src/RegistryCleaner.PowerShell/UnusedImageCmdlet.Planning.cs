using System.Globalization;
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
/// <param name="PlannedTags">
/// The digest of every tag of every repository when the inventory was read (repository to tag to digest), for a plan
/// made for deletion; empty otherwise.
/// </param>
public sealed record UnusedImagePlan(DeletionPlan Plan, RegistryClient Client, UsageSnapshot Usage, IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> PlannedTags)
{
    /// <summary>Gets Domino's revisions and builds with their owners, when Domino's records were read.</summary>
    public DominoImageCatalog? Domino { get; init; }

    /// <summary>Gets the inventory the plan was made from (every repository of the registry).</summary>
    public RegistryInventory? Inventory { get; init; }
}

/// <content>Planning unused images: usage, the whole-catalog inventory and the planner, shared by the unused-image cmdlets.</content>
public abstract partial class UnusedImageCmdlet
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
        if (objectIds is { Count: 0 })
        {
            // Taken as "no narrowing", an ObjectId file of comments only would plan every image.
            throw this.Terminate(
                new ArgumentException($"-ObjectIdPath '{query.ObjectIdPath}' lists no ObjectId, so it names nothing and nothing is planned. Put one 24-hex ObjectId per line, or leave -ObjectIdPath out."),
                ErrorIds.ObjectIdFileInvalid,
                ErrorCategory.InvalidData,
                query.ObjectIdPath);
        }

        RegistryEndpoint endpoint = this.ResolveEndpoint();
        UsageSnapshot? given = null;
        if (query.InUse is not null)
        {
            var skipped = new List<string>();
            try
            {
                given = UsageSource.FromInUse(query.InUse, skipped);
            }
            catch (ArgumentException ex)
            {
                throw this.Terminate(ex, ErrorIds.InUseInvalid, ErrorCategory.InvalidData, null);
            }

            skipped.ForEach(this.WriteWarning);
        }

        WorkloadScanOptions? scanOptions = given is null
            ? UsageSource.ScanOptions(configuration, query.KubeConfig is null ? null : this.ResolveFilePath(query.KubeConfig), query.Context, query.Namespace, this.EffectiveTimeout, null)
            : null;
        if (scanOptions is not null && UsageSource.DescribeNarrowing(scanOptions) is { } narrowed)
        {
            this.WriteWarning(narrowed);
        }

        DateTimeOffset now = DateTimeOffset.UtcNow;
        IReadOnlyList<string> dominoRepositories = configuration.DominoRepositories();
        RegistryStorage? storage = this.OpenStorage(query.StoragePath);
        ImageConfigCache? cache = this.OpenConfigCache();
        RegistryClient client = this.CreateRegistryClient(endpoint);
        try
        {
            (DeletionPlan plan, UsageSnapshot usage, IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> plannedTags, DominoImageCatalog? domino, RegistryInventory read) = this.RunEngine(async (queue, token) =>
            {
                if (query.Repository is { Length: > 0 } named)
                {
                    // First: a typo must stop the command before a whole cluster is read.
                    await CheckRepositoriesAsync(named, client, queue, token).ConfigureAwait(false);
                }

                UsageSnapshot usage;
                if (given is not null)
                {
                    usage = given;
                }
                else
                {
                    queue.Verbose($"Reading the images Kubernetes workloads use ({DescribeScan(scanOptions!)}).");
                    var progress = new ProgressThrottle(1, "Reading Kubernetes workloads");
                    usage = await UsageSource.ReadLiveAsync(
                        scanOptions! with { Progress = new Progress<WorkloadListingProgress>(p => progress.Report(queue, $"{p.Context}: {p.Resource}{(p.Namespace is null ? string.Empty : " in " + p.Namespace)} ({p.ObjectsRead})", -1)) },
                        token).ConfigureAwait(false);
                    progress.Complete(queue);
                    foreach (string warning in usage.Warnings)
                    {
                        queue.Warning(warning);
                    }
                }

                IReadOnlyList<string> repositories = await this.ResolveRepositoriesAsync(query.Repository, client, token).ConfigureAwait(false);
                if (query.OlderThan is { } age)
                {
                    queue.Verbose(string.Create(CultureInfo.InvariantCulture, $"-OlderThan {age:c}: only images created before {DeletionPlanner.FormatCutoff(now - age)} are candidates; images of unknown age are kept."));
                }

                DominoUsageReport? records = query.Mongo is { } mongo
                    ? await ReadDominoUsageAsync(mongo, query.Targets?.Select(t => t.Repository) ?? repositories, dominoRepositories, queue, token).ConfigureAwait(false)
                    : null;
                queue.Verbose($"Reading the whole catalog of {endpoint.DisplayName} (layers are shared across repositories).");
                // What reading usage left behind (a cluster's JSON is tens of MB) is garbage now: returned before the
                // inventory grows, the two never add up in the process's peak.
                GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
                RegistryInventory inventory = await ReadInventoryAsync(client, cache, queue, token).ConfigureAwait(false);
                // The cache's table (an entry per configuration) is saved and not needed for planning; the read's
                // working tables and the reader are garbage too: all of it is returned before planning allocates.
                cache = null;
                GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
                if (storage is not null)
                {
                    inventory = ReadUntagged(storage, inventory, queue, token);
                }

                if (records is not null)
                {
                    // Records are read first (an unreadable MongoDB stops before the registry is read); their
                    // repositories are matched to the registry's once its repositories are known.
                    var notes = new List<string>();
                    IReadOnlyList<DominoImageReference> pins = DominoProtection.MatchRepositories(records.Pins, inventory.Repositories, dominoRepositories, notes);
                    notes.ForEach(note => queue.Verbose("Domino: " + note));
                    usage = DominoProtection.Protect(usage, endpoint.DisplayName, pins, $"MongoDB {query.Mongo!.Settings?.Target} ({records.References.Count} references)");
                }

                foreach (string source in usage.Sources)
                {
                    queue.Verbose($"Usage read from {source}.");
                }

                IReadOnlyList<PlanTarget>? targets = query.Targets;
                if (query.Tags.Count > 0 || query.Digests.Count > 0)
                {
                    targets = Narrow(query, inventory, repositories, endpoint.DisplayName, queue);
                }
                else if (targets is null && repositories.Count == 0)
                {
                    // To the planner no repositories means every repository: a wildcard that matched nothing names nothing.
                    targets = [];
                }

                var hosts = new List<string> { endpoint.DisplayName };
                hosts.AddRange(configuration.GetList(ConfigSchema.RegistryAliases));
                var options = new PlanOptions
                {
                    Repositories = targets is null ? repositories : [],
                    Include = query.Include,
                    Exclude = query.Exclude,
                    ObjectIds = objectIds ?? [],
                    KeepLatest = query.KeepLatest,
                    OlderThan = query.OlderThan,
                    Now = now,
                    StrictHost = query.StrictHost,
                    RegistryHosts = hosts,
                    Targets = targets,
                    AcceptIncompleteInventory = !query.ForDeletion,
                };
                var request = new PlanRequest(inventory, usage, options);
                DeletionPlan planned = DeletionPlanner.Plan(request);
                (planned, request) = await PlanUntagsAsync(planned, client, request, queue, token).ConfigureAwait(false);
                if (records is not null)
                {
                    (planned, usage) = KeepCloneChains(request, planned, records.Catalog, endpoint.DisplayName);
                }

                // Taken from the same inventory after planning, so the table (an entry per tag) and the planner's do not
                // add up; only a deletion checks tags against it.
                IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> tagsByRepository = query.ForDeletion
                    ? inventory.Tags
                        .GroupBy(t => t.Repository, StringComparer.Ordinal)
                        .ToDictionary(g => g.Key, g => (IReadOnlyDictionary<string, string>)g.ToDictionary(t => t.Tag, t => t.Digest, StringComparer.Ordinal), StringComparer.Ordinal)
                    : new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal);
                // The planner's tables (entries per tag and per blob) are garbage now: returned before the candidates are
                // written, writing reuses them instead of growing the heap.
                GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
                return (planned, usage, tagsByRepository, records?.Catalog, inventory);
            });

            if (plan.BytesAreEstimates)
            {
                this.WriteWarning("Some tags could not be read, so ReclaimableBytes are estimates (blobs are shared with what was not read).");
            }
            else if (!plan.IncludesUntaggedManifests && plan.UnverifiedBytes > 0)
            {
                this.WriteWarning(string.Create(
                    CultureInfo.InvariantCulture,
                    $"The sum of ReclaimableBytes ({plan.TotalReclaimableBytes} bytes) is exact only if no tag of this registry was ever overwritten: an overwritten tag leaves its old manifest untagged, the registry API cannot list it, and it keeps its layers through garbage collection. Up to {ByteCount.Format(plan.UnverifiedBytes)} ({plan.UnverifiedBytes} bytes) of layers and configurations could be held that way, so the sum is an upper bound. To make it exact, pass -StoragePath with the registry's storage rootdirectory (read-only), which adds untagged manifests to the plan."));
            }

            return new UnusedImagePlan(plan, client, usage, plannedTags) { Domino = domino, Inventory = read };
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            client.Dispose();
            ErrorRecord? record = EngineErrorMap.Find(ex, EngineOperation.Planning, new EngineErrorContext
            {
                Target = endpoint.DisplayName,
                KubeConfig = query.KubeConfig,
                StorageRoot = storage?.RootDirectory,
                Mongo = query.Mongo,
            });
            if (record is null)
            {
                throw;
            }

            this.ThrowTerminatingError(record);
            throw;
        }
    }

    /// <summary>
    /// Reads the inventory of the whole catalog with the configuration cache, saves the cache and reports the tags that
    /// could not be read. The reader, which holds the cache and the snapshot, ends here.
    /// </summary>
    private static async Task<RegistryInventory> ReadInventoryAsync(RegistryClient client, ImageConfigCache? cache, PipelineQueue queue, CancellationToken token)
    {
        var inventoryProgress = new ProgressThrottle(2, $"Reading {client.Endpoint.DisplayName}");
        var reader = new InventoryReader(client, new InventoryReaderOptions
        {
            Progress = new Progress<InventoryProgress>(p => inventoryProgress.Report(
                queue,
                p.TagsTotal == 0 ? $"Listing tags: {p.RepositoriesListed} of {p.RepositoriesTotal} repositories" : $"Reading manifests: {p.TagsDone} of {p.TagsTotal} tags",
                p.TagsTotal == 0 ? -1 : (int)(100L * p.TagsDone / Math.Max(1, p.TagsTotal)))),
            ConfigCache = cache,
            ReadReferrers = true,
        });
        RegistryInventory inventory = await reader.ReadAllAsync(token).ConfigureAwait(false);
        SaveConfigCache(cache, queue);
        inventoryProgress.Complete(queue);
        foreach (TagReadResult failed in reader.Errors)
        {
            queue.Error(RegistryErrorRecord(failed.Error!, failed.Name));
        }

        return inventory;
    }

    /// <summary>
    /// Plans rule 11 where it can matter: when candidate tags were kept only because their manifest also carries a kept
    /// tag, asks the registry (once, without changing anything) whether it deletes tags alone, and if so plans again
    /// with those tags untagged.
    /// </summary>
    private static async Task<(DeletionPlan Plan, PlanRequest Request)> PlanUntagsAsync(DeletionPlan plan, RegistryClient client, PlanRequest request, PipelineQueue queue, CancellationToken token)
    {
        if (plan.SharedManifestTags.Count == 0 || request.Options.TagDeletionSupported)
        {
            return (plan, request);
        }

        string repository = plan.SharedManifestTags[0].Repository;
        queue.Verbose($"{plan.SharedManifestTags.Count} candidate tags share their manifest with a kept tag; asking {client.Endpoint.DisplayName} whether it deletes tags alone.");
        if (!await client.SupportsTagDeletionAsync(repository, token).ConfigureAwait(false))
        {
            queue.Verbose($"{client.Endpoint.DisplayName} does not delete tags alone (distribution 2.8 answers 400 DIGEST_INVALID), so those tags are kept.");
            return (plan, request);
        }

        queue.Verbose($"{client.Endpoint.DisplayName} deletes tags alone: those tags are untagged, their manifests stay.");
        PlanRequest untagging = request with { Options = request.Options with { TagDeletionSupported = true } };
        return (DeletionPlanner.Plan(untagging), untagging);
    }

    /// <summary>Opens -StoragePath on the pipeline thread, before any remote call; stops the command when it is not a registry's storage.</summary>
    private RegistryStorage? OpenStorage(string? storagePath)
    {
        if (storagePath is null)
        {
            return null;
        }

        string path = this.ResolveFilePath(storagePath);
        try
        {
            return RegistryStorage.Open(path);
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            throw this.Terminate(ex, ErrorIds.StoragePathInvalid, ErrorCategory.InvalidArgument, path);
        }
    }

    private static RegistryInventory ReadUntagged(RegistryStorage storage, RegistryInventory inventory, PipelineQueue queue, CancellationToken token)
    {
        queue.Verbose($"Reading untagged manifests from the registry's storage {storage.RootDirectory} (read-only).");
        StorageReadResult read = storage.AddUntaggedManifests(inventory, token);
        foreach (string problem in read.Problems)
        {
            queue.Warning($"Storage {storage.RootDirectory}: {problem}");
        }

        queue.Verbose($"The storage holds {read.Added} manifests no tag reaches (untagged); they are in the plan.");
        return read.Inventory;
    }

    /// <summary>
    /// A -Repository name without wildcards must be in the catalog (a typo must not plan an empty set and succeed); a
    /// wildcard that matches nothing is worth a warning.
    /// </summary>
    private static async Task CheckRepositoriesAsync(string[] patterns, RegistryClient client, PipelineQueue queue, CancellationToken token)
    {
        IReadOnlyList<string> catalog = await client.GetCatalogAsync(cancellationToken: token).ConfigureAwait(false);
        var known = new HashSet<string>(catalog, StringComparer.Ordinal);
        foreach (string pattern in patterns)
        {
            if (!WildcardPattern.ContainsWildcardCharacters(pattern))
            {
                if (!known.Contains(pattern.Trim('/')))
                {
                    throw new RepositoryNotFoundException(client.Endpoint.DisplayName, pattern.Trim('/'));
                }
            }
            else if (!catalog.Any(new WildcardPattern(pattern, WildcardOptions.IgnoreCase).IsMatch))
            {
                queue.Warning($"No repository of {client.Endpoint.DisplayName} matches '{pattern}', so nothing of it is planned.");
            }
        }
    }

    /// <summary>Turns typed -Tag/-Digest into the images they name in the repositories in scope; what names nothing is an error.</summary>
    private static IReadOnlyList<PlanTarget> Narrow(UnusedImageQuery query, RegistryInventory inventory, IReadOnlyList<string> repositories, string registry, PipelineQueue queue)
    {
        NarrowedTargets narrowed = PlanNarrowing.Expand(inventory, repositories, query.Tags, query.Digests);
        string where = repositories.Count == 0
            ? $"registry {registry}, because no repository is in scope"
            : $"{string.Join(", ", repositories)} of registry {registry}";
        foreach (string tag in narrowed.UnmatchedTags)
        {
            queue.Error(new ErrorRecord(
                new ItemNotFoundException($"Tag '{tag}' was not found in {where}{(query.Digests.Count > 0 ? " pointing at the -Digest given" : string.Empty)}, so nothing is planned for it."),
                ErrorIds.RegistryTagNotFound,
                ErrorCategory.ObjectNotFound,
                tag));
        }

        foreach (string digest in narrowed.UnmatchedDigests)
        {
            queue.Error(new ErrorRecord(
                new ItemNotFoundException($"No manifest {digest}{(query.Tags.Count > 0 ? " under the -Tag given" : string.Empty)} was found in {where}, so nothing is planned for it."),
                ErrorIds.RegistryManifestNotFound,
                ErrorCategory.ObjectNotFound,
                digest));
        }

        queue.Verbose($"-Tag/-Digest name {narrowed.Targets.Count} images in {where}.");
        return narrowed.Targets;
    }

    private static string DescribeScan(WorkloadScanOptions options) =>
        $"contexts: {(options.Contexts.Count == 0 ? "current" : string.Join(", ", options.Contexts))}; namespaces: {(options.Namespaces.Count == 0 ? "all" : string.Join(", ", options.Namespaces))}";
}
