using System.Diagnostics;
using System.Management.Automation;
using System.Net;
using System.Net.Sockets;
using RegistryCleaner.Maintenance;
using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.Maintenance;

/// <summary>
/// -ProcessId never stops a registry it cannot start again as it was: one in another PID or mount namespace (a
/// container's) is refused before anything changes. The comparison is tested on fake /proc folders, and end to end on
/// the real docker-registry, in our namespaces (allowed) and in namespaces of its own made by unshare (refused).
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ProcessNamespaceTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("registrycleaner-ns-").FullName;

    public void Dispose() => Directory.Delete(this.folder, recursive: true);

    [Fact]
    public void A_process_in_our_namespaces_differs_in_none()
    {
        string proc = this.FakeProc(("self", "pid:[4026531836]", "mnt:[4026531832]"), ("4242", "pid:[4026531836]", "mnt:[4026531832]"));

        Assert.Empty(ProcessNamespaces.Differing(4242, proc));
        ProcessNamespaces.RequireOurs(4242, proc);
    }

    [Fact]
    public void A_process_in_a_containers_PID_and_mount_namespaces_is_refused_naming_both_and_what_to_do()
    {
        string proc = this.FakeProc(("self", "pid:[4026531836]", "mnt:[4026531832]"), ("4242", "pid:[4026532175]", "mnt:[4026532174]"));

        Assert.Equal(
            [("pid", "pid:[4026532175]", "pid:[4026531836]"), ("mnt", "mnt:[4026532174]", "mnt:[4026531832]")],
            ProcessNamespaces.Differing(4242, proc));
        RegistryHostException refused = Assert.Throws<RegistryHostException>(() => ProcessNamespaces.RequireOurs(4242, proc));
        Assert.Contains("PID namespace (pid:[4026532175], ours pid:[4026531836]) and mount namespace", refused.Message, StringComparison.Ordinal);
        Assert.Contains("nothing was changed", refused.Message, StringComparison.Ordinal);
        Assert.Contains("Kubernetes mode", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_mount_namespace_alone_differing_is_refused_too()
    {
        // A systemd service with PrivateTmp= or ProtectSystem= has a mount namespace of its own: -ServiceName is for it.
        string proc = this.FakeProc(("self", "pid:[1]", "mnt:[2]"), ("77", "pid:[1]", "mnt:[3]"));

        Assert.Equal([("mnt", "mnt:[3]", "mnt:[2]")], ProcessNamespaces.Differing(77, proc));
        Assert.Contains("-ServiceName", Assert.Throws<RegistryHostException>(() => ProcessNamespaces.RequireOurs(77, proc)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Namespaces_that_cannot_be_read_are_refused_not_assumed_ours()
    {
        string proc = this.FakeProc(("self", "pid:[1]", "mnt:[2]"));
        Directory.CreateDirectory(Path.Combine(proc, "55", "ns"));

        RegistryHostException refused = Assert.Throws<RegistryHostException>(() => ProcessNamespaces.RequireOurs(55, proc));
        Assert.Contains("cannot be compared", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_real_registry_started_by_the_tests_is_in_our_namespaces()
    {
        using var registry = new RegistryServer(new RegistryServerOptions());

        Assert.Empty(ProcessNamespaces.Differing(registry.ProcessId));
        ProcessNamespaces.RequireOurs(registry.ProcessId);
    }

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

    private string FakeProc(params (string Id, string Pid, string Mnt)[] processes)
    {
        string proc = Path.Combine(this.folder, "proc");
        foreach ((string id, string pid, string mnt) in processes)
        {
            string ns = Directory.CreateDirectory(Path.Combine(proc, id, "ns")).FullName;

            // /proc's namespace links point at names that are not files, as these do.
            File.CreateSymbolicLink(Path.Combine(ns, "pid"), pid);
            File.CreateSymbolicLink(Path.Combine(ns, "mnt"), mnt);
        }

        return proc;
    }
}
