using System.Globalization;
using System.Management.Automation;
using RegistryCleaner.Configuration;
using RegistryCleaner.Domino;
using RegistryCleaner.Registry;
using RegistryCleaner.PowerShell.Completion;

namespace RegistryCleaner.PowerShell.Commands;

/// <summary>A registry tag that belongs to an archived Domino environment (or, with -IncludeModels, an archived model).</summary>
/// <param name="Kind"><c>Environment</c> or <c>Model</c>: which kind of archived record owns the tag.</param>
/// <param name="ObjectId">The id of the archived environment or model the tag belongs to (lower-case hex).</param>
/// <param name="EnvironmentId">The archived environment's id; <see langword="null"/> for a model tag.</param>
/// <param name="EnvironmentName">The archived environment's name; empty for a model tag.</param>
/// <param name="Registry">The registry, as Remove-UnusedImage's -Registry accepts it.</param>
/// <param name="Repository">The repository, for example <c>dominodatalab/environment</c>.</param>
/// <param name="Tag">The tag, for example <c>659c7bce85f6381e675bb205-12</c>.</param>
/// <param name="Digest">The manifest digest the tag points at.</param>
/// <param name="Revision">
/// What follows <c>&lt;id&gt;-</c> in the tag: the revision number as an <see cref="int"/> when numeric (environments),
/// otherwise the text (model versions such as <c>v1-202419163323_HfGeD8Ia</c>); <see langword="null"/> when the tag is the bare id.
/// </param>
public sealed record ArchivedEnvTag(
    string Kind,
    string ObjectId,
    string? EnvironmentId,
    string EnvironmentName,
    string Registry,
    string Repository,
    string Tag,
    string Digest,
    object? Revision);

/// <summary>
/// Finds the registry tags of archived Domino environments (and, with -IncludeModels, archived models).
/// </summary>
[Cmdlet(VerbsCommon.Find, "ArchivedEnvTag")]
[OutputType(OutputTypeNames.ArchivedEnvTag)]
public sealed class FindArchivedEnvTagCommand : DominoRegistryCmdlet
{
    /// <summary>The <see cref="ArchivedEnvTag.Kind"/> of an environment tag.</summary>
    public const string EnvironmentKind = "Environment";

    /// <summary>The <see cref="ArchivedEnvTag.Kind"/> of a model tag.</summary>
    public const string ModelKind = "Model";

    /// <summary>The environment repository.</summary>
    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    [ValidateRegistryName(RegistryNameKind.Repository)]
    [ArgumentCompleter(typeof(RepositoryCompleter))]
    public string? Repository { get; set; }

    /// <summary>Also finds the tags of archived models (models with isArchived true) in the model repository, registry.repository followed by /model.</summary>
    [Parameter]
    public SwitchParameter IncludeModels { get; set; }

    /// <summary>Only these archived environments or models (24-hex ObjectIds).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? ObjectId { get; set; }

    /// <summary>A file of ObjectIds to narrow to: the first column of each line; blank and # lines skipped.</summary>
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
        string prefix = (this.Configuration.GetString(ConfigSchema.RegistryRepository) ?? string.Empty).Trim('/');
        string environmentRepository = this.Repository?.Trim('/') ?? Combine(prefix, "environment");
        string modelRepository = Combine(prefix, "model");

        MongoConnectionSettings settings = MongoConnectionParameters.ToSettings(this, this.Configuration, this.EffectiveTimeout);
        using MongoConnection connection = MongoConnectionParameters.Open(this, settings);
        IReadOnlyList<DominoEnvironment> environments;
        IReadOnlyList<string> models;
        try
        {
            this.WriteVerbose("Reading archived environments" + (this.IncludeModels ? " and models" : string.Empty) + " from MongoDB.");
            environments = this.RunEngine((_, token) => connection.Domino.GetArchivedEnvironmentsAsync(token));
            models = this.IncludeModels ? this.RunEngine((_, token) => connection.Domino.GetArchivedModelIdsAsync(token)) : [];
        }
        catch (DominoDatabaseException ex)
        {
            this.ThrowTerminatingError(MongoConnectionParameters.ErrorRecord(ex, settings.Target));
            throw;
        }

