namespace RegistryCleaner.Maintenance;

/// <summary>How a garbage collection ended.</summary>
public enum GarbageCollectionStatus
{
    /// <summary>Garbage collection ran, the registry is writable again, and (unless skipped) verified.</summary>
    Completed,

    /// <summary>Only the dry run ran (<c>-WhatIf</c>): nothing changed.</summary>
    WhatIf,

    /// <summary>A step failed; every step before it was undone (see the reason).</summary>
    Failed,

    /// <summary>Stopped by the user; the registry was restored first.</summary>
    Stopped,
}

/// <summary>What a garbage collection run did.</summary>
public sealed record GarbageCollectionResult
{
    /// <summary>Gets the registry, host[:port].</summary>
    public required string Registry { get; init; }

    /// <summary>Gets where it runs: <c>Process</c>, <c>Service</c> or <c>Kubernetes</c>.</summary>
    public required string Mode { get; init; }

    /// <summary>Gets what runs it, in words.</summary>
    public required string Target { get; init; }

    /// <summary>Gets how the run ended.</summary>
    public GarbageCollectionStatus Status { get; init; }

    /// <summary>Gets the registry's version, as its binary reports it.</summary>
    public string RegistryVersion { get; init; } = "unknown";

    /// <summary>Gets the blobs the dry run found unreferenced (what garbage collection deletes).</summary>
    public int BlobsEligible { get; init; }

    /// <summary>Gets their bytes; <see langword="null"/> when the storage cannot be measured from here.</summary>
    public long? BytesEligible { get; init; }

    /// <summary>Gets the blobs garbage collection removed (0 under -WhatIf).</summary>
    public int BlobsRemoved { get; init; }

    /// <summary>Gets the bytes it freed, measured on the storage; <see langword="null"/> when it cannot be measured from here.</summary>
    public long? BytesFreed { get; init; }

    /// <summary>Gets the untagged manifests removed (only with -DeleteUntagged).</summary>
    public int ManifestsRemoved { get; init; }

    /// <summary>Gets how long the whole run took.</summary>
    public TimeSpan Duration { get; init; }

    /// <summary>Gets how long the registry refused writes; <see langword="null"/> when it was never switched.</summary>
    public TimeSpan? ReadOnlyDuration { get; init; }

    /// <summary>Gets the verification's outcome: <c>Passed</c>, <c>Failed</c> (see <see cref="Problems"/>), <c>Skipped</c> or <c>NotRun</c>.</summary>
    public string Verification { get; init; } = "NotRun";

    /// <summary>Gets how many problems the verification found.</summary>
    public int VerificationProblems { get; init; }

    /// <summary>Gets the problems the verification found (the first 1000).</summary>
    public IReadOnlyList<IntegrityProblem> Problems { get; init; } = [];

    /// <summary>Gets the registry's process ID after the run, on this host (it changes with each restart).</summary>
    public int? ProcessId { get; init; }

    /// <summary>Gets each step with its outcome and time, in order.</summary>
    public TextList Steps { get; init; } = [];

    /// <summary>Gets what happened, in words.</summary>
    public string Reason { get; init; } = string.Empty;
}
