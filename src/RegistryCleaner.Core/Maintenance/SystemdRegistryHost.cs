using System.Globalization;

namespace RegistryCleaner.Maintenance;

/// <summary>
/// A registry that systemd runs as a service. The read-only window is a runtime drop-in
/// (<c>/run/systemd/system/&lt;unit&gt;.d/90-registry-cleaner-read-only.conf</c>) that sets the registry's variable;
/// <c>systemctl daemon-reload</c> and <c>systemctl restart</c> apply it, removing it and restarting again ends the
/// window. A drop-in under <c>/run</c> also vanishes with a reboot, so an interrupted run never leaves the registry
/// read-only for good; a drop-in found at the start is such a leftover, and is removed at the end.
/// </summary>
public sealed class SystemdRegistryHost : LocalRegistryHost
{
    /// <summary>The drop-in's file name.</summary>
    public const string DropInName = "90-registry-cleaner-read-only.conf";

    private readonly string runtimeUnitDirectory;
    private string unit;
    private int? mainProcessId;

    /// <summary>Initializes the host.</summary>
    /// <param name="unit">The unit, e.g. <c>docker-registry</c> (<c>.service</c> is added when it has no suffix).</param>
    /// <param name="registryConfigPath">The registry's config.yml, or <see langword="null"/> for the one on its command line.</param>
    /// <param name="registryCommand">The binary garbage-collect runs with, or <see langword="null"/> for the one the service runs.</param>
    /// <param name="runtimeUnitDirectory">systemd's runtime unit directory.</param>
    public SystemdRegistryHost(string unit, string? registryConfigPath, string? registryCommand, string runtimeUnitDirectory = "/run/systemd/system")
        : base(registryConfigPath, registryCommand)
    {
        ArgumentException.ThrowIfNullOrEmpty(unit);
        if (unit.Contains('/', StringComparison.Ordinal) || unit.Contains("..", StringComparison.Ordinal) || unit.Any(char.IsWhiteSpace))
        {
            throw new ArgumentException($"'{unit}' is not a systemd unit name.", nameof(unit));
        }

        this.unit = unit.Contains('.', StringComparison.Ordinal) ? unit : unit + ".service";
        this.runtimeUnitDirectory = runtimeUnitDirectory;
    }

    /// <inheritdoc/>
    public override string Mode => "Service";

    /// <inheritdoc/>
    public override string Target => $"systemd service {this.unit}";

    /// <inheritdoc/>
    public override int? ProcessId => this.mainProcessId;

    /// <summary>Gets the drop-in file of the read-only window.</summary>
    public string DropInPath => Path.Combine(this.runtimeUnitDirectory, this.unit + ".d", DropInName);

    /// <inheritdoc/>
    public override async Task InspectAsync(CancellationToken cancellationToken)
    {
        Dictionary<string, string> shown = await this.ShowAsync(cancellationToken).ConfigureAwait(false);
        this.unit = shown.GetValueOrDefault("Id") is { Length: > 0 } id ? id : this.unit;
        if (shown.GetValueOrDefault("LoadState") != "loaded")
        {
            throw new RegistryHostException($"systemd has no unit {this.unit} (LoadState={shown.GetValueOrDefault("LoadState")}): give the service that runs the registry (systemctl list-units '*registry*').");
        }

        if (shown.GetValueOrDefault("ActiveState") != "active" || !int.TryParse(shown.GetValueOrDefault("MainPID"), NumberStyles.None, CultureInfo.InvariantCulture, out int pid) || pid == 0)
        {
            throw new RegistryHostException($"The service {this.unit} is not running (ActiveState={shown.GetValueOrDefault("ActiveState")}): start it first (systemctl start {this.unit}); garbage collection must see the registry's own settings.");
        }

        LocalProcess process = LocalProcess.Read(pid);
        this.RequireRegistry(process, $"The main process {pid} of {this.unit}");
        this.Adopt(process);
        this.mainProcessId = pid;
        if (File.Exists(this.DropInPath))
        {
            this.LeftoverWindow = $"the drop-in {this.DropInPath} of an earlier run";
        }
    }

    /// <inheritdoc/>
    public override async Task RestartAsync(bool readOnly, CancellationToken cancellationToken)
    {
        if (readOnly)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(this.DropInPath)!);
            string since = DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

            // YAML flow style needs no quotes inside systemd's quoting; the marker tells a later run the window is ours.
            await File.WriteAllTextAsync(
                this.DropInPath,
                $"# Written by RegistryCleaner (Invoke-RegistryGarbageCollection) for its read-only window since {since}; removed when the window ends.\n"
                + "[Service]\n"
                + $"Environment=\"{ReadOnlyWindow.Variable}={{enabled: true}}\"\n"
                + $"Environment=\"{ReadOnlyWindow.Marker}={since}\"\n",
                CancellationToken.None).ConfigureAwait(false);
        }
        else
        {
            File.Delete(this.DropInPath);
            string directory = Path.GetDirectoryName(this.DropInPath)!;
            if (Directory.Exists(directory) && !Directory.EnumerateFileSystemEntries(directory).Any())
            {
                Directory.Delete(directory);
            }
        }

        await this.SystemctlAsync(["daemon-reload"]).ConfigureAwait(false);
        await this.SystemctlAsync(["restart", this.unit]).ConfigureAwait(false);
        Dictionary<string, string> shown = await this.ShowAsync(CancellationToken.None).ConfigureAwait(false);
        this.mainProcessId = int.TryParse(shown.GetValueOrDefault("MainPID"), NumberStyles.None, CultureInfo.InvariantCulture, out int pid) && pid > 0 ? pid : null;
        if (shown.GetValueOrDefault("ActiveState") != "active" || this.mainProcessId is null)
        {
            throw new RegistryHostException($"The service {this.unit} did not come back after its restart (ActiveState={shown.GetValueOrDefault("ActiveState")}): see journalctl -u {this.unit}.");
        }
    }

    private static string Systemctl => LocalCommand.FindOnPath("systemctl")
        ?? throw new RegistryHostException("systemctl was not found on PATH: -ServiceName needs systemd.");

    private async Task<Dictionary<string, string>> ShowAsync(CancellationToken cancellationToken)
    {
        (int exit, string output) = await LocalCommand.CaptureAsync(Systemctl, ["show", "--property=Id,LoadState,ActiveState,MainPID", this.unit], cancellationToken).ConfigureAwait(false);
        if (exit != 0)
        {
            throw new RegistryHostException($"systemctl show {this.unit} failed with {exit}: {output.Trim()}");
        }

        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int equals = line.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0)
            {
                values[line[..equals]] = line[(equals + 1)..];
            }
        }

        return values;
    }

    private async Task SystemctlAsync(IReadOnlyList<string> arguments)
    {
        (int exit, string output) = await LocalCommand.CaptureAsync(Systemctl, arguments, CancellationToken.None).ConfigureAwait(false);
        if (exit != 0)
        {
            throw new RegistryHostException($"systemctl {string.Join(' ', arguments)} failed with {exit}: {output.Trim()}");
        }
    }
}
