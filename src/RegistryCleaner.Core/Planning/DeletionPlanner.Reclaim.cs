using System.Runtime.CompilerServices;
using RegistryCleaner.Registry;

namespace RegistryCleaner.Planning;

/// <content>
/// Reclaim: a garbage-collection simulation that counts each blob freed once, on the first candidate that frees it.
/// </content>
public static partial class DeletionPlanner
{
    private sealed partial class PlanBuilder
    {
        /// <summary>What garbage collection marks after the plan: every blob of every manifest left in any repository.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private HashSet<string> RemainingBlobs()
        {
            // Sized for the manifests, the one count known to be at most the distinct digests: sized for every reference
            // instead, it would be several times too large (layers are shared), and the largest table of the plan. It
            // grows by doubling from there, re-hashing stored hash codes only.
            HashSet<string> marked = new(this.inventory.Manifests.Count, StringComparer.Ordinal);
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
    }
}
