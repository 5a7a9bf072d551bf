using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace RegistryCleaner.Maintenance;

/// <summary>A process on this (Linux) host, as <c>/proc</c> describes it.</summary>
/// <param name="Id">The process ID.</param>
/// <param name="Executable">The program file it runs.</param>
/// <param name="Arguments">Its arguments after the program (argv[1..]).</param>
/// <param name="Environment">Its environment.</param>
/// <param name="WorkingDirectory">Its working directory.</param>
/// <param name="UserId">The real user ID it runs as.</param>
/// <param name="StandardOutput">The file its standard output goes to, when it is a file.</param>
/// <param name="StandardError">The file its standard error goes to, when it is a file.</param>
public sealed record LocalProcess(
    int Id,
    string Executable,
    IReadOnlyList<string> Arguments,
    IReadOnlyDictionary<string, string> Environment,
    string WorkingDirectory,
    int UserId,
    string? StandardOutput,
    string? StandardError)
{
    /// <summary>Reads a process from <c>/proc</c>.</summary>
    /// <param name="id">The process ID.</param>
    /// <returns>The process.</returns>
    /// <exception cref="RegistryHostException">It does not exist, or this user may not read it.</exception>
    public static LocalProcess Read(int id)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new RegistryHostException("Restarting a registry process on this host needs Linux (its /proc); on other systems use -ServiceName or the Kubernetes mode.");
        }

        string proc = $"/proc/{id.ToString(CultureInfo.InvariantCulture)}";
        if (!IsRunning(id))
        {
            throw new RegistryHostException($"There is no running process {id} on this host: give the process ID of the registry (pgrep -a registry).");
        }

        try
        {
            string[] argv = File.ReadAllText($"{proc}/cmdline").Split('\0', StringSplitOptions.None);
            int length = argv.Length > 0 && argv[^1].Length == 0 ? argv.Length - 1 : argv.Length;
            var environment = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (string entry in File.ReadAllText($"{proc}/environ").Split('\0', StringSplitOptions.RemoveEmptyEntries))
            {
                int equals = entry.IndexOf('=', StringComparison.Ordinal);
                if (equals > 0)
                {
                    environment[entry[..equals]] = entry[(equals + 1)..];
                }
            }

            string executable = new FileInfo($"{proc}/exe").LinkTarget ?? throw new IOException("its program cannot be read");
            string directory = new DirectoryInfo($"{proc}/cwd").LinkTarget ?? "/";
            return new LocalProcess(
                id,
                executable,
                argv.Skip(1).Take(Math.Max(0, length - 1)).ToArray(),
                environment,
                directory,
                UserOf(id),
                RegularFile(new FileInfo($"{proc}/fd/1").LinkTarget),
                RegularFile(new FileInfo($"{proc}/fd/2").LinkTarget));
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new RegistryHostException($"Process {id} belongs to another user: run this as that user (or root) to restart it, or use -ServiceName for a systemd service.", ex);
        }
        catch (IOException ex)
        {
            throw new RegistryHostException($"Process {id} cannot be read from /proc ({ex.Message}).", ex);
        }
    }

    /// <summary>Gets whether a process exists and has not exited (a zombie has).</summary>
    /// <param name="id">The process ID.</param>
    /// <returns>Whether it runs.</returns>
    public static bool IsRunning(int id)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{id.ToString(CultureInfo.InvariantCulture)}/stat");
            int close = stat.LastIndexOf(')');
            char state = close > 0 && close + 2 < stat.Length ? stat[close + 2] : '?';
            return state is not ('Z' or 'X' or 'x');
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Gets the real user ID of a process.</summary>
    /// <param name="id">The process ID; <see cref="System.Environment.ProcessId"/> for this one.</param>
    /// <returns>The user ID.</returns>
    public static int UserOf(int id)
    {
        foreach (string line in File.ReadLines($"/proc/{id.ToString(CultureInfo.InvariantCulture)}/status"))
        {
            if (line.StartsWith("Uid:", StringComparison.Ordinal))
            {
                return int.Parse(line[4..].Split(['\t', ' '], StringSplitOptions.RemoveEmptyEntries)[0], CultureInfo.InvariantCulture);
            }
        }

        throw new IOException($"/proc/{id}/status has no Uid line.");
    }

    // A log file (never a pipe, socket or terminal) can be reopened for the restarted registry.
    private static string? RegularFile(string? target) =>
        target is not null && target.StartsWith('/') && !target.EndsWith(" (deleted)", StringComparison.Ordinal) && File.Exists(target) ? target : null;
}

