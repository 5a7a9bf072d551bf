using System.Collections.Concurrent;
using System.Collections.ObjectModel;
using System.Management.Automation;
using RegistryCleaner.Configuration;
using RegistryCleaner.PowerShell.Completion;
using RegistryCleaner.Workloads;

namespace RegistryCleaner.PowerShell.Commands;

/// <summary>One image workloads use, as Get-WorkloadImage emits it (PSTypeName <c>RegistryCleaner.WorkloadImage</c>).</summary>
/// <remarks>
/// The label properties are joined with ", " (usually one value) so that <c>Export-Csv</c> writes them readably; the
/// list properties stay arrays for scripting.
/// </remarks>
/// <param name="Image">The reference exactly as written in the pod or template.</param>
/// <param name="Registry">The normalised registry host; empty when the reference is invalid.</param>
/// <param name="Repository">The normalised repository path, e.g. <c>dominodatalab/environment</c>.</param>
/// <param name="Tag">The tag (<c>latest</c> when none is written); empty for digest-only references.</param>
/// <param name="Digests">Digests from the reference and from container statuses' <c>imageID</c>.</param>
/// <param name="ObjectId">The Domino ObjectId the tag belongs to, when the tag starts with one.</param>
/// <param name="Pods">Pods running or about to run the image, as <c>namespace/name</c>.</param>
/// <param name="PodCount">The number of pods.</param>
/// <param name="Workloads">Controllers whose pod template names the image, as <c>Kind/namespace/name</c>.</param>
/// <param name="Namespaces">Namespaces of the pods and controllers.</param>
/// <param name="WorkloadType">Distinct <c>dominodatalab.com/workload-type</c> labels, joined with ", ".</param>
/// <param name="ProjectName">Distinct <c>dominodatalab.com/project-name</c> labels, joined with ", ".</param>
/// <param name="ProjectOwner">Distinct <c>dominodatalab.com/project-owner-username</c> labels, joined with ", ".</param>
public sealed record WorkloadImageEntry(
    string Image,
    string? Registry,
    string? Repository,
    string? Tag,
    TextList Digests,
    string? ObjectId,
    TextList Pods,
    int PodCount,
    TextList Workloads,
    TextList Namespaces,
    string WorkloadType,
    string ProjectName,
    string ProjectOwner)
{
    /// <summary>Shapes an engine row for the pipeline.</summary>
    /// <param name="image">The engine row.</param>
    /// <returns>The entry.</returns>
    public static WorkloadImageEntry From(WorkloadImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        return new WorkloadImageEntry(
            image.Image,
            image.Registry,
            image.Repository,
            image.Tag,
            [.. image.Digests],
            image.ObjectId,
            [.. image.Pods],
            image.PodCount,
            [.. image.Workloads],
            [.. image.Namespaces],
            string.Join(", ", image.WorkloadType),
            string.Join(", ", image.ProjectName),
            string.Join(", ", image.ProjectOwner));
    }
}

/// <summary>
/// Lists every image Kubernetes workloads use or could start, from live clusters or kubectl JSON snapshots.
/// </summary>
[Cmdlet(VerbsCommon.Get, "WorkloadImage", DefaultParameterSetName = LiveSet)]
[OutputType(OutputTypeNames.WorkloadImage)]
public sealed class GetWorkloadImageCommand : RemoteCmdlet
{
    private const string LiveSet = "Live";
    private const string SnapshotSet = "Snapshot";

    private readonly List<string> snapshotFiles = [];
    private IReadOnlyList<string>? objectIds;

    /// <summary>The kubeconfig file.</summary>
    [Parameter(ParameterSetName = LiveSet)]
    [ValidateNotNullOrEmpty]
    public string? KubeConfig { get; set; }

