using System.Net.Sockets;
using System.Text;
using k8s;
using k8s.Autorest;
using k8s.Exceptions;
using k8s.Models;
using RegistryCleaner.Registry;

namespace RegistryCleaner.Workloads;

/// <summary>A pull secret could not be read, or holds no registry credentials; the message says which and why.</summary>
public sealed class PullSecretUnreadableException : Exception
{
    /// <summary>Initializes the exception.</summary>
    public PullSecretUnreadableException()
    {
    }

    /// <summary>Initializes the exception with a message.</summary>
    /// <param name="message">The message.</param>
    public PullSecretUnreadableException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes the exception with a message and cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public PullSecretUnreadableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// Reads a Kubernetes image pull secret (<c>kubernetes.io/dockerconfigjson</c>, key <c>.dockerconfigjson</c>, or the
/// older <c>.dockercfg</c>) with the kubeconfig parameters, and gives the credential its <c>auths</c> hold for a registry
/// (Domino reaches its registry with <c>domino-platform/domino-registry</c>).
/// </summary>
public static class KubernetesPullSecret
{
    /// <summary>Parses <c>&lt;namespace&gt;/&lt;name&gt;</c>.</summary>
    /// <param name="value">The text.</param>
    /// <returns>The namespace and name.</returns>
    /// <exception cref="FormatException">The text is not namespace/name.</exception>
    public static (string Namespace, string Name) Parse(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        string[] parts = value.Trim().Split('/');
        return parts.Length == 2 && parts.All(p => p.Length > 0 && p.Length <= 253 && p.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or '.'))
            ? (parts[0], parts[1])
            : throw new FormatException($"'{value}' is not a Kubernetes secret: give <namespace>/<name>, for example domino-platform/domino-registry.");
    }

    /// <summary>Reads the secret and returns the credential its <c>auths</c> hold for <paramref name="endpoint"/>.</summary>
    /// <param name="secret"><c>&lt;namespace&gt;/&lt;name&gt;</c>.</param>
    /// <param name="endpoint">The registry.</param>
    /// <param name="kubeConfigPath">-KubeConfig (else KUBECONFIG, ~/.kube/config, the in-cluster service account).</param>
    /// <param name="context">The kubeconfig context, or <see langword="null"/> for the current one.</param>
    /// <param name="timeout">The request timeout.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The credential (source <c>Kubernetes secret '&lt;namespace&gt;/&lt;name&gt;'</c>), or <see langword="null"/> when the secret has no entry for the registry.</returns>
    /// <exception cref="PullSecretUnreadableException">No cluster access, the secret is forbidden, missing or not a pull secret.</exception>
    public static async Task<RegistryCredential?> ReadAsync(string secret, RegistryEndpoint endpoint, string? kubeConfigPath, string? context, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        (string ns, string name) = Parse(secret);
        string display = $"{ns}/{name}";
        KubernetesClientConfiguration configuration;
        try
        {
            string? path = KubeConfigLocator.Resolve(kubeConfigPath);
            if (path is null)
            {
                configuration = KubernetesClientConfiguration.IsInCluster()
                    ? KubernetesClientConfiguration.InClusterConfig()
                    : throw new PullSecretUnreadableException($"The pull secret {display} cannot be read: no kubeconfig was found (no -KubeConfig, KUBECONFIG or ~/.kube/config) and this process does not run inside a cluster.");
            }
            else
            {
                configuration = KubernetesClientConfiguration.BuildConfigFromConfigFile(path, context);
            }
        }
        catch (Exception ex) when (ex is FileNotFoundException or KubeConfigException)
        {
            throw new PullSecretUnreadableException($"The pull secret {display} cannot be read: {ex.Message}", ex);
        }

        configuration.HttpClientTimeout = timeout;
        V1Secret read;
        try
        {
            using var client = new Kubernetes(configuration);
            read = await client.CoreV1.ReadNamespacedSecretAsync(name, ns, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException ex)
        {
            int status = (int)ex.Response.StatusCode;
            string why = status switch
            {
                403 => "403 Forbidden: the kubeconfig's user may not get secrets in that namespace",
                404 => "404 Not Found: there is no such secret",
                401 => "401 Unauthorized: the kubeconfig's credentials were rejected",
                _ => $"HTTP {status}",
            };
            throw new PullSecretUnreadableException($"The pull secret {display} cannot be read ({why}).", ex);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new PullSecretUnreadableException($"The pull secret {display} cannot be read: the cluster did not answer within {timeout.TotalSeconds:0} s.", ex);
        }
        catch (Exception ex) when (ex is HttpRequestException or SocketException or IOException)
        {
            throw new PullSecretUnreadableException($"The pull secret {display} cannot be read: the cluster did not answer ({ex.GetType().Name}).", ex);
        }

        string json;
        if (read.Data is { } data && data.TryGetValue(".dockerconfigjson", out byte[]? config))
        {
            json = Encoding.UTF8.GetString(config);
        }
        else if (read.Data is { } legacy && legacy.TryGetValue(".dockercfg", out byte[]? cfg))
        {
            // The older format is the auths object itself.
            json = "{\"auths\":" + Encoding.UTF8.GetString(cfg) + "}";
        }
        else
        {
            throw new PullSecretUnreadableException($"The secret {display} is not an image pull secret (type {read.Type ?? "none"}, no .dockerconfigjson key).");
        }

        try
        {
            return RegistryCredentialResolver.FromDockerConfig(json, endpoint, $"Kubernetes secret '{display}'");
        }
        catch (InvalidDataException ex)
        {
            throw new PullSecretUnreadableException($"The pull secret {display} cannot be used: {ex.Message}", ex);
        }
    }
}
