namespace RegistryCleaner.Workloads;

/// <summary>
/// A parsed image reference as a workload names it, normalised by the Docker reference grammar:
/// <c>[host[:port]/]path[:tag][@digest]</c>, bare names defaulting to <c>docker.io</c> and <c>library/</c>.
/// </summary>
/// <param name="Original">The reference exactly as written.</param>
/// <param name="Registry">The registry host (with port), e.g. <c>docker-registry:5000</c> or <c>docker.io</c>.</param>
/// <param name="Repository">The repository path, e.g. <c>dominodatalab/environment</c>.</param>
/// <param name="Tag">The tag; <c>latest</c> when the reference names neither tag nor digest; <see langword="null"/> for a digest-only reference.</param>
/// <param name="Digest">The digest the reference pins, when it names one.</param>
public sealed record ImageReference(string Original, string Registry, string Repository, string? Tag, string? Digest);

/// <summary>One image that a workload uses (or could run), with what uses it.</summary>
/// <param name="Reference">The image reference.</param>
/// <param name="Digests">Digests known to run for this reference: from the reference and from container statuses' <c>imageID</c>.</param>
/// <param name="UsedBy">What uses it, e.g. <c>Pod/domino-compute/run-123</c> or <c>Deployment/ns/name</c>.</param>
public sealed record ImageUsage(ImageReference Reference, IReadOnlyList<string> Digests, IReadOnlyList<string> UsedBy);

/// <summary>
/// The set of images in use, with a record of what was read to build it, so deletion can refuse a set that is
/// incomplete or stale.
/// </summary>
/// <param name="Images">Every image in use.</param>
/// <param name="RunningDigests">Digests known to run without a usable reference (bare <c>imageID</c> values), each protecting that manifest in every repository.</param>
/// <param name="Sources">What was read: contexts or snapshot files, kinds and namespaces.</param>
/// <param name="ReadAt">When the usage was read.</param>
/// <param name="Complete">Whether every kind in every namespace in scope was read without error.</param>
public sealed record UsageSnapshot(
    IReadOnlyList<ImageUsage> Images,
    IReadOnlyList<string> RunningDigests,
    IReadOnlyList<string> Sources,
    DateTimeOffset ReadAt,
    bool Complete)
{
    /// <summary>Gets what the read skipped and the user should hear about: workloads whose image is empty or blank.</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];
}
