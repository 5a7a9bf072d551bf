using System.Management.Automation;
using RegistryCleaner.Domino;
using RegistryCleaner.PowerShell.Completion;
using RegistryCleaner.Registry;

namespace RegistryCleaner.PowerShell;

/// <summary>
/// The base of the cmdlets that read a registry's inventory (Get-RegistryImage, Get-RegistryLayer): the scope
/// parameters (-Repository, -Tag, -ObjectId, -ObjectIdPath) and a streaming read with throttled progress, verbose
/// messages per class of call, per-tag errors and whole-call terminating errors.
/// </summary>
public abstract class RegistryInventoryCmdlet : RegistryCmdlet
{
    /// <summary>The parameter set without ObjectId narrowing.</summary>
    protected const string AllSet = "All";

    /// <summary>The parameter set of -ObjectId.</summary>
    protected const string ObjectIdSet = "ObjectId";

    /// <summary>The parameter set of -ObjectIdPath.</summary>
    protected const string ObjectIdPathSet = "ObjectIdPath";

    private const int ProgressActivityId = 1;
    private const int MaxPendingOutput = 1000;

    /// <summary>Repositories to read; wildcards are matched against the registry's catalog.</summary>
    [Parameter(Position = 0)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(RepositoryCompleter))]
    [ValidateRegistryName(RegistryNameKind.Repository)]
    public string[]? Repository { get; set; }

    /// <summary>Only these tags (wildcards allowed, case-insensitive).</summary>
    [Parameter]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ValidateRegistryName(RegistryNameKind.Tag)]
    [ArgumentCompleter(typeof(TagCompleter))]
    public string[]? Tag { get; set; }

    /// <summary>Only the tags of these Domino ObjectIds (24 hex characters): a tag belongs to X when it is X or starts with X-.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ObjectIdSet)]
    [ValidateNotNullOrEmpty]
    public string[]? ObjectId { get; set; }

    /// <summary>A file of Domino ObjectIds, one per line (blank lines and # comments ignored); only their tags are read.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ObjectIdPathSet)]
    [Alias("File")]
    [ValidateNotNullOrEmpty]
    public string? ObjectIdPath { get; set; }

    /// <summary>
    /// Reads the inventory in scope: validates ObjectIds, connects, resolves repositories, then streams every tag's
    /// result to <paramref name="onTag"/> (on a worker thread; post output to the queue). Writes progress and stops
    /// the command with a terminating error on whole-call failures; per-tag failures are written as errors.
    /// </summary>
    /// <param name="onTag">Called for each tag read successfully (with the registry's display name), on a worker thread.</param>
    /// <returns>The inventory snapshot, once every tag has been read.</returns>
    protected RegistryInventory ReadInventory(Action<string, TagReadResult, PipelineQueue> onTag) =>
        this.ReadInventory(onTag, keepInventory: true)!;

    /// <summary>
    /// Reads the inventory in scope like <see cref="ReadInventory(Action{string, TagReadResult, PipelineQueue})"/>;
    /// without <paramref name="keepInventory"/> nothing of a tag outlives its call to <paramref name="onTag"/>, so
    /// memory does not grow with the registry.
    /// </summary>
    /// <param name="onTag">Called for each tag read successfully (with the registry's display name), on a worker thread.</param>
    /// <param name="keepInventory">Whether to keep the snapshot for the caller.</param>
    /// <param name="readConfigurations">
    /// Whether images need their configurations' facts (Created, Platform); without them no configuration is read or
    /// downloaded and the configuration cache is not opened.
    /// </param>
    /// <returns>The inventory snapshot, or <see langword="null"/> when it is not kept.</returns>
    protected RegistryInventory? ReadInventory(Action<string, TagReadResult, PipelineQueue> onTag, bool keepInventory, bool readConfigurations = true)
    {
        ArgumentNullException.ThrowIfNull(onTag);

        // Everything that may write or stop the command runs here, on the pipeline thread, before any remote call.
        IReadOnlyList<string>? objectIds = this.ResolveObjectIds(this.ObjectId, this.ObjectIdPath);
        RegistryEndpoint endpoint = this.ResolveEndpoint();
        _ = this.Configuration;
        WildcardPattern[]? tagPatterns = this.Tag?.Select(t => new WildcardPattern(t, WildcardOptions.IgnoreCase)).ToArray();
        string activity = $"Reading registry {endpoint.DisplayName}";
        using RegistryClient client = this.CreateRegistryClient(endpoint);
        Task<ImageConfigCache>? cacheOpening = readConfigurations ? this.StartOpeningConfigCache() : null;
        // Only the tags named exactly are remembered, until read: the tags read are not kept.
        var unseenTags = new HashSet<string>(this.Tag?.Where(t => !WildcardPattern.ContainsWildcardCharacters(t)) ?? [], StringComparer.OrdinalIgnoreCase);
        bool failing = true;
        try
        {
            RegistryInventory? inventory = this.RunEngine(async (queue, token) =>
            {
                if (this.Repository is { } patterns && patterns.Any(WildcardPattern.ContainsWildcardCharacters))
                {
                    queue.Verbose($"Reading the catalog of {endpoint.DisplayName}.");
                }

                IReadOnlyList<string> repositories = await this.ResolveRepositoriesAsync(this.Repository, client, token).ConfigureAwait(false);
                if (repositories.Count == 0)
                {
                    queue.Warning($"No repository of {endpoint.DisplayName} matches {string.Join(", ", this.Repository ?? [])}.");
                }

                ImageConfigCache? cache = await OpenedConfigCacheAsync(cacheOpening, queue).ConfigureAwait(false);

                queue.Verbose($"Listing tags of {repositories.Count} repositories: {string.Join(", ", repositories)}.");
                var progress = new ThrottledProgress(queue, activity);
                var reader = new InventoryReader(client, new InventoryReaderOptions
                {
                    Repositories = repositories,
                    TagFilter = tagPatterns is null && objectIds is null ? null : (repository, tag) => InScope(tag, tagPatterns, objectIds),
                    Progress = progress,
                    ConfigCache = cache,
                    ReadConfigurations = readConfigurations,
                    KeepInventory = keepInventory,
                });
                await foreach (TagReadResult result in reader.ReadAsync(token).ConfigureAwait(false))
                {
                    if (unseenTags.Count > 0)
                    {
                        unseenTags.Remove(result.Tag);
                    }

                    if (result.Error is { } error)
                    {
                        queue.Error(RegistryErrorRecord(error, result.Name));
                    }
                    else
                    {
                        onTag(endpoint.DisplayName, result, queue);
                    }

                    // The pipeline thread writes what was read; while it is behind, reading waits, so tags read but
                    // not yet written stay a bounded number however large the registry.
                    while (queue.Pending > MaxPendingOutput)
                    {
                        await Task.Delay(5, token).ConfigureAwait(false);
                    }
                }

                SaveConfigCache(cache, queue);
                return keepInventory ? reader.Inventory : null;
            });

            // A tag named exactly (no wildcard) that no repository has is worth saying; the rest went on.
            foreach (string tag in this.Tag?.Where(t => !WildcardPattern.ContainsWildcardCharacters(t) && unseenTags.Contains(t)) ?? [])
            {
                this.WriteError(new ErrorRecord(
                    new ItemNotFoundException($"Tag '{tag}' was not found in the repositories read of registry {endpoint.DisplayName}."),
                    ErrorIds.RegistryTagNotFound,
                    ErrorCategory.ObjectNotFound,
                    tag));
            }

            failing = false;
            return inventory;
        }
        catch (RegistryException ex)
        {
            object target = ex is RepositoryNotFoundException missing ? missing.Repository : endpoint.DisplayName;
            this.ThrowTerminatingError(RegistryErrorRecord(ex, target));
            throw;
        }
        finally
        {
            this.CompleteProgress(activity, failing);
        }
    }

    private static bool InScope(string tag, WildcardPattern[]? tagPatterns, IReadOnlyList<string>? objectIds) =>
        (tagPatterns is null || tagPatterns.Any(p => p.IsMatch(tag)))
        && (objectIds is null || objectIds.Any(id => Domino.ObjectId.TagBelongsTo(tag, id)));

    private void CompleteProgress(string activity, bool failing)
    {
        try
        {
            this.WriteProgress(new ProgressRecord(ProgressActivityId, activity, "Done") { RecordType = ProgressRecordType.Completed });
        }
        catch (PipelineStoppedException) when (failing)
        {
            // The pipeline is already stopping for another reason, which is the one that must propagate.
        }
    }

    /// <summary>Turns the reader's progress callbacks (worker threads) into at most four progress records a second.</summary>
    private sealed class ThrottledProgress : IProgress<InventoryProgress>
    {
        private readonly PipelineQueue queue;
        private readonly ProgressThrottle throttle;
        private int manifestsAnnounced;

        public ThrottledProgress(PipelineQueue queue, string activity)
        {
            this.queue = queue;
            this.throttle = new ProgressThrottle(ProgressActivityId, activity);
        }

        public void Report(InventoryProgress value)
        {
            if (value.TagsTotal > 0 && Interlocked.Exchange(ref this.manifestsAnnounced, 1) == 0)
            {
                this.queue.Verbose($"Reading manifests of {value.TagsTotal} tags.");
            }

            if (value.TagsTotal > 0)
            {
                this.throttle.Report(this.queue, $"Read {value.TagsDone} of {value.TagsTotal} tags", (int)Math.Min(100, 100L * value.TagsDone / value.TagsTotal));
            }
            else
            {
                this.throttle.Report(this.queue, $"Listed the tags of {value.RepositoriesListed} of {value.RepositoriesTotal} repositories", value.RepositoriesTotal == 0 ? 0 : (int)Math.Min(100, 100L * value.RepositoriesListed / value.RepositoriesTotal));
            }
        }
    }
}
