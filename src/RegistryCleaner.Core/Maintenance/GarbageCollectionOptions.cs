namespace RegistryCleaner.Maintenance;

/// <summary>One step of a garbage collection, for progress.</summary>
/// <param name="Step">The step number, from 1.</param>
/// <param name="Steps">The number of steps.</param>
/// <param name="Activity">What the step does.</param>
public sealed record GarbageCollectionProgress(int Step, int Steps, string Activity);

/// <summary>How to run garbage collection.</summary>
public sealed record GarbageCollectionOptions
{
    /// <summary>Gets whether to pass <c>--delete-untagged</c> (refused on registries that delete index children with it).</summary>
    public bool DeleteUntagged { get; init; }

    /// <summary>Gets whether to check every image of the registry afterwards.</summary>
    public bool Verify { get; init; } = true;

    /// <summary>Gets the repository the read-only switch is confirmed on (a blob upload is started and cancelled there).</summary>
    public string ProbeRepository { get; init; } = "dominodatalab/environment";

    /// <summary>Gets how long the registry may take to answer after a restart.</summary>
    public TimeSpan RestartTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Gets where step progress goes.</summary>
    public IProgress<GarbageCollectionProgress>? Progress { get; init; }

    /// <summary>Gets where verbose lines go.</summary>
    public Action<string>? Log { get; init; }

    /// <summary>Gets where each verification problem goes as it is found.</summary>
    public Action<IntegrityProblem>? OnProblem { get; init; }
}
