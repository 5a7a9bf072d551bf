namespace RegistryCleaner.Domino;

/// <summary>The kind of Domino record that names an image (what <c>Get-DominoImageUsage</c> reports as <c>Kind</c>).</summary>
public enum DominoRecordKind
{
    /// <summary>The active revision of an environment that is not archived (<c>environments_v2.activeRevisionId</c>).</summary>
    ActiveRevision,

    /// <summary>Runs (jobs, scheduled runs, launchers) that used an environment revision (<c>runs.environmentRevisionId</c>).</summary>
    Run,

    /// <summary>A workspace that is not deleted: its configured revision and compute cluster environment (<c>workspace.configTemplate</c>).</summary>
    Workspace,

    /// <summary>A session of such a workspace (<c>workspace_session.environmentRevisionId</c>, <c>computeClusterEnvironmentRevisionId</c>).</summary>
    WorkspaceSession,

    /// <summary>A project's default environment (<c>projects.overrideV2EnvironmentId</c> with <c>defaultEnvironmentRevisionSpec</c>).</summary>
    ProjectDefault,

    /// <summary>A scheduled job's environment (<c>scheduler_jobs.jobDataPlain.overrideEnvironmentId</c>).</summary>
    SchedulerJob,

    /// <summary>An organization's default environment (<c>organizations.defaultV2EnvironmentId</c>).</summary>
    OrganizationDefault,

    /// <summary>A user's default environment (<c>userPreferences.defaultEnvironmentId</c>).</summary>
    UserDefault,

    /// <summary>A version of an app that is live in <c>model_products</c> (<c>app_versions.environmentId</c>).</summary>
    AppVersion,

    /// <summary>
    /// The image built for a version of a model that is not archived, of a version that <c>sagas</c> show deployed
    /// whatever its model's state, or of a version whose model is not in the records (treated as live)
    /// (<c>model_versions.metadata.builds[].slug.image</c>).
    /// </summary>
    ModelBuild,

    /// <summary>The environment revision such a model version was built on (<c>model_versions.environmentRevisionId</c>).</summary>
    ModelEnvironment,

    /// <summary>
    /// An environment revision cloned from this image's revision (<c>environment_revisions.clonedEnvironmentRevisionId</c>).
    /// It protects through the clone chain rule: revisions joined by a clone are deleted together or kept together.
    /// </summary>
    ClonedRevision,
}

/// <summary>
/// One image reference found in Domino's records: which record names which image, for whom, and when it was last used.
/// Identifiers are lower-case hex; names are as Domino stores them.
/// </summary>
/// <param name="Kind">The kind of record.</param>
/// <param name="Source">The collection the record is in, for example <c>workspace</c>.</param>
/// <param name="RecordId">The record's <c>_id</c> (for runs folded together, the most recent run).</param>
/// <param name="RecordName">The record's name when it has one: workspace, scheduled job, organization, app, model or project name.</param>
/// <param name="Repository">The image repository path (registry host removed), for example <c>dominodatalab/environment</c>.</param>
/// <param name="Tag">The image tag.</param>
/// <param name="ObjectId">The Domino ObjectId the tag belongs to (environment or model id), when it has one.</param>
/// <param name="RevisionId">The environment revision whose image this is; <see langword="null"/> for a model image.</param>
/// <param name="EnvironmentId">The environment of that revision (for a model image, the environment it was built on).</param>
/// <param name="EnvironmentName">That environment's name.</param>
/// <param name="ModelId">The model, for model versions.</param>
/// <param name="ProjectId">The project the record belongs to.</param>
/// <param name="Project">That project's name.</param>
/// <param name="OwnerId">The user responsible for the record: who started the runs, owns the workspace or project, set the preference, created the model version.</param>
/// <param name="Owner">That user's login (<c>users.loginId.id</c>).</param>
/// <param name="OwnerName">That user's full name (<c>users.fullName</c>).</param>
/// <param name="LastUsed">When the record last used the image, when Domino records it (runs: start or end; workspaces: last state change; model versions: last deployment saga).</param>
/// <param name="Count">How many records this reference stands for: runs of one project and user on one revision, or sessions of one workspace; 1 otherwise.</param>
/// <param name="Status">The record's state where Domino keeps one: run status, workspace state, session status, model version deployment.</param>
/// <param name="Reason">The reference in words, naming the source, the record id, project and owner.</param>
public sealed record DominoImageReference(
    DominoRecordKind Kind,
    string Source,
    string RecordId,
    string? RecordName,
    string Repository,
    string Tag,
    string? ObjectId,
    string? RevisionId,
    string? EnvironmentId,
    string? EnvironmentName,
    string? ModelId,
    string? ProjectId,
    string? Project,
    string? OwnerId,
    string? Owner,
    string? OwnerName,
    DateTimeOffset? LastUsed,
    int Count,
    string? Status,
    string Reason)
{
    /// <summary>Gets whether the reference protects its image by itself (every kind but <see cref="DominoRecordKind.ClonedRevision"/>).</summary>
    public bool Pins => this.Kind != DominoRecordKind.ClonedRevision;

    /// <summary>Returns whether the reference concerns an ObjectId: its image's tag belongs to it, or it is the record, environment, revision, model or project.</summary>
    /// <param name="objectId">A normalised (lower-case) ObjectId.</param>
    /// <returns><see langword="true"/> when the reference concerns the id.</returns>
    public bool Concerns(string objectId)
    {
        ArgumentNullException.ThrowIfNull(objectId);
        return Domino.ObjectId.TagBelongsTo(this.Tag, objectId)
            || objectId == this.RecordId
            || objectId == this.EnvironmentId
            || objectId == this.RevisionId
            || objectId == this.ModelId
            || objectId == this.ProjectId;
    }
}

