using System.Globalization;
using System.Management.Automation;
using RegistryCleaner.Domino;
using RegistryCleaner.Registry;

namespace RegistryCleaner.PowerShell.Commands;

/// <summary>One difference between Domino's records and the registry.</summary>
/// <param name="Difference">
/// <c>ImageMissing</c>: a record names an image the registry does not have. <c>RecordMissing</c>: a registry tag of a
/// Domino repository that no record names.
/// </param>
/// <param name="RecordKind"><c>EnvironmentRevision</c> or <c>ModelBuild</c>: the record that names the image, or that would.</param>
/// <param name="Registry">The registry.</param>
/// <param name="Repository">The repository path.</param>
/// <param name="Tag">The tag.</param>
/// <param name="Digest">The manifest digest the tag points at (<c>RecordMissing</c> only).</param>
/// <param name="ObjectId">The Domino ObjectId the tag belongs to, when it has one.</param>
/// <param name="RevisionId">The environment revision (<c>ImageMissing</c> of a revision).</param>
/// <param name="EnvironmentId">The revision's environment, or the environment a model version was built on.</param>
/// <param name="EnvironmentName">That environment's name.</param>
/// <param name="ModelId">The model (<c>ImageMissing</c> of a build).</param>
/// <param name="ModelVersionId">The model version (<c>ImageMissing</c> of a build).</param>
/// <param name="Created">When the revision was created, when recorded.</param>
/// <param name="Reason">The difference in words.</param>
public sealed record DominoRegistryDifference(
    string Difference,
    string RecordKind,
    string Registry,
    string Repository,
    string Tag,
    string? Digest,
    string? ObjectId,
    string? RevisionId,
    string? EnvironmentId,
    string? EnvironmentName,
    string? ModelId,
    string? ModelVersionId,
    DateTimeOffset? Created,
    string Reason);

/// <summary>
/// Compares Domino's records with the registry both ways: records whose image is gone, and Domino repository tags no record names.
/// </summary>
[Cmdlet(VerbsData.Compare, "DominoRegistry")]
[OutputType(OutputTypeNames.DominoRegistryDifference)]
public sealed class CompareDominoRegistryCommand : DominoRegistryCmdlet
{
    /// <summary>The difference of a record whose image the registry does not have.</summary>
    public const string ImageMissing = "ImageMissing";

    /// <summary>The difference of a registry tag no record names.</summary>
    public const string RecordMissing = "RecordMissing";

    /// <summary>The record kind of environment revisions.</summary>
    public const string EnvironmentRevisionKind = "EnvironmentRevision";

    /// <summary>The record kind of model builds.</summary>
    public const string ModelBuildKind = "ModelBuild";

    /// <summary>Only differences that concern these ObjectIds (24 hex characters): the tag belongs to the id, or it is the environment or model.</summary>
    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    public string[]? ObjectId { get; set; }

    /// <summary>A file of ObjectIds to narrow to: the first column of each line; blank and # lines are skipped.</summary>
    [Parameter]
    [Alias("File")]
    [ValidateNotNullOrEmpty]
    public string? ObjectIdPath { get; set; }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        // Everything the user typed is checked before MongoDB or the registry is contacted.
        IReadOnlyList<string>? narrow = this.ResolveObjectIds(this.ObjectId, this.ObjectIdPath);
        RegistryEndpoint endpoint = this.ResolveEndpoint();
        IReadOnlyList<string> repositories = this.Configuration.DominoRepositories();
        (string environments, string models) = (repositories[0], repositories[1]);

