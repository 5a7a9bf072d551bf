using RegistryCleaner.Registry;

namespace RegistryCleaner.Reporting;

/// <summary>One image (tag) of the registry as the report counts it.</summary>
/// <param name="Repository">The repository.</param>
/// <param name="Tag">The tag; <see langword="null"/> for an untagged manifest.</param>
/// <param name="Digest">The manifest digest.</param>
/// <param name="Size">The image's distinct blobs (config and layers).</param>
/// <param name="Created">The creation time, when known.</param>
/// <param name="ObjectId">The Domino ObjectId the tag belongs to, when it has one.</param>
public sealed record ReportImage(string Repository, string? Tag, string Digest, long Size, DateTimeOffset? Created, string? ObjectId)
{
    /// <summary>Gets the Domino environment (for a model image, the one it was built on), when known.</summary>
    public string? EnvironmentName { get; init; }

    /// <summary>Gets the Domino project, when known.</summary>
    public string? Project { get; init; }

    /// <summary>Gets the Domino owner's login, when known.</summary>
    public string? Owner { get; init; }
}

/// <summary>One deletion candidate as the report counts it.</summary>
/// <param name="Image">The image.</param>
/// <param name="ReclaimableBytes">The bytes garbage collection frees after deleting it (each blob counted on one candidate).</param>
/// <param name="Reason">Why it is a candidate.</param>
public sealed record ReportCandidate(ReportImage Image, long ReclaimableBytes, string Reason);

/// <summary>An image in scope that is kept, and why.</summary>
/// <param name="Repository">The repository.</param>
/// <param name="Tag">The tag, when it has one.</param>
/// <param name="Digest">The manifest digest, when known.</param>
/// <param name="Size">The image size, when known (0 otherwise).</param>
/// <param name="Reason">Why it is kept.</param>
public sealed record ReportKept(string Repository, string? Tag, string? Digest, long Size, string Reason);

/// <summary>Everything one report page shows; pure data, so the page is a pure function of it.</summary>
/// <param name="Registry">The registry the images are from (or several, comma-separated).</param>
/// <param name="Generated">When the report was made.</param>
/// <param name="Images">Every image counted.</param>
/// <param name="Candidates">The deletion candidates.</param>
/// <param name="Kept">The images in scope that are kept, with why.</param>
/// <param name="StoredBytes">The bytes the images' blobs take, each blob counted once.</param>
public sealed record RegistryReportData(
    string Registry,
    DateTimeOffset Generated,
    IReadOnlyList<ReportImage> Images,
    IReadOnlyList<ReportCandidate> Candidates,
    IReadOnlyList<ReportKept> Kept,
    long StoredBytes)
{
    /// <summary>Gets whether <see cref="StoredBytes"/> counts each blob once (false: shared layers counted per manifest, an upper bound).</summary>
    public bool StoredBytesExact { get; init; } = true;

    /// <summary>Gets whether a plan (candidates and kept images) was part of the input.</summary>
    public bool HasPlan { get; init; } = true;

    /// <summary>Gets the number of images workloads use, when Get-WorkloadImage output was given.</summary>
    public int? WorkloadImages { get; init; }

    /// <summary>Gets notes shown under the totals (how the numbers were obtained).</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];

    /// <summary>Gets the sum of the candidates' reclaimable bytes (saturating, like every byte sum of the module).</summary>
    public long ReclaimableBytes => ByteTotal.Sum(this.Candidates.Select(static c => c.ReclaimableBytes));
}
