using System.Globalization;
using System.Management.Automation;
using RegistryCleaner.Configuration;
using RegistryCleaner.Domino;
using RegistryCleaner.Planning;
using RegistryCleaner.Registry;
using RegistryCleaner.Workloads;

namespace RegistryCleaner.PowerShell;

/// <summary>When the unused-image cmdlets read Domino's records (<c>mongo.usage</c>, <c>-MongoUsage</c>).</summary>
public enum MongoUsageMode
{
    /// <summary>When a Domino repository is in scope; fail closed when MongoDB cannot be read.</summary>
    Auto,

    /// <summary>Always; fail closed when MongoDB cannot be read.</summary>
    Always,

    /// <summary>Never (the user opted out; a warning says so when a Domino repository is in scope).</summary>
    Never,
}

/// <summary>How one invocation uses Domino's records: the mode, where it came from, the connection and the run window.</summary>
/// <param name="Mode">When to read.</param>
/// <param name="ModeSource">Where the mode came from, for messages (<c>-MongoUsage:$false</c>, <c>mongo.usage: auto</c>).</param>
/// <param name="Settings">The MongoDB connection (no I/O until the records are read); <see langword="null"/> when the user opted out.</param>
/// <param name="Options">What to read (the -UnusedSince window for runs).</param>
public sealed record DominoUsageRequest(MongoUsageMode Mode, string ModeSource, MongoConnectionSettings? Settings, DominoUsageOptions Options);

/// <content>Domino's records as usage for the unused-image cmdlets: when to read them, reading them, and the clone chain.</content>
public abstract partial class RegistryCmdlet
{
    /// <summary>
    /// Resolves -MongoUsage (else <c>mongo.usage</c>: auto, true or false), -UnusedSince and the MongoDB connection the
    /// same way every MongoDB cmdlet does (<see cref="MongoConnectionParameters.ToSettings"/>). Call on the pipeline thread.
    /// </summary>
    /// <param name="mongoUsage">-MongoUsage.</param>
    /// <param name="unusedSinceDays">-UnusedSince, when given: only runs of the last that many days protect.</param>
    /// <param name="parameters">The cmdlet's -MongoUri, -MongoCredential and -Database.</param>
    /// <returns>The request.</returns>
    protected DominoUsageRequest ResolveMongoUsage(SwitchParameter mongoUsage, int? unusedSinceDays, IMongoConnectionParameters parameters)
    {
        MongoUsageMode mode;
        string source;
        if (this.MyInvocation.BoundParameters.ContainsKey("MongoUsage"))
        {
            (mode, source) = mongoUsage.IsPresent ? (MongoUsageMode.Always, "-MongoUsage") : (MongoUsageMode.Never, "-MongoUsage:$false");
        }
        else
        {
            ConfigValue configured = this.Configuration[ConfigSchema.MongoUsage];
            string value = configured.Value as string ?? "auto";
            mode = value switch
            {
                "true" => MongoUsageMode.Always,
                "false" => MongoUsageMode.Never,
                _ => MongoUsageMode.Auto,
            };
            source = $"mongo.usage: {value}{(configured.Source == ConfigSource.File ? $" in {this.Configuration.FilePath}" : string.Empty)}";
        }

        // An opted-out invocation never reads the MongoDB password out of its SecureString.
        DateTimeOffset? since = unusedSinceDays is { } days ? DateTimeOffset.UtcNow.AddDays(-days) : null;
        MongoConnectionSettings? settings = mode == MongoUsageMode.Never ? null : MongoConnectionParameters.ToSettings(parameters, this.Configuration, this.EffectiveTimeout);
        return new DominoUsageRequest(mode, source, settings, new DominoUsageOptions { RunsSince = since, EnvironmentRepository = this.Configuration.DominoRepositories()[0] });
    }

