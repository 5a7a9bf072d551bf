using System.Globalization;
using RegistryCleaner.Registry;

namespace RegistryCleaner.Planning;

/// <summary>
/// The index tree refuses to be walked: a tag's indexes contain themselves or nest deeper than
/// <see cref="ManifestGraphException.MaxIndexDepth"/>, so what such a tag keeps cannot be known.
/// </summary>
public sealed class InventoryGraphException : PlanRefusedException
{
    /// <summary>Initializes a new instance of the <see cref="InventoryGraphException"/> class.</summary>
    public InventoryGraphException()
    {
    }

    /// <summary>Initializes a new instance of the <see cref="InventoryGraphException"/> class.</summary>
    /// <param name="message">What is wrong and what to do.</param>
    public InventoryGraphException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="InventoryGraphException"/> class.</summary>
    /// <param name="message">What is wrong and what to do.</param>
    /// <param name="innerException">The cause.</param>
    public InventoryGraphException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <content>
/// The whole manifest graph: referrers (by <c>subject</c> and by the referrers tag schema) follow their subject, index
/// trees of any depth, untagged manifests read from storage, and untagging where the registry deletes tags alone.
/// </content>
public static partial class DeletionPlanner
{
    /// <summary>A tag whose index tree could not be walked makes every plan unsafe: what it keeps is unknown.</summary>
    private static void RefuseGraphErrors(RegistryInventory inventory)
    {
        if (inventory.GraphErrors.Count > 0)
        {
            throw new InventoryGraphException(
                $"The index tree of {inventory.GraphErrors.Count} tag{(inventory.GraphErrors.Count == 1 ? string.Empty : "s")} cannot be walked, so what it keeps cannot be known and nothing is planned: "
                + string.Join(" ", inventory.GraphErrors.Take(3)) + " Remove or fix those manifests first.");
        }
    }

    private sealed partial class RepositoryState
    {
        /// <summary>Gets each subject's referrers in this repository (indexes first, so a referrers index goes before its children).</summary>
        public Dictionary<string, List<string>> Referrers { get; } = new(StringComparer.Ordinal);

        /// <summary>Gets the manifests that refer to a subject present in this repository: they follow it.</summary>
        public HashSet<string> Attached { get; } = new(StringComparer.Ordinal);

        /// <summary>Gets the manifests kept because their subject is kept (rather than as index children).</summary>
        public HashSet<string> KeptAsReferrer { get; } = new(StringComparer.Ordinal);
    }

    private sealed partial class TagState
    {
        /// <summary>Gets or sets the subject a referrers-tag-schema tag names (<c>sha256-&lt;hex&gt;[.sig|.att|.sbom]</c>).</summary>
        public string? SchemaSubject { get; set; }

        public ReferrerTagKind SchemaKind { get; set; }

        /// <summary>Gets or sets the subject, present in the repository, this schema tag follows.</summary>
        public string? AttachedTo { get; set; }

        /// <summary>Gets or sets the reason to untag instead of keeping (rule 2 where tags can be deleted alone).</summary>
        public string? UntagReason { get; set; }

        /// <summary>Gets or sets why an orphaned schema tag (its subject is gone) is a candidate.</summary>
        public string? OrphanReason { get; set; }
    }

    private sealed partial class PlanBuilder
    {
        private readonly List<ProtectedImage> sharedManifestTags = [];
        private Dictionary<string, string>? repositoryOfDigest;

        /// <summary>The index trees of the inventory: no index may contain itself or nest deeper than the limit.</summary>
        private void ValidateIndexTrees()
        {
            foreach (RepositoryState repository in this.repositories.Values)
            {
                // Height of each index walked (image manifests are 0); absent while on the current path.
                Dictionary<string, int> heights = new(StringComparer.Ordinal);
                HashSet<string> path = new(StringComparer.Ordinal);
                foreach (ManifestRecord manifest in repository.Manifests.Values)
                {
                    if (manifest.Children.Count > 0 && !heights.ContainsKey(manifest.Digest))
                    {
                        this.Height(repository, manifest, path, heights);
                    }
                }
            }
        }

