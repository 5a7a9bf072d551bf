using System.Globalization;
using RegistryCleaner.Registry;

namespace RegistryCleaner.Planning;

/// <summary>
/// Turns an inventory, a usage snapshot and options into a <see cref="DeletionPlan"/>. Pure: no I/O, deterministic
/// output order, linear in tags and blob references.
/// </summary>
public static partial class DeletionPlanner
{
    /// <summary>Plans which tags to delete and how many bytes the registry's garbage collection frees afterwards.</summary>
    /// <param name="request">The snapshots and options.</param>
    /// <returns>The plan.</returns>
    /// <exception cref="UsageIncompleteException">The usage snapshot is incomplete.</exception>
    /// <exception cref="InventoryIncompleteException">The inventory is incomplete and the options do not accept that.</exception>
    /// <exception cref="InventoryGraphException">A tag's index tree contains itself or nests too deep.</exception>
    /// <exception cref="ArgumentException">The options are inconsistent (e.g. <c>OlderThan</c> without <c>Now</c>).</exception>
    public static DeletionPlan Plan(PlanRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        PlanOptions options = request.Options;
        RegistryInventory inventory = request.Inventory;
        if (!request.Usage.Complete)
        {
            throw new UsageIncompleteException(
                "The set of images in use is incomplete (a cluster, namespace or kind could not be read), so an image could be in use "
                + "without being protected; nothing is planned for deletion. Fix access and read usage again, or pass the in-use set explicitly with -InUse.");
        }

        RefuseGraphErrors(inventory);
        if (!inventory.Complete && !options.AcceptIncompleteInventory)
        {
            throw new InventoryIncompleteException(
                $"The inventory of {inventory.Registry} does not cover every repository of the catalog; layers are shared across repositories, "
                + "so the bytes a deletion frees cannot be known. Inventory the whole registry, or accept an incomplete inventory for a report only.");
        }

        if (options.OlderThan is not null && options.Now is null)
        {
            throw new ArgumentException("OlderThan needs an explicit Now so the plan is reproducible.", nameof(request));
        }

        if (options.KeepLatest < 0)
        {
            throw new ArgumentException("KeepLatest cannot be negative.", nameof(request));
        }

        return new PlanBuilder(request).Build();
    }

    /// <summary>Formats an age cutoff (<c>Now - OlderThan</c>) as ISO 8601 UTC, the way reasons and messages show it.</summary>
    /// <param name="cutoff">The cutoff.</param>
    /// <returns>For example <c>2026-08-27T10:00:00Z</c>.</returns>
    public static string FormatCutoff(DateTimeOffset cutoff) =>
        cutoff.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>One repository's manifests and tags, indexed by digest.</summary>
    private sealed partial class RepositoryState(string name, int manifests, int tags)
    {
        public string Name { get; } = name;

        public Dictionary<string, ManifestRecord> Manifests { get; } = new(manifests, StringComparer.Ordinal);

        public Dictionary<string, DigestGroup> TagsByDigest { get; } = new(tags, StringComparer.Ordinal);

        public List<TagState> Tags { get; } = new(tags);

        public Dictionary<string, TagState> TagsByName { get; } = new(tags, StringComparer.Ordinal);

        /// <summary>Gets manifests kept alive, each with the kept index that keeps it (null for a root).</summary>
        public Dictionary<string, string?> Kept { get; } = new(StringComparer.Ordinal);

        /// <summary>Gets manifests deleted: candidates' digests and the children they take.</summary>
        public HashSet<string> Deleted { get; } = new(StringComparer.Ordinal);

        /// <summary>Gets digests deleted as the DELETE of candidate tags (or of an untagged target), before children.</summary>
        public HashSet<string> Roots { get; } = new(StringComparer.Ordinal);

        /// <summary>Gets child deletions already assigned to a parent candidate.</summary>
        public HashSet<string> AssignedChildren { get; } = new(StringComparer.Ordinal);
    }

