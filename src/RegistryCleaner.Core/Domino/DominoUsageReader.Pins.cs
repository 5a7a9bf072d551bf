using System.Globalization;
using System.Text.RegularExpressions;
using MongoDB.Bson;
using RegistryCleaner.Workloads;

namespace RegistryCleaner.Domino;

/// <content>
/// Pinning: what a record pins (a model version's builds, a revision, an environment's active revision), the
/// pending pins joined at the end, and the small readers of document fields they share.
/// </content>
public sealed partial class DominoDatabase
{
    private sealed partial class RecordRead
    {
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
