using System.Management.Automation;
using RegistryCleaner.Planning;

namespace RegistryCleaner.PowerShell;

/// <summary>
/// The parameters the unused-image cmdlets share, as bound: the scope, the keep rules and where usage comes from. They
/// all plan through <see cref="UnusedImageCmdlet.PlanUnusedImages"/> so they plan identically.
/// </summary>
public sealed record UnusedImageQuery
{
    /// <summary>Gets -Repository (wildcards allowed); <see langword="null"/> uses the configured repositories.</summary>
    public string[]? Repository { get; init; }

    /// <summary>Gets tag wildcards a candidate must match (-Include).</summary>
    public IReadOnlyList<string> Include { get; init; } = [];

    /// <summary>
    /// Gets the typed -Tag wildcards: only the tags they name in the repositories in scope can be candidates (on top of
    /// -Include); an exact tag that no repository has is an error.
    /// </summary>
    public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary>Gets the typed -Digest values: only those manifests (or the named tags pointing at them) can be candidates.</summary>
    public IReadOnlyList<string> Digests { get; init; } = [];

    /// <summary>Gets tag wildcards that exclude a tag from the candidates (-Exclude).</summary>
    public IReadOnlyList<string> Exclude { get; init; } = [];

    /// <summary>Gets -ObjectId.</summary>
    public string[]? ObjectId { get; init; }

    /// <summary>Gets -ObjectIdPath.</summary>
    public string? ObjectIdPath { get; init; }

    /// <summary>Gets -KeepLatest.</summary>
    public int KeepLatest { get; init; }

    /// <summary>Gets -OlderThan.</summary>
    public TimeSpan? OlderThan { get; init; }

    /// <summary>Gets -StrictHost.</summary>
    public bool StrictHost { get; init; }

    /// <summary>Gets -InUse objects; <see langword="null"/> reads usage live from Kubernetes.</summary>
    public IReadOnlyList<PSObject>? InUse { get; init; }

    /// <summary>Gets -KubeConfig.</summary>
    public string? KubeConfig { get; init; }

    /// <summary>Gets -Context.</summary>
    public string[]? Context { get; init; }

    /// <summary>Gets -Namespace.</summary>
    public string[]? Namespace { get; init; }

    /// <summary>Gets the images named explicitly (piped to Remove-UnusedImage); <see langword="null"/> plans from the scope.</summary>
    public IReadOnlyList<PlanTarget>? Targets { get; init; }

    /// <summary>Gets when and where to read Domino's records (-MongoUsage, mongo.usage, -UnusedSince); <see langword="null"/> never reads them.</summary>
    public DominoUsageRequest? Mongo { get; init; }

    /// <summary>Gets whether the plan is for deleting: an incomplete inventory is then refused instead of reported as estimates.</summary>
    public bool ForDeletion { get; init; }

    /// <summary>Gets -StoragePath: the registry's storage root, read (read-only) for untagged manifests; <see langword="null"/> reads none.</summary>
    public string? StoragePath { get; init; }
}