    /// <summary>kubeconfig contexts to read and merge into one result.</summary>
    [Parameter(ParameterSetName = LiveSet)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(KubeContextCompleter))]
    public string[]? Context { get; set; }

    /// <summary>Namespaces to read.</summary>
    [Parameter(ParameterSetName = LiveSet)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(KubeNamespaceCompleter))]
    public string[]? Namespace { get; set; }

    /// <summary>kubectl JSON snapshot files to read instead of a live cluster.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = SnapshotSet, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName")]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[]? Path { get; set; }

    /// <summary>Only images whose repository path matches one of these names (wildcards allowed).</summary>
    [Parameter]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(RepositoryCompleter))]
    public string[]? Repository { get; set; }

    /// <summary>Only images whose tag belongs to one of these Domino ObjectIds.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? ObjectId { get; set; }

    /// <summary>A file of Domino ObjectIds, one a line; only images whose tag belongs to one of them.</summary>
    [Parameter]
    [Alias("File")]
    [ValidateNotNullOrEmpty]
    public string? ObjectIdPath { get; set; }

    /// <summary>Reports only pods and controllers whose name starts with one of these prefixes.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? PodPrefix { get; set; }

    /// <summary>How many listings run at once.</summary>
    [Parameter]
    [ValidateRange(1, ConfigSchema.MaxWorkersLimit)]
    public int ThrottleLimit { get; set; }

    /// <inheritdoc />
    protected override void BeginProcessing()
    {
        // Validate every local input before any file or cluster is read.
        this.objectIds = this.ResolveObjectIds(this.ObjectId, this.ObjectIdPath);
    }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        if (this.ParameterSetName != SnapshotSet || this.Path is null)
        {
            return;
        }

        foreach (string path in this.Path)
        {
            this.snapshotFiles.AddRange(this.ResolveSnapshotPath(path));
        }
    }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        WildcardPattern[]? repositories = this.Repository?.Select(r => new WildcardPattern(r, WildcardOptions.IgnoreCase)).ToArray();

        WorkloadScan scan = this.ParameterSetName == SnapshotSet ? this.ReadSnapshots() : this.ScanLive();
        foreach (string source in scan.Sources)
        {
            this.WriteVerbose($"Read {source}");
        }

        foreach (string note in scan.Notes)
        {
            this.WriteVerbose(note);
        }

        foreach (string warning in scan.Warnings)
        {
            this.WriteWarning(warning);
        }

        var ids = this.objectIds is null ? null : new HashSet<string>(this.objectIds, StringComparer.OrdinalIgnoreCase);
        foreach (WorkloadImage image in scan.GetImages(this.PodPrefix))
        {
            if (repositories is not null && !MatchesRepository(image, repositories))
            {
                continue;
            }

            if (ids is not null && (image.ObjectId is null || !ids.Contains(image.ObjectId)))
            {
                continue;
            }

            this.WriteTyped(WorkloadImageEntry.From(image), OutputTypeNames.WorkloadImage);
        }
    }

    private static bool MatchesRepository(WorkloadImage image, WildcardPattern[] patterns)
    {
        if (image.Repository is not { } repository)
        {
            return false;
        }

        // Docker Hub's official images are written "nginx" but normalised to "library/nginx": match either.
        string? shortName = image.Registry == "docker.io" && repository.StartsWith("library/", StringComparison.Ordinal)
            ? repository["library/".Length..]
            : null;
        return patterns.Any(p => p.IsMatch(repository) || (shortName is not null && p.IsMatch(shortName)));
    }

    private IEnumerable<string> ResolveSnapshotPath(string path)
    {
        // A file taken from Get-ChildItem (FullName) is literal even when its name holds [ or ].
        if (File.Exists(path) && System.IO.Path.IsPathRooted(path))
        {
            return [path];
        }

        try
        {
            Collection<string> resolved = this.GetResolvedProviderPathFromPSPath(path, out ProviderInfo provider);
            if (provider.Name != "FileSystem")
            {
                throw this.Terminate(
                    new ArgumentException($"The snapshot path '{path}' is not a file system path."),
                    ErrorIds.WorkloadSnapshotInvalid,
                    ErrorCategory.InvalidArgument,
                    path);
            }

            return resolved;
        }
        catch (ItemNotFoundException ex)
        {
            throw this.Terminate(
                new FileNotFoundException($"The workload snapshot '{path}' does not exist. Write one with 'kubectl get pods,deploy,rs,sts,ds,rc,jobs,cronjobs -A -o json > cluster.json'.", path, ex),
                ErrorIds.WorkloadSnapshotNotFound,
                ErrorCategory.ObjectNotFound,
                path);
        }
    }

    private WorkloadScan ReadSnapshots()
    {
        foreach (string file in this.snapshotFiles)
        {
            this.WriteVerbose($"Reading workload snapshot '{file}'");
        }

        string[] files = this.snapshotFiles.Distinct(StringComparer.Ordinal).ToArray();
        try
        {
            return this.RunEngine((_, token) => WorkloadSnapshotReader.ReadAsync(files, token));
        }
        catch (WorkloadSnapshotException ex)
        {
            throw this.Terminate(ex, ErrorIds.WorkloadSnapshotInvalid, ErrorCategory.InvalidData, ex.FilePath);
        }
    }

    private WorkloadScan ScanLive()
    {
        RegistryCleanerConfiguration config = this.Configuration;
        string? kubeConfig = this.ResolveKubeConfig(config);
        string[] contexts = this.Context ?? [.. config.GetList(ConfigSchema.Contexts)];
        string[] namespaces = this.Namespace ?? [.. config.GetList(ConfigSchema.Namespaces)];
        int timeout = this.MyInvocation.BoundParameters.ContainsKey(nameof(this.TimeoutSec)) ? this.TimeoutSec : config.GetInt32(ConfigSchema.Timeout);
        int throttle = this.MyInvocation.BoundParameters.ContainsKey(nameof(this.ThrottleLimit)) ? this.ThrottleLimit : config.GetInt32(ConfigSchema.MaxWorkers);

        string[] contextNames = this.ValidateContexts(kubeConfig, contexts);
        string resources = string.Join(", ", WorkloadResources.Listed);
        string scope = namespaces.Length == 0 ? "all namespaces" : "namespace(s) " + string.Join(", ", namespaces);
        foreach (string context in contextNames)
        {
            this.WriteVerbose($"Listing {resources} in {scope} of context '{context}'" + (kubeConfig is null ? "" : $" (kubeconfig '{kubeConfig}')"));
        }

        int listings = Math.Max(1, contextNames.Length) * WorkloadResources.Listed.Count * Math.Max(1, namespaces.Length);
        var progress = new ListingProgress(listings);
        WorkloadScanOptions options = UsageSource.ScanOptions(config, kubeConfig, contexts, namespaces, TimeSpan.FromSeconds(timeout), progress)
            with { ThrottleLimit = Math.Max(1, throttle) };

        try
        {
            return this.RunEngine((queue, token) =>
            {
                progress.Attach(queue);
                return KubernetesWorkloadScanner.ScanAsync(options, token);
            });
        }
        catch (Exception ex) when (EngineErrorMap.Find(ex, EngineOperation.WorkloadListing, new EngineErrorContext { KubeConfig = kubeConfig }) is { } record)
        {
            this.ThrowTerminatingError(record);
            throw;
        }
        finally
        {
            if (!this.StopToken.IsCancellationRequested)
            {
                this.WriteProgress(progress.Completed());
            }
        }
    }

    /// <summary>-KubeConfig, else a kubernetes.kubeconfig from a file; KUBECONFIG itself is left to the locator (it may be a list).</summary>
    private string? ResolveKubeConfig(RegistryCleanerConfiguration config)
    {
        string? given = this.KubeConfig;
        if (given is null && config[ConfigSchema.KubeConfig] is { Source: ConfigSource.File, Value: string fromFile })
        {
            given = fromFile;
        }

        try
        {
            return KubeConfigLocator.Resolve(given is null ? null : this.ResolveFilePath(given));
        }
        catch (FileNotFoundException ex)
        {
            this.ThrowTerminatingError(EngineErrorMap.Find(ex, EngineOperation.WorkloadListing, new EngineErrorContext())!);
            throw;
        }
    }

    /// <summary>Checks that every named context exists, before any remote call; returns the names the scan reads.</summary>
    private string[] ValidateContexts(string? kubeConfig, string[] contexts)
    {
        if (kubeConfig is null)
        {
            return contexts.Length == 0 ? ["in-cluster"] : contexts;
        }

        KubeConfigContexts file;
        try
        {
            file = KubeConfigContexts.Read(kubeConfig);
        }
        catch (InvalidOperationException ex)
        {
            throw this.Terminate(ex, ErrorIds.KubeConfigInvalid, ErrorCategory.InvalidData, kubeConfig);
        }

        string[] known = file.Contexts.Select(c => c.Name).ToArray();
        string listed = known.Length == 0 ? "none" : string.Join(", ", known);
        if (contexts.Length == 0)
        {
            return file.CurrentContext is { } current
                ? [current]
                : throw this.Terminate(
                    new InvalidOperationException($"The kubeconfig '{kubeConfig}' sets no current-context. Pass -Context (contexts in the file: {listed}) or run 'kubectl config use-context <name>'."),
                    ErrorIds.KubeConfigInvalid,
                    ErrorCategory.InvalidArgument,
                    kubeConfig);
        }

        string[] missing = contexts.Where(c => !known.Contains(c, StringComparer.Ordinal)).ToArray();
        if (missing.Length > 0)
        {
            throw this.Terminate(
                new InvalidOperationException($"The kubeconfig '{kubeConfig}' has no context {string.Join(", ", missing.Select(m => $"'{m}'"))}. Contexts in the file: {listed}."),
                ErrorIds.KubeConfigInvalid,
                ErrorCategory.ObjectNotFound,
                kubeConfig);
        }

        return contexts;
    }

    /// <summary>
    /// Turns the engine's per-page reports (worker threads) into at most one Write-Progress per interval, posted to the
    /// pipeline thread.
    /// </summary>
    private sealed class ListingProgress(int listings) : IProgress<WorkloadListingProgress>
    {
        private readonly ConcurrentDictionary<(string, string, string?), WorkloadListingProgress> latest = new();
        private readonly ProgressThrottle throttle = new(1, "Reading Kubernetes workloads");
        private PipelineQueue? queue;

        public void Attach(PipelineQueue pipeline) => this.queue = pipeline;

        public void Report(WorkloadListingProgress value)
        {
            this.latest[(value.Context, value.Resource, value.Namespace)] = value;
            if (this.queue is null || !this.throttle.TryShow())
            {
                return;
            }

            WorkloadListingProgress[] all = [.. this.latest.Values];
            int done = all.Count(p => p.Completed);
            int objects = all.Sum(p => p.ObjectsRead);
            string where = value.Namespace is null ? "all namespaces" : $"namespace '{value.Namespace}'";
            ProgressRecord record = this.throttle.Record($"{done} of {listings} listings done, {objects} objects read");
            record.CurrentOperation = $"{value.Resource} in {where} of context '{value.Context}': {value.ObjectsRead} read";
            record.PercentComplete = Math.Min(100, done * 100 / Math.Max(1, listings));
            this.queue.Post(cmdlet => cmdlet.WriteProgress(record));
        }

        public ProgressRecord Completed() => this.throttle.Completed();
    }
}