        var environmentOwners = environments
            .Where(e => narrow is null || narrow.Contains(e.Id))
            .ToDictionary(e => e.Id, e => e.Name, StringComparer.Ordinal);
        var modelOwners = models
            .Where(id => narrow is null || narrow.Contains(id))
            .ToDictionary(id => id, _ => string.Empty, StringComparer.Ordinal);
        this.WriteVerbose($"{environmentOwners.Count} archived environment(s), {modelOwners.Count} archived model(s) to look for.");

        using RegistryClient client = this.CreateRegistryClient(endpoint);
        this.FindTags(client, endpoint, environmentRepository, environmentOwners, EnvironmentKind);
        if (this.IncludeModels)
        {
            this.FindTags(client, endpoint, modelRepository, modelOwners, ModelKind);
        }
    }

    private static string Combine(string prefix, string image) => prefix.Length == 0 ? image : prefix + "/" + image;

    /// <summary>What follows "&lt;id&gt;-": an int when numeric (environment revisions), else the text.</summary>
    private static object? RevisionOf(string tag)
    {
        if (tag.Length <= Domino.ObjectId.Length + 1)
        {
            return null;
        }

        string rest = tag[(Domino.ObjectId.Length + 1)..];
        return int.TryParse(rest, NumberStyles.None, CultureInfo.InvariantCulture, out int number) ? number : rest;
    }

    private void FindTags(RegistryClient client, RegistryEndpoint endpoint, string repository, Dictionary<string, string> owners, string kind)
    {
        if (owners.Count == 0)
        {
            return;
        }

        this.WriteVerbose($"Listing the tags of {endpoint.DisplayName}/{repository}.");
        int throttle = this.EffectiveThrottleLimit;
        try
        {
            this.RunEngine(async (queue, token) =>
            {
                IReadOnlyList<string> tags = await client.ListTagsAsync(repository, cancellationToken: token).ConfigureAwait(false);

                // Exact ownership: FromTag takes the 24-hex prefix only when the tag ends there or continues with '-'.
                var matches = tags
                    .Select(tag => (Tag: tag, Owner: Domino.ObjectId.FromTag(tag)))
                    .Where(m => m.Owner is not null && owners.ContainsKey(m.Owner))
                    .OrderBy(m => m.Tag, StringComparer.Ordinal)
                    .ToArray();
                queue.Verbose($"{matches.Length} of {tags.Count} tag(s) in {repository} belong to archived {kind.ToLowerInvariant()}s; resolving their digests.");
                var digests = new string?[matches.Length];
                await Parallel.ForEachAsync(
                    Enumerable.Range(0, matches.Length),
                    new ParallelOptions { MaxDegreeOfParallelism = throttle, CancellationToken = token },
                    async (i, ct) => digests[i] = await client.HeadManifestAsync(repository, matches[i].Tag, ct).ConfigureAwait(false)).ConfigureAwait(false);

                for (int i = 0; i < matches.Length; i++)
                {
                    (string tag, string? owner) = matches[i];
                    if (digests[i] is not { } digest)
                    {
                        queue.Verbose($"{repository}:{tag} disappeared while listing; skipped.");
                        continue;
                    }

                    bool environment = kind == EnvironmentKind;
                    queue.Output(
                        new ArchivedEnvTag(kind, owner!, environment ? owner : null, owners[owner!], endpoint.DisplayName, repository, tag, digest, RevisionOf(tag)),
                        OutputTypeNames.ArchivedEnvTag);
                }
            });
        }
        catch (RepositoryNotFoundException ex)
        {
            // A missing repository simply holds no archived tags; the other repository may still have some.
            this.WriteError(RegistryErrorRecord(ex, repository));
        }
        catch (RegistryException ex)
        {
            this.ThrowTerminatingError(RegistryErrorRecord(ex, $"{endpoint.DisplayName}/{repository}"));
        }
    }
}
