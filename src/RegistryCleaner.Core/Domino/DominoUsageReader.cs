using System.Globalization;
using MongoDB.Bson;
using MongoDB.Driver;
using RegistryCleaner.Workloads;
using MongoObjectId = MongoDB.Bson.ObjectId;

namespace RegistryCleaner.Domino;

/// <content>
/// Reading every Domino record that pins an image. Each collection is read with one query (paged by the server in
/// batches), filtered and projected to the fields used, and joined here, so the cost grows with the number of
/// collections, not of records; users are looked up by id in batches of <see cref="InBatchSize"/>.
/// </content>
public sealed partial class DominoDatabase
{
    /// <summary>The collection of runs.</summary>
    public const string RunsCollection = "runs";

    /// <summary>The collection of workspaces.</summary>
    public const string WorkspacesCollection = "workspace";

    /// <summary>The collection of workspace sessions.</summary>
    public const string WorkspaceSessionsCollection = "workspace_session";

    /// <summary>The collection of scheduled jobs.</summary>
    public const string SchedulerJobsCollection = "scheduler_jobs";

    /// <summary>The collection of organizations.</summary>
    public const string OrganizationsCollection = "organizations";

    /// <summary>The collection of user preferences.</summary>
    public const string UserPreferencesCollection = "userPreferences";

    /// <summary>The collection of apps (and other model products).</summary>
    public const string ModelProductsCollection = "model_products";

    /// <summary>The collection of app versions.</summary>
    public const string AppVersionsCollection = "app_versions";

    /// <summary>The collection of builds.</summary>
    public const string BuildsCollection = "builds";

    /// <summary>The collection of sagas (model version deployments).</summary>
    public const string SagasCollection = "sagas";

    /// <summary>The collection of users.</summary>
    public const string UsersCollection = "users";

    /// <summary>The volume specification of workspace and app sessions, which Domino's own cleaner does not count as runs.</summary>
    public const string ReusableVolumeSpecification = "RunReusableVolumeSpecification";

    private static readonly string[] DeploymentSagas = ["ModelVersionDeployment", "StartModelVersion", "StopModelVersion"];

    // Saga states after which a completed stop did not stop anything.
    private static readonly HashSet<string> FailedStates = new(["failed", "error", "aborted", "compensated"], StringComparer.OrdinalIgnoreCase);

    /// <summary>Reads the environment revisions and model builds with their environments, models, projects and owners.</summary>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The catalog.</returns>
    public Task<DominoImageCatalog> ReadImageCatalogAsync(CancellationToken cancellationToken = default) =>
        RunAsync("read Domino's environment revisions and model builds", async () =>
        {
            var read = new RecordRead(this, new DominoUsageOptions(), cancellationToken);
            await read.ReadCatalogAsync().ConfigureAwait(false);
            await read.ReadUsersAsync().ConfigureAwait(false);
            return read.Catalog();
        });

    /// <summary>
    /// Reads every image reference in Domino's records (see <see cref="DominoRecordKind"/>) and the catalog that names
    /// each image's owner.
    /// </summary>
    /// <param name="options">What to read; <see langword="null"/> for every run.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The references, the catalog and notes about records that name no image.</returns>
    public Task<DominoUsageReport> ReadImageUsageAsync(DominoUsageOptions? options = null, CancellationToken cancellationToken = default) =>
        RunAsync("read the images Domino's records use", async () =>
        {
            var read = new RecordRead(this, options ?? new DominoUsageOptions(), cancellationToken);
            await read.ReadCatalogAsync().ConfigureAwait(false);
            await read.ReadUsageAsync().ConfigureAwait(false);
            await read.ReadUsersAsync().ConfigureAwait(false);
            return read.Report();
        });

    /// <summary>
    /// Gets the names of Domino's registry service that records may put in front of a repository without a port
    /// (<c>docker-registry/dominodatalab/environment</c>); any first component with '.' or ':' or <c>localhost</c> is a host anyway.
    /// </summary>
    public static IReadOnlyList<string> RegistryServiceNames { get; } = ["docker-registry"];