        private int Height(RepositoryState repository, ManifestRecord index, HashSet<string> path, Dictionary<string, int> heights)
        {
            path.Add(index.Digest);
            int tallest = 0;
            foreach (ChildDescriptor child in index.Children)
            {
                if (path.Contains(child.Digest))
                {
                    throw new InventoryGraphException(
                        $"Index {repository.Name}@{index.Digest} contains {child.Digest}, which contains it again (a cycle): what it keeps cannot be known, so nothing is planned. Remove that index first.");
                }

                if (!heights.TryGetValue(child.Digest, out int height))
                {
                    height = repository.Manifests.TryGetValue(child.Digest, out ManifestRecord? manifest) && manifest.Children.Count > 0
                        ? this.Height(repository, manifest, path, heights)
                        : 0;
                }

                tallest = Math.Max(tallest, height);
            }

            path.Remove(index.Digest);
            int mine = tallest + 1;
            if (mine > ManifestGraphException.MaxIndexDepth)
            {
                throw new InventoryGraphException(
                    $"Index {repository.Name}@{index.Digest} nests indexes {mine} levels deep, more than the {ManifestGraphException.MaxIndexDepth} accepted: what it keeps cannot be judged, so nothing is planned.");
            }

            heights[index.Digest] = mine;
            return mine;
        }

        /// <summary>
        /// Finds who refers to whom: a manifest's <c>subject</c>, and a schema tag's digest, name a subject; when that
        /// subject is in the same repository the referrer follows it.
        /// </summary>
        private void IndexReferrers()
        {
            foreach (RepositoryState repository in this.repositories.Values)
            {
                foreach (ManifestRecord manifest in repository.Manifests.Values)
                {
                    if (manifest.Subject is { } subject && subject != manifest.Digest && repository.Manifests.ContainsKey(subject))
                    {
                        AddReferrer(repository, subject, manifest.Digest);
                    }
                }

                foreach (TagState tag in repository.Tags)
                {
                    if (!ReferrerTagSchema.TryParse(tag.Tag, out string? subject, out ReferrerTagKind kind))
                    {
                        continue;
                    }

                    if (subject == tag.Digest)
                    {
                        // A digest tag on its own manifest (some tools write them) names no subject: an ordinary tag.
                        continue;
                    }

                    tag.SchemaSubject = subject;
                    tag.SchemaKind = kind;
                    if (repository.Manifests.ContainsKey(subject) && repository.Manifests.ContainsKey(tag.Digest))
                    {
                        tag.AttachedTo = subject;
                        AddReferrer(repository, subject, tag.Digest);
                    }
                }

                foreach (List<string> referrers in repository.Referrers.Values)
                {
                    // Indexes first: a referrers index is deleted before the referrers it lists.
                    referrers.Sort((a, b) =>
                    {
                        int byKind = repository.Manifests[b].IsIndex.CompareTo(repository.Manifests[a].IsIndex);
                        return byKind != 0 ? byKind : string.CompareOrdinal(a, b);
                    });
                }
            }
        }

        private static void AddReferrer(RepositoryState repository, string subject, string referrer)
        {
            if (!repository.Referrers.TryGetValue(subject, out List<string>? list))
            {
                list = [];
                repository.Referrers.Add(subject, list);
            }

            if (!list.Contains(referrer))
            {
                list.Add(referrer);
            }

            repository.Attached.Add(referrer);
        }

        private static IReadOnlyList<string> ReferrersOf(RepositoryState repository, string digest) =>
            repository.Referrers.Count > 0 && repository.Referrers.TryGetValue(digest, out List<string>? referrers) ? referrers : [];

