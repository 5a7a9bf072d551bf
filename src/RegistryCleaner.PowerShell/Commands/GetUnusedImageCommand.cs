using System.Management.Automation;
using RegistryCleaner.Planning;

namespace RegistryCleaner.PowerShell.Commands;

/// <summary>One deletion candidate as Get-UnusedImage emits it.</summary>
/// <param name="Registry">The registry.</param>
/// <param name="Repository">The repository.</param>
/// <param name="Tag">The tag; <see langword="null"/> for an untagged manifest.</param>
/// <param name="Digest">The manifest digest.</param>
/// <param name="Size">The image size: config plus layers (for an index, its children's distinct blobs).</param>
/// <param name="ReclaimableBytes">The bytes garbage collection frees after deleting it, each blob counted once over all candidates.</param>
/// <param name="ObjectId">The Domino ObjectId the tag belongs to.</param>
/// <param name="Created">The image creation time.</param>
/// <param name="Reason">Why it is a candidate.</param>
/// <param name="OtherTags">Other tags of the same manifest that the same DELETE removes (candidates too).</param>
/// <param name="MediaType">The manifest media type.</param>
public sealed record UnusedImage(
    string Registry,
    string Repository,
    string? Tag,
    string Digest,
    long Size,
    long ReclaimableBytes,
    string? ObjectId,
    DateTimeOffset? Created,
    string Reason,
    TextList OtherTags,
    string MediaType)
{
    /// <summary>Gets the change: <c>Delete</c> (the manifest, by digest) or <c>Untag</c> (this tag alone; the manifest stays for its kept tags).</summary>
    public CandidateAction Action { get; init; }

    /// <summary>Gets what goes with the manifest: its referrers' tags (<c>sha256-&lt;hex&gt;.sig</c>) and untagged referrers by digest.</summary>
    public TextList Referrers { get; init; } = [];

    /// <summary>Gets the manifest this candidate refers to, when it is itself a referrer whose subject is gone.</summary>
    public string? Subject { get; init; }

    /// <summary>Gets the artifact type, when the candidate is an artifact rather than an image.</summary>
    public string? ArtifactType { get; init; }

    /// <summary>Gets the Domino environment of the image (for a model image, the one it was built on), when Domino's records were read.</summary>
    public string? EnvironmentName { get; init; }

    /// <summary>Gets the Domino project of a model image, when Domino's records were read.</summary>
    public string? Project { get; init; }

    /// <summary>Gets the login of the image's Domino owner (the revision's author or the model version's creator), when Domino's records were read.</summary>
    public string? Owner { get; init; }

    /// <summary>Converts a planner candidate.</summary>
    /// <param name="candidate">The candidate.</param>
    /// <returns>The output object.</returns>
    public static UnusedImage From(DeletionCandidate candidate)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        return new(candidate.Registry, candidate.Repository, candidate.Tag, candidate.Digest, candidate.Size, candidate.ReclaimableBytes, candidate.ObjectId, candidate.Created, candidate.Reason, TextList.From(candidate.OtherTags), candidate.MediaType)
        {
            Action = candidate.Action,
            Referrers = [.. candidate.TakenAlong.SelectMany(static r => r.Tags.Count > 0 ? r.Tags : [r.Digest])],
            Subject = candidate.Subject,
            ArtifactType = candidate.ArtifactType,
        };
    }
}

/// <summary>
/// Lists the registry images no workload uses, with how many bytes deleting each frees after garbage collection.
/// </summary>
[Cmdlet(VerbsCommon.Get, "UnusedImage")]
[OutputType(OutputTypeNames.UnusedImage)]
public sealed class GetUnusedImageCommand : UnusedImageCmdlet
{
    private static readonly HashSet<string> NotUsage = new(StringComparer.Ordinal)
    {
        OutputTypeNames.RegistryImage, OutputTypeNames.UnusedImage, OutputTypeNames.ImageDeletion, OutputTypeNames.ArchivedEnvTag,
    };

    private readonly List<PSObject> piped = [];

    /// <summary>The images in use, instead of reading Kubernetes; also taken from the pipeline.</summary>
    /// <remarks>Declared again only to add pipeline input: piped Get-WorkloadImage output is the usage.</remarks>
    [Parameter(ValueFromPipeline = true)]
    [AllowEmptyCollection]
    public new PSObject[]? InUse { get => base.InUse; set => base.InUse = value; }

    /// <inheritdoc />
    protected override void BeginProcessing()
    {
        if (this.MyInvocation.ExpectingInput && this.MyInvocation.BoundParameters.ContainsKey(nameof(this.InUse)))
        {
            throw this.Terminate(
                new ArgumentException("-InUse is given and objects are piped to Get-UnusedImage, whose pipeline input is images in use too. Pass usage one way: pipe Get-WorkloadImage output, or give -InUse."),
                ErrorIds.InUseInvalid,
                ErrorCategory.InvalidArgument,
                null);
        }
    }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        if (!this.MyInvocation.ExpectingInput || this.InUse is null)
        {
            return;
        }

        foreach (PSObject item in this.InUse)
        {
            // Registry images piped here would be taken as images in use, the opposite of what was meant.
            if (item?.TypeNames.FirstOrDefault(t => NotUsage.Contains(t.Replace("Deserialized.", string.Empty, StringComparison.Ordinal))) is { } type)
            {
                throw this.Terminate(
                    new ArgumentException($"Get-UnusedImage takes the images in use from the pipeline (Get-WorkloadImage output), but a {type} was piped. To narrow the plan, use -Repository, -Tag, -Include or -ObjectId; to delete piped images, pipe them to Remove-UnusedImage."),
                    ErrorIds.InUseInvalid,
                    ErrorCategory.InvalidArgument,
                    item);
            }

            this.piped.Add(item!);
        }
    }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        if (this.MyInvocation.ExpectingInput && this.piped.Count == 0)
        {
            // An empty pipeline (a filter that matched nothing, a snapshot of nothing) must not mean "nothing is in use".
            throw this.Terminate(
                new ArgumentException("No images in use came through the pipeline, so every image would look unused. Pipe Get-WorkloadImage output into Get-UnusedImage, or pass -InUse @() to plan as if no workload used anything."),
                ErrorIds.InUseEmpty,
                ErrorCategory.InvalidArgument,
                null);
        }

        UnusedImagePlan planned = this.PlanUnusedImages(this.BoundQuery(this.MyInvocation.ExpectingInput ? this.piped : this.InUse));
        using (planned.Client)
        {
            foreach (ProtectedImage kept in planned.Plan.Protected)
            {
                this.WriteVerbose($"kept: {kept.Repository}{(kept.Tag is null ? "@" + kept.Digest : ":" + kept.Tag)} — {kept.Reason}");
            }

            foreach (DeletionCandidate candidate in planned.Plan.Candidates)
            {
                UnusedImage image = UnusedImage.From(candidate);
                if (DominoOwner(planned.Domino, candidate.Repository, candidate.Tag) is { } owner)
                {
                    image = image with { EnvironmentName = owner.EnvironmentName, Project = owner.Project, Owner = owner.Owner ?? owner.OwnerName };
                }

                this.WriteTyped(image, OutputTypeNames.UnusedImage);
            }
        }
    }
}
