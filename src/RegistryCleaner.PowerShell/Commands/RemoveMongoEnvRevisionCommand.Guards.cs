using RegistryCleaner.Deletion;
using RegistryCleaner.Domino;
using RegistryCleaner.Registry;

namespace RegistryCleaner.PowerShell.Commands;

/// <content>The guards that keep a revision: its image still in the registry, an environment it is active in, a Domino record that pins it, a clone of it that stays.</content>
public sealed partial class RemoveMongoEnvRevisionCommand
{
    /// <summary>Deletes one revision unless a guard keeps it; a revision that clones still need waits for them.</summary>
    private void ProcessRevision(EnvironmentRevision revision, string? selectedRepository) => this.Guarded(revision, () =>
    {
        DominoDatabase domino = this.connection!.Domino;
        if (this.registryClient is { } client && revision.Tag is { Length: > 0 } tag)
        {
            string repository = DominoDatabase.RepositoryPath(revision.Repository ?? selectedRepository ?? this.DefaultRepository);
            string? digest;
            try
            {
                digest = this.RunEngine((_, token) => client.HeadManifestAsync(repository, tag, token));
            }
            catch (RepositoryNotFoundException)
            {
                digest = null;
            }

            if (digest is not null)
            {
                this.Emit(MongoEnvRevisionDeletion.Of(revision, DeletionStatus.Skipped, $"Image {this.endpoint!.DisplayName}/{repository}:{tag} ({digest}) still exists in the registry: delete the image first (Remove-UnusedImage), or use -SkipRegistryCheck."));
                return;
            }
        }

        DominoEnvironment? live = this.RunEngine((_, token) => domino.FindLiveEnvironmentWithActiveRevisionAsync(revision.RevisionId, token));
        if (live is not null)
        {
            this.Emit(MongoEnvRevisionDeletion.Of(revision, DeletionStatus.Skipped, ActiveReason(live)));
            return;
        }

        RevisionRecordPins records = this.ReadRecordPins();
        if (records.PinsOf(revision.RevisionId) is { Count: > 0 } pins)
        {
            this.Emit(MongoEnvRevisionDeletion.Of(revision, DeletionStatus.Skipped, RevisionRecordPins.PinnedReason(pins)));
            return;
        }

        if (records.StayingClonesOf(revision.RevisionId, this.gone) is { Count: > 0 } clones)
        {
            // Decided at the end: a clone this command deletes too no longer holds its source.
            this.WriteVerbose($"Revision {revision.RevisionId} was cloned into {string.Join(", ", clones.Select(c => c.RecordId))}; it is decided after the other revisions of this command.");
            this.waitingForClones.Add(revision);
            return;
        }

        this.Delete(revision);
    });

    /// <summary>Deletes the revisions that waited for their clones once no clone of theirs stays; the others are skipped, naming their clones.</summary>
    private void ProcessClonedSources()
    {
        for (bool freed = true; freed && this.waitingForClones.Count > 0;)
        {
            freed = false;
            foreach (EnvironmentRevision revision in this.waitingForClones.ToList())
            {
                if (this.recordPins!.StayingClonesOf(revision.RevisionId, this.gone).Count == 0)
                {
                    this.waitingForClones.Remove(revision);
                    freed = true;
                    this.Guarded(revision, () => this.Delete(revision));
                }
            }
        }

        foreach (EnvironmentRevision revision in this.waitingForClones)
        {
            this.Emit(MongoEnvRevisionDeletion.Of(revision, DeletionStatus.Skipped, RevisionRecordPins.CloneSourceReason(this.recordPins!.StayingClonesOf(revision.RevisionId, this.gone))));
        }

        this.waitingForClones.Clear();
    }

    private static string ActiveReason(DominoEnvironment environment) =>
        $"Active revision of environment {environment.Name} ({environment.Id}), which is not archived: deleting it would break the environment's next run.";
}
