using System.Management.Automation;
using RegistryCleaner.PowerShell.Completion;

namespace RegistryCleaner.PowerShell;

/// <summary>
/// The base of the cmdlets that plan unused images (Get-UnusedImage, Remove-UnusedImage, Export-RegistryReport): the
/// planning parameters, declared once so the three plan from the same input the same way, and the plan itself
/// (<see cref="PlanUnusedImages"/>). A cmdlet that deletes composes a <see cref="ChangeGate"/> for its confirmations.
/// </summary>
public abstract partial class UnusedImageCmdlet : DominoRegistryCmdlet
{
    /// <summary>Repositories to plan (wildcards allowed); the first positional value when the cmdlet has no other.</summary>
    [Parameter(Position = 1)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ValidateRegistryName(RegistryNameKind.Repository)]
    [ArgumentCompleter(typeof(RepositoryCompleter))]
    public string[]? Repository { get; set; }

    /// <summary>Only these tags (wildcards allowed, case-insensitive) of the repositories in scope can be candidates.</summary>
    [Parameter]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    [ValidateRegistryName(RegistryNameKind.Tag)]
    [ArgumentCompleter(typeof(TagCompleter))]
    public string[]? Tag { get; set; }

    /// <summary>Only tags of these Domino ObjectIds can be candidates.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? ObjectId { get; set; }

    /// <summary>A file of ObjectIds, one per line (# comments allowed); a file that lists none is refused.</summary>
    [Parameter]
    [Alias("File")]
    [ValidateNotNullOrEmpty]
    public string? ObjectIdPath { get; set; }

    /// <summary>Tag wildcards a candidate must match.</summary>
    [Parameter]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[]? Include { get; set; }

    /// <summary>Tag wildcards that are never candidates.</summary>
    [Parameter]
    [SupportsWildcards]
    public string[]? Exclude { get; set; }

    /// <summary>Keeps the newest N tags per ObjectId and repository.</summary>
    [Parameter]
    [ValidateRange(0, int.MaxValue)]
    public int KeepLatest { get; set; }

    /// <summary>Only images created longer ago than this are candidates: a bare number is days, or a TimeSpan.</summary>
    [Parameter]
    [AgeTransformation]
    public TimeSpan? OlderThan { get; set; }

    /// <summary>A workload reference protects an image only when its host is this registry.</summary>
    [Parameter]
    public SwitchParameter StrictHost { get; set; }

    /// <summary>The images in use, instead of reading Kubernetes: Get-WorkloadImage output or its Import-Clixml/Import-Csv.</summary>
    [Parameter]
    [AllowEmptyCollection]
    public PSObject[]? InUse { get; set; }

    /// <summary>The kubeconfig file for reading usage.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? KubeConfig { get; set; }

    /// <summary>kubeconfig contexts to read and merge.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(KubeContextCompleter))]
    public string[]? Context { get; set; }

    /// <summary>Namespaces to read.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(KubeNamespaceCompleter))]
    public string[]? Namespace { get; set; }

    /// <summary>Protects the images Domino's MongoDB records pin, on top of Kubernetes usage.</summary>
    [Parameter]
    public SwitchParameter MongoUsage { get; set; }

    /// <summary>Only runs of the last N days protect the revision they ran on.</summary>
    [Parameter]
    [ValidateRange(1, 36500)]
    public int UnusedSince { get; set; }

    /// <summary>The registry's filesystem storage root, read-only, for untagged manifests.</summary>
    [Parameter]
    public string? StoragePath { get; set; }

    /// <summary>
    /// Gets the planning parameters as bound: the scope from -Repository and -Tag, the keep rules, and usage from
    /// <paramref name="inUse"/> (else read live) and Domino's records. Call on the pipeline thread.
    /// </summary>
    /// <param name="inUse">The images in use (-InUse or piped), or <see langword="null"/> to read Kubernetes.</param>
    /// <returns>The query; a cmdlet that names its own targets adds them with <c>with</c>.</returns>
    protected UnusedImageQuery BoundQuery(IReadOnlyList<PSObject>? inUse) => new()
    {
        Repository = this.Repository,
        Include = this.Include ?? [],
        Tags = this.Tag ?? [],
        Exclude = this.Exclude ?? [],
        ObjectId = this.ObjectId,
        ObjectIdPath = this.ObjectIdPath,
        KeepLatest = this.KeepLatest,
        OlderThan = this.OlderThan,
        StrictHost = this.StrictHost.IsPresent,
        InUse = inUse,
        KubeConfig = this.KubeConfig,
        Context = this.Context,
        Namespace = this.Namespace,
        Mongo = this.ResolveMongoUsage(this.MongoUsage, this.MyInvocation.BoundParameters.ContainsKey(nameof(this.UnusedSince)) ? this.UnusedSince : null, this),
        StoragePath = this.StoragePath,
    };
}
