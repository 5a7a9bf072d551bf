using System.Globalization;
using System.Text.RegularExpressions;
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

        private async Task RunsAsync()
        {
            // Workspace and app sessions are counted through their own records, as Domino's cleaner does.
            var filter = new BsonDocument
            {
                { "environmentRevisionId", new BsonDocument("$ne", BsonNull.Value) },
                { "volumeSpecification._t", new BsonDocument("$ne", ReusableVolumeSpecification) },
            };
            if (options.RunsSince is { } since)
            {
                // Domino stores these times as dates; older records hold epoch milliseconds. A run not started yet will
                // run, and a run without a completed time may still be running, however long ago it started.
                var date = new BsonDateTime(since.UtcDateTime);
                var millis = new BsonInt64(since.ToUnixTimeMilliseconds());
                filter["$or"] = new BsonArray
                {
                    new BsonDocument("started", new BsonDocument("$gte", date)),
                    new BsonDocument("completed", new BsonDocument("$gte", date)),
                    new BsonDocument("started", new BsonDocument("$gte", millis)),
                    new BsonDocument("completed", new BsonDocument("$gte", millis)),
                    new BsonDocument("started", BsonNull.Value),
                    new BsonDocument("completed", BsonNull.Value),
                };
            }

            // Runs of one revision by one user in one project are one reference: the most recent names them.
            var groups = new Dictionary<(string Revision, string? Project, string? User), RunGroup>();
            await this.Scan(RunsCollection, filter, ["projectId", "startingUserId", "environmentRevisionId", "started", "completed", "status"], d =>
            {
                if (IdOf(d["_id"]) is not { } id || IdAt(d, "environmentRevisionId") is not { } revision)
                {
                    return;
                }

                DateTimeOffset? started = DateAt(d, "started");
                DateTimeOffset? completed = DateAt(d, "completed");
                DateTimeOffset? last = Latest(started, completed);
                if (options.RunsSince is { } since && started is not null && completed is not null && last < since)
                {
                    return;
                }

                var key = (revision, IdAt(d, "projectId"), IdAt(d, "startingUserId"));
                if (!groups.TryGetValue(key, out RunGroup? group))
                {
                    groups[key] = group = new RunGroup();
                }

                group.Count++;
                if (group.LatestId is null || Compare(last, group.LastUsed, id, group.LatestId) > 0)
                {
                    (group.LatestId, group.LastUsed, group.Status) = (id, last, StringAt(d, "status"));
                }
            }).ConfigureAwait(false);

            foreach (((string revision, string? project, string? user), RunGroup group) in groups)
            {
                string detail = group.Count == 1
                    ? $"ran on environment revision {revision}"
                    : string.Create(CultureInfo.InvariantCulture, $"{group.Count} runs on environment revision {revision}");
                this.Pin(new Pending(DominoRecordKind.Run, RunsCollection, group.LatestId!, null, detail)
                {
                    ProjectId = project,
                    OwnerId = user,
                    LastUsed = group.LastUsed,
                    Count = group.Count,
                    Status = group.Status,
                }, revision);
            }
        }

        private async Task WorkspacesAsync()
        {
            var live = new Dictionary<string, (string Name, string? Project, string? Owner)>(StringComparer.Ordinal);
            string[] fields =
            [
                "name", "ownerId", "projectId", "state", "stateUpdatedAt",
                "configTemplate.environmentId", "configTemplate.environmentRevisionSpec", "configTemplate.computeClusterProps.computeEnvironmentId",
            ];
            await this.Scan(WorkspacesCollection, new BsonDocument("state", new BsonDocument("$ne", "Deleted")), fields, d =>
            {
                if (IdOf(d["_id"]) is not { } id)
                {
                    return;
                }

                string name = StringAt(d, "name") ?? string.Empty;
                string? project = IdAt(d, "projectId");
                string? user = IdAt(d, "ownerId");
                live[id] = (name, project, user);
                Pending Make(string detail) => new(DominoRecordKind.Workspace, WorkspacesCollection, id, name, detail)
                {
                    ProjectId = project,
                    OwnerId = user,
                    LastUsed = DateAt(d, "stateUpdatedAt"),
                    Status = StringAt(d, "state"),
                };

                BsonValue? spec = ValueAt(d, "configTemplate.environmentRevisionSpec");
                if (IdAt(d, "configTemplate.environmentId") is { } environment)
                {
                    this.PinSpec(Make, environment, spec, "environmentRevisionSpec", "environment");
                }
                else if (spec is BsonString text && SomeRevisionPattern().Match(text.Value.Trim()) is { Success: true } named)
                {
                    // The revision id alone names the image.
                    this.Pin(Make($"environmentRevisionSpec {text.Value.Trim()} (the workspace records no environmentId)"), named.Groups[1].Value.ToLowerInvariant());
                }
                else if (spec is not null && !spec.IsBsonNull)
                {
                    this.unresolved[DominoRecordKind.Workspace] = this.unresolved.GetValueOrDefault(DominoRecordKind.Workspace) + 1;
                }

                if (IdAt(d, "configTemplate.computeClusterProps.computeEnvironmentId") is { } compute)
                {
                    this.PinActive(Make("compute cluster environment"), compute);
                }
            }).ConfigureAwait(false);

            var sessions = new Dictionary<(string Workspace, string Revision, string Role), Pending>();
            var filter = new BsonDocument("$or", new BsonArray { NotNull("environmentRevisionId"), NotNull("computeClusterEnvironmentRevisionId") });
            await this.Scan(WorkspaceSessionsCollection, filter, ["workspaceId", "environmentRevisionId", "computeClusterEnvironmentRevisionId", "rawExecutionDisplayStatus"], d =>
            {
                if (IdOf(d["_id"]) is not { } id || IdAt(d, "workspaceId") is not { } workspace || !live.TryGetValue(workspace, out var owner))
                {
                    return;
                }

                foreach ((string field, string role) in new[] { ("environmentRevisionId", "environment revision"), ("computeClusterEnvironmentRevisionId", "compute cluster environment revision") })
                {
                    if (IdAt(d, field) is not { } revision)
                    {
                        continue;
                    }

                    if (sessions.TryGetValue((workspace, revision, role), out Pending? seen))
                    {
                        seen.Count++;
                        continue;
                    }

                    sessions[(workspace, revision, role)] = new Pending(DominoRecordKind.WorkspaceSession, WorkspaceSessionsCollection, id, owner.Name, $"{role} {revision} of a session of workspace {workspace}")
                    {
                        ProjectId = owner.Project,
                        OwnerId = owner.Owner,
                        Status = StringAt(d, "rawExecutionDisplayStatus"),
                        PinnedRevision = revision,
                    };
                }
            }).ConfigureAwait(false);

            foreach (Pending session in sessions.Values)
            {
                this.Pin(session, session.PinnedRevision!);
            }
        }

        private void ProjectDefaults()
        {
            foreach (DominoImageCatalog.ProjectRecord project in this.projects.Values.Where(p => !p.Archived && p.DefaultEnvironmentId is not null))
            {
                Pending Make(string detail) => new(DominoRecordKind.ProjectDefault, ProjectsCollection, project.Id, project.Name, detail)
                {
                    ProjectId = project.Id,
                    OwnerId = project.OwnerId,
                };

                this.PinSpec(Make, project.DefaultEnvironmentId!, project.DefaultRevisionSpec is null ? null : new BsonString(project.DefaultRevisionSpec), "defaultEnvironmentRevisionSpec", "default environment");
            }
        }

        private async Task SchedulerJobsAsync()
        {
            await this.Scan(SchedulerJobsCollection, NotNull("jobDataPlain.overrideEnvironmentId"), ["jobName", "projectId", "jobDataPlain.overrideEnvironmentId"], d =>
            {
                if (IdOf(d["_id"]) is { } id && IdAt(d, "jobDataPlain.overrideEnvironmentId") is { } environment)
                {
                    string? project = IdAt(d, "projectId");
                    this.PinActive(new Pending(DominoRecordKind.SchedulerJob, SchedulerJobsCollection, id, StringAt(d, "jobName"), "environment")
                    {
                        ProjectId = project,
                        OwnerId = this.projects.GetValueOrDefault(project ?? string.Empty)?.OwnerId,
                    }, environment);
                }
            }).ConfigureAwait(false);
        }

        private async Task OrganizationsAsync()
        {
            await this.Scan(OrganizationsCollection, NotNull("defaultV2EnvironmentId"), ["name", "defaultV2EnvironmentId"], d =>
            {
                if (IdOf(d["_id"]) is { } id && IdAt(d, "defaultV2EnvironmentId") is { } environment)
                {
                    this.PinActive(new Pending(DominoRecordKind.OrganizationDefault, OrganizationsCollection, id, StringAt(d, "name"), "default environment"), environment);
                }
            }).ConfigureAwait(false);
        }

        private async Task UserPreferencesAsync()
        {
            await this.Scan(UserPreferencesCollection, NotNull("defaultEnvironmentId"), ["userId", "defaultEnvironmentId"], d =>
            {
                if (IdOf(d["_id"]) is { } id && IdAt(d, "defaultEnvironmentId") is { } environment)
                {
                    this.PinActive(new Pending(DominoRecordKind.UserDefault, UserPreferencesCollection, id, null, "default environment")
                    {
                        OwnerId = IdAt(d, "userId"),
                    }, environment);
                }
            }).ConfigureAwait(false);
        }

        private async Task AppVersionsAsync()
        {
            var apps = new Dictionary<string, (string Name, string? Project)>(StringComparer.Ordinal);
            await this.Scan(ModelProductsCollection, NotArchived, ["name", "projectId"], d =>
            {
                if (IdOf(d["_id"]) is { } id)
                {
                    apps[id] = (StringAt(d, "name") ?? string.Empty, IdAt(d, "projectId"));
                }
            }).ConfigureAwait(false);

            await this.Scan(AppVersionsCollection, NotNull("environmentId"), ["appId", "environmentId", "versionNumber"], d =>
            {
                if (IdOf(d["_id"]) is not { } id || IdAt(d, "environmentId") is not { } environment
                    || IdAt(d, "appId") is not { } app || !apps.TryGetValue(app, out var live))
                {
                    return;
                }

                string version = ValueAt(d, "versionNumber") is { IsNumeric: true } number ? " v" + number.ToString() : string.Empty;
                this.PinActive(new Pending(DominoRecordKind.AppVersion, AppVersionsCollection, id, live.Name + version, $"version of app {app}, environment")
                {
                    ProjectId = live.Project,
                    OwnerId = this.projects.GetValueOrDefault(live.Project ?? string.Empty)?.OwnerId,
                }, environment);
            }).ConfigureAwait(false);
        }

        private async Task ModelVersionsAsync()
        {
            Dictionary<string, DeploymentSaga> sagas = await this.LatestDeploymentSagasAsync().ConfigureAwait(false);
            var unknown = new List<string>();
            foreach (VersionRecord version in this.versions)
            {
                DominoImageCatalog.ModelRecord? model = version.ModelId is { } id ? this.models.GetValueOrDefault(id) : null;
                DeploymentSaga? saga = sagas.GetValueOrDefault(version.Id);
                if (model is { Archived: false })
                {
                    this.PinVersion(version, model, ModelVersionsCollection, version.Id, null, string.Empty, saga);
                }
                else if (saga is { Deployed: true })
                {
                    // A deployed version runs whatever its model's state: the saga that deployed it names it.
                    string why = model is null ? $"model {version.ModelId ?? "(unreadable modelId)"} is not in Domino's records" : $"model {model.Id} is archived";
                    this.PinVersion(version, model, SagasCollection, saga.Id, "model deployment", $"its latest deployment saga ({saga.Status}) deploys model version {version.Id} ({why}); ", saga);
                }
                else if (model is null)
                {
                    // Fail safe: a version that cannot be tied to an archived model may be live.
                    unknown.Add(version.Id);
                    string which = version.ModelId is { } known ? $"model {known}" : $"modelId {version.ModelIdText}";
                    this.PinVersion(version, null, ModelVersionsCollection, version.Id, null, $"its {which} is not in Domino's records, so the version is treated as live; ", saga);
                }
            }

            if (unknown.Count > 0)
            {
                this.notes.Add(string.Create(
                    CultureInfo.InvariantCulture,
                    $"{unknown.Count} model version(s) name a model that Domino's records do not have, or no readable modelId ({string.Join(", ", unknown.Take(10))}{(unknown.Count > 10 ? ", …" : string.Empty)}): they are treated as live, so their build images and environment revisions are kept."));
            }
        }

        /// <summary>
        /// Reads the deployment sagas and keeps the latest per model version: the latest <c>started</c> (a saga without
        /// one counts as the oldest), then the greatest <c>_id</c> (ObjectIds grow with time).
        /// </summary>
        private async Task<Dictionary<string, DeploymentSaga>> LatestDeploymentSagasAsync()
        {
            var sagas = new Dictionary<string, DeploymentSaga>(StringComparer.Ordinal);
            var filter = new BsonDocument("sagaName", new BsonDocument("$in", new BsonArray(DeploymentSagas)));
            await this.Scan(SagasCollection, filter, ["parameters.modelVersionId", "sagaName", "state", "isCompleted", "started"], d =>
            {
                if (IdOf(d["_id"]) is not { } id || IdAt(d, "parameters.modelVersionId") is not { } version)
                {
                    return;
                }

                var saga = new DeploymentSaga(id, StringAt(d, "sagaName") ?? string.Empty, StringAt(d, "state"), IsTrue(d, "isCompleted"), DateAt(d, "started"));
                if (!sagas.TryGetValue(version, out DeploymentSaga? seen) || Compare(saga.Started, seen.Started, saga.Id, seen.Id) > 0)
                {
                    sagas[version] = saga;
                }
            }).ConfigureAwait(false);
            return sagas;
        }

        /// <summary>Pins a model version's builds (unless failed) and the environment revision it was built on.</summary>
        private void PinVersion(VersionRecord version, DominoImageCatalog.ModelRecord? model, string source, string recordId, string? label, string why, DeploymentSaga? saga)
        {
            Pending Make(DominoRecordKind kind, string detail) => new(kind, source, recordId, model?.Name, detail)
            {
                Label = label,
                ModelId = version.ModelId,
                ProjectId = model?.ProjectId,
                OwnerId = version.CreatedBy ?? this.projects.GetValueOrDefault(model?.ProjectId ?? string.Empty)?.OwnerId,
                LastUsed = saga?.Started,
                Status = saga?.Status,
            };

            foreach (DominoModelBuild build in version.Builds.Where(b => !b.Failed))
            {
                Pending reference = Make(DominoRecordKind.ModelBuild, $"{why}build of model {version.ModelId}");
                reference.Image = (build.Repository, build.Tag);
                reference.EnvironmentRevisionOfImage = version.EnvironmentRevisionId;
                this.pending.Add(reference);
            }

            if (version.EnvironmentRevisionId is { } revision)
            {
                this.Pin(Make(DominoRecordKind.ModelEnvironment, $"{why}environment revision {revision} it was built on"), revision);
            }
        }

        private void ClonedRevisions()
        {
            foreach (DominoRevision clone in this.revisions.Where(r => r.ClonedFromId is not null))
            {
                if (this.revisionsById!.TryGetValue(clone.ClonedFromId!, out DominoRevision? source))
                {
                    this.Pin(new Pending(DominoRecordKind.ClonedRevision, EnvironmentRevisionsCollection, clone.Id, this.environments.GetValueOrDefault(clone.EnvironmentId ?? string.Empty)?.Name, $"revision of environment {clone.EnvironmentId} cloned from revision {source.Id}")
                    {
                        OwnerId = clone.AuthorId,
                    }, source.Id);
                }
            }
        }

        /// <summary>Pins the revision an environment revision spec names: ActiveRevision (or none), SomeRevision(&lt;id&gt;), else every revision.</summary>
        private void PinSpec(Func<string, Pending> make, string environmentId, BsonValue? spec, string field, string label)
        {
            string? text = spec is BsonString s ? s.Value.Trim() : null;
            if (spec is null || spec.IsBsonNull || text == "ActiveRevision")
            {
                this.PinActive(make(text is null ? label : $"{field} {text} of {label}"), environmentId);
            }
            else if (text is not null && SomeRevisionPattern().Match(text) is { Success: true } match)
            {
                string name = this.environments.TryGetValue(environmentId, out DominoImageCatalog.EnvironmentRecord? environment) ? environment.Name + " " : string.Empty;
                this.Pin(make($"{field} {text} of {label} {name}({environmentId})"), match.Groups[1].Value.ToLowerInvariant());
            }
            else
            {
                // A spec this reader does not understand must not leave the revision it means unprotected.
                string shown = text ?? spec.ToString() ?? string.Empty;
                this.notes.Add($"{field} '{shown}' of {make(string.Empty).Describe()} is neither ActiveRevision nor SomeRevision(<id>): every revision of environment {environmentId} is kept.");
                foreach (DominoRevision revision in this.revisionsByEnvironment!.GetValueOrDefault(environmentId) ?? [])
                {
                    this.Pin(make($"{field} '{shown}' (not understood, so every revision of the environment)"), revision.Id);
                }
            }
        }

        /// <summary>Pins the active revision of an environment, archived or not: the record still runs it.</summary>
        private void PinActive(Pending reference, string environmentId)
        {
            if (this.environments.TryGetValue(environmentId, out DominoImageCatalog.EnvironmentRecord? environment) && environment.ActiveRevisionId is { } revision)
            {
                reference.Detail = $"{reference.Detail} {environment.Name} ({environmentId}): its active revision";
                this.Pin(reference, revision);
            }
            else
            {
                this.unresolved[reference.Kind] = this.unresolved.GetValueOrDefault(reference.Kind) + 1;
            }
        }

        private void Pin(Pending reference, string revisionId)
        {
            if (this.revisionsById!.TryGetValue(revisionId, out DominoRevision? revision) && revision.Tag is { } tag)
            {
                string? repository = revision.Repository;
                if (repository is null)
                {
                    // A tag without a repository still names an environment image: keep the tag where Domino's
                    // environment images live (or, unknown here, in every Domino repository when planning).
                    repository = options.EnvironmentRepository is { Length: > 0 } environments ? RepositoryPath(environments) : string.Empty;
                    reference.Detail += $" (revision {revisionId} records tag {tag} without a repository, so the tag is kept in {(repository.Length > 0 ? repository : "every Domino repository")})";
                }

                reference.Image = (repository, tag);
                reference.PinnedRevision = revisionId;
                reference.EnvironmentRevisionOfImage = revisionId;
                this.pending.Add(reference);
            }
            else
            {
                this.unresolved[reference.Kind] = this.unresolved.GetValueOrDefault(reference.Kind) + 1;

                // No image to protect, but a record that names the revision: its build failed, or it was not in the
                // records when they were read. Deleting the revision's record would still break this record.
                reference.Image = (string.Empty, string.Empty);
                reference.PinnedRevision = revisionId;
                reference.EnvironmentRevisionOfImage = revisionId;
                this.pinsWithoutImage.Add(reference);
            }
        }

        private Task Scan(string collection, BsonDocument filter, string[] fields, Action<BsonDocument> each) =>
            owner.ScanAsync(collection, filter, fields, options.BatchSize, each, cancellationToken);

        // A spec stored as anything but a string keeps its JSON text, so it is reported and handled as not understood.
        private static string? SpecAt(BsonDocument document, string path) => ValueAt(document, path) switch
        {
            null or BsonNull => null,
            BsonString text => text.Value,
            BsonValue other => other.ToJson(),
        };

        private static bool IsTrue(BsonDocument document, string path) => ValueAt(document, path) is BsonBoolean { Value: true };

        private static string? IdAt(BsonDocument document, string path) => IdOf(ValueAt(document, path));

        private static DateTimeOffset? Latest(DateTimeOffset? a, DateTimeOffset? b) => a is null ? b : b is null ? a : (a > b ? a : b);

        // Orders by time (unknown first), then by id, so the same records always pick the same representative.
        private static int Compare(DateTimeOffset? a, DateTimeOffset? b, string idA, string idB)
        {
            int byTime = Nullable.Compare(a, b);
            return byTime != 0 ? byTime : string.CompareOrdinal(idA, idB);
        }

        [GeneratedRegex(@"^SomeRevision\(([0-9a-fA-F]{24})\)$")]
        private static partial Regex SomeRevisionPattern();

        private sealed record VersionRecord(string Id, string? ModelId, string? EnvironmentRevisionId, string? CreatedBy, List<DominoModelBuild> Builds)
        {
            /// <summary>Gets the stored <c>modelId</c> as JSON, for messages when it names no model.</summary>
            public string ModelIdText { get; init; } = string.Empty;
        }

        /// <summary>The latest deployment saga of a model version.</summary>
        private sealed record DeploymentSaga(string Id, string Name, string? State, bool Completed, DateTimeOffset? Started)
        {
            /// <summary>
            /// Gets whether the version counts as deployed: unless this saga is a StopModelVersion that completed without
            /// failing, the version may run (a start or deployment in any state, a stop still under way or failed).
            /// </summary>
            public bool Deployed => !(this.Name == "StopModelVersion" && this.Completed && !FailedStates.Contains(this.State ?? string.Empty));

            public string Status => $"{this.Name} {this.State}{(this.Completed ? string.Empty : " (not completed)")}".Trim();
        }

        private sealed class RunGroup
        {
            public int Count { get; set; }

            public string? LatestId { get; set; }

            public DateTimeOffset? LastUsed { get; set; }

            public string? Status { get; set; }
        }

        /// <summary>A reference before the users are read, so owner names can go into its reason.</summary>
        private sealed class Pending(DominoRecordKind kind, string source, string recordId, string? recordName, string detail)
        {
            public DominoRecordKind Kind { get; } = kind;

            /// <summary>Gets the record's name in the reason when the kind alone does not say it (a deployment saga).</summary>
            public string? Label { get; init; }

            public string Detail { get; set; } = detail;

            public string? ProjectId { get; init; }

            public string? OwnerId { get; init; }

            public string? ModelId { get; init; }

            public DateTimeOffset? LastUsed { get; init; }

            public int Count { get; set; } = 1;

            public string? Status { get; init; }

            public (string Repository, string Tag) Image { get; set; }

            public string? PinnedRevision { get; set; }

            public string? EnvironmentRevisionOfImage { get; set; }

            public string Describe(DominoImageCatalog? catalog = null)
            {
                string label = this.Label ?? this.Kind switch
                {
                    DominoRecordKind.ActiveRevision => "environment",
                    DominoRecordKind.Run => this.Count == 1 ? "run" : "runs (latest)",
                    DominoRecordKind.Workspace => "workspace",
                    DominoRecordKind.WorkspaceSession => "workspace session",
                    DominoRecordKind.ProjectDefault => "project",
                    DominoRecordKind.SchedulerJob => "scheduled job",
                    DominoRecordKind.OrganizationDefault => "organization",
                    DominoRecordKind.UserDefault => "user preference",
                    DominoRecordKind.AppVersion => "app version",
                    DominoRecordKind.ModelBuild or DominoRecordKind.ModelEnvironment => "model version",
                    _ => "environment revision",
                };
                string name = string.IsNullOrEmpty(recordName) ? string.Empty : $" '{recordName}'";
                var who = new List<string>();
                if (catalog?.Project(this.ProjectId) is { } project)
                {
                    who.Add("project " + project.Name);
                }
                else if (this.ProjectId is not null)
                {
                    who.Add("project " + this.ProjectId);
                }

                if (this.OwnerId is not null)
                {
                    who.Add("owner " + (catalog?.User(this.OwnerId) is { } user ? user.Login ?? user.FullName ?? this.OwnerId : this.OwnerId));
                }

                return $"Domino {label} {recordId}{name}{(who.Count == 0 ? string.Empty : $" ({string.Join(", ", who)})")}";
            }

            public DominoImageReference ToReference(DominoImageCatalog catalog)
            {
                string? revisionOfImage = this.EnvironmentRevisionOfImage;
                string? environmentId = revisionOfImage is null ? null : catalog.Revision(revisionOfImage)?.EnvironmentId;
                DominoImageCatalog.UserRecord? user = catalog.User(this.OwnerId);
                string reason = $"{this.Describe(catalog)}: {this.Detail}";
                if (this.LastUsed is { } last)
                {
                    reason += string.Create(CultureInfo.InvariantCulture, $", last used {last:yyyy-MM-dd HH:mm} UTC");
                }

                return new DominoImageReference(
                    this.Kind,
                    source,
                    recordId,
                    string.IsNullOrEmpty(recordName) ? null : recordName,
                    this.Image.Repository,
                    this.Image.Tag,
                    Domino.ObjectId.FromTag(this.Image.Tag),
                    this.PinnedRevision,
                    environmentId,
                    catalog.EnvironmentName(environmentId),
                    this.ModelId,
                    this.ProjectId,
                    catalog.Project(this.ProjectId)?.Name,
                    this.OwnerId,
                    user?.Login,
                    user?.FullName,
                    this.LastUsed,
                    this.Count,
                    this.Status,
                    reason);
            }
        }
    }
}