/// <summary>Runs programs on this host and streams their output lines.</summary>
public static class LocalCommand
{
    /// <summary>Runs a program and hands every output line (standard output and error) to <paramref name="onLine"/>.</summary>
    /// <param name="program">The program (a path, or a name on PATH).</param>
    /// <param name="arguments">Its arguments (never a shell line: nothing is interpreted).</param>
    /// <param name="environment">Its whole environment, or <see langword="null"/> for this process's.</param>
    /// <param name="onLine">Receives each line, one at a time.</param>
    /// <param name="cancellationToken">Cancels starting it; once started, it runs to its end.</param>
    /// <returns>The exit code.</returns>
    /// <exception cref="RegistryHostException">The program cannot be started.</exception>
    public static async Task<int> RunAsync(string program, IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string>? environment, Action<string> onLine, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        ArgumentNullException.ThrowIfNull(onLine);
        cancellationToken.ThrowIfCancellationRequested();
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        if (environment is not null)
        {
            start.Environment.Clear();
            foreach ((string name, string value) in environment)
            {
                start.Environment[name] = value;
            }
        }

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new RegistryHostException($"'{program}' did not start.");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new RegistryHostException($"'{program}' cannot be run ({ex.Message}): install it, or name it with -RegistryCommand.", ex);
        }

