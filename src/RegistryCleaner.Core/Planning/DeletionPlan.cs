using RegistryCleaner.Registry;

namespace RegistryCleaner.Planning;

/// <summary>How a manifest deleted with a candidate hangs off it.</summary>
public enum ManifestRelation
{
    /// <summary>A child of a deleted index (at any depth).</summary>
    Child,

    /// <summary>A referrer (signature, attestation, SBOM, referrers index) of a deleted manifest.</summary>
    Referrer,
}

/// <summary>What one candidate's change is.</summary>
public enum CandidateAction
{
    /// <summary>DELETE of the manifest by digest, which removes it and every tag of it.</summary>
    Delete,

    /// <summary>DELETE of the tag alone (registries that support it): the manifest stays for its kept tags.</summary>
    Untag,
}

/// <summary>
/// A manifest revision deleted because the index that referenced it is deleted and nothing else keeps it; the executor
/// deletes it by digest after its parent.
/// </summary>
/// <param name="Repository">The repository.</param>
/// <param name="Digest">The child manifest digest.</param>
/// <param name="MediaType">The child manifest media type.</param>
/// <param name="ParentDigest">The deleted index that takes it.</param>
/// <param name="ReclaimableBytes">
/// The bytes garbage collection frees because of this child; already included in the parent candidate's
/// <see cref="DeletionCandidate.ReclaimableBytes"/>.
/// </param>
public sealed record ChildDeletion(string Repository, string Digest, string MediaType, string ParentDigest, long ReclaimableBytes)
{
    /// <summary>Gets whether it is an index child or a referrer of <see cref="ParentDigest"/>.</summary>
    public ManifestRelation Relation { get; init; } = ManifestRelation.Child;

    /// <summary>Gets the tags its DELETE removes with it (a signature's <c>sha256-&lt;hex&gt;.sig</c>); usually none.</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary>Gets its artifact type (a referrer's), when known.</summary>
    public string? ArtifactType { get; init; }

    /// <summary>
    /// Gets every blob it references (its own manifest, config and layers): when it stays after all, none of them is
    /// freed, so the executor takes those its candidate counted off the candidate's bytes. Empty when unknown.
    /// </summary>
    internal IReadOnlyList<BlobDescriptor> References { get; init; } = [];
}

/// <summary>One tag to delete (one DELETE of its manifest digest, shared with <see cref="OtherTags"/>).</summary>
/// <param name="Registry">The registry.</param>
/// <param name="Repository">The repository.</param>
/// <param name="Tag">The tag; <see langword="null"/> for an untagged manifest the user targeted by digest.</param>
/// <param name="Digest">The manifest digest the DELETE names.</param>
/// <param name="MediaType">The manifest media type.</param>
/// <param name="Size">The image size: config plus layers; for an index, the distinct blobs of its children.</param>
/// <param name="ReclaimableBytes">
/// The bytes garbage collection frees because of this deletion, including its <see cref="ChildDeletions"/>. Each freed
/// blob is counted on exactly one candidate, so the sum over the plan is what garbage collection frees; a second tag of
/// the same DELETE carries 0.
/// </param>
/// <param name="ObjectId">The Domino ObjectId the tag belongs to, when it has one.</param>
/// <param name="Created">The image creation time, when known.</param>
/// <param name="Reason">Why it is deleted.</param>
/// <param name="OtherTags">The other tags of the same manifest in the same repository that the same DELETE removes (all candidates too).</param>
/// <param name="ChildDeletions">The children of this index deleted with it, whose bytes this candidate counts.</param>
public sealed record DeletionCandidate(
    string Registry,
    string Repository,
    string? Tag,
    string Digest,
    string MediaType,
    long Size,
    long ReclaimableBytes,
    string? ObjectId,
    DateTimeOffset? Created,
    string Reason,
    IReadOnlyList<string> OtherTags,
    IReadOnlyList<ChildDeletion> ChildDeletions)
{
    /// <summary>Gets the blobs whose bytes this candidate counts, for tests that check each blob is counted once.</summary>
    internal IReadOnlyList<string> CountedBlobs { get; init; } = [];

    /// <summary>
    /// Gets what the change is: a DELETE of the manifest, or (where the registry deletes tags alone) of this tag only,
    /// because the manifest also carries a kept tag; an untag frees 0 bytes.
    /// </summary>
    public CandidateAction Action { get; init; } = CandidateAction.Delete;

    /// <summary>Gets the manifest this candidate refers to, when it is a referrer itself (one whose subject is gone).</summary>
    public string? Subject { get; init; }

    /// <summary>Gets the candidate's artifact type, when it is an artifact rather than an image.</summary>
    public string? ArtifactType { get; init; }

    /// <summary>Gets the referrers (signatures, SBOMs, attestations) deleted with this candidate's manifest.</summary>
    public IReadOnlyList<ChildDeletion> Referrers => [.. this.ChildDeletions.Where(static c => c.Relation == ManifestRelation.Referrer)];

    /// <summary>
    /// Gets what the DELETE takes along that a user knows by name: the <see cref="Referrers"/>, and any manifest deleted
    /// with it that carries tags of its own (a referrer listed in a deleted referrers index and tagged, say,
    /// <c>sbom-latest</c>), so every tag that goes is named.
    /// </summary>
    public IReadOnlyList<ChildDeletion> TakenAlong => [.. this.ChildDeletions.Where(static c => c.Relation == ManifestRelation.Referrer || c.Tags.Count > 0)];
}

