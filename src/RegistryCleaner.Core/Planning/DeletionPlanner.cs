using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
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
    private sealed class DigestGroup : List<TagState>
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

        private RepositoryState Repository(string name)
        {
            if (!this.repositories.TryGetValue(name, out RepositoryState? state))
            {
                state = new RepositoryState(name, 0, 0);
                this.repositories.Add(name, state);
            }

            return state;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Index()
        {
            // Counting first sizes every per-repository table once; growing them would re-hash repeatedly.
            Dictionary<string, (int Manifests, int Tags)> counts = new(StringComparer.Ordinal);
            foreach (ManifestRecord manifest in this.inventory.Manifests)
            {
                ref (int Manifests, int Tags) count = ref CollectionsMarshal.GetValueRefOrAddDefault(counts, manifest.Repository, out _);
                count.Manifests++;
            }

            foreach (TagRecord tag in this.inventory.Tags)
            {
                ref (int Manifests, int Tags) count = ref CollectionsMarshal.GetValueRefOrAddDefault(counts, tag.Repository, out _);
                count.Tags++;
            }

            foreach ((string name, (int manifests, int tags)) in counts)
            {
                this.repositories.Add(name, new RepositoryState(name, manifests, tags));
            }

            foreach (string name in this.inventory.Repositories)
            {
                this.Repository(name);
            }

            foreach (ManifestRecord manifest in this.inventory.Manifests)
            {
                this.Repository(manifest.Repository).Manifests[manifest.Digest] = manifest;
            }

            foreach (TagRecord record in this.inventory.Tags)
            {
                RepositoryState repository = this.Repository(record.Repository);
                TagState tag = new(repository, record.Tag, record.Digest);
                if (!repository.TagsByName.TryAdd(record.Tag, tag))
                {
                    // A tag listed twice is one tag: planning it twice would list one DELETE twice.
                    continue;
                }

                repository.Tags.Add(tag);
                if (!repository.TagsByDigest.TryGetValue(record.Digest, out DigestGroup? sameDigest))
                {
                    sameDigest = [];
                    repository.TagsByDigest.Add(record.Digest, sameDigest);
                }

                sameDigest.Add(tag);
            }
        }

        /// <summary>Marks tags in scope; returns targets that name an untagged manifest by digest.</summary>
        private List<TagState> ApplyScope(HashSet<string> scope)
        {
            List<TagState> untagged = [];
            if (this.options.Targets is { } targets)
            {
                foreach (PlanTarget target in targets)
                {
                    this.MarkTarget(target, untagged);
                }
            }

            foreach (RepositoryState repository in this.repositories.Values)
            {
                bool repositoryInScope = scope.Contains(repository.Name);
                foreach (TagState tag in repository.Tags)
                {
                    tag.InScope = repositoryInScope
                        && (this.options.Targets is null || tag.Targeted)
                        && this.TagInScope(tag.Tag!);
                }
            }

            foreach (TagState target in untagged)
            {
                target.InScope = scope.Contains(target.Repository.Name) && this.include.Length == 0 && this.objectIds.Length == 0;
                if (!target.InScope)
                {
                    target.KeepReason = "out of scope: an untagged manifest matches no -Include or -ObjectId filter";
                }
            }

            return untagged;
        }

        private void MarkTarget(PlanTarget target, List<TagState> untagged)
        {
            if (!this.repositories.TryGetValue(target.Repository, out RepositoryState? repository))
            {
                this.notFound.Add(new ProtectedImage(target.Repository, target.Tag, target.Digest, "repository not in the inventory"));
                return;
            }

            if (target.Tag is not null)
            {
                if (!repository.TagsByName.TryGetValue(target.Tag, out TagState? tag))
                {
                    this.notFound.Add(new ProtectedImage(target.Repository, target.Tag, target.Digest, "tag not found in the inventory"));
                }
                else if (target.Digest is not null && !string.Equals(target.Digest, tag.Digest, StringComparison.OrdinalIgnoreCase))
                {
                    this.notFound.Add(new ProtectedImage(
                        target.Repository, target.Tag, target.Digest, $"tag moved: it now points at {tag.Digest}, not at the requested digest"));
                }
                else
                {
                    tag.Targeted = true;
                }

                return;
            }

            string? digest = target.Digest;
            if (digest is null || !repository.Manifests.TryGetValue(digest, out ManifestRecord? manifest))
            {
                string key = digest ?? string.Empty;
                if (repository.TagsByDigest.TryGetValue(key, out DigestGroup? tagged))
                {
                    tagged.ForEach(t => t.Targeted = true);
                }
                else
                {
                    this.notFound.Add(new ProtectedImage(target.Repository, null, digest, "manifest not found in the inventory"));
                }

                return;
            }

            if (repository.TagsByDigest.TryGetValue(manifest.Digest, out DigestGroup? tags))
            {
                // Deleting by digest removes every tag of it: target them all, so each gets its protections.
                tags.ForEach(t => t.Targeted = true);
            }
            else if (this.untaggedTargetKeys.Add((repository.Name, manifest.Digest)))
            {
                untagged.Add(new TagState(repository, null, manifest.Digest) { Targeted = true });
            }
        }

        private bool TagInScope(string tag) =>
            (this.include.Length == 0 || Array.Exists(this.include, p => p.IsMatch(tag)))
            && !Array.Exists(this.exclude, p => p.IsMatch(tag))
            && (this.objectIds.Length == 0 || Array.Exists(this.objectIds, id => Domino.ObjectId.TagBelongsTo(tag, id)));

        /// <summary>Rule 1, KeepLatest and OlderThan for one in-scope tag; null when it is a candidate so far.</summary>
        private string? KeepReason(TagState tag)
        {
            if (!tag.Repository.Manifests.TryGetValue(tag.Digest, out ManifestRecord? manifest))
            {
                return $"manifest {tag.Digest} is not in the inventory";
            }

            if (tag.Tag is not null && this.usage.TagUse(tag.Repository.Name, tag.Tag) is { } tagUse)
            {
                return tagUse;
            }

            if (this.usage.DigestUse(tag.Digest) is { } digestUse)
            {
                return $"digest {tag.Digest} {digestUse}";
            }

            if (tag.KeepLatestReason is { } latest)
            {
                return latest;
            }

            if (this.cutoff is { } cutoff)
            {
                DateTimeOffset? created = Created(tag.Repository, manifest);
                if (created is null)
                {
                    return "creation time unknown, so it is not known to be older than " + FormatAge(this.options.OlderThan!.Value);
                }

                if (created >= cutoff)
                {
                    return string.Create(
                        CultureInfo.InvariantCulture,
                        $"created {created:u}, not older than {FormatAge(this.options.OlderThan!.Value)}");
                }
            }

            return null;
        }

        /// <summary>Marks the newest tags of each ObjectId (tags without one form one group) to keep.</summary>
        private void RankLatest(RepositoryState repository)
        {
            int keep = this.options.KeepLatest;
            // Signature and referrer tags are not images: they take no slot among the newest; nor does an ordinary tag
            // on a referrer (an SBOM's 'sbom-latest'), which follows its subject.
            foreach (IGrouping<string, TagState> group in repository.Tags
                .Where(t => !ReferrerTagSchema.IsSchemaTag(t.Tag) && !(repository.Attached.Count > 0 && repository.Attached.Contains(t.Digest)))
                .GroupBy(t => Domino.ObjectId.FromTag(t.Tag) ?? string.Empty, StringComparer.Ordinal))
            {
                string owner = group.Key.Length > 0 ? group.Key : "the tags without an ObjectId";
                var parsed = group.Select(t => (Tag: t, Version: DominoTagVersion.Parse(t.Tag!))).ToList();
                DominoTagKind kind = parsed[0].Version.Kind;
                List<TagState> newestFirst;
                if (kind != DominoTagKind.Other && parsed.TrueForAll(p => p.Version.Kind == kind))
                {
                    newestFirst = [.. parsed
                        .OrderByDescending(p => p.Version)
                        .ThenByDescending(p => p.Tag.Tag, StringComparer.Ordinal)
                        .Select(p => p.Tag)];
                }
                else
                {
                    newestFirst = [];
                    foreach (TagState tag in group)
                    {
                        if (this.CreatedOf(tag) is null)
                        {
                            // Unknown age cannot be ranked; keeping it is the safe side and does not use up one of the N slots.
                            tag.KeepLatestReason = $"creation time unknown, so it cannot be ranked among the {keep} newest of {owner}";
                        }
                        else
                        {
                            newestFirst.Add(tag);
                        }
                    }

                    newestFirst = [.. newestFirst
                        .OrderByDescending(this.CreatedOf)
                        .ThenByDescending(t => t.Tag, StringComparer.Ordinal)];
                }

                for (int i = 0; i < Math.Min(keep, newestFirst.Count); i++)
                {
                    newestFirst[i].KeepLatestReason = string.Create(
                        CultureInfo.InvariantCulture, $"among the {keep} newest of {owner} (#{i + 1})");
                }
            }
        }

        private DateTimeOffset? CreatedOf(TagState tag) =>
            tag.Repository.Manifests.TryGetValue(tag.Digest, out ManifestRecord? manifest) ? Created(tag.Repository, manifest) : null;

        /// <summary>Rule 2: a DELETE by digest removes every tag of it, so a digest is deleted only when all its tags are candidates.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void ChooseRoots(RepositoryState repository, List<TagState> untaggedTargets)
        {
            foreach ((string digest, DigestGroup tags) in repository.TagsByDigest)
            {
                if (repository.Attached.Count > 0 && repository.Attached.Contains(digest))
                {
                    // A referrer is deleted with its subject, never as a DELETE of its own.
                    continue;
                }

                TagState? kept = null;
                bool anyCandidate = false;
                foreach (TagState tag in tags)
                {
                    if (tag.IsCandidate)
                    {
                        anyCandidate = true;
                    }
                    else if (kept is null || string.CompareOrdinal(tag.Tag, kept.Tag) < 0)
                    {
                        kept = tag;
                    }
                }

                if (!anyCandidate)
                {
                    continue;
                }

                if (kept is null)
                {
                    repository.Roots.Add(digest);
                    continue;
                }

                string why = kept.InScope ? kept.KeepReason! : "out of scope";
                foreach (TagState tag in tags.Where(t => t.IsCandidate))
                {
                    this.UntagOrKeep(tag, kept, why);
                }
            }

            foreach (TagState target in untaggedTargets)
            {
                if (target.Repository == repository && target.IsCandidate)
                {
                    repository.Roots.Add(target.Digest);
                }
            }
        }

        /// <summary>Rule 3: every manifest that stays keeps its children; a candidate that is a kept index's child is kept.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void KeepIndexChildren(RepositoryState repository)
        {
            HashSet<string> hasParent = new(StringComparer.Ordinal);
            foreach (ManifestRecord manifest in repository.Manifests.Values)
            {
                foreach (ChildDescriptor child in manifest.Children)
                {
                    hasParent.Add(child.Digest);
                }
            }

            // Roots of what stays: tagged manifests not deleted, manifests in use, and untagged manifests nothing
            // references (garbage-collect without --delete-untagged keeps them).
            Stack<string> pending = new();
            foreach (string digest in repository.Manifests.Keys)
            {
                if (this.IsKeepRoot(repository, digest, hasParent))
                {
                    repository.Kept.Add(digest, null);
                    pending.Push(digest);
                }
            }

            while (pending.TryPop(out string? digest))
            {
                foreach (ChildDescriptor child in repository.Manifests[digest].Children)
                {
                    if (repository.Manifests.ContainsKey(child.Digest) && repository.Kept.TryAdd(child.Digest, digest))
                    {
                        pending.Push(child.Digest);
                    }
                }

                // Rule 9: what refers to a kept manifest stays with it.
                foreach (string referrer in ReferrersOf(repository, digest))
                {
                    if (repository.Kept.TryAdd(referrer, digest))
                    {
                        repository.KeptAsReferrer.Add(referrer);
                        pending.Push(referrer);
                    }
                }
            }

            foreach ((string digest, string? parent) in repository.Kept)
            {
                if (parent is null || !repository.Roots.Remove(digest))
                {
                    continue;
                }

                if (repository.TagsByDigest.TryGetValue(digest, out DigestGroup? tags))
                {
                    foreach (TagState tag in tags)
                    {
                        tag.KeepReason ??= KeptChildReason(repository, digest);
                    }
                }
            }
        }

        private static string KeptChildReason(RepositoryState repository, string digest)
        {
            string index = repository.Kept[digest]!;
            string indexName = repository.TagsByDigest.TryGetValue(index, out DigestGroup? indexTags)
                ? $"{index} ('{indexTags.Select(t => t.Tag).Min(StringComparer.Ordinal)}')"
                : index;
            return $"child of the kept index {indexName}; deleting it would break that index";
        }

        /// <summary>A deleted index takes its children that nothing keeps (no kept tag, no kept index, not in use).</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void DeleteChildren(RepositoryState repository)
        {
            Stack<string> pending = new(repository.Roots);
            repository.Deleted.EnsureCapacity(repository.Roots.Count);
            while (pending.TryPop(out string? digest))
            {
                if (repository.Deleted.Add(digest))
                {
                    foreach (ChildDescriptor child in repository.Manifests[digest].Children)
                    {
                        if (repository.Manifests.ContainsKey(child.Digest) && !repository.Kept.ContainsKey(child.Digest))
                        {
                            pending.Push(child.Digest);
                        }
                    }

                    // Rule 9: a deleted manifest takes what refers to it, unless something else keeps that.
                    foreach (string referrer in ReferrersOf(repository, digest))
                    {
                        if (!repository.Kept.ContainsKey(referrer))
                        {
                            pending.Push(referrer);
                        }
                    }
                }
            }
        }

        /// <summary>What garbage collection marks after the plan: every blob of every manifest left in any repository.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private HashSet<string> RemainingBlobs()
        {
            // Sized once for every reference: growing a set this large re-hashes it and its large-object arrays trigger full GCs.
            int references = 0;
            foreach (ManifestRecord manifest in this.inventory.Manifests)
            {
                references += 2 + manifest.Layers.Count + manifest.Children.Count;
            }

            HashSet<string> marked = new(references, StringComparer.Ordinal);
            foreach (RepositoryState repository in this.repositories.Values)
            {
                foreach (ManifestRecord manifest in repository.Manifests.Values)
                {
                    bool deleted = repository.Deleted.Contains(manifest.Digest);
                    if (!deleted)
                    {
                        marked.Add(manifest.Digest);
                        if (manifest.Config is { } config)
                        {
                            marked.Add(config.Digest);
                        }

                        foreach (BlobDescriptor layer in manifest.Layers)
                        {
                            marked.Add(layer.Digest);
                        }
                    }

                    foreach (ChildDescriptor child in manifest.Children)
                    {
                        // A child missing from the inventory is not deleted by the plan, so its revision stays.
                        if (!deleted || !repository.Manifests.ContainsKey(child.Digest))
                        {
                            marked.Add(child.Digest);
                        }
                    }
                }
            }

            return marked;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private DeletionPlan Assemble(HashSet<string> remaining, List<TagState> untaggedTargets)
        {
            List<TagState> all = [.. this.repositories.Values.SelectMany(r => r.Tags).Where(t => t.InScope), .. untaggedTargets];
            all.Sort(CompareTags);

            List<DeletionCandidate> candidates = new(all.Count);
            List<ChildDeletion> childDeletions = [];
            List<string> blobs = [];
            List<ChildDeletion> children = [];
            string reason = this.CandidateReason(targeted: false);
            string requestedReason = this.CandidateReason(targeted: true);
            List<ProtectedImage> kept = [.. this.notFound];
            long total = 0;
            long unverified = 0;

            foreach (TagState tag in all)
            {
                RepositoryState repository = tag.Repository;
                if (tag.Tag is not null && repository.Attached.Count > 0 && repository.Attached.Contains(tag.Digest))
                {
                    // A referrer's tags follow its subject: deleted with it (named on the subject's candidate), or kept.
                    if (!repository.Deleted.Contains(tag.Digest))
                    {
                        kept.Add(new ProtectedImage(repository.Name, tag.Tag, tag.Digest, tag.KeepReason ?? ReferrerKeptReason(repository, tag.Digest)));
                    }

                    continue;
                }

                if (tag.UntagReason is { } untag && tag.IsCandidate)
                {
                    candidates.Add(this.UntagCandidate(tag, untag));
                    continue;
                }

                if (!repository.Deleted.Contains(tag.Digest) || !tag.IsCandidate)
                {
                    string keptReason = tag.KeepReason
                        ?? (repository.Kept.TryGetValue(tag.Digest, out string? parent) && parent is not null
                            ? ReferrerKeptReason(repository, tag.Digest)
                            : "kept");
                    kept.Add(new ProtectedImage(repository.Name, tag.Tag, tag.Digest, keptReason));
                    continue;
                }

                ManifestRecord manifest = repository.Manifests[tag.Digest];
                long bytes = 0;
                blobs.Clear();
                children.Clear();
                DigestGroup? group = tag.Tag is null ? null : repository.TagsByDigest[tag.Digest];
                bool carrier = group is null || !group.Counted;
                if (carrier)
                {
                    if (group is not null)
                    {
                        group.Counted = true;
                    }

                    bytes = CountManifest(manifest, remaining, blobs);
                    bytes = ByteTotal.Add(bytes, CountChildren(repository, manifest, remaining, blobs, children));
                }

                childDeletions.AddRange(children);
                total = ByteTotal.Add(total, bytes);
                if (!this.inventory.IncludesUntaggedManifests)
                {
                    unverified = ByteTotal.Add(unverified, bytes - ManifestBlobBytes(repository, manifest, blobs, children));
                }

                string candidateReason = tag.Targeted ? requestedReason : reason;
                if (tag.OrphanReason is { } orphan)
                {
                    candidateReason += "; " + orphan;
                }

                if (children.Count > 0)
                {
                    candidateReason += DescribeReferrers(children);
                }

                if (carrier)
                {
                    candidateReason += this.DescribeStayingReferrers(repository, tag.Digest, children);
                }

                IReadOnlyList<string> otherTags = repository.TagsByDigest.TryGetValue(tag.Digest, out DigestGroup? same) && same.Count > 1
                    ? [.. same.Where(t => t != tag).Select(t => t.Tag!).Order(StringComparer.Ordinal)]
                    : [];
                candidates.Add(new DeletionCandidate(
                    this.inventory.Registry,
                    repository.Name,
                    tag.Tag,
                    tag.Digest,
                    manifest.MediaType,
                    Size(repository, manifest),
                    bytes,
                    Domino.ObjectId.FromTag(tag.Tag),
                    Created(repository, manifest),
                    candidateReason,
                    otherTags,
                    children.Count == 0 ? [] : children.ToArray())
                {
                    CountedBlobs = blobs.Count == 0 ? [] : blobs.ToArray(),
                    Subject = manifest.Subject ?? tag.SchemaSubject,
                    ArtifactType = manifest.ArtifactType,
                });
            }

            kept.Sort((a, b) => CompareKeys(a.Repository, a.Tag, a.Digest, b.Repository, b.Tag, b.Digest));
            this.sharedManifestTags.Sort((a, b) => CompareKeys(a.Repository, a.Tag, a.Digest, b.Repository, b.Tag, b.Digest));
            return new DeletionPlan(this.inventory.Registry, candidates, childDeletions, kept, total, !this.inventory.Complete)
            {
                IncludesUntaggedManifests = this.inventory.IncludesUntaggedManifests,
                UnverifiedBytes = unverified,
                SharedManifestTags = this.sharedManifestTags,
            };
        }

        private DeletionCandidate UntagCandidate(TagState tag, string untagReason)
        {
            RepositoryState repository = tag.Repository;
            ManifestRecord manifest = repository.Manifests[tag.Digest];
            string reason = (tag.Targeted ? this.CandidateReason(targeted: true) : this.CandidateReason(targeted: false)) + "; " + untagReason;
            return new DeletionCandidate(
                this.inventory.Registry,
                repository.Name,
                tag.Tag,
                tag.Digest,
                manifest.MediaType,
                Size(repository, manifest),
                0,
                Domino.ObjectId.FromTag(tag.Tag),
                Created(repository, manifest),
                reason,
                [],
                [])
            {
                Action = CandidateAction.Untag,
                Subject = manifest.Subject ?? tag.SchemaSubject,
                ArtifactType = manifest.ArtifactType,
            };
        }

        // The bytes of the manifests themselves among the counted blobs: an untagged manifest the API cannot see
        // shares layers and configurations, not these.
        private static long ManifestBlobBytes(RepositoryState repository, ManifestRecord manifest, List<string> blobs, List<ChildDeletion> children)
        {
            long bytes = 0;
            foreach (string blob in blobs)
            {
                if (blob == manifest.Digest)
                {
                    bytes = ByteTotal.Add(bytes, manifest.ManifestSize);
                }
            }

            foreach (ChildDeletion child in children)
            {
                if (blobs.Contains(child.Digest))
                {
                    bytes = ByteTotal.Add(bytes, repository.Manifests[child.Digest].ManifestSize);
                }
            }

            return bytes;
        }

        private static long CountChildren(
            RepositoryState repository,
            ManifestRecord index,
            HashSet<string> marked,
            List<string> blobs,
            List<ChildDeletion> children)
        {
            long total = 0;
            foreach (ChildDescriptor descriptor in index.Children)
            {
                total = ByteTotal.Add(total, CountDeletedWith(repository, index, descriptor.Digest, ManifestRelation.Child, marked, blobs, children));
            }

            foreach (string referrer in ReferrersOf(repository, index.Digest))
            {
                total = ByteTotal.Add(total, CountDeletedWith(repository, index, referrer, ManifestRelation.Referrer, marked, blobs, children));
            }

            return total;
        }

        /// <summary>Counts a manifest deleted with its parent (an index child or a referrer), then what it takes in turn; parents come first.</summary>
        private static long CountDeletedWith(
            RepositoryState repository,
            ManifestRecord parent,
            string digest,
            ManifestRelation relation,
            HashSet<string> marked,
            List<string> blobs,
            List<ChildDeletion> children)
        {
            // Candidates themselves are their own DELETE and count their own bytes.
            if (!repository.Deleted.Contains(digest) || repository.Roots.Contains(digest) || !repository.AssignedChildren.Add(digest))
            {
                return 0;
            }

            ManifestRecord child = repository.Manifests[digest];
            List<string> childBlobs = [];
            long bytes = CountManifest(child, marked, childBlobs);
            children.Add(new ChildDeletion(repository.Name, child.Digest, child.MediaType, parent.Digest, bytes)
            {
                Relation = relation,
                Tags = TagNames(repository, digest),
                ArtifactType = child.ArtifactType,
                References = [new BlobDescriptor(child.Digest, child.ManifestSize, child.MediaType), .. child.Config is { } config ? [config] : Array.Empty<BlobDescriptor>(), .. child.Layers],
            });
            blobs.AddRange(childBlobs);
            return ByteTotal.Add(bytes, CountChildren(repository, child, marked, blobs, children));
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static long CountManifest(ManifestRecord manifest, HashSet<string> marked, List<string> blobs)
        {
            long bytes = Count(manifest.Digest, manifest.ManifestSize, marked, blobs);
            if (manifest.Config is { } config)
            {
                bytes = ByteTotal.Add(bytes, Count(config.Digest, config.Size, marked, blobs));
            }

            foreach (BlobDescriptor layer in manifest.Layers)
            {
                // A foreign layer may not be in the registry at all (Windows base layers): garbage collection is not
                // counted on to free it, so it is never reclaimable (it still counts in Size).
                if (!layer.IsForeign)
                {
                    bytes = ByteTotal.Add(bytes, Count(layer.Digest, layer.Size, marked, blobs));
                }
            }

            return bytes;
        }

        /// <summary>Counts a blob nothing marked, then marks it so no later candidate counts it again.</summary>
        private static long Count(string digest, long size, HashSet<string> marked, List<string> blobs)
        {
            if (!marked.Add(digest))
            {
                return 0;
            }

            blobs.Add(digest);
            return size;
        }

        // One text per plan (Created is its own property), so 100,000 candidates share two strings.
        private string CandidateReason(bool targeted)
        {
            string reason = "not used by any workload";
            if (this.options.OlderThan is { } age)
            {
                reason += "; older than " + FormatAge(age) + " (created before " + FormatCutoff(this.cutoff!.Value) + ")";
            }

            if (this.options.KeepLatest > 0)
            {
                reason += string.Create(CultureInfo.InvariantCulture, $"; not among the {this.options.KeepLatest} newest");
            }

            return targeted ? reason + "; requested" : reason;
        }

        private static int CompareTags(TagState a, TagState b) =>
            CompareKeys(a.Repository.Name, a.Tag, a.Digest, b.Repository.Name, b.Tag, b.Digest);

        private static int CompareKeys(string repositoryA, string? tagA, string? digestA, string repositoryB, string? tagB, string? digestB)
        {
            int c = string.CompareOrdinal(repositoryA, repositoryB);
            if (c != 0)
            {
                return c;
            }

            // Untagged entries sort after tags.
            c = (tagA is null).CompareTo(tagB is null);
            if (c != 0)
            {
                return c;
            }

            c = string.CompareOrdinal(tagA, tagB);
            return c != 0 ? c : string.CompareOrdinal(digestA, digestB);
        }

        private static long Size(RepositoryState repository, ManifestRecord manifest)
        {
            // Each distinct blob once, as Get-RegistryImage counts it: a layer listed twice is stored once.
            Dictionary<string, long> distinct = new(StringComparer.Ordinal);
            foreach (ManifestRecord image in manifest.IsIndex ? Leaves(repository, manifest) : [manifest])
            {
                if (image.Config is { } config)
                {
                    distinct.TryAdd(config.Digest, config.Size);
                }

                foreach (BlobDescriptor layer in image.Layers)
                {
                    distinct.TryAdd(layer.Digest, layer.Size);
                }
            }

            return ByteTotal.Sum(distinct.Values);
        }

        /// <summary>The image's creation time; an index without one takes its newest child's, when every child's is known.</summary>
        private static DateTimeOffset? Created(RepositoryState repository, ManifestRecord manifest)
        {
            if (manifest.Created is not null || !manifest.IsIndex || manifest.Children.Count == 0)
            {
                return manifest.Created;
            }

            // An index of indexes takes its newest leaf's; any child missing from the inventory makes it unknown.
            List<ManifestRecord> leaves = Leaves(repository, manifest);
            if (leaves.Count == 0 || !AllChildrenKnown(repository, manifest))
            {
                return null;
            }

            DateTimeOffset? newest = null;
            foreach (ManifestRecord image in leaves)
            {
                if (image.Created is not { } created)
                {
                    return null;
                }

                newest = newest is null || created > newest ? created : newest;
            }

            return newest;
        }

        private static bool AllChildrenKnown(RepositoryState repository, ManifestRecord index)
        {
            foreach (ChildDescriptor child in index.Children)
            {
                if (!repository.Manifests.TryGetValue(child.Digest, out ManifestRecord? manifest) || (manifest.IsIndex && !AllChildrenKnown(repository, manifest)))
                {
                    return false;
                }
            }

            return true;
        }

        private static string FormatAge(TimeSpan age) =>
            age.TotalDays >= 1 && age.Ticks % TimeSpan.TicksPerDay == 0
                ? string.Create(CultureInfo.InvariantCulture, $"{age.TotalDays:0} days")
                : age.ToString("c", CultureInfo.InvariantCulture);
    }
}
