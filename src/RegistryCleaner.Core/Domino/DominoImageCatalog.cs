namespace RegistryCleaner.Domino;

/// <summary>An environment revision as the catalog keeps it (<c>environment_revisions</c>).</summary>
/// <param name="Id">The revision's id.</param>
/// <param name="EnvironmentId">Its environment's id.</param>
/// <param name="Repository">The image repository path (registry host removed), if recorded.</param>
/// <param name="Tag">The image tag, if recorded.</param>
/// <param name="AuthorId">Who created the revision (<c>metadata.authorId</c>).</param>
/// <param name="Created">When it was created (<c>metadata.created</c>).</param>
/// <param name="ClonedFromId">The revision it was cloned from (<c>clonedEnvironmentRevisionId</c>).</param>
/// <param name="Built">False when Domino recorded that its build failed (<c>metadata.isBuilt: false</c>): no image was pushed.</param>
public sealed record DominoRevision(
    string Id,
    string? EnvironmentId,
    string? Repository,
    string? Tag,
    string? AuthorId,
    DateTimeOffset? Created,
    string? ClonedFromId,
    bool Built);

/// <summary>One build of a model version (<c>model_versions.metadata.builds[]</c>) that names an image.</summary>
/// <param name="ModelVersionId">The model version's id.</param>
/// <param name="ModelId">The model's id (<c>modelId.value</c>).</param>
/// <param name="Repository">The image repository path (registry host removed).</param>
/// <param name="Tag">The image tag.</param>
/// <param name="BuildId">The build's id (<c>buildId.value</c>), if recorded.</param>
/// <param name="Failed">Whether the build's record in <c>builds</c> has status <c>Failed</c>.</param>
/// <param name="EnvironmentRevisionId">The environment revision the version was built on.</param>
/// <param name="CreatedBy">Who created the version (<c>metadata.createdBy</c>).</param>
public sealed record DominoModelBuild(
    string ModelVersionId,
    string? ModelId,
    string Repository,
    string Tag,
    string? BuildId,
    bool Failed,
    string? EnvironmentRevisionId,
    string? CreatedBy);

/// <summary>
/// Domino's environment revisions and model builds, with the environments, models, projects and users that name their
/// owners: what every image of the Domino repositories is, and whose. Built once per read; immutable.
/// </summary>
public sealed class DominoImageCatalog
{
    private readonly Dictionary<string, DominoRevision> revisions;
    private readonly Dictionary<(string Repository, string Tag), DominoRevision> revisionsByImage = [];
    private readonly Dictionary<(string Repository, string Tag), List<DominoModelBuild>> buildsByImage = [];
    private readonly Dictionary<string, List<DominoRevision>> clonesBySource = new(StringComparer.Ordinal);

    internal DominoImageCatalog(
        IEnumerable<DominoRevision> revisions,
        IEnumerable<DominoModelBuild> builds,
        IReadOnlyDictionary<string, EnvironmentRecord> environments,
        IReadOnlyDictionary<string, ModelRecord> models,
        IReadOnlyDictionary<string, ProjectRecord> projects,
        IReadOnlyDictionary<string, UserRecord> users)
    {
        this.revisions = revisions.ToDictionary(r => r.Id, StringComparer.Ordinal);
        foreach (DominoRevision revision in this.revisions.Values.OrderBy(r => r.Id, StringComparer.Ordinal))
        {
            if (revision.Repository is { } repository && revision.Tag is { } tag)
            {
                this.revisionsByImage.TryAdd((repository, tag), revision);
            }

            if (revision.ClonedFromId is { } source)
            {
                if (!this.clonesBySource.TryGetValue(source, out List<DominoRevision>? clones))
                {
                    this.clonesBySource[source] = clones = [];
                }

                clones.Add(revision);
            }
        }

        List<DominoModelBuild> all = builds.ToList();
        foreach (DominoModelBuild build in all)
        {
            if (!this.buildsByImage.TryGetValue((build.Repository, build.Tag), out List<DominoModelBuild>? list))
            {
                this.buildsByImage[(build.Repository, build.Tag)] = list = [];
            }

            list.Add(build);
        }

        this.ModelBuilds = all;
        this.Environments = environments;
        this.Models = models;
        this.Projects = projects;
        this.Users = users;
    }

    /// <summary>Gets every environment revision.</summary>
    public IReadOnlyCollection<DominoRevision> Revisions => this.revisions.Values;

    /// <summary>Gets every build of every model version that names an image.</summary>
    public IReadOnlyList<DominoModelBuild> ModelBuilds { get; }

    internal IReadOnlyDictionary<string, EnvironmentRecord> Environments { get; }

    internal IReadOnlyDictionary<string, ModelRecord> Models { get; }

    internal IReadOnlyDictionary<string, ProjectRecord> Projects { get; }

    internal IReadOnlyDictionary<string, UserRecord> Users { get; }

    /// <summary>Returns a revision by id.</summary>
    /// <param name="revisionId">The revision's id, lower-case hex.</param>
    /// <returns>The revision, or <see langword="null"/>.</returns>
    public DominoRevision? Revision(string revisionId) => this.revisions.GetValueOrDefault(revisionId);

