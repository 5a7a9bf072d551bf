namespace RegistryCleaner.Maintenance;

/// <summary>
/// Where a self-hosted distribution registry runs and how it is switched, restarted and garbage-collected there: a
/// process on this host, a systemd service, or a Kubernetes StatefulSet. The switch always goes through the
/// environment (<c>REGISTRY_STORAGE_MAINTENANCE_READONLY</c>), never through the registry's own config file, and
/// leaves a marker so that a later run can tell (and undo) a read-only window an interrupted run left behind.
/// </summary>
public interface IRegistryHost : IDisposable
{
    /// <summary>Gets the kind of host: <c>Process</c>, <c>Service</c> or <c>Kubernetes</c>.</summary>
    string Mode { get; }

    /// <summary>Gets what runs the registry, in words (for progress, messages and the result).</summary>
    string Target { get; }

    /// <summary>Gets the registry's process ID on this host, when it has one (it changes with every restart).</summary>
    int? ProcessId { get; }

    /// <summary>Gets a description of a read-only window an interrupted earlier run left, or <see langword="null"/>.</summary>
    string? LeftoverWindow { get; }

    /// <summary>Finds the registry and reads what switching and garbage collection need; changes nothing.</summary>
    /// <param name="cancellationToken">Cancels the inspection.</param>
    /// <returns>A task that completes when the host is ready to be used.</returns>
    /// <exception cref="RegistryHostException">The registry cannot be found or is not one this host can manage.</exception>
    Task InspectAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Restarts the registry read-only (<paramref name="readOnly"/>) or with exactly the settings it had before
    /// (which also drops its blob descriptor cache), and returns once the new process or pods run.
    /// </summary>
    /// <param name="readOnly">Whether to switch to read-only.</param>
    /// <param name="cancellationToken">Cancels waiting; callers restoring the registry pass <see cref="CancellationToken.None"/>.</param>
    /// <returns>A task that completes when the restarted registry runs (it may not answer yet).</returns>
    Task RestartAsync(bool readOnly, CancellationToken cancellationToken);

    /// <summary>Runs the registry binary where the registry runs (with its environment) and streams its output lines.</summary>
    /// <param name="arguments">The arguments after the binary, e.g. <c>garbage-collect --dry-run /etc/docker/registry/config.yml</c>.</param>
    /// <param name="onLine">Receives every output line (standard output and standard error).</param>
    /// <param name="cancellationToken">Cancels starting it; once started it runs to its end.</param>
    /// <returns>The exit code.</returns>
    Task<int> RunRegistryAsync(IReadOnlyList<string> arguments, Action<string> onLine, CancellationToken cancellationToken);

    /// <summary>Gets the arguments that name the registry's config file for <c>garbage-collect</c>.</summary>
    string ConfigPath { get; }

    /// <summary>
    /// Measures the blobs in the registry's storage: the size of each one that exists. Returns <see langword="null"/>
    /// when the storage cannot be measured from here (a driver other than filesystem, or no way to stat files).
    /// </summary>
    /// <param name="digests">The blob digests.</param>
    /// <param name="cancellationToken">Cancels the measurement.</param>
    /// <returns>Digest to size for the blobs that exist, or <see langword="null"/>.</returns>
    Task<IReadOnlyDictionary<string, long>?> MeasureBlobsAsync(IReadOnlyCollection<string> digests, CancellationToken cancellationToken);
}

/// <summary>The registry's host cannot be used: not found, not a registry, not permitted, or a step failed.</summary>
public sealed class RegistryHostException : Exception
{
    /// <summary>Initializes the exception.</summary>
    public RegistryHostException()
    {
    }

    /// <summary>Initializes the exception.</summary>
    /// <param name="message">What is wrong and what to do.</param>
    public RegistryHostException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes the exception.</summary>
    /// <param name="message">What is wrong and what to do.</param>
    /// <param name="innerException">The cause.</param>
    public RegistryHostException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>The environment variables a read-only window uses.</summary>
public static class ReadOnlyWindow
{
    /// <summary>The registry's own variable for <c>storage.maintenance.readonly</c> (a YAML map).</summary>
    public const string Variable = "REGISTRY_STORAGE_MAINTENANCE_READONLY";

    /// <summary>The value that turns read-only on.</summary>
    public const string Enabled = "{\"enabled\":true}";

    /// <summary>A marker the registry ignores (no REGISTRY_ prefix): when the window started, so a later run knows it is ours.</summary>
    public const string Marker = "REGISTRYCLEANER_READ_ONLY_SINCE";

    /// <summary>A marker holding the read-only variable's value before the window, when it had one.</summary>
    public const string PreviousValue = "REGISTRYCLEANER_READ_ONLY_BEFORE";

    /// <summary>Gets the registry's own environment with the window's variables removed (what it had before it).</summary>
    /// <param name="environment">The environment as it is now.</param>
    /// <returns>The environment before the window.</returns>
    public static Dictionary<string, string> Before(IReadOnlyDictionary<string, string> environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var before = new Dictionary<string, string>(environment, StringComparer.Ordinal);
        if (before.Remove(Marker))
        {
            before.Remove(Variable);
            if (before.Remove(PreviousValue, out string? previous))
            {
                before[Variable] = previous;
            }
        }

        return before;
    }

    /// <summary>Gets the environment for the window: the one before it, read-only, and marked.</summary>
    /// <param name="before">The environment before the window.</param>
    /// <param name="since">When the window started.</param>
    /// <returns>The environment.</returns>
    public static Dictionary<string, string> During(IReadOnlyDictionary<string, string> before, DateTimeOffset since)
    {
        ArgumentNullException.ThrowIfNull(before);
        var during = new Dictionary<string, string>(before, StringComparer.Ordinal);
        if (during.TryGetValue(Variable, out string? previous))
        {
            during[PreviousValue] = previous;
        }

        during[Variable] = Enabled;
        during[Marker] = since.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);
        return during;
    }
}