        using (process)
        {
            process.StandardInput.Close();
            object gate = new();
            async Task PumpAsync(StreamReader reader)
            {
                while (await reader.ReadLineAsync(CancellationToken.None).ConfigureAwait(false) is { } line)
                {
                    lock (gate)
                    {
                        onLine(line);
                    }
                }
            }

            await Task.WhenAll(PumpAsync(process.StandardOutput), PumpAsync(process.StandardError), process.WaitForExitAsync(CancellationToken.None)).ConfigureAwait(false);
            return process.ExitCode;
        }
    }

    /// <summary>Runs a program and returns its exit code and its output (bounded).</summary>
    /// <param name="program">The program.</param>
    /// <param name="arguments">Its arguments.</param>
    /// <param name="cancellationToken">Cancels starting it.</param>
    /// <returns>The exit code and output.</returns>
    public static async Task<(int ExitCode, string Output)> CaptureAsync(string program, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var output = new StringBuilder();
        int exit = await RunAsync(
            program,
            arguments,
            null,
            line =>
            {
                if (output.Length < 1_000_000)
                {
                    output.AppendLine(line);
                }
            },
            cancellationToken).ConfigureAwait(false);
        return (exit, output.ToString());
    }

    /// <summary>Finds a program on PATH.</summary>
    /// <param name="names">The names to look for, in order.</param>
    /// <returns>The full path of the first found, or <see langword="null"/>.</returns>
    public static string? FindOnPath(params string[] names)
    {
        ArgumentNullException.ThrowIfNull(names);
        string[] directories = (System.Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        foreach (string name in names)
        {
            if (name.Contains('/', StringComparison.Ordinal))
            {
                return File.Exists(name) ? Path.GetFullPath(name) : null;
            }

            foreach (string directory in directories)
            {
                string candidate = Path.Combine(directory, name);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        return null;
    }
}

/// <summary>
/// The parts a registry on this host shares however it is run: garbage-collect runs with the registry's own binary and
/// environment (so storage credentials given as variables apply), and blobs are measured on the filesystem storage.
/// </summary>
public abstract class LocalRegistryHost : IRegistryHost
{
    private readonly string? explicitConfig;
    private readonly string? explicitCommand;
    private RegistryStorageSettings? storage;

    /// <summary>Initializes the host.</summary>
    /// <param name="registryConfigPath">The registry's config.yml, or <see langword="null"/> to take the one it was started with.</param>
    /// <param name="registryCommand">The registry binary, or <see langword="null"/> for the one it runs (else registry or docker-registry on PATH).</param>
    protected LocalRegistryHost(string? registryConfigPath, string? registryCommand)
    {
        this.explicitConfig = registryConfigPath;
        this.explicitCommand = registryCommand;
    }

    /// <inheritdoc/>
    public abstract string Mode { get; }

    /// <inheritdoc/>
    public abstract string Target { get; }

    /// <inheritdoc/>
    public abstract int? ProcessId { get; }

    /// <inheritdoc/>
    public string? LeftoverWindow { get; protected set; }

    /// <inheritdoc/>
    public string ConfigPath { get; private set; } = string.Empty;

    /// <summary>Gets the registry binary garbage-collect runs with.</summary>
    protected string Command { get; private set; } = string.Empty;

    /// <summary>Gets the registry's environment before any read-only window (what garbage-collect runs with).</summary>
    protected IReadOnlyDictionary<string, string> OriginalEnvironment { get; private set; } = new Dictionary<string, string>();

    /// <inheritdoc/>
    public abstract Task InspectAsync(CancellationToken cancellationToken);

    /// <inheritdoc/>
    public abstract Task RestartAsync(bool readOnly, CancellationToken cancellationToken);

    /// <inheritdoc/>
    public Task<int> RunRegistryAsync(IReadOnlyList<string> arguments, Action<string> onLine, CancellationToken cancellationToken) =>
        LocalCommand.RunAsync(this.Command, arguments, this.OriginalEnvironment, onLine, cancellationToken);

    /// <inheritdoc/>
    public Task<IReadOnlyDictionary<string, long>?> MeasureBlobsAsync(IReadOnlyCollection<string> digests, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(digests);
        if (this.storage?.RootDirectory is null)
        {
            return Task.FromResult<IReadOnlyDictionary<string, long>?>(null);
        }

        var sizes = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (string digest in digests)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (this.storage.BlobDataPath(digest) is { } path && new FileInfo(path) is { Exists: true } file)
            {
                sizes[digest] = file.Length;
            }
        }

        return Task.FromResult<IReadOnlyDictionary<string, long>?>(sizes);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        this.Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases what the host holds.</summary>
    /// <param name="disposing">Whether managed resources are released.</param>
    protected virtual void Dispose(bool disposing)
    {
    }

    /// <summary>
    /// Takes what garbage collection needs from the running registry: its binary, its config.yml (from -RegistryConfigPath,
    /// else its command line after <c>serve</c>, else <c>REGISTRY_CONFIGURATION_PATH</c>) and its environment.
    /// </summary>
    /// <param name="process">The registry's process.</param>
    protected void Adopt(LocalProcess process)
    {
        ArgumentNullException.ThrowIfNull(process);
        this.OriginalEnvironment = ReadOnlyWindow.Before(process.Environment);
        if (process.Environment.TryGetValue(ReadOnlyWindow.Marker, out string? since))
        {
            this.LeftoverWindow = $"read-only since {since}, marked by {ReadOnlyWindow.Marker} in its environment";
        }

        int serve = process.Arguments.ToList().IndexOf("serve");
        string? fromCommandLine = serve >= 0 && serve + 1 < process.Arguments.Count ? process.Arguments[serve + 1] : null;
        string? config = this.explicitConfig
            ?? fromCommandLine
            ?? this.OriginalEnvironment.GetValueOrDefault("REGISTRY_CONFIGURATION_PATH");
        if (config is null)
        {
            throw new RegistryHostException($"The registry's config.yml is not on the command line of process {process.Id} ({string.Join(' ', process.Arguments)}): give it with -RegistryConfigPath.");
        }

        this.ConfigPath = Path.GetFullPath(config, process.WorkingDirectory);
        if (!File.Exists(this.ConfigPath))
        {
            throw new RegistryHostException($"The registry's config.yml '{this.ConfigPath}' does not exist: give the file the registry serves with -RegistryConfigPath.");
        }

        try
        {
            this.storage = RegistryStorageSettings.Parse(File.ReadAllText(this.ConfigPath), this.OriginalEnvironment, this.ConfigPath);
        }
        catch (FormatException ex)
        {
            throw new RegistryHostException(ex.Message, ex);
        }

        string running = process.Executable.EndsWith(" (deleted)", StringComparison.Ordinal) ? string.Empty : process.Executable;
        this.Command = this.explicitCommand is not null
            ? LocalCommand.FindOnPath(this.explicitCommand) ?? throw new RegistryHostException($"-RegistryCommand '{this.explicitCommand}' is not a file or a program on PATH.")
            : running.Length > 0 ? running
            : LocalCommand.FindOnPath("registry", "docker-registry")
                ?? throw new RegistryHostException("No registry binary was found (registry or docker-registry on PATH): name it with -RegistryCommand.");
    }

    /// <summary>Checks that a process is a registry serving (not, say, a shell that happens to have the ID).</summary>
    /// <param name="process">The process.</param>
    /// <param name="what">How it was found, for the message.</param>
    protected void RequireRegistry(LocalProcess process, string what)
    {
        ArgumentNullException.ThrowIfNull(process);
        string program = Path.GetFileName(process.Executable.Replace(" (deleted)", string.Empty, StringComparison.Ordinal));
        bool named = program is "registry" or "docker-registry"
            || (this.explicitCommand is not null && program == Path.GetFileName(this.explicitCommand));
        if (!named || !process.Arguments.Contains("serve"))
        {
            throw new RegistryHostException($"{what} is '{process.Executable} {string.Join(' ', process.Arguments)}', not a registry's 'serve' (registry or docker-registry, or the -RegistryCommand given).");
        }
    }
}
