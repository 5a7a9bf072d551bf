using RegistryCleaner.Registry;
using RegistryCleaner.Workloads;

namespace RegistryCleaner.Planning;

/// <summary>An image the user named explicitly (for example piped from another cmdlet).</summary>
/// <param name="Repository">The repository, exactly as in the inventory.</param>
/// <param name="Tag">The tag; <see langword="null"/> to target the manifest by <paramref name="Digest"/> alone.</param>
/// <param name="Digest">
/// The digest the user saw. With a tag, the tag must still point at it, otherwise the image is protected ("tag moved").
/// Without a tag, every tag of that manifest in the repository is targeted (one DELETE removes them all).
/// </param>
public sealed record PlanTarget(string Repository, string? Tag, string? Digest);

/// <summary>What to plan: the scope, the keep rules and how usage is matched.</summary>
public sealed record PlanOptions
{
    /// <summary>Gets the repositories in scope, exact names (wildcards are expanded before); empty means every inventoried repository.</summary>
    public IReadOnlyList<string> Repositories { get; init; } = [];

    /// <summary>Gets tag wildcard patterns (<c>*</c>, <c>?</c>, case-insensitive); a tag is in scope when it matches any. Empty means every tag.</summary>
    public IReadOnlyList<string> Include { get; init; } = [];

    /// <summary>Gets tag wildcard patterns; a tag matching any of them is out of scope.</summary>
    public IReadOnlyList<string> Exclude { get; init; } = [];

    /// <summary>Gets Domino ObjectIds; when not empty, only tags belonging to one of them are in scope.</summary>
    public IReadOnlyList<string> ObjectIds { get; init; } = [];

    /// <summary>
    /// Gets how many of the newest tags to keep per ObjectId and repository (tags without an ObjectId form one group per
    /// repository); 0 keeps none for this reason.
    /// </summary>
    public int KeepLatest { get; init; }

    /// <summary>Gets the minimum age of a candidate; images whose creation time is unknown are kept.</summary>
    public TimeSpan? OlderThan { get; init; }

    /// <summary>Gets the time <see cref="OlderThan"/> is measured from; required with <see cref="OlderThan"/> so plans are reproducible.</summary>
    public DateTimeOffset? Now { get; init; }

    /// <summary>Gets whether a workload reference protects an image only when its host is one of <see cref="RegistryHosts"/>.</summary>
    public bool StrictHost { get; init; }

    /// <summary>Gets the names the registry is reached under (host[:port]); the inventory's registry name is always included.</summary>
    public IReadOnlyList<string> RegistryHosts { get; init; } = [];

    /// <summary>
    /// Gets the images the user named explicitly: when set, they are the only candidates, and every protection still applies.
    /// </summary>
    public IReadOnlyList<PlanTarget>? Targets { get; init; }

    /// <summary>
    /// Gets whether an incomplete inventory is accepted; the plan is then for reporting only and its bytes are estimates
    /// (blobs are shared with repositories that were not read).
    /// </summary>
    public bool AcceptIncompleteInventory { get; init; }

    /// <summary>
    /// Gets whether the registry deletes a tag alone (OCI distribution 1.1 <c>DELETE /v2/&lt;name&gt;/manifests/&lt;tag&gt;</c>,
    /// as found by <see cref="Registry.RegistryClient.SupportsTagDeletionAsync"/>): a candidate tag whose manifest also
    /// carries a kept tag is then untagged instead of kept.
    /// </summary>
    public bool TagDeletionSupported { get; init; }
}

/// <summary>Everything the planner needs: immutable snapshots and options. The planner does no I/O.</summary>
/// <param name="Inventory">The registry inventory.</param>
/// <param name="Usage">The images in use.</param>
/// <param name="Options">Scope and keep rules.</param>
public sealed record PlanRequest(RegistryInventory Inventory, UsageSnapshot Usage, PlanOptions Options);
