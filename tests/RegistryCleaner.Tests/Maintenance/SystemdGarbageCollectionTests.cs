using RegistryCleaner.Maintenance;
using RegistryCleaner.Registry;
using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.Maintenance;

/// <summary>
/// The systemd mode: no systemd runs here, so a systemctl stand-in first on PATH plays it (show, daemon-reload,
/// restart that applies the drop-ins' Environment= lines) around the real docker-registry; the drop-ins go to a
/// runtime unit folder of the test instead of /run/systemd/system.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class SystemdGarbageCollectionTests : IDisposable
{
    private const string Unit = "docker-registry.service";

    // Plays systemd for one unit: its main process is the registry, restarted with the drop-ins' environment.
    private const string SystemctlStandIn = """
        #!/bin/sh
        state="$SYSTEMCTL_STANDIN_STATE"
        pid=$(cat "$state/pid" 2>/dev/null || echo 0)
        running() { [ "$pid" -gt 0 ] && kill -0 "$pid" 2>/dev/null && ! grep -q '^State:.Z' "/proc/$pid/status"; }
        echo "$*" >> "$state/calls"
        case "$1" in
          show)
            eval "unit=\$$#"
            if [ "$unit" != "$(cat "$state/unit")" ]; then echo "Id=$unit"; echo LoadState=not-found; echo ActiveState=inactive; echo MainPID=0; exit 0; fi
            echo "Id=$unit"; echo LoadState=loaded
            if running; then echo ActiveState=active; echo "MainPID=$pid"; else echo ActiveState=failed; echo MainPID=0; fi ;;
          daemon-reload) ;;
          restart)
            if running; then kill -TERM "$pid"; while running; do sleep 0.05; done; fi
            env=""
            for conf in "$state/runtime/$2.d"/*.conf; do
              [ -f "$conf" ] || continue
              env="$env $(sed -n 's/^Environment="\(.*\)"$/\1/p' "$conf" | sed "s/'/'\\\\''/g; s/^/'/; s/$/'/" | tr '\n' ' ')"
            done
            eval "setsid env $env /usr/bin/docker-registry serve '$(cat "$state/config")' >>'$state/log' 2>&1 &"
            echo $! > "$state/pid"
            sleep 0.3 ;;
          *) echo "unknown command $1" >&2; exit 1 ;;
        esac
        """;

    private readonly string state = Directory.CreateTempSubdirectory("registrycleaner-systemd-").FullName;
    private readonly RegistryServer registry;
    private readonly string? path = Environment.GetEnvironmentVariable("PATH");

    public SystemdGarbageCollectionTests()
    {
        // The test's registry gives the storage and config; the stand-in's service runs it from then on.
        this.registry = new RegistryServer(new RegistryServerOptions { Restartable = true });
        string bin = Directory.CreateDirectory(Path.Combine(this.state, "bin")).FullName;
        File.WriteAllText(Path.Combine(bin, "systemctl"), SystemctlStandIn.Replace("\r", string.Empty, StringComparison.Ordinal) + "\n");
        File.SetUnixFileMode(Path.Combine(bin, "systemctl"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.WriteAllText(Path.Combine(this.state, "unit"), Unit);
        File.WriteAllText(Path.Combine(this.state, "config"), this.registry.ConfigPath);
        Directory.CreateDirectory(Path.Combine(this.state, "runtime"));
        Environment.SetEnvironmentVariable("SYSTEMCTL_STANDIN_STATE", this.state);
        Environment.SetEnvironmentVariable("PATH", bin + Path.PathSeparator + this.path);

        // The service's main process is the test's registry until the first restart.
        File.WriteAllText(Path.Combine(this.state, "pid"), this.registry.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    private int MainPid => int.Parse(File.ReadAllText(Path.Combine(this.state, "pid")).Trim(), System.Globalization.CultureInfo.InvariantCulture);

    public void Dispose()
    {
        this.registry.Adopt(this.MainPid);
        Environment.SetEnvironmentVariable("PATH", this.path);
        this.registry.Dispose();
        Directory.Delete(this.state, recursive: true);
    }

    [Fact]
    public async Task A_systemd_service_is_read_only_through_a_runtime_drop_in_while_garbage_collection_runs_and_the_drop_in_is_gone_afterwards()
    {
        using var pusher = new ImagePusher(this.registry.BaseAddress);
        PushedImage gone = await pusher.PushImageAsync("dominodatalab/environment", "old", [ImagePusher.Layer(301, 2500)]);
        await pusher.PushImageAsync("dominodatalab/environment", "kept", [ImagePusher.Layer(302, 1500)]);
        using var client = new RegistryClient(RegistryEndpoint.Parse(this.registry.Registry));
        Assert.Equal(RegistryCleaner.Registry.ManifestDeleteOutcome.Deleted, (await client.DeleteManifestAsync("dominodatalab/environment", gone.Digest, CancellationToken.None)).Outcome);
        long stored = this.registry.BlobBytes();
        int before = this.MainPid;

        string runtime = Path.Combine(this.state, "runtime");
        using var host = new SystemdRegistryHost("docker-registry", null, null, runtime);
        var environments = new List<string>();
        var collector = new RegistryGarbageCollector(host, client, new GarbageCollectionOptions
        {
            Log = line =>
            {
                // What the service's main process runs with, at each step.
                if (line.StartsWith("Step 6:", StringComparison.Ordinal) && File.Exists(host.DropInPath))
                {
                    environments.Add(File.ReadAllText(host.DropInPath));
                }
            },
        });
        await collector.PrepareAsync(CancellationToken.None);
        GarbageCollectionResult result = await collector.RunAsync(dryRun: false, CancellationToken.None);

        Assert.True(result.Status == GarbageCollectionStatus.Completed, result.Reason);
        Assert.Equal("Service", result.Mode);
        Assert.Equal("systemd service docker-registry.service", result.Target);
        Assert.Equal(gone.Size + gone.Manifest.Length, result.BytesFreed);
        Assert.Equal(result.BytesFreed, stored - this.registry.BlobBytes());
        Assert.Equal("Passed", result.Verification);
        Assert.Contains(environments, text => text.Contains("Environment=\"REGISTRY_STORAGE_MAINTENANCE_READONLY={enabled: true}\"", StringComparison.Ordinal));
        Assert.False(File.Exists(host.DropInPath));
        Assert.False(Directory.Exists(Path.GetDirectoryName(host.DropInPath)));
        Assert.NotEqual(before, result.ProcessId);
        Assert.Equal(this.MainPid, result.ProcessId);
        string[] calls = File.ReadAllLines(Path.Combine(this.state, "calls"));
        Assert.Equal(2, calls.Count(c => c == "daemon-reload"));
        Assert.Equal(2, calls.Count(c => c == $"restart {Unit}"));
        Assert.True(await client.IsWritableAsync("dominodatalab/environment", CancellationToken.None));
        Assert.DoesNotContain(LocalProcess.Read(this.MainPid).Environment.Keys, k => k == ReadOnlyWindow.Variable);
    }

    [Fact]
    public async Task A_unit_systemd_does_not_know_is_refused_before_anything_changes()
    {
        using var client = new RegistryClient(RegistryEndpoint.Parse(this.registry.Registry));
        using var host = new SystemdRegistryHost("docker-registy", null, null, Path.Combine(this.state, "runtime"));
        var collector = new RegistryGarbageCollector(host, client, new GarbageCollectionOptions());

        RegistryHostException error = await Assert.ThrowsAsync<RegistryHostException>(() => collector.PrepareAsync(CancellationToken.None));

        Assert.Contains("systemd has no unit docker-registy.service", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(File.ReadAllLines(Path.Combine(this.state, "calls")), c => c == "daemon-reload");
    }
}
