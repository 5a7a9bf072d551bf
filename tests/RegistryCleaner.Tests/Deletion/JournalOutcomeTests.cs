using RegistryCleaner.Deletion;

namespace RegistryCleaner.Tests.Deletion;

/// <summary>What a journal says about each manifest: which outcome belongs to which attempt, and what may be gone.</summary>
public sealed class JournalOutcomeTests
{
    private static JournalRecord Attempt(string digest, string? run = null) =>
        new(JournalRecord.AttemptKind, DateTimeOffset.UnixEpoch, "r:5000", "app/web", digest, "application/vnd.oci.image.manifest.v1+json", ["v1"], null, "e30=", Run: run);

    private static JournalRecord Outcome(string digest, string outcome, string? run = null, bool? present = null) =>
        new(JournalRecord.OutcomeKind, DateTimeOffset.UnixEpoch, "r:5000", "app/web", digest, Outcome: outcome, Message: "m", Run: run) { Present = present };

    [Theory]
    [InlineData("Deleted", null, true)]
    [InlineData("PossiblyDeleted", null, true)]
    [InlineData("Failed", null, true)]
    [InlineData("Failed", true, false)]
    [InlineData("NotFound", null, false)]
    [InlineData("Skipped", null, false)]
    public void What_may_be_gone_is_restored_and_what_a_HEAD_proved_present_is_not(string outcome, bool? present, bool mayBeDeleted)
    {
        JournaledImage image = Assert.Single(JournaledImage.FromRecords([Attempt("sha256:1"), Outcome("sha256:1", outcome, present: present)]));

        Assert.Equal(mayBeDeleted, image.MayBeDeleted);
    }

    [Fact]
    public void Each_run_keeps_its_own_outcome_when_two_runs_journal_the_same_manifest()
    {
        // Run a deleted it; run b, sharing the journal, found it gone afterwards and wrote the last outcome.
        IReadOnlyList<JournaledImage> images = JournaledImage.FromRecords(
            [Attempt("sha256:1", "a"), Attempt("sha256:1", "b"), Outcome("sha256:1", "Deleted", "a"), Outcome("sha256:1", "NotFound", "b")]);

        Assert.Equal([("a", "Deleted", true), ("b", "NotFound", false)], images.Select(i => (i.Attempt.Run!, i.Outcome!.Outcome!, i.MayBeDeleted)));
    }
}
