namespace RegistryCleaner.Maintenance;

/// <summary>Which StatefulSet runs the registry, and how to reach it.</summary>
public sealed record KubernetesRegistryTarget
{
    /// <summary>Gets the kubeconfig file; <see langword="null"/> resolves it as kubectl does, else the in-cluster account.</summary>
    public string? KubeConfigPath { get; init; }

    /// <summary>Gets the kubeconfig context; <see langword="null"/> for the current one.</summary>
    public string? Context { get; init; }

    /// <summary>Gets the namespace (Domino: <c>domino-platform</c>).</summary>
    public string Namespace { get; init; } = "domino-platform";

    /// <summary>Gets the StatefulSet (Domino: <c>docker-registry</c>).</summary>
    public string StatefulSet { get; init; } = "docker-registry";

    /// <summary>Gets the registry's container; <see langword="null"/> picks the one named like the StatefulSet, <c>registry</c> or <c>docker-registry</c>, or the only one.</summary>
    public string? Container { get; init; }

    /// <summary>Gets the registry's config.yml inside the container.</summary>
    public string ConfigPath { get; init; } = "/etc/docker/registry/config.yml";

    /// <summary>Gets the registry binary inside the container.</summary>
    public string Command { get; init; } = "registry";

    /// <summary>Gets how long a rollout may take.</summary>
    public TimeSpan RolloutTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Gets the timeout of each API request.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(60);
}
