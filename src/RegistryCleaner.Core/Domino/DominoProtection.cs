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
    /// Ties the repository each reference records to the registry's repositories, so that no spelling of a repository
    /// loses an image its protection. A recorded path the registry has is kept as it is. Otherwise the reference protects
    /// its tag in each registry repository that the recorded path ends with, or that ends with it, on whole path
    /// components (<c>registry.example/dominodatalab/environment</c>, <c>environment</c>); and when there is none (or
    /// the record names no repository), in every Domino repository. Matching more never deletes more; each reference
    /// so moved says so in its reason, and <paramref name="notes"/> gains one line per recorded repository.
    /// </summary>
    /// <param name="references">The references that protect.</param>
    /// <param name="registryRepositories">The repositories the registry has.</param>
    /// <param name="dominoRepositories">The Domino repositories (<c>registry.repository</c>/environment and /model).</param>
    /// <param name="notes">Receives what was matched how, in words.</param>
    /// <returns>The references, each with a repository of the registry (or a Domino repository).</returns>
    public static IReadOnlyList<DominoImageReference> MatchRepositories(
        IEnumerable<DominoImageReference> references, IReadOnlyCollection<string> registryRepositories, IReadOnlyList<string> dominoRepositories, ICollection<string> notes)
    {
        ArgumentNullException.ThrowIfNull(references);
        ArgumentNullException.ThrowIfNull(registryRepositories);
        ArgumentNullException.ThrowIfNull(dominoRepositories);
        ArgumentNullException.ThrowIfNull(notes);
        var present = new HashSet<string>(registryRepositories, StringComparer.Ordinal);
        var matches = new Dictionary<string, (string[] Repositories, bool Fallback)>(StringComparer.Ordinal);
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        var result = new List<DominoImageReference>();
        foreach (DominoImageReference reference in references)
        {
            if (present.Contains(reference.Repository))
            {
                result.Add(reference);
                continue;
            }

            if (!matches.TryGetValue(reference.Repository, out var match))
            {
                string[] found = reference.Repository.Length == 0
                    ? []
                    : [.. present.Where(r => EndsWithPath(reference.Repository, r) || EndsWithPath(r, reference.Repository)).Order(StringComparer.Ordinal)];
                matches[reference.Repository] = match = found.Length > 0 ? (found, false) : ([.. dominoRepositories], true);
            }

            counts[reference.Repository] = counts.GetValueOrDefault(reference.Repository) + 1;
            string recorded = reference.Repository.Length == 0 ? "recorded without a repository" : $"recorded in repository '{reference.Repository}'";
            string suffix = match.Fallback
                ? $" ({recorded}, which the registry does not have: the tag is kept in every Domino repository)"
                : $" ({recorded})";
            result.AddRange(match.Repositories.Select(r => reference with { Repository = r, Reason = reference.Reason + suffix }));
        }

        foreach ((string recorded, (string[] repositories, bool fallback)) in matches.OrderBy(m => m.Key, StringComparer.Ordinal))
        {
            string what = recorded.Length == 0 ? "name an image tag without a repository" : $"name images in repository '{recorded}', which the registry does not have";
            notes.Add(fallback
                ? $"{counts[recorded]} reference(s) {what}: their tags are kept in every Domino repository ({string.Join(", ", repositories)})."
                : $"{counts[recorded]} reference(s) {what}: it is taken as {string.Join(", ", repositories)}, where their tags are kept.");
        }

        return result;
    }

    /// <summary>Whether <paramref name="path"/> is <paramref name="end"/> preceded by whole components.</summary>
    private static bool EndsWithPath(string path, string end) =>
        end.Length > 0 && path.Length > end.Length && path.EndsWith(end, StringComparison.Ordinal) && path[path.Length - end.Length - 1] == '/';

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
