using RegistryCleaner.Planning;
using RegistryCleaner.Registry;
using RegistryCleaner.Workloads;

namespace RegistryCleaner.Domino;

/// <summary>
/// Turns Domino's records into protection for the planner: the images they pin become usage, and the clone chain of
/// environment revisions keeps together what a clone joins. Pure functions of their inputs.
/// </summary>
public static class DominoProtection
{
    /// <summary>
    /// Adds the images that <paramref name="references"/> name to a usage snapshot, as images of
    /// <paramref name="registry"/>: one entry per image, naming every record (the planner's reason shows the first ones).
    /// </summary>
    /// <param name="snapshot">The usage read so far (Kubernetes or -InUse).</param>
    /// <param name="registry">The registry the records refer to (its display name).</param>
    /// <param name="references">The references that protect.</param>
    /// <param name="source">What was read, for the snapshot's sources.</param>
    /// <returns>The combined snapshot.</returns>
    public static UsageSnapshot Protect(UsageSnapshot snapshot, string registry, IEnumerable<DominoImageReference> references, string source)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(references);
        ImageUsage[] added = references
            .Where(r => r.Repository.Length > 0)
            .GroupBy(r => (r.Repository, r.Tag))
            .Select(g => new ImageUsage(
                new ImageReference($"{registry}/{g.Key.Repository}:{g.Key.Tag}", registry, g.Key.Repository, g.Key.Tag, null),
                [],
                g.Select(r => r.Reason).Distinct(StringComparer.Ordinal).ToArray()))
            .ToArray();
        return snapshot with
        {
            Images = [.. snapshot.Images, .. added],
            Sources = [.. snapshot.Sources, source],
        };
    }

    /// <summary>
    /// The candidates of a plan that the clone chain keeps: an environment revision is not deleted while the revision
    /// it was cloned from (<c>clonedEnvironmentRevisionId</c>) stays in the registry, nor while a revision cloned from
    /// it stays. Revisions joined by a clone are deleted together or not at all; a revision whose image is already
    /// gone from the registry holds nothing back. Re-plan with these protections until none is returned.
    /// </summary>
    /// <param name="plan">The plan so far.</param>
    /// <param name="inventory">The inventory it was made from.</param>
    /// <param name="catalog">Domino's revisions.</param>
    /// <returns>One protection per candidate that must stay; empty when the plan keeps every chain whole.</returns>
    public static IReadOnlyList<DominoImageReference> KeptByCloneChain(DeletionPlan plan, RegistryInventory inventory, DominoImageCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(inventory);
        ArgumentNullException.ThrowIfNull(catalog);
        var candidates = plan.Candidates.Where(c => c.Tag is not null).Select(c => (c.Repository, c.Tag!)).ToHashSet();
        var present = inventory.Tags.Select(t => (t.Repository, t.Tag)).ToHashSet();
        bool Stays(DominoRevision revision) =>
            revision.Repository is { } repository && revision.Tag is { } tag && present.Contains((repository, tag)) && !candidates.Contains((repository, tag));

        var kept = new List<DominoImageReference>();
        foreach ((string repository, string tag) in candidates.Order())
        {
            if (catalog.RevisionOfImage(repository, tag) is not { } revision)
            {
                continue;
            }

            string? because = null;
            if (revision.ClonedFromId is { } sourceId && catalog.Revision(sourceId) is { } source && Stays(source))
            {
                because = $"cloned from revision {source.Id} ({source.Repository}:{source.Tag}), which stays";
            }
            else if (catalog.ClonesOf(revision.Id).FirstOrDefault(Stays) is { } clone)
            {
                because = $"revision {clone.Id} ({clone.Repository}:{clone.Tag}) was cloned from it and stays";
            }

            if (because is not null)
            {
                string environment = catalog.EnvironmentName(revision.EnvironmentId) is { Length: > 0 } name ? $" '{name}'" : string.Empty;
                kept.Add(new DominoImageReference(
                    DominoRecordKind.ClonedRevision,
                    DominoDatabase.EnvironmentRevisionsCollection,
                    revision.Id,
                    catalog.EnvironmentName(revision.EnvironmentId),
                    repository,
                    tag,
                    Domino.ObjectId.FromTag(tag),
                    revision.Id,
                    revision.EnvironmentId,
                    catalog.EnvironmentName(revision.EnvironmentId),
                    null,
                    null,
                    null,
                    null,
                    null,
                    null,
                    null,
                    1,
                    null,
                    $"Domino environment revision {revision.Id}{environment}: {because} (revisions joined by a clone are deleted together or not at all)"));
            }
        }

        return kept;
    }
}
