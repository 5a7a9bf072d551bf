using System.Diagnostics;
using System.Management.Automation;
using System.Net;
using System.Net.Sockets;
using RegistryCleaner.Maintenance;
using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.Maintenance;

/// <summary>
/// Invoke-RegistryGarbageCollection -ProcessId on the real docker-registry running in namespaces of its own, made by
/// unshare: refused before anything changes, and the registry keeps running.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ProcessNamespaceCmdletTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("registrycleaner-ns-").FullName;

    public void Dispose() => Directory.Delete(this.folder, recursive: true);

    [Fact]
    public void A_real_registry_in_namespaces_of_its_own_is_refused_before_anything_changes_and_keeps_running()
    {
        int port = FreePort();
        string config = Path.Combine(this.folder, "config.yml");
        File.WriteAllText(config, $"""
            version: 0.1
            log:
              level: error
            storage:
              filesystem:
                rootdirectory: {Path.Combine(this.folder, "storage")}
              delete:
                enabled: true
            http:
              addr: 127.0.0.1:{port}
              secret: registrycleaner-test-secret
            """);

        // unshare (we run as root here) gives the registry its own PID and mount namespaces, as a container runtime does.
        var start = new ProcessStartInfo("unshare") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in new[] { "--pid", "--mount", "--fork", "/usr/bin/docker-registry", "serve", config })
        {
            start.ArgumentList.Add(argument);
        }

        using Process unshare = Process.Start(start)!;
        int registryId = 0;
        try
        {
            registryId = WaitForChild(unshare);
            WaitUntilServing(port, unshare);
            Assert.NotEmpty(ProcessNamespaces.Differing(registryId));
            using var session = new PowerShellSession(this.folder);

            PowerShellResult result = session.Run($"Invoke-RegistryGarbageCollection -ProcessId {registryId} -Registry 'http://127.0.0.1:{port}/' -Confirm:$false");

            ErrorRecord error = Deletion.RemoveUnusedImageTests.StoppingError(result);
            Assert.Equal("RegistryHostUnusable", error.FullyQualifiedErrorId.Split(',')[0]);
            Assert.Contains("another PID namespace", error.Exception.Message, StringComparison.Ordinal);
            Assert.Empty(result.Output);
            Assert.True(LocalProcess.IsRunning(registryId), "The registry in its own namespaces was stopped.");
            Assert.Null(File.ReadAllText($"/proc/{registryId}/environ").Split('\0').FirstOrDefault(e => e.StartsWith(ReadOnlyWindow.Variable, StringComparison.Ordinal)));
        }
        finally
        {
            // Only the processes this test started, by their IDs.
            if (registryId > 0 && LocalProcess.IsRunning(registryId))
            {
                using Process registry = Process.GetProcessById(registryId);
                registry.Kill();
                registry.WaitForExit(5000);
            }

            if (!unshare.HasExited)
            {
                unshare.Kill();
            }

            unshare.WaitForExit(5000);
        }
    }

    private static int WaitForChild(Process parent)
    {
        var waited = Stopwatch.StartNew();
        string children = $"/proc/{parent.Id}/task/{parent.Id}/children";
        while (waited.Elapsed < TimeSpan.FromSeconds(10))
        {
            if (parent.HasExited)
            {
                throw new InvalidOperationException($"unshare exited with {parent.ExitCode}: {parent.StandardError.ReadToEnd()}");
            }

            string[] ids = File.Exists(children) ? File.ReadAllText(children).Split(' ', StringSplitOptions.RemoveEmptyEntries) : [];
            if (ids.Length > 0)
            {
                return int.Parse(ids[0], System.Globalization.CultureInfo.InvariantCulture);
            }

            Thread.Sleep(30);
        }

        throw new TimeoutException("unshare started no registry within 10 s.");
    }

    private static void WaitUntilServing(int port, Process parent)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var waited = Stopwatch.StartNew();
        while (waited.Elapsed < TimeSpan.FromSeconds(15))
        {
            if (parent.HasExited)
            {
                throw new InvalidOperationException($"The registry under unshare exited with {parent.ExitCode}: {parent.StandardError.ReadToEnd()}");
            }

            try
            {
                using HttpResponseMessage response = http.GetAsync(new Uri($"http://127.0.0.1:{port}/v2/")).GetAwaiter().GetResult();
                return;
            }
            catch (HttpRequestException)
            {
                Thread.Sleep(30);
            }
            catch (TaskCanceledException)
            {
                Thread.Sleep(30);
            }
        }

        throw new TimeoutException("The registry under unshare did not answer within 15 s.");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