    /// <summary>Returns the revision whose image is <paramref name="repository"/>:<paramref name="tag"/>.</summary>
    /// <param name="repository">The repository path (a registry host in front is ignored).</param>
    /// <param name="tag">The tag.</param>
    /// <returns>The revision, or <see langword="null"/>.</returns>
    public DominoRevision? RevisionOfImage(string repository, string tag) =>
        this.revisionsByImage.GetValueOrDefault((DominoDatabase.RepositoryPath(repository), tag));

    /// <summary>Returns the builds whose image is <paramref name="repository"/>:<paramref name="tag"/>.</summary>
    /// <param name="repository">The repository path (a registry host in front is ignored).</param>
    /// <param name="tag">The tag.</param>
    /// <returns>The builds (empty when none).</returns>
    public IReadOnlyList<DominoModelBuild> BuildsOfImage(string repository, string tag) =>
        this.buildsByImage.GetValueOrDefault((DominoDatabase.RepositoryPath(repository), tag)) ?? [];

    /// <summary>Returns the revisions cloned from a revision.</summary>
    /// <param name="revisionId">The source revision's id.</param>
    /// <returns>The clones (empty when none).</returns>
    public IReadOnlyList<DominoRevision> ClonesOf(string revisionId) => this.clonesBySource.GetValueOrDefault(revisionId) ?? [];

    /// <summary>Returns an environment's name.</summary>
    /// <param name="environmentId">The environment's id.</param>
    /// <returns>The name, or <see langword="null"/> when the environment is unknown.</returns>
    public string? EnvironmentName(string? environmentId) =>
        environmentId is not null && this.Environments.TryGetValue(environmentId, out EnvironmentRecord? environment) ? environment.Name : null;

    /// <summary>
    /// Names who owns an image: for an environment revision, its environment and author (else the environment's owner);
    /// for a model build, the model, its project, the environment it was built on and the version's creator (else the
    /// project's owner).
    /// </summary>
    /// <param name="repository">The repository path (a registry host in front is ignored).</param>
    /// <param name="tag">The tag.</param>
    /// <returns>The owner, or <see langword="null"/> when no record knows the image.</returns>
    public DominoImageOwner? Describe(string repository, string tag)
    {
        if (this.RevisionOfImage(repository, tag) is { } revision)
        {
            string? ownerId = revision.AuthorId ?? (revision.EnvironmentId is { } id ? this.Environments.GetValueOrDefault(id)?.OwnerId : null);
            UserRecord? user = this.User(ownerId);
            return new DominoImageOwner(revision.EnvironmentId, this.EnvironmentName(revision.EnvironmentId), null, null, null, null, ownerId, user?.Login, user?.FullName);
        }

        if (this.BuildsOfImage(repository, tag) is [DominoModelBuild build, ..])
        {
            ModelRecord? model = build.ModelId is { } modelId ? this.Models.GetValueOrDefault(modelId) : null;
            ProjectRecord? project = model?.ProjectId is { } projectId ? this.Projects.GetValueOrDefault(projectId) : null;
            string? builtOn = build.EnvironmentRevisionId is { } revisionId ? this.Revision(revisionId)?.EnvironmentId : null;
            string? ownerId = build.CreatedBy ?? project?.OwnerId;
            UserRecord? user = this.User(ownerId);
            return new DominoImageOwner(builtOn, this.EnvironmentName(builtOn), build.ModelId, model?.Name, model?.ProjectId, project?.Name, ownerId, user?.Login, user?.FullName);
        }

        return null;
    }

    /// <summary>Returns a model's name.</summary>
    /// <param name="modelId">The model's id.</param>
    /// <returns>The name, or <see langword="null"/> when the model is unknown.</returns>
    public string? ModelName(string? modelId) =>
        modelId is not null && this.Models.TryGetValue(modelId, out ModelRecord? model) ? model.Name : null;

    /// <summary>Returns whether a revision is the active revision of an environment that is not archived.</summary>
    /// <param name="revisionId">The revision's id.</param>
    /// <returns><see langword="true"/> when a live environment runs it by default.</returns>
    public bool IsActiveRevision(string revisionId) =>
        this.Revision(revisionId)?.EnvironmentId is { } environmentId
        && this.Environments.TryGetValue(environmentId, out EnvironmentRecord? environment)
        && !environment.Archived
        && environment.ActiveRevisionId == revisionId;

    internal UserRecord? User(string? userId) => userId is null ? null : this.Users.GetValueOrDefault(userId);

    internal ProjectRecord? Project(string? projectId) => projectId is null ? null : this.Projects.GetValueOrDefault(projectId);

    /// <summary>An environment (<c>environments_v2</c>).</summary>
    internal sealed record EnvironmentRecord(string Id, string Name, bool Archived, string? ActiveRevisionId, string? OwnerId);

    /// <summary>A model (<c>models</c>).</summary>
    internal sealed record ModelRecord(string Id, string Name, bool Archived, string? ProjectId);

    /// <summary>A project (<c>projects</c>).</summary>
    internal sealed record ProjectRecord(string Id, string Name, string? OwnerId, bool Archived, string? DefaultEnvironmentId, string? DefaultRevisionSpec);

    /// <summary>A user (<c>users</c>).</summary>
    internal sealed record UserRecord(string Id, string? Login, string? FullName);
}
