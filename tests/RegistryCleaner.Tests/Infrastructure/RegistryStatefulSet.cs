using System.Collections.Concurrent;
using System.Diagnostics;
using k8s.Models;

namespace RegistryCleaner.Tests.Infrastructure;

/// <summary>
/// Domino's registry as a StatefulSet of the Kubernetes stand-in whose one pod is the test's real docker-registry: a
/// rollout restarts that registry with the container's environment as patched, and an exec into the pod runs the
/// command on this machine with that environment (<c>registry</c> is Debian's docker-registry), on the test's storage.
/// </summary>
public sealed class RegistryStatefulSet
{
    public const string Namespace = "domino-platform";
    public const string Name = "docker-registry";
    public const string Container = "docker-registry";
    public const string PodName = "docker-registry-0";

    private readonly KubernetesApiStandIn cluster;

    private RegistryStatefulSet(KubernetesApiStandIn cluster) => this.cluster = cluster;

    /// <summary>Gets the environment of every rollout, in order.</summary>
    public ConcurrentQueue<IReadOnlyDictionary<string, string>> Rollouts { get; } = new();

    /// <summary>Gets the StatefulSet as the API serves it now.</summary>
    public V1StatefulSet Current => this.cluster.Get<V1StatefulSet>("statefulsets", Namespace, Name)!;

    /// <summary>Gets the registry container's environment as the API serves it now.</summary>
    public IReadOnlyDictionary<string, string> Environment => EnvironmentOf(this.Current);

    /// <summary>Adds the StatefulSet and its pod, and runs rollouts and execs against <paramref name="registry"/>.</summary>
    /// <param name="cluster">The stand-in.</param>
    /// <param name="registry">The registry the pod is (started with <paramref name="environment"/>).</param>
    /// <param name="environment">The container's environment.</param>
    /// <param name="annotations">The StatefulSet's annotations.</param>
    public static RegistryStatefulSet Attach(KubernetesApiStandIn cluster, RegistryServer registry, IReadOnlyDictionary<string, string> environment, IDictionary<string, string>? annotations = null)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(registry);
        var set = new RegistryStatefulSet(cluster);
        var labels = new Dictionary<string, string> { ["app"] = Name };
        const string revision = Name + "-0000000001";
        cluster.Add(
            new V1StatefulSet
            {
                ApiVersion = "apps/v1",
                Kind = "StatefulSet",
                Metadata = new V1ObjectMeta { Name = Name, NamespaceProperty = Namespace, Generation = 1, ResourceVersion = "1", Annotations = annotations },
                Spec = new V1StatefulSetSpec
                {
                    Replicas = 1,
                    ServiceName = Name,
                    Selector = new V1LabelSelector { MatchLabels = labels },
                    UpdateStrategy = new V1StatefulSetUpdateStrategy { Type = "RollingUpdate" },
                    Template = new V1PodTemplateSpec
                    {
                        Metadata = new V1ObjectMeta { Labels = labels },
                        Spec = new V1PodSpec
                        {
                            Containers =
                            [
                                new V1Container
                                {
                                    Name = Container,
                                    Image = "registry:2.8.2",
                                    Env = environment.Count == 0 ? null : environment.Select(e => new V1EnvVar { Name = e.Key, Value = e.Value }).ToList(),
                                },
                            ],
                        },
                    },
                },
                Status = new V1StatefulSetStatus { Replicas = 1, ReadyReplicas = 1, UpdatedReplicas = 1, CurrentReplicas = 1, ObservedGeneration = 1, CurrentRevision = revision, UpdateRevision = revision },
            },
            new V1Pod
            {
                ApiVersion = "v1",
                Kind = "Pod",
                Metadata = new V1ObjectMeta { Name = PodName, NamespaceProperty = Namespace, Labels = new Dictionary<string, string>(labels) { ["controller-revision-hash"] = revision } },
                Spec = new V1PodSpec { Containers = [new V1Container { Name = Container, Image = "registry:2.8.2" }] },
                Status = new V1PodStatus { Phase = "Running", Conditions = [new V1PodCondition { Type = "Ready", Status = "True" }] },
            });

        cluster.StatefulSetRollout = patched =>
        {
            IReadOnlyDictionary<string, string> env = EnvironmentOf(patched);
            set.Rollouts.Enqueue(env);
            registry.Restart(env);
            return Task.CompletedTask;
        };
        cluster.Exec = (request, stdout, stderr) => RunInPodAsync(request, set.Environment, stdout, stderr);
        return set;
    }

    private static IReadOnlyDictionary<string, string> EnvironmentOf(V1StatefulSet set) =>
        (set.Spec.Template.Spec.Containers.Single(c => c.Name == Container).Env ?? []).ToDictionary(e => e.Name, e => e.Value, StringComparer.Ordinal);

    private static async Task<int> RunInPodAsync(PodExecRequest request, IReadOnlyDictionary<string, string> environment, Func<string, Task> stdout, Func<string, Task> stderr)
    {
        string program = request.Command[0] == "registry" ? "/usr/bin/docker-registry" : request.Command[0];
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in request.Command.Skip(1))
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment.Clear();
        start.Environment["PATH"] = System.Environment.GetEnvironmentVariable("PATH");
        foreach ((string name, string value) in environment)
        {
            start.Environment[name] = value;
        }

        using Process process = Process.Start(start)!;
        async Task PumpAsync(StreamReader reader, Func<string, Task> write)
        {
            char[] buffer = new char[8192];
            int read;
            while ((read = await reader.ReadAsync(buffer)) > 0)
            {
                await write(new string(buffer, 0, read));
            }
        }

        await Task.WhenAll(PumpAsync(process.StandardOutput, stdout), PumpAsync(process.StandardError, stderr), process.WaitForExitAsync());
        return process.ExitCode;
    }
}