    /// <summary>
    /// The repository path of an image as Domino records it: without slashes around it and without a registry host, by
    /// the distribution rule (<see cref="ImageReferenceParser.IsRegistryHost"/>) or because the first component is
    /// Domino's registry service (<see cref="RegistryServiceNames"/>) followed by at least two more.
    /// </summary>
    /// <param name="repository">The repository, with or without a registry host.</param>
    /// <returns>The path, for example <c>dominodatalab/environment</c>.</returns>
    public static string RepositoryPath(string repository)
    {
        ArgumentNullException.ThrowIfNull(repository);
        return ImageReferenceParser.WithoutRegistryHost(repository.Trim('/'), RegistryServiceNames).Trim('/');
    }

    private async Task ScanAsync(
        string collection, BsonDocument filter, string[] fields, int batchSize, Action<BsonDocument> each, CancellationToken cancellationToken)
    {
        var projection = new BsonDocument("_id", 1);
        foreach (string field in fields)
        {
            projection[field] = 1;
        }

        var options = new FindOptions<BsonDocument, BsonDocument> { Projection = projection, BatchSize = batchSize };
        using IAsyncCursor<BsonDocument> cursor = await database.GetCollection<BsonDocument>(collection)
            .FindAsync(filter, options, cancellationToken).ConfigureAwait(false);
        while (await cursor.MoveNextAsync(cancellationToken).ConfigureAwait(false))
        {
            foreach (BsonDocument document in cursor.Current)
            {
                each(document);
            }
        }
    }

    private static BsonDocument NotNull(string field) => new(field, new BsonDocument("$ne", BsonNull.Value));

    /// <summary>One read of Domino's records: the raw records, joined into references at the end.</summary>
    private sealed partial class RecordRead(DominoDatabase owner, DominoUsageOptions options, CancellationToken cancellationToken)
    {
        private readonly Dictionary<string, DominoImageCatalog.EnvironmentRecord> environments = new(StringComparer.Ordinal);
        private readonly List<DominoRevision> revisions = [];
        private readonly Dictionary<string, DominoImageCatalog.ProjectRecord> projects = new(StringComparer.Ordinal);
        private readonly Dictionary<string, DominoImageCatalog.ModelRecord> models = new(StringComparer.Ordinal);
        private readonly List<VersionRecord> versions = [];
        private readonly List<DominoModelBuild> builds = [];
        private readonly Dictionary<string, DominoImageCatalog.UserRecord> users = new(StringComparer.Ordinal);
        private readonly List<Pending> pending = [];
        private readonly List<Pending> pinsWithoutImage = [];
        private readonly Dictionary<DominoRecordKind, int> unresolved = [];
        private readonly List<string> notes = [];
        private Dictionary<string, DominoRevision>? revisionsById;
        private Dictionary<string, List<DominoRevision>>? revisionsByEnvironment;

