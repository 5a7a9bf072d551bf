using RegistryCleaner.Maintenance;
using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.Maintenance;

/// <summary>
/// -ProcessId never stops a registry it cannot start again as it was: one in another PID or mount namespace (a
/// container's) is refused before anything changes. The comparison is tested on fake /proc folders, and on the real
/// docker-registry in our namespaces (allowed); Invoke-RegistryGarbageCollection refusing one in namespaces of its own is
/// ProcessNamespaceCmdletTests.
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
