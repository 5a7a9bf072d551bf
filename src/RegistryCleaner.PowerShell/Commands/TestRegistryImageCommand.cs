using System.Globalization;
using System.Management.Automation;
using RegistryCleaner.Maintenance;
using RegistryCleaner.PowerShell.Completion;
using RegistryCleaner.Registry;

namespace RegistryCleaner.PowerShell.Commands;

/// <summary>
/// Checks that every image can still be pulled whole: its manifest, every child of an index, and every configuration and layer with the right size.
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "RegistryImage")]
[OutputType(OutputTypeNames.RegistryImageProblem, OutputTypeNames.RegistryIntegrity)]
public sealed class TestRegistryImageCommand : RegistryCmdlet
{
    private readonly List<IntegrityTarget> piped = [];

    /// <summary>Repositories to check, every tag of each (wildcards are matched against the catalog; * checks the whole registry); or the repository of each piped image, by property name.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(RepositoryCompleter))]
    [ValidateRegistryName(RegistryNameKind.Repository)]
    public string[]? Repository { get; set; }

    /// <summary>The tag of a piped image (by property name), or one tag to check with -Repository.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateRegistryName(RegistryNameKind.Tag)]
    [ArgumentCompleter(typeof(TagCompleter))]
    public string? Tag { get; set; }

    /// <summary>The manifest digest of a piped image (by property name); it is checked instead of what the tag points at now.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? Digest { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        bool named = this.MyInvocation.BoundParameters.ContainsKey(nameof(this.Tag)) || this.MyInvocation.BoundParameters.ContainsKey(nameof(this.Digest));
        if (!this.MyInvocation.ExpectingInput && !named)
        {
            return;
        }

        string? digest = string.IsNullOrEmpty(this.Digest) ? null : this.Digest.Trim();
        string? tag = string.IsNullOrEmpty(this.Tag) ? null : this.Tag.Trim();
        if (this.Repository is not [string repository] || WildcardPattern.ContainsWildcardCharacters(repository) || (tag is null && digest is null))
        {
            this.WriteError(new ErrorRecord(
                new ArgumentException("An image to check needs one Repository (no wildcards) and a Tag or a Digest."),
                ErrorIds.ImageTargetInvalid,
                ErrorCategory.InvalidArgument,
                new { this.Repository, this.Tag, this.Digest }));
            return;
        }

        if (digest is not null && !OciDigest(digest))
        {
            this.WriteError(new ErrorRecord(
                new ArgumentException($"'{digest}' is not a digest (sha256:<64 hex characters>), so {repository}{(tag is null ? string.Empty : ":" + tag)} cannot be checked by it."),
                ErrorIds.ImageDigestInvalid,
                ErrorCategory.InvalidArgument,
                digest));
            return;
        }

        this.piped.Add(new IntegrityTarget(repository.Trim('/'), tag, digest?.ToLowerInvariant()));
    }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        bool targeted = this.MyInvocation.ExpectingInput || this.piped.Count > 0;
        if (targeted && this.piped.Count == 0)
        {
            return;
        }

        RegistryEndpoint endpoint = this.ResolveEndpoint();
        using RegistryClient client = this.CreateRegistryClient(endpoint);
        try
        {
            this.RunEngine(async (queue, token) =>
            {
                IReadOnlyList<IntegrityTarget> targets;
                if (targeted)
                {
                    targets = this.piped.Distinct().ToArray();
                }
                else
                {
                    IReadOnlyList<string> repositories = await this.ResolveRepositoriesAsync(this.Repository, client, token).ConfigureAwait(false);
                    queue.Verbose($"Listing the tags of {repositories.Count} repositories of {endpoint.DisplayName}.");
                    targets = await RegistryIntegrityChecker.TagsOfAsync(client, repositories, token).ConfigureAwait(false);
                }

                queue.Verbose($"Checking {targets.Count} images: GET of every manifest and index child, a ranged GET of the last byte of every configuration and layer.");
                IntegritySummary summary = await CheckAsync(client, targets, queue, token).ConfigureAwait(false);
                queue.Output(summary, OutputTypeNames.RegistryIntegrity);
            });
        }
        catch (RegistryException ex)
        {
            this.ThrowTerminatingError(RegistryErrorRecord(ex, endpoint.DisplayName));
        }
    }

    /// <summary>Runs a check with progress, each problem written to the pipeline as it is found.</summary>
    /// <param name="client">The registry.</param>
    /// <param name="targets">The images.</param>
    /// <param name="queue">Where problems and progress go.</param>
    /// <param name="cancellationToken">Cancels the check.</param>
    /// <returns>The summary.</returns>
    internal static async Task<IntegritySummary> CheckAsync(RegistryClient client, IReadOnlyList<IntegrityTarget> targets, PipelineQueue queue, CancellationToken cancellationToken)
    {
        var throttle = new ProgressThrottle(3, $"Checking the images of {client.Endpoint.DisplayName}");
        var checker = new RegistryIntegrityChecker(client)
        {
            Progress = new SynchronousProgress<IntegrityProgress>(p =>
            {
                if (!throttle.TryShow(always: p.ImagesDone == p.ImagesTotal))
                {
                    return;
                }

                ProgressRecord record = throttle.Record(string.Create(CultureInfo.InvariantCulture, $"{p.ImagesDone} of {p.ImagesTotal} images, {p.Problems} problems"));
                record.PercentComplete = p.ImagesTotal == 0 ? 100 : (int)(100L * p.ImagesDone / p.ImagesTotal);
                queue.Post(c => c.WriteProgress(record));
            }),
        };
        try
        {
            return await checker.CheckAsync(targets, problem => queue.Output(problem, OutputTypeNames.RegistryImageProblem), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            throttle.Complete(queue);
        }
    }

    private static bool OciDigest(string digest) => Backup.OciImageLayout.IsValidDigest(digest.ToLowerInvariant());

    /// <summary>Reports on the calling thread, in order (Progress&lt;T&gt; would post to the thread pool out of order).</summary>
    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
