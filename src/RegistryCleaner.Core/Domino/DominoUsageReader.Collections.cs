using System.Globalization;
using MongoDB.Bson;

namespace RegistryCleaner.Domino;

/// <content>
/// The collections that pin images, one query each: runs, workspaces and their sessions, project defaults, scheduled
/// jobs, organizations, user preferences, app versions, model versions and their latest deployment sagas.
/// </content>
public sealed partial class DominoDatabase
{
    private sealed partial class RecordRead
    {
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
    }
}
