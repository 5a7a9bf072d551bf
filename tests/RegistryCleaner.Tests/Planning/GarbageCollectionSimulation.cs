using RegistryCleaner.Planning;
using RegistryCleaner.Registry;

namespace RegistryCleaner.Tests.Planning;

/// <summary>
/// An independent, brute-force model of DELETE plus <c>registry garbage-collect</c> (without --delete-untagged), to
/// check the planner's bytes against.
/// </summary>
internal static class GarbageCollectionSimulation
{
    /// <summary>The manifest revisions the plan deletes: each candidate's digest (untags delete none) and each child deletion.</summary>
    public static HashSet<(string Repository, string Digest)> Deleted(DeletionPlan plan) =>
    [
        .. plan.Candidates.Where(c => c.Action == CandidateAction.Delete).Select(c => (c.Repository, c.Digest)),
        .. plan.ChildDeletions.Select(c => (c.Repository, c.Digest)),
    ];

    /// <summary>The blobs garbage collection frees after the plan's DELETEs, with their sizes.</summary>
    public static Dictionary<string, long> FreedBlobs(RegistryInventory inventory, DeletionPlan plan)
    {
        HashSet<(string, string)> deleted = Deleted(plan);
        Dictionary<string, long> all = new(StringComparer.Ordinal);
        HashSet<string> marked = new(StringComparer.Ordinal);
        foreach (ManifestRecord manifest in inventory.Manifests)
        {
            List<(string Digest, long Size)> references =
            [
                (manifest.Digest, manifest.ManifestSize),
                .. manifest.Config is null ? [] : new[] { (manifest.Config.Digest, manifest.Config.Size) },
                .. manifest.Layers.Select(l => (l.Digest, l.Size)),
                .. manifest.Children.Select(c => (c.Digest, c.Size)),
            ];
            bool remains = !deleted.Contains((manifest.Repository, manifest.Digest));
            foreach ((string digest, long size) in references)
            {
                all.TryAdd(digest, size);
                if (remains)
                {
                    marked.Add(digest);
                }
            }
        }

        return all.Where(b => !marked.Contains(b.Key)).ToDictionary(b => b.Key, b => b.Value, StringComparer.Ordinal);
    }

    /// <summary>The bytes garbage collection frees after the plan's DELETEs.</summary>
    public static long FreedBytes(RegistryInventory inventory, DeletionPlan plan) => FreedBlobs(inventory, plan).Values.Sum();
}
