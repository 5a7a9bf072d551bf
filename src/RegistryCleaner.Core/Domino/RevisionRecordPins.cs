namespace RegistryCleaner.Domino;

/// <summary>
/// What keeps an environment revision's record (<c>environment_revisions</c>) in Domino, from one read of Domino's
/// records: every record that pins the revision (the references that would keep its image, and those naming a revision
/// without an image), and the revisions cloned from it. Deleting such a record breaks what names it the next time it
/// starts, exactly as deleting its image would. Pure; built once per command.
/// </summary>
public sealed class RevisionRecordPins
{
    // Reasons name the first records, as the planner's reasons do, so a revision that 10,000 runs used stays readable.
    private const int NamedRecords = 3;

    private readonly ILookup<string, DominoImageReference> byRevision;

    /// <summary>Indexes the references of one read by the revision they name.</summary>
    /// <param name="report">Domino's records, as <see cref="DominoDatabase.ReadImageUsageAsync"/> read them.</param>
    public RevisionRecordPins(DominoUsageReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        this.byRevision = report.References
            .Concat(report.RevisionPinsWithoutImage)
            .Where(static r => r.RevisionId is not null)
            .ToLookup(static r => r.RevisionId!, StringComparer.Ordinal);
    }

    /// <summary>Returns the records that pin a revision by themselves (every kind but <see cref="DominoRecordKind.ClonedRevision"/>).</summary>
    /// <param name="revisionId">The revision's id, lower-case hex.</param>
    /// <returns>The references, one per distinct reason, in the report's order; empty when no record pins it.</returns>
    public IReadOnlyList<DominoImageReference> PinsOf(string revisionId)
    {
        ArgumentNullException.ThrowIfNull(revisionId);
        return Distinct(this.byRevision[revisionId].Where(static r => r.Pins));
    }

    /// <summary>
    /// Returns the revisions cloned from a revision (<c>clonedEnvironmentRevisionId</c>) whose records stay: a clone
    /// in <paramref name="gone"/> (deleted by this command, or to be deleted in its dry run) no longer holds its source.
    /// </summary>
    /// <param name="revisionId">The source revision's id, lower-case hex.</param>
    /// <param name="gone">The revisions whose records this command deleted (or, in a dry run, would delete).</param>
    /// <returns>One reference per clone that stays (its <see cref="DominoImageReference.RecordId"/> is the clone).</returns>
    public IReadOnlyList<DominoImageReference> StayingClonesOf(string revisionId, IReadOnlySet<string> gone)
    {
        ArgumentNullException.ThrowIfNull(revisionId);
        ArgumentNullException.ThrowIfNull(gone);
        return Distinct(this.byRevision[revisionId].Where(r =>
            r.Kind == DominoRecordKind.ClonedRevision && r.RecordId != revisionId && !gone.Contains(r.RecordId)));
    }

    /// <summary>Says why a pinned revision's record stays, naming the first records as the planner does.</summary>
    /// <param name="pins">The references from <see cref="PinsOf"/> (at least one).</param>
    /// <returns>The reason.</returns>
    public static string PinnedReason(IReadOnlyList<DominoImageReference> pins)
    {
        ArgumentNullException.ThrowIfNull(pins);
        return $"In use by {Name(pins)}. Deleting this revision record would break {(pins.Count == 1 ? "it" : "them")} the next time {(pins.Count == 1 ? "it starts" : "they start")}, just as deleting its image would.";
    }

    /// <summary>Says why the source of a kept clone stays.</summary>
    /// <param name="clones">The references from <see cref="StayingClonesOf"/> (at least one).</param>
    /// <returns>The reason.</returns>
    public static string CloneSourceReason(IReadOnlyList<DominoImageReference> clones)
    {
        ArgumentNullException.ThrowIfNull(clones);
        return $"Cloned into {(clones.Count == 1 ? "a revision that stays" : "revisions that stay")}: {Name(clones)}. The source of a kept clone stays, as Domino's own cleaner keeps it; delete the clone's record first, or in the same command.";
    }

    private static string Name(IReadOnlyList<DominoImageReference> references) => references.Count <= NamedRecords
        ? string.Join("; ", references.Select(static r => r.Reason))
        : $"{string.Join("; ", references.Take(NamedRecords).Select(static r => r.Reason))} and {references.Count - NamedRecords} more";

    private static List<DominoImageReference> Distinct(IEnumerable<DominoImageReference> references) =>
        references.DistinctBy(static r => r.Reason, StringComparer.Ordinal).ToList();
}