        public async Task ReadCatalogAsync()
        {
            await this.Scan(EnvironmentsCollection, [], ["name", "isArchived", "activeRevisionId", "ownerId"], d =>
            {
                if (IdOf(d["_id"]) is { } id)
                {
                    this.environments[id] = new(id, StringAt(d, "name") ?? string.Empty, IsTrue(d, "isArchived"), IdAt(d, "activeRevisionId"), IdAt(d, "ownerId"));
                }
            }).ConfigureAwait(false);

            string[] revisionFields = ["environmentId", "metadata.dockerImageName", "metadata.authorId", "metadata.created", "metadata.isBuilt", "clonedEnvironmentRevisionId"];
            await this.Scan(EnvironmentRevisionsCollection, [], revisionFields, d =>
            {
                if (IdOf(d["_id"]) is { } id)
                {
                    string? repository = StringAt(d, "metadata.dockerImageName.repository");
                    string? tag = StringAt(d, "metadata.dockerImageName.tag");
                    this.revisions.Add(new DominoRevision(
                        id,
                        IdAt(d, "environmentId"),
                        repository is null ? null : RepositoryPath(repository),
                        string.IsNullOrEmpty(tag) ? null : tag,
                        IdAt(d, "metadata.authorId"),
                        DateAt(d, "metadata.created"),
                        IdAt(d, "clonedEnvironmentRevisionId"),
                        ValueAt(d, "metadata.isBuilt") is not BsonBoolean { Value: false }));
                }
            }).ConfigureAwait(false);

            await this.Scan(ProjectsCollection, [], ["name", "ownerId", "isArchived", "overrideV2EnvironmentId", "defaultEnvironmentRevisionSpec"], d =>
            {
                if (IdOf(d["_id"]) is { } id)
                {
                    this.projects[id] = new(id, StringAt(d, "name") ?? string.Empty, IdAt(d, "ownerId"), IsTrue(d, "isArchived"), IdAt(d, "overrideV2EnvironmentId"), SpecAt(d, "defaultEnvironmentRevisionSpec"));
                }
            }).ConfigureAwait(false);

            await this.Scan(ModelsCollection, [], ["name", "isArchived", "projectId"], d =>
            {
                if (IdOf(d["_id"]) is { } id)
                {
                    this.models[id] = new(id, StringAt(d, "name") ?? string.Empty, IsTrue(d, "isArchived"), IdAt(d, "projectId"));
                }
            }).ConfigureAwait(false);

            // Only failed builds matter (they pin nothing), so only they are read.
            var failed = new HashSet<string>(StringComparer.Ordinal);
            await this.Scan(BuildsCollection, new BsonDocument("status", "Failed"), [], d =>
            {
                if (IdOf(d["_id"]) is { } id)
                {
                    failed.Add(id);
                }
            }).ConfigureAwait(false);

            string[] versionFields = ["modelId", "environmentRevisionId", "metadata.builds.slug.image", "metadata.builds.buildId", "metadata.createdBy"];
            await this.Scan(ModelVersionsCollection, [], versionFields, d =>
            {
                if (IdOf(d["_id"]) is not { } id)
                {
                    return;
                }

                // Domino stores {value: ObjectId}; older records may hold the ObjectId (or its hex) itself.
                BsonValue? modelId = ValueAt(d, "modelId");
                var version = new VersionRecord(id, IdAt(d, "modelId.value") ?? IdOf(modelId), IdAt(d, "environmentRevisionId"), IdAt(d, "metadata.createdBy"), [])
                {
                    ModelIdText = modelId is null or BsonNull ? "(none)" : modelId.ToJson(),
                };
                if (ValueAt(d, "metadata.builds") is BsonArray list)
                {
                    foreach (BsonDocument build in list.OfType<BsonDocument>())
                    {
                        if (StringAt(build, "slug.image.tag") is { Length: > 0 } tag)
                        {
                            string? buildId = IdAt(build, "buildId.value");
                            version.Builds.Add(new DominoModelBuild(
                                id,
                                version.ModelId,
                                RepositoryPath(StringAt(build, "slug.image.repository") ?? string.Empty),
                                tag,
                                buildId,
                                buildId is not null && failed.Contains(buildId),
                                version.EnvironmentRevisionId,
                                version.CreatedBy));
                        }
                    }
                }

                this.versions.Add(version);
                this.builds.AddRange(version.Builds);
            }).ConfigureAwait(false);

            this.revisionsById = this.revisions.ToDictionary(r => r.Id, StringComparer.Ordinal);
            this.revisionsByEnvironment = this.revisions
                .Where(r => r.EnvironmentId is not null)
                .GroupBy(r => r.EnvironmentId!, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.OrderBy(r => r.Id, StringComparer.Ordinal).ToList(), StringComparer.Ordinal);
        }