        DominoImageCatalog catalog = this.ReadDominoCatalog(this);
        using RegistryClient client = this.CreateRegistryClient(endpoint);
        int throttle = this.EffectiveThrottleLimit;
        try
        {
            this.RunEngine(async (queue, token) =>
            {
                var tags = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
                foreach (string repository in repositories)
                {
                    queue.Verbose($"Listing the tags of {endpoint.DisplayName}/{repository}.");
                    try
                    {
                        tags[repository] = (await client.ListTagsAsync(repository, cancellationToken: token).ConfigureAwait(false)).ToHashSet(StringComparer.Ordinal);
                    }
                    catch (RepositoryNotFoundException)
                    {
                        queue.Verbose($"{endpoint.DisplayName} has no repository {repository}: every record naming an image there is reported.");
                        tags[repository] = [];
                    }
                }

                var differences = new List<DominoRegistryDifference>();
                differences.AddRange(MissingImages(catalog, endpoint.DisplayName, models, tags));
                var unknown = tags
                    .SelectMany(pair => pair.Value.Select(tag => (Repository: pair.Key, Tag: tag)))
                    .Where(t => catalog.RevisionOfImage(t.Repository, t.Tag) is null && catalog.BuildsOfImage(t.Repository, t.Tag).Count == 0)
                    .OrderBy(t => t.Repository, StringComparer.Ordinal)
                    .ThenBy(t => t.Tag, StringComparer.Ordinal)
                    .ToArray();
                var digests = new string?[unknown.Length];
                await Parallel.ForEachAsync(
                    Enumerable.Range(0, unknown.Length),
                    new ParallelOptions { MaxDegreeOfParallelism = throttle, CancellationToken = token },
                    async (i, ct) => digests[i] = await client.HeadManifestAsync(unknown[i].Repository, unknown[i].Tag, ct).ConfigureAwait(false)).ConfigureAwait(false);
                for (int i = 0; i < unknown.Length; i++)
                {
                    (string repository, string tag) = unknown[i];
                    if (digests[i] is not { } digest)
                    {
                        queue.Verbose($"{repository}:{tag} disappeared while comparing; skipped.");
                        continue;
                    }

                    bool environment = repository == environments;
                    string? owner = Domino.ObjectId.FromTag(tag);
                    string known = owner is null
                        ? " The tag does not start with a Domino ObjectId."
                        : environment && catalog.EnvironmentName(owner) is { } name ? $" Environment '{name}' ({owner}) exists, but none of its revisions names this tag." : string.Empty;
                    differences.Add(new DominoRegistryDifference(
                        RecordMissing,
                        environment ? EnvironmentRevisionKind : ModelBuildKind,
                        endpoint.DisplayName,
                        repository,
                        tag,
                        digest,
                        owner,
                        null,
                        environment ? owner : null,
                        environment ? catalog.EnvironmentName(owner) : null,
                        environment ? null : owner,
                        null,
                        null,
                        $"No {(environment ? "environment revision (environment_revisions.metadata.dockerImageName)" : "model version build (model_versions.metadata.builds.slug.image)")} names {repository}:{tag}.{known}"));
                }

                foreach (DominoRegistryDifference difference in differences
                    .Where(d => narrow is null || narrow.Any(id => Concerns(d, id)))
                    .OrderBy(d => d.Repository, StringComparer.Ordinal)
                    .ThenBy(d => d.Tag, StringComparer.Ordinal)
                    .ThenBy(d => d.Difference, StringComparer.Ordinal))
                {
                    queue.Output(difference, OutputTypeNames.DominoRegistryDifference);
                }

                queue.Verbose(string.Create(CultureInfo.InvariantCulture, $"{differences.Count} difference(s) between Domino's records and {endpoint.DisplayName}."));
            });
        }
        catch (RegistryException ex)
        {
            this.ThrowTerminatingError(RegistryErrorRecord(ex, endpoint.DisplayName));
        }
    }

    private static bool Concerns(DominoRegistryDifference difference, string objectId) =>
        Domino.ObjectId.TagBelongsTo(difference.Tag, objectId) || objectId == difference.EnvironmentId || objectId == difference.ModelId || objectId == difference.RevisionId;

    /// <summary>Revisions and builds (not failed) that name an image of a Domino repository the registry does not have.</summary>
    private static IEnumerable<DominoRegistryDifference> MissingImages(
        DominoImageCatalog catalog, string registry, string models, Dictionary<string, HashSet<string>> tags)
    {
        foreach (DominoRevision revision in catalog.Revisions.OrderBy(r => r.Id, StringComparer.Ordinal))
        {
            if (!revision.Built || revision.Repository is not { } repository || revision.Tag is not { } tag
                || !tags.TryGetValue(repository, out HashSet<string>? present) || present.Contains(tag))
            {
                continue;
            }

            string? name = catalog.EnvironmentName(revision.EnvironmentId);
            string state = catalog.IsActiveRevision(revision.Id)
                ? " It is the active revision of its environment: new runs fail until it is rebuilt, so Remove-MongoEnvRevision keeps it."
                : string.Empty;
            yield return new DominoRegistryDifference(
                ImageMissing,
                EnvironmentRevisionKind,
                registry,
                repository,
                tag,
                null,
                Domino.ObjectId.FromTag(tag),
                revision.Id,
                revision.EnvironmentId,
                name,
                null,
                null,
                revision.Created,
                $"Environment revision {revision.Id} of environment '{name}' ({revision.EnvironmentId}) names {repository}:{tag}, which the registry does not have.{state}");
        }

        foreach (IGrouping<(string Repository, string Tag), DominoModelBuild> image in catalog.ModelBuilds
            .Where(b => !b.Failed && b.Repository == models)
            .GroupBy(b => (b.Repository, b.Tag))
            .OrderBy(g => g.Key.Tag, StringComparer.Ordinal))
        {
            if (!tags.TryGetValue(image.Key.Repository, out HashSet<string>? present) || present.Contains(image.Key.Tag))
            {
                continue;
            }

            DominoModelBuild build = image.First();
            string? builtOn = build.EnvironmentRevisionId is { } revisionId ? catalog.Revision(revisionId)?.EnvironmentId : null;
            string model = catalog.ModelName(build.ModelId) is { } modelName ? $"model '{modelName}' ({build.ModelId})" : $"model {build.ModelId}";
            yield return new DominoRegistryDifference(
                ImageMissing,
                ModelBuildKind,
                registry,
                image.Key.Repository,
                image.Key.Tag,
                null,
                Domino.ObjectId.FromTag(image.Key.Tag),
                null,
                builtOn,
                catalog.EnvironmentName(builtOn),
                build.ModelId,
                build.ModelVersionId,
                null,
                $"A build of model version {build.ModelVersionId} of {model} names {image.Key.Repository}:{image.Key.Tag}, which the registry does not have.");
        }
    }
}