    /// <summary>
    /// Reads Domino's records when the request asks for them in this scope: always, or (auto) when a Domino repository
    /// is among <paramref name="scope"/>. Says once when the user opted out where it matters. Throws
    /// <see cref="DominoDatabaseException"/> when MongoDB cannot be read (the caller stops the command).
    /// </summary>
    /// <param name="request">The request.</param>
    /// <param name="scope">The repositories planned in.</param>
    /// <param name="dominoRepositories">The Domino repositories (<c>registry.repository</c>/environment and /model).</param>
    /// <param name="queue">Where to write.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The records, or <see langword="null"/> when they are not read.</returns>
    private protected static async Task<DominoUsageReport?> ReadDominoUsageAsync(
        DominoUsageRequest request, IEnumerable<string> scope, IReadOnlyList<string> dominoRepositories, PipelineQueue queue, CancellationToken cancellationToken)
    {
        string[] domino = scope.Select(r => r.Trim('/')).Where(r => dominoRepositories.Contains(r, StringComparer.Ordinal)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        switch (request.Mode)
        {
            case MongoUsageMode.Never when domino.Length > 0:
                queue.Warning(
                    $"Domino's records are not read ({request.ModeSource}): an image that only a stopped workspace, a scheduled job, a project default or a deployed model pins is not protected in {string.Join(", ", domino)}.");
                return null;
            case MongoUsageMode.Never:
                return null;
            case MongoUsageMode.Auto when domino.Length == 0:
                queue.Verbose($"Domino's records are not read ({request.ModeSource}): no Domino repository ({string.Join(", ", dominoRepositories)}) is in scope.");
                return null;
        }

        MongoConnectionSettings settings = request.Settings ?? throw new InvalidOperationException("Domino's records are to be read without MongoDB settings.");
        queue.Verbose($"Reading the images Domino's records pin from MongoDB {settings.Target} ({request.ModeSource}{(request.Options.RunsSince is { } since ? string.Create(CultureInfo.InvariantCulture, $"; runs since {since:yyyy-MM-dd}") : string.Empty)}).");
        using MongoConnection connection = MongoConnection.Open(settings);
        DominoUsageReport report = await connection.Domino.ReadImageUsageAsync(request.Options, cancellationToken).ConfigureAwait(false);
        foreach (string note in report.Notes)
        {
            queue.Verbose("Domino: " + note);
        }

        return report;
    }

    /// <summary>
    /// Adds the clone chain's protections to a plan until it keeps every chain whole (each round keeps at least one more
    /// candidate, so it ends).
    /// </summary>
    /// <param name="request">What to plan from.</param>
    /// <param name="plan">The plan made with the records' protections.</param>
    /// <param name="catalog">Domino's revisions.</param>
    /// <param name="registry">The registry's display name.</param>
    /// <returns>The final plan and the usage it protected.</returns>
    private protected static (DeletionPlan Plan, UsageSnapshot Usage) KeepCloneChains(PlanRequest request, DeletionPlan plan, DominoImageCatalog catalog, string registry)
    {
        UsageSnapshot usage = request.Usage;
        for (int round = 0; round <= plan.Candidates.Count; round++)
        {
            IReadOnlyList<DominoImageReference> kept = DominoProtection.KeptByCloneChain(plan, request.Inventory, catalog);
            if (kept.Count == 0)
            {
                break;
            }

            usage = DominoProtection.Protect(usage, registry, kept, string.Create(CultureInfo.InvariantCulture, $"the clone chain of environment revisions ({kept.Count})"));
            plan = DeletionPlanner.Plan(request with { Usage = usage });
        }

        return (plan, usage);
    }

    /// <summary>
    /// Reads Domino's environment revisions and model builds with their owners (one MongoDB client, disposed at once),
    /// or stops the command with the MongoDB error. Call on the pipeline thread, after the user's input was checked.
    /// </summary>
    /// <param name="parameters">The cmdlet's -MongoUri, -MongoCredential and -Database.</param>
    /// <returns>The catalog.</returns>
    protected DominoImageCatalog ReadDominoCatalog(IMongoConnectionParameters parameters)
    {
        MongoConnectionSettings settings = MongoConnectionParameters.ToSettings(parameters, this.Configuration, this.EffectiveTimeout);
        using MongoConnection connection = MongoConnectionParameters.Open(this, settings);
        try
        {
            this.WriteVerbose("Reading Domino's environment revisions and model builds from MongoDB.");
            return this.RunEngine((_, token) => connection.Domino.ReadImageCatalogAsync(token));
        }
        catch (DominoDatabaseException ex)
        {
            this.ThrowTerminatingError(MongoConnectionParameters.ErrorRecord(ex, settings.Target));
            throw;
        }
    }

    /// <summary>Names the Domino owner of a planned image, when Domino's records were read.</summary>
    /// <param name="catalog">The catalog, or <see langword="null"/>.</param>
    /// <param name="repository">The image's repository.</param>
    /// <param name="tag">The image's tag.</param>
    /// <returns>The owner, or <see langword="null"/>.</returns>
    private protected static DominoImageOwner? DominoOwner(DominoImageCatalog? catalog, string repository, string? tag) =>
        catalog is null || tag is null ? null : catalog.Describe(repository, tag);
}