/// <summary>Who an image belongs to in Domino's records, for space reports per owner and project.</summary>
/// <param name="EnvironmentId">The environment of the image's revision (for a model image, the environment it was built on).</param>
/// <param name="EnvironmentName">That environment's name.</param>
/// <param name="ModelId">The model of a model image.</param>
/// <param name="ModelName">That model's name.</param>
/// <param name="ProjectId">The project of a model image (environments belong to no project).</param>
/// <param name="Project">That project's name.</param>
/// <param name="OwnerId">The revision's author (else the environment's owner), or the model version's creator (else the project's owner).</param>
/// <param name="Owner">That user's login.</param>
/// <param name="OwnerName">That user's full name.</param>
public sealed record DominoImageOwner(
    string? EnvironmentId,
    string? EnvironmentName,
    string? ModelId,
    string? ModelName,
    string? ProjectId,
    string? Project,
    string? OwnerId,
    string? Owner,
    string? OwnerName);

/// <summary>What to read from Domino's records.</summary>
public sealed record DominoUsageOptions
{
    /// <summary>
    /// Gets the time before which a run no longer protects its revision: only runs that started or ended at or after it,
    /// have not started yet, or have no completed time (still running) count. <see langword="null"/> counts every run.
    /// </summary>
    public DateTimeOffset? RunsSince { get; init; }

    /// <summary>
    /// Gets the repository of Domino's environment images (<c>registry.repository</c>/environment), where a revision that
    /// records a tag without a repository keeps its tag; <see langword="null"/> leaves the repository empty, which
    /// planning keeps in every Domino repository.
    /// </summary>
    public string? EnvironmentRepository { get; init; }

    /// <summary>Gets how many documents each batch of a large collection carries (the server caps a batch at 16 MiB).</summary>
    public int BatchSize { get; init; } = 5000;
}

/// <summary>Everything read from Domino's records: the image references and the catalog of revisions and builds.</summary>
/// <param name="References">Every image reference, ordered by repository, tag, kind and record id.</param>
/// <param name="Catalog">The environment revisions, model builds and their owners.</param>
/// <param name="Notes">Records that could not be resolved to an image, in words (never fatal: they protect nothing they could name).</param>
public sealed record DominoUsageReport(IReadOnlyList<DominoImageReference> References, DominoImageCatalog Catalog, IReadOnlyList<string> Notes)
{
    /// <summary>Gets the references that protect their image by themselves.</summary>
    public IEnumerable<DominoImageReference> Pins => this.References.Where(static r => r.Pins);

    /// <summary>
    /// Gets the references that name an environment revision without an image in the records (its build failed, or
    /// it was not in the records when they were read), with an empty <see cref="DominoImageReference.Repository"/> and
    /// <see cref="DominoImageReference.Tag"/>. They protect no image, only the revision's record; ordered by revision,
    /// kind and record id.
    /// </summary>
    public IReadOnlyList<DominoImageReference> RevisionPinsWithoutImage { get; init; } = [];
}