/// <summary>An in-scope image that is kept, and why.</summary>
/// <param name="Repository">The repository.</param>
/// <param name="Tag">The tag; <see langword="null"/> for a manifest targeted by digest.</param>
/// <param name="Digest">The manifest digest; <see langword="null"/> when a target was not found.</param>
/// <param name="Reason">Why it is kept, naming the workload, tag or index that keeps it.</param>
public sealed record ProtectedImage(string Repository, string? Tag, string? Digest, string Reason);

/// <summary>The planner's output: what to delete, what is kept, and the bytes garbage collection frees afterwards.</summary>
/// <param name="Registry">The registry.</param>
/// <param name="Candidates">Tags to delete, ordered by repository, tag.</param>
/// <param name="ChildDeletions">Every child manifest deleted with a deleted index (also listed on its candidate).</param>
/// <param name="Protected">In-scope images that are kept, ordered by repository, tag.</param>
/// <param name="TotalReclaimableBytes">The sum of the candidates' <see cref="DeletionCandidate.ReclaimableBytes"/>.</param>
/// <param name="BytesAreEstimates">
/// Whether the inventory was incomplete: bytes are then estimates and the plan is for reporting only, never for deleting.
/// </param>
public sealed record DeletionPlan(
    string Registry,
    IReadOnlyList<DeletionCandidate> Candidates,
    IReadOnlyList<ChildDeletion> ChildDeletions,
    IReadOnlyList<ProtectedImage> Protected,
    long TotalReclaimableBytes,
    bool BytesAreEstimates)
{
    /// <summary>
    /// Gets whether the inventory held every manifest revision, untagged ones too (the registry's storage was read):
    /// only then is <see cref="TotalReclaimableBytes"/> exact even where tags were overwritten.
    /// </summary>
    public bool IncludesUntaggedManifests { get; init; }

    /// <summary>
    /// Gets, when untagged manifests were not read, the layer and configuration bytes of <see cref="TotalReclaimableBytes"/>
    /// that an untagged manifest (an overwritten tag's old manifest) may still hold: the sum is then an upper bound by
    /// up to this much. 0 when <see cref="IncludesUntaggedManifests"/>.
    /// </summary>
    public long UnverifiedBytes { get; init; }

    /// <summary>
    /// Gets the candidate tags whose manifest also carries a kept tag: kept (a DELETE by digest would take the kept tag
    /// too), or untagged where <see cref="PlanOptions.TagDeletionSupported"/>.
    /// </summary>
    public IReadOnlyList<ProtectedImage> SharedManifestTags { get; init; } = [];
}