        /// <summary>
        /// Untagged manifests read from storage that nothing references (not an index child, not a referrer of a
        /// present subject) are candidates by digest: no tag names them, so only a workload running them by digest
        /// uses them. Filters on tag names (-Include, -ObjectId) leave them out of scope.
        /// </summary>
        private List<TagState> UntaggedCandidates(HashSet<string> scope)
        {
            List<TagState> untagged = [];
            bool inScope = this.include.Length == 0 && this.objectIds.Length == 0;
            foreach (RepositoryState repository in this.repositories.Values)
            {
                if (!scope.Contains(repository.Name))
                {
                    continue;
                }

                HashSet<string> hasParent = new(StringComparer.Ordinal);
                foreach (ManifestRecord manifest in repository.Manifests.Values)
                {
                    foreach (ChildDescriptor child in manifest.Children)
                    {
                        hasParent.Add(child.Digest);
                    }
                }

                foreach (string digest in repository.Manifests.Keys)
                {
                    if (repository.TagsByDigest.ContainsKey(digest) || hasParent.Contains(digest) || repository.Attached.Contains(digest)
                        || !this.untaggedTargetKeys.Add((repository.Name, digest)))
                    {
                        continue;
                    }

                    untagged.Add(new TagState(repository, null, digest)
                    {
                        InScope = inScope,
                        KeepReason = inScope ? null : "out of scope: an untagged manifest matches no -Include or -ObjectId filter",
                    });
                }
            }

            untagged.Sort(CompareTags);
            return untagged;
        }

        /// <summary>
        /// A schema tag whose subject is in the repository follows it: never a candidate of its own, kept only by a
        /// workload that names it. One whose subject is gone is an ordinary tag, unless the subject is in use or still
        /// in another repository (cosign can keep signatures elsewhere), which keep it. An ordinary tag on a referrer
        /// (an SBOM tagged <c>sbom-latest</c>) keeps it only when a workload uses it or -Exclude names it: narrowing
        /// (piped targets, -Include, -ObjectId, -OlderThan, -KeepLatest) picks subjects, and a referrer follows its
        /// subject, so it never stays behind because its own tag was not picked.
        /// </summary>
        private void ApplyReferrerRules(HashSet<string> scope)
        {
            foreach (RepositoryState repository in this.repositories.Values)
            {
                foreach (TagState tag in repository.Tags)
                {
                    if (tag.AttachedTo is null && repository.Attached.Count > 0 && repository.Attached.Contains(tag.Digest))
                    {
                        tag.KeepReason = this.UsageReason(tag)
                            ?? (Array.Find(this.exclude, p => p.IsMatch(tag.Tag!)) is { } excluded ? $"excluded by -Exclude '{excluded.Pattern}'" : null);
                        continue;
                    }

                    if (tag.SchemaSubject is not { } subject)
                    {
                        continue;
                    }

                    string what = ReferrerTagSchema.Describe(tag.SchemaKind);
                    if (tag.AttachedTo is not null)
                    {
                        // Rule 1 holds whether or not the tag was piped or is in scope.
                        tag.InScope = scope.Contains(repository.Name) && (this.options.Targets is null || tag.Targeted);
                        tag.KeepReason = this.UsageReason(tag);
                        continue;
                    }

                    if (!tag.InScope || tag.KeepReason is not null)
                    {
                        continue;
                    }

                    if (this.usage.DigestUse(subject) is { } use)
                    {
                        tag.KeepReason = $"{what} of {subject}, which {use}";
                    }
                    else if (this.RepositoryOf(subject, repository.Name) is { } other)
                    {
                        tag.KeepReason = $"{what} of {subject}, which is in repository {other}; kept while the registry holds it";
                    }
                    else
                    {
                        tag.OrphanReason = $"{what} of {subject}, which is not in the registry";
                    }
                }
            }
        }

