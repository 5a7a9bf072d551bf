using System.Diagnostics;
using System.Globalization;

namespace RegistryCleaner.Maintenance;

/// <summary>
/// A registry that runs as a plain process on this host, named by its process ID. A restart stops it (SIGTERM, after
/// 30 s SIGKILL) and starts the same program with the same arguments, working directory and environment (plus the
/// read-only variable during the window), in a session of its own so it outlives this PowerShell, its output
/// appended to the files it wrote to before (or to a log in the output folder when it wrote to a terminal or pipe).
/// Refuses a process of another user (it would come back running as this one) and a process in another PID or mount
/// namespace (a container's, see <see cref="ProcessNamespaces"/>).
/// </summary>
public sealed class ProcessRegistryHost : LocalRegistryHost
{
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(30);
    private readonly string logDirectory;
    private LocalProcess? original;
    private Process? started;
    private int currentId;

    /// <summary>Initializes the host.</summary>
    /// <param name="processId">The registry's process ID.</param>
    /// <param name="registryConfigPath">The registry's config.yml, or <see langword="null"/> for the one on its command line.</param>
    /// <param name="registryCommand">The binary garbage-collect runs with, or <see langword="null"/> for the one the process runs.</param>
    /// <param name="logDirectory">Where the restarted registry logs when its output did not go to a file.</param>
    public ProcessRegistryHost(int processId, string? registryConfigPath, string? registryCommand, string logDirectory)
        : base(registryConfigPath, registryCommand)
    {
        ArgumentException.ThrowIfNullOrEmpty(logDirectory);
        this.currentId = processId;
        this.logDirectory = logDirectory;
    }

    /// <inheritdoc/>
    public override string Mode => "Process";

    /// <inheritdoc/>
    public override string Target => $"process {this.currentId.ToString(CultureInfo.InvariantCulture)}{(this.original is null ? string.Empty : $" ({Path.GetFileName(this.original.Executable)} serve {this.ConfigPath})")}";

    /// <inheritdoc/>
    public override int? ProcessId => this.currentId;

    /// <summary>Gets where the restarted registry writes its output.</summary>
    public string? LogPath { get; private set; }

    /// <inheritdoc/>
    public override Task InspectAsync(CancellationToken cancellationToken)
    {
        LocalProcess process = LocalProcess.Read(this.currentId);

        // A container's registry cannot be stopped and started again from here (its paths and its lifetime are the container's).
        ProcessNamespaces.RequireOurs(process.Id);
        this.RequireRegistry(process, $"Process {process.Id}");
        int me = LocalProcess.UserOf(Environment.ProcessId);
        if (process.UserId != me)
        {
            throw new RegistryHostException($"Process {process.Id} runs as user ID {process.UserId}, this PowerShell as {me}: restarted from here it would run as {me} and own files in its storage that it cannot use later. Run this as that user, or use -ServiceName when systemd runs the registry.");
        }

        this.Adopt(process);
        this.original = process;
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public override async Task RestartAsync(bool readOnly, CancellationToken cancellationToken)
    {
        LocalProcess source = this.original ?? throw new InvalidOperationException("Inspect the host first.");
        Dictionary<string, string> environment = readOnly
            ? ReadOnlyWindow.During(this.OriginalEnvironment, DateTimeOffset.UtcNow)
            : new Dictionary<string, string>(this.OriginalEnvironment, StringComparer.Ordinal);
        await this.StopAsync(cancellationToken).ConfigureAwait(false);
        this.Start(source, environment);

        // A registry that cannot start (its port still held, a bad variable) exits within moments.
        await Task.Delay(TimeSpan.FromMilliseconds(300), CancellationToken.None).ConfigureAwait(false);
        if (!LocalProcess.IsRunning(this.currentId))
        {
            string tail = string.Empty;
            try
            {
                tail = string.Join(" | ", File.ReadLines(this.LogPath!).TakeLast(5));
            }
            catch (IOException)
            {
                // The message still names the file.
            }

            throw new RegistryHostException($"The restarted registry (process {this.currentId}) exited at once; its output is in {this.LogPath}: {tail}");
        }
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            // Only our handle: the registry keeps running.
            this.started?.Dispose();
        }

        base.Dispose(disposing);
    }

    private static async Task SignalAsync(int id, string signal)
    {
        await LocalCommand.RunAsync("kill", [$"-{signal}", id.ToString(CultureInfo.InvariantCulture)], null, _ => { }, CancellationToken.None).ConfigureAwait(false);
    }

    private async Task StopAsync(CancellationToken cancellationToken)
    {
        int id = this.currentId;
        if (!LocalProcess.IsRunning(id))
        {
            return;
        }

        await SignalAsync(id, "TERM").ConfigureAwait(false);
        var waited = Stopwatch.StartNew();
        while (LocalProcess.IsRunning(id))
        {
            if (waited.Elapsed > StopTimeout)
            {
                await SignalAsync(id, "KILL").ConfigureAwait(false);
                await Task.Delay(500, CancellationToken.None).ConfigureAwait(false);
                if (LocalProcess.IsRunning(id))
                {
                    throw new RegistryHostException($"Process {id} did not stop, even after SIGKILL.");
                }

                break;
            }

            await Task.Delay(50, CancellationToken.None).ConfigureAwait(false);
        }

        // Our own child is reaped here; an adopted process was reaped by its parent.
        if (this.started is { } child && child.Id == id)
        {
            await child.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            child.Dispose();
            this.started = null;
        }
    }

    private void Start(LocalProcess source, IReadOnlyDictionary<string, string> environment)
    {
        string output = source.StandardOutput ?? this.NewLog();
        string error = source.StandardError ?? output;
        this.LogPath = output;

        // sh only redirects and execs: the process ID we keep is the registry's. setsid gives it a session of its
        // own, so closing this terminal (SIGHUP) does not stop it.
        string? setsid = LocalCommand.FindOnPath("setsid");
        var start = new ProcessStartInfo("/bin/sh") { UseShellExecute = false, WorkingDirectory = source.WorkingDirectory };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("out=$1; err=$2; shift 2; exec \"$@\" </dev/null >>\"$out\" 2>>\"$err\"");
        start.ArgumentList.Add("sh");
        start.ArgumentList.Add(output);
        start.ArgumentList.Add(error);
        if (setsid is not null)
        {
            start.ArgumentList.Add(setsid);
        }

        start.ArgumentList.Add(source.Executable.Replace(" (deleted)", string.Empty, StringComparison.Ordinal));
        foreach (string argument in source.Arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // Secrets in the registry's environment (storage keys) go through the environment, never the command line.
        start.Environment.Clear();
        foreach ((string name, string value) in environment)
        {
            start.Environment[name] = value;
        }

        this.started = Process.Start(start) ?? throw new RegistryHostException("The registry could not be started again.");
        this.currentId = this.started.Id;
    }

    private string NewLog()
    {
        Directory.CreateDirectory(this.logDirectory);
        return Path.Combine(Path.GetFullPath(this.logDirectory), string.Create(CultureInfo.InvariantCulture, $"registry-{DateTime.Now:yyyyMMdd-HHmmss}.log"));
    }
}