        public async Task ReadUsageAsync()
        {
            this.ActiveRevisions();
            await this.RunsAsync().ConfigureAwait(false);
            await this.WorkspacesAsync().ConfigureAwait(false);
            this.ProjectDefaults();
            await this.SchedulerJobsAsync().ConfigureAwait(false);
            await this.OrganizationsAsync().ConfigureAwait(false);
            await this.UserPreferencesAsync().ConfigureAwait(false);
            await this.AppVersionsAsync().ConfigureAwait(false);
            await this.ModelVersionsAsync().ConfigureAwait(false);
            this.ClonedRevisions();
        }

        /// <summary>Reads the users that own records or images, by id, in bounded batches.</summary>
        public async Task ReadUsersAsync()
        {
            var wanted = new HashSet<string>(StringComparer.Ordinal);
            void Want(string? id)
            {
                if (id is not null)
                {
                    wanted.Add(id);
                }
            }

            foreach (DominoRevision revision in this.revisions)
            {
                Want(revision.AuthorId);
            }

            foreach (DominoImageCatalog.EnvironmentRecord environment in this.environments.Values)
            {
                Want(environment.OwnerId);
            }

            foreach (DominoImageCatalog.ProjectRecord project in this.projects.Values)
            {
                Want(project.OwnerId);
            }

            foreach (VersionRecord version in this.versions)
            {
                Want(version.CreatedBy);
            }

            foreach (Pending reference in this.pending.Concat(this.pinsWithoutImage))
            {
                Want(reference.OwnerId);
            }

            List<MongoObjectId> ids = wanted.Select(MongoObjectId.Parse).Order().ToList();
            foreach (MongoObjectId[] batch in ids.Chunk(InBatchSize))
            {
                var filter = new BsonDocument("_id", new BsonDocument("$in", new BsonArray(batch.Select(id => new BsonObjectId(id)))));
                await this.Scan(UsersCollection, filter, ["fullName", "loginId.id"], d =>
                {
                    if (IdOf(d["_id"]) is { } id)
                    {
                        this.users[id] = new(id, StringAt(d, "loginId.id"), StringAt(d, "fullName"));
                    }
                }).ConfigureAwait(false);
            }
        }

        public DominoImageCatalog Catalog() =>
            new(this.revisions, this.builds, this.environments, this.models, this.projects, this.users);

        public DominoUsageReport Report()
        {
            DominoImageCatalog catalog = this.Catalog();
            List<DominoImageReference> references = this.pending
                .Select(p => p.ToReference(catalog))
                .OrderBy(r => r.Repository, StringComparer.Ordinal)
                .ThenBy(r => r.Tag, StringComparer.Ordinal)
                .ThenBy(r => r.Kind)
                .ThenBy(r => r.RecordId, StringComparer.Ordinal)
                .ToList();
            foreach ((DominoRecordKind kind, int count) in this.unresolved.OrderBy(u => u.Key))
            {
                this.notes.Add(string.Create(
                    CultureInfo.InvariantCulture,
                    $"{count} {kind} reference(s) name an environment revision or environment that Domino's records no longer have, or one without an image; they protect nothing by name."));
            }

            return new DominoUsageReport(references, catalog, this.notes)
            {
                RevisionPinsWithoutImage = this.pinsWithoutImage.Select(p => p.ToReference(catalog)).OrderBy(r => r.RevisionId, StringComparer.Ordinal).ThenBy(r => r.Kind).ThenBy(r => r.RecordId, StringComparer.Ordinal).ToList(),
            };
        }

        private void ActiveRevisions()
        {
            foreach (DominoImageCatalog.EnvironmentRecord environment in this.environments.Values.Where(e => !e.Archived))
            {
                if (environment.ActiveRevisionId is { } revision)
                {
                    this.Pin(new Pending(DominoRecordKind.ActiveRevision, EnvironmentsCollection, environment.Id, environment.Name, "active revision")
                    {
                        OwnerId = environment.OwnerId,
                    }, revision);
                }
            }
        }
    }
}
