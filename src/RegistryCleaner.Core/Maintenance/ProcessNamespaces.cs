using System.Globalization;

namespace RegistryCleaner.Maintenance;

/// <summary>
/// Compares the Linux PID and mount namespaces of a process with this one's (the <c>/proc/&lt;pid&gt;/ns/pid</c> and
/// <c>ns/mnt</c> links against <c>/proc/self/ns/*</c>). A registry in another namespace runs in a container (or a
/// sandboxed service): its program and config.yml paths are the container's, and stopping it stops the container,
/// which a restart from here cannot bring back as it was.
/// </summary>
public static class ProcessNamespaces
{
    /// <summary>The namespaces that must be ours: <c>pid</c> and <c>mnt</c>.</summary>
    public static readonly IReadOnlyList<string> Compared = ["pid", "mnt"];

    /// <summary>Lists the namespaces in which a process differs from this one.</summary>
    /// <param name="processId">The process ID.</param>
    /// <param name="procRoot">Where <c>/proc</c> is (tests give a folder of their own).</param>
    /// <returns>One entry per differing namespace: its name, the process's link and ours; empty when all are ours.</returns>
    /// <exception cref="RegistryHostException">A link cannot be read, so the namespaces cannot be compared.</exception>
    public static IReadOnlyList<(string Namespace, string Theirs, string Ours)> Differing(int processId, string procRoot = "/proc")
    {
        ArgumentException.ThrowIfNullOrEmpty(procRoot);
        string id = processId.ToString(CultureInfo.InvariantCulture);
        var differing = new List<(string, string, string)>();
        foreach (string name in Compared)
        {
            string theirs = Link(Path.Combine(procRoot, id, "ns", name), processId);
            string ours = Link(Path.Combine(procRoot, "self", "ns", name), processId);
            if (!string.Equals(theirs, ours, StringComparison.Ordinal))
            {
                differing.Add((name, theirs, ours));
            }
        }

        return differing;
    }

    /// <summary>Refuses a process that is not in this one's PID and mount namespaces, saying why and what to do.</summary>
    /// <param name="processId">The process ID.</param>
    /// <param name="procRoot">Where <c>/proc</c> is.</param>
    /// <exception cref="RegistryHostException">The process is in another namespace, or its namespaces cannot be read.</exception>
    public static void RequireOurs(int processId, string procRoot = "/proc")
    {
        IReadOnlyList<(string Namespace, string Theirs, string Ours)> differing = Differing(processId, procRoot);
        if (differing.Count == 0)
        {
            return;
        }

        string which = string.Join(" and ", differing.Select(static d => $"{(d.Namespace == "mnt" ? "mount" : "PID")} namespace ({d.Theirs}, ours {d.Ours})"));
        throw new RegistryHostException(
            $"Process {processId} runs in another {which} than this PowerShell: it is in a container or a sandboxed service. " +
            "Its program and config.yml are paths inside it, and stopping it would stop the container, which this command cannot start again as it was; nothing was changed. " +
            "Maintain a containerised registry through its own runtime: the Kubernetes mode (the default) for a StatefulSet, -ServiceName when a systemd unit runs the registry binary, " +
            "or, for a docker or podman container, the runtime itself (restart it with REGISTRY_STORAGE_MAINTENANCE_READONLY, run garbage-collect with exec, restart it without, then Test-RegistryImage).");
    }

    private static string Link(string path, int processId)
    {
        try
        {
            return new FileInfo(path).LinkTarget
                ?? throw new RegistryHostException($"{path} is not a namespace link: the namespaces of process {processId} cannot be compared with ours, so it is not restarted from here.");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new RegistryHostException($"{path} cannot be read ({ex.Message}): the namespaces of process {processId} cannot be compared with ours, so it is not restarted from here. Run this as the registry's user or root.", ex);
        }
    }
}
