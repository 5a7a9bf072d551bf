using RegistryCleaner.Configuration;
using RegistryCleaner.Maintenance;

namespace RegistryCleaner.PowerShell;

/// <summary>
/// Turns the Kubernetes parameters of the registry-maintenance cmdlets (-KubeConfig, -Context, -Namespace,
/// -StatefulSet) and their configuration defaults into the StatefulSet to work on.
/// </summary>
internal static class RegistryWorkloadParameters
{
    /// <summary>Builds the target.</summary>
    /// <param name="configuration">The configuration.</param>
    /// <param name="kubeConfig">-KubeConfig, resolved to a file system path, or <see langword="null"/> (kubernetes.kubeconfig, KUBECONFIG).</param>
    /// <param name="context">-Context, or <see langword="null"/> (the one context of kubernetes.contexts, else the current context).</param>
    /// <param name="namespace">-Namespace, or <see langword="null"/> (kubernetes.platform_namespace).</param>
    /// <param name="statefulSet">-StatefulSet, or <see langword="null"/> (kubernetes.registry_statefulset).</param>
    /// <param name="timeout">The per-request timeout.</param>
    /// <param name="rolloutTimeout">How long a rollout may take.</param>
    /// <returns>The target.</returns>
    public static KubernetesRegistryTarget Resolve(
        RegistryCleanerConfiguration configuration, string? kubeConfig, string? context, string? @namespace, string? statefulSet, TimeSpan timeout, TimeSpan rolloutTimeout)
    {
        IReadOnlyList<string> contexts = configuration.GetList(ConfigSchema.Contexts);
        return new KubernetesRegistryTarget
        {
            KubeConfigPath = kubeConfig ?? configuration.GetString(ConfigSchema.KubeConfig),
            Context = context ?? (contexts.Count == 1 ? contexts[0] : null),
            Namespace = @namespace ?? configuration.GetString(ConfigSchema.PlatformNamespace) ?? "domino-platform",
            StatefulSet = statefulSet ?? configuration.GetString(ConfigSchema.RegistryStatefulSet) ?? "docker-registry",
            Container = configuration.GetString(ConfigSchema.RegistryContainer) is { Length: > 0 } container ? container : null,
            ConfigPath = configuration.GetString(ConfigSchema.RegistryConfigInContainer) ?? "/etc/docker/registry/config.yml",
            Command = configuration.GetString(ConfigSchema.RegistryCommandInContainer) ?? "registry",
            RequestTimeout = timeout,
            RolloutTimeout = rolloutTimeout,
        };
    }
}
