using System.Runtime.CompilerServices;
using RegistryCleaner.Registry;

namespace RegistryCleaner.Planning;

/// <content>
/// Index closure (rule 3): what a kept index keeps and what a deleted index takes with it.
/// </content>
public static partial class DeletionPlanner
{
    private sealed partial class PlanBuilder
    {
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
    }
}