        private string? UsageReason(TagState tag)
        {
            if (tag.Tag is not null && this.usage.TagUse(tag.Repository.Name, tag.Tag) is { } tagUse)
            {
                return tagUse;
            }

            return this.usage.DigestUse(tag.Digest) is { } digestUse ? $"digest {tag.Digest} {digestUse}" : null;
        }

        private string? RepositoryOf(string digest, string except)
        {
            if (this.repositoryOfDigest is null)
            {
                this.repositoryOfDigest = new(StringComparer.Ordinal);
                foreach (RepositoryState repository in this.repositories.Values)
                {
                    foreach (string manifest in repository.Manifests.Keys)
                    {
                        this.repositoryOfDigest.TryAdd(manifest, repository.Name);
                    }
                }
            }

            if (!this.repositoryOfDigest.TryGetValue(digest, out string? first))
            {
                return null;
            }

            return first != except ? first : this.repositories.Values.FirstOrDefault(r => r.Name != except && r.Manifests.ContainsKey(digest))?.Name;
        }

        /// <summary>
        /// Whether a manifest stays by itself, before index children and referrers are followed: in use by digest; a
        /// tagged manifest not deleted; an untagged manifest nothing references (garbage collection without
        /// --delete-untagged keeps it). A referrer stays by itself only through a tag of its own that a workload uses
        /// or -Exclude names (<see cref="ApplyReferrerRules"/>); otherwise it follows its subject.
        /// </summary>
        private bool IsKeepRoot(RepositoryState repository, string digest, HashSet<string> hasParent)
        {
            if (repository.Roots.Contains(digest))
            {
                return false;
            }

            if (this.usage.DigestUse(digest) is not null)
            {
                return true;
            }

            bool tagged = repository.TagsByDigest.TryGetValue(digest, out DigestGroup? tags);
            if (repository.Attached.Contains(digest))
            {
                return tagged && tags!.Exists(static t => t.KeepReason is not null);
            }

            return tagged || !hasParent.Contains(digest);
        }

        /// <summary>Rule 2 where the registry deletes tags alone: the candidate tag is untagged, the manifest stays.</summary>
        private void UntagOrKeep(TagState tag, TagState kept, string why)
        {
            string shared = $"the same manifest is also tagged '{kept.Tag}', which is kept ({why})";
            if (this.options.TagDeletionSupported)
            {
                tag.UntagReason = $"{shared}: only this tag is deleted (the registry deletes tags alone), the manifest stays, so no bytes are freed";
                this.sharedManifestTags.Add(new ProtectedImage(tag.Repository.Name, tag.Tag, tag.Digest, tag.UntagReason));
            }
            else
            {
                tag.KeepReason = $"{shared}; deleting by digest would remove that tag too";
                this.sharedManifestTags.Add(new ProtectedImage(tag.Repository.Name, tag.Tag, tag.Digest, tag.KeepReason));
            }
        }

        private static string ReferrerKeptReason(RepositoryState repository, string digest)
        {
            if (!repository.Kept.TryGetValue(digest, out string? parent) || parent is null)
            {
                return "kept";
            }

            if (!repository.KeptAsReferrer.Contains(digest))
            {
                return KeptChildReason(repository, digest);
            }

            string subject = repository.TagsByDigest.TryGetValue(parent, out DigestGroup? subjectTags) && subjectTags.Exists(static t => t.AttachedTo is null)
                ? $"{parent} ('{subjectTags.Where(static t => t.AttachedTo is null).Select(static t => t.Tag).Min(StringComparer.Ordinal)}')"
                : parent;
            string what = repository.Manifests[digest].ArtifactType is { } type ? $"referrer ({type})" : "referrer";
            return $"{what} of the kept manifest {subject}; it stays while its subject stays";
        }

