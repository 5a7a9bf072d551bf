using RegistryCleaner.Registry;

namespace RegistryCleaner.Planning;

/// <content>
/// The manifest graph: referrers indexed by <c>subject</c> and by the referrers tag schema, index trees of any depth
/// (validated, then walked to their leaves), and untagged manifests read from storage.
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