    /// <summary>The tags of one manifest in one repository: one DELETE removes them all.</summary>
    /// <remarks>Room for one tag to start with: most manifests have one, and there is a group per manifest.</remarks>
    private sealed class DigestGroup() : List<TagState>(1)
    {
        /// <summary>Gets or sets whether the DELETE's bytes were counted (on the first candidate in plan order).</summary>
        public bool Counted { get; set; }
    }

    /// <summary>A tag and the planner's decision about it.</summary>
    private sealed partial class TagState(RepositoryState repository, string? tag, string digest)
    {
        public RepositoryState Repository { get; } = repository;

        /// <summary>Gets the tag; null for an untagged manifest targeted by digest.</summary>
        public string? Tag { get; } = tag;

        public string Digest { get; } = digest;

        public bool InScope { get; set; }

        public bool Targeted { get; set; }

        public string? KeepLatestReason { get; set; }

        /// <summary>Gets or sets why the tag is kept; null for a candidate (when in scope).</summary>
        public string? KeepReason { get; set; }

        /// <summary>Gets whether the tag is a candidate; a referrer's schema tag never is: it follows its subject.</summary>
        public bool IsCandidate => this.InScope && this.KeepReason is null && this.AttachedTo is null;
    }

    private sealed partial class PlanBuilder
    {
        private readonly RegistryInventory inventory;
        private readonly PlanOptions options;
        private readonly UsageIndex usage;
        private readonly Dictionary<string, RepositoryState> repositories = new(StringComparer.Ordinal);
        private readonly List<ProtectedImage> notFound = [];
        private readonly HashSet<(string Repository, string Digest)> untaggedTargetKeys = [];
        private readonly TagPattern[] include;
        private readonly TagPattern[] exclude;
        private readonly string[] objectIds;
        private readonly DateTimeOffset? cutoff;

        public PlanBuilder(PlanRequest request)
        {
            this.inventory = request.Inventory;
            this.options = request.Options;
            this.usage = new UsageIndex(request.Usage, this.options.StrictHost, this.options.RegistryHosts.Append(this.inventory.Registry));
            this.include = [.. this.options.Include.Select(p => new TagPattern(p))];
            this.exclude = [.. this.options.Exclude.Select(p => new TagPattern(p))];
            this.objectIds = [.. this.options.ObjectIds.Select(Domino.ObjectId.Normalize)];
            this.cutoff = this.options.OlderThan is { } age ? this.options.Now!.Value - age : null;
        }

        public DeletionPlan Build()
        {
            this.Index();
            this.ValidateIndexTrees();
            this.IndexReferrers();
            HashSet<string> scope = this.options.Repositories.Count > 0
                ? new HashSet<string>(this.options.Repositories, StringComparer.Ordinal)
                : new HashSet<string>(this.repositories.Keys, StringComparer.Ordinal);
            List<TagState> untaggedTargets = this.ApplyScope(scope);
            if (this.inventory.IncludesUntaggedManifests && this.options.Targets is null)
            {
                untaggedTargets.AddRange(this.UntaggedCandidates(scope));
            }

            foreach (RepositoryState repository in this.repositories.Values)
            {
                if (scope.Contains(repository.Name))
                {
                    if (this.options.KeepLatest > 0)
                    {
                        this.RankLatest(repository);
                    }

                    foreach (TagState tag in repository.Tags)
                    {
                        if (tag.InScope)
                        {
                            tag.KeepReason = this.KeepReason(tag);
                        }
                    }
                }
            }

            foreach (TagState target in untaggedTargets.Where(t => t.InScope))
            {
                target.KeepReason = this.KeepReason(target);
            }

            this.ApplyReferrerRules(scope);

            foreach (RepositoryState repository in this.repositories.Values)
            {
                this.ChooseRoots(repository, untaggedTargets);
                this.KeepIndexChildren(repository);
                DeleteChildren(repository);
            }

            HashSet<string> remaining = this.RemainingBlobs();
            return this.Assemble(remaining, untaggedTargets);
        }
    }
}