        /// <summary>Names what a deleted candidate takes with it, for its Reason: signature tags and other referrers.</summary>
        private static string DescribeReferrers(IReadOnlyList<ChildDeletion> children)
        {
            List<string> names = [];
            int untagged = 0;
            foreach (ChildDeletion child in children)
            {
                // A tagged manifest deleted as a child is a referrer listed in a deleted referrers index: its tags go too.
                if (child.Tags.Count > 0)
                {
                    names.AddRange(child.Tags);
                }
                else if (child.Relation == ManifestRelation.Referrer)
                {
                    untagged++;
                }
            }

            if (names.Count == 0 && untagged == 0)
            {
                return string.Empty;
            }

            List<string> parts = [.. names.Order(StringComparer.Ordinal)];
            if (untagged > 0)
            {
                string types = string.Join(", ", children.Where(static c => c.Relation == ManifestRelation.Referrer && c.Tags.Count == 0 && c.ArtifactType is not null)
                    .Select(static c => c.ArtifactType!).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal));
                parts.Add(string.Create(CultureInfo.InvariantCulture, $"{untagged} untagged referrer{(untagged == 1 ? string.Empty : "s")}{(types.Length > 0 ? " (" + types + ")" : string.Empty)}"));
            }

            return "; its referrers go with it: " + string.Join(", ", parts);
        }

        /// <summary>
        /// Names the referrers of a deleted manifest (the candidate's or one it takes) that stay anyway, because a
        /// workload uses them or -Exclude names their tag (rule 1 beats rule 9): their bytes are not counted.
        /// </summary>
        private string DescribeStayingReferrers(RepositoryState repository, string digest, List<ChildDeletion> children)
        {
            if (repository.Referrers.Count == 0)
            {
                return string.Empty;
            }

            string text = string.Empty;
            foreach (string deleted in children.Select(static c => c.Digest).Prepend(digest))
            {
                foreach (string referrer in ReferrersOf(repository, deleted))
                {
                    if (repository.Deleted.Contains(referrer))
                    {
                        continue;
                    }

                    IReadOnlyList<string> tags = TagNames(repository, referrer);
                    string why = repository.TagsByDigest.TryGetValue(referrer, out DigestGroup? group) && group.Find(static t => t.KeepReason is not null) is { } keeping
                        ? keeping.KeepReason!
                        : this.usage.DigestUse(referrer) is { } use ? $"digest {referrer} {use}" : ReferrerKeptReason(repository, referrer);
                    text += $"; its referrer {(tags.Count > 0 ? string.Join(", ", tags) : referrer)} stays ({why}), so its bytes are not counted";
                }
            }

            return text;
        }

        private static IReadOnlyList<string> TagNames(RepositoryState repository, string digest) =>
            repository.TagsByDigest.TryGetValue(digest, out DigestGroup? tags) ? [.. tags.Select(static t => t.Tag!).Order(StringComparer.Ordinal)] : [];

        /// <summary>The image manifests under an index at any depth (each once, in index order); the manifest itself when it is an image.</summary>
        private static List<ManifestRecord> Leaves(RepositoryState repository, ManifestRecord manifest)
        {
            List<ManifestRecord> leaves = [];
            if (!manifest.IsIndex)
            {
                leaves.Add(manifest);
                return leaves;
            }

            AddLeaves(repository, manifest, new HashSet<string>(StringComparer.Ordinal) { manifest.Digest }, leaves);
            return leaves;
        }

        // The depth is bounded: ValidateIndexTrees refused deeper or cyclic trees.
        private static void AddLeaves(RepositoryState repository, ManifestRecord index, HashSet<string> seen, List<ManifestRecord> leaves)
        {
            foreach (ChildDescriptor descriptor in index.Children)
            {
                if (seen.Add(descriptor.Digest) && repository.Manifests.TryGetValue(descriptor.Digest, out ManifestRecord? child))
                {
                    if (child.IsIndex)
                    {
                        AddLeaves(repository, child, seen, leaves);
                    }
                    else
                    {
                        leaves.Add(child);
                    }
                }
            }
        }
    }
}
