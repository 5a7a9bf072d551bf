namespace RegistryCleaner.Workloads;

/// <summary>What a live scan reads and how.</summary>
public sealed record WorkloadScanOptions
{
    /// <summary>An explicit kubeconfig path; <see langword="null"/> resolves it with <see cref="KubeConfigLocator"/>.</summary>
    public string? KubeConfigPath { get; init; }

    /// <summary>Contexts to read and merge; empty reads the kubeconfig's current context.</summary>
    public IReadOnlyList<string> Contexts { get; init; } = [];

    /// <summary>Namespaces to read (namespaced list calls); empty reads all namespaces with cluster-wide list calls.</summary>
    public IReadOnlyList<string> Namespaces { get; init; } = [];

    /// <summary>How long one list request may take before the scan fails closed.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Objects per list page (<c>limit</c>).</summary>
    public int PageSize { get; init; } = 500;

    /// <summary>How many listings (context, kind, namespace) run at once.</summary>
    public int ThrottleLimit { get; init; } = 4;

    /// <summary>
    /// Receives a report after every page of every listing, on a worker thread (cmdlets marshal it to the pipeline thread).
    /// </summary>
    public IProgress<WorkloadListingProgress>? Progress { get; init; }
}

/// <summary>Progress of one listing (one kind in one namespace, or all, of one context), reported after each page.</summary>
/// <param name="Context">The kubeconfig context.</param>
/// <param name="Resource">The resource listed, e.g. <c>pods</c>.</param>
/// <param name="Namespace">The namespace, or <see langword="null"/> for all namespaces.</param>
/// <param name="ObjectsRead">Objects read so far by this listing (it starts over after an expired continue token).</param>
/// <param name="Completed">Whether the listing has read its last page.</param>
public sealed record WorkloadListingProgress(string Context, string Resource, string? Namespace, int ObjectsRead, bool Completed);
