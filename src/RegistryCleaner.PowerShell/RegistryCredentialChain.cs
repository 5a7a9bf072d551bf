using System.Management.Automation;
using System.Net;
using RegistryCleaner.Configuration;
using RegistryCleaner.Registry;
using RegistryCleaner.Workloads;

namespace RegistryCleaner.PowerShell;

/// <summary>What the credential chain is given besides the configuration.</summary>
internal sealed class CredentialChainInput
{
    /// <summary>Gets -Credential.</summary>
    public PSCredential? Credential { get; init; }

    /// <summary>Gets -CredentialSecret: a secret the user named, so failing to read it is an error.</summary>
    public string? CredentialSecret { get; init; }

    /// <summary>Gets -KubeConfig (a file system path) of the cmdlet, if it has one.</summary>
    public string? KubeConfig { get; init; }

    /// <summary>Gets -Context of the cmdlet, if it has one.</summary>
    public string? Context { get; init; }

    /// <summary>Gets the request timeout.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);
}

/// <summary>
/// The registry credential sources in the order they are asked, the first that gives a credential winning:
/// -Credential; REGISTRY_USERNAME/REGISTRY_PASSWORD; registry.username/password in config.yaml; the Kubernetes pull
/// secret (-CredentialSecret, registry.credential_secret); Docker's config.json auths, credHelpers, credsStore; Podman's
/// auth.json; else anonymous. Each credential carries the name of its source (never its secret) for verbose text and
/// for the message when the registry refuses it.
/// </summary>
internal static class RegistryCredentialChain
{
    /// <summary>The source name of an anonymous attempt.</summary>
    public const string Anonymous = "anonymous";

    /// <summary>
    /// Gets how to ask a credential's source once more when the registry refuses it: credential helpers hand out
    /// short-lived tokens (ECR's last 12 hours), so a long run asks the helper again; other sources give the same secret.
    /// </summary>
    /// <param name="credential">The credential in use.</param>
    /// <param name="endpoint">The registry.</param>
    /// <returns>The question, or <see langword="null"/> when its source is not a helper.</returns>
    public static Func<CancellationToken, Task<RegistryCredential?>>? RefreshFor(RegistryCredential? credential, RegistryEndpoint endpoint) =>
        credential is not null && (credential.Source.StartsWith("credHelpers ", StringComparison.Ordinal) || credential.Source.StartsWith("credsStore ", StringComparison.Ordinal))
            ? token => RegistryCredentialStores.ResolveAsync(endpoint, new CredentialStoreLookup(), token)
            : null;

    /// <summary>The longest a pull secret the user did not name may take to read: it is only a fallback.</summary>
    private static readonly TimeSpan ConfiguredSecretTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Resolves the credential for <paramref name="endpoint"/>.</summary>
    /// <param name="configuration">The configuration.</param>
    /// <param name="endpoint">The registry.</param>
    /// <param name="input">The cmdlet's parameters.</param>
    /// <param name="note">Where to say why a source gave nothing (verbose; never a secret).</param>
    /// <param name="cancellationToken">Cancels helpers and the secret read.</param>
    /// <returns>The credential, or <see langword="null"/> for anonymous access.</returns>
    /// <exception cref="PullSecretUnreadableException">-CredentialSecret names a secret that cannot be read or has nothing for the registry.</exception>
    /// <exception cref="CredentialHelperException">A credential helper failed.</exception>
    /// <exception cref="InvalidDataException">A Docker config.json or auth.json is invalid.</exception>
    public static async Task<RegistryCredential?> ResolveAsync(
        RegistryCleanerConfiguration configuration, RegistryEndpoint endpoint, CredentialChainInput input, Action<string> note, CancellationToken cancellationToken)
    {
        if (input.Credential is not null)
        {
            // The password leaves its SecureString only here, for the client that sends it.
            NetworkCredential network = input.Credential.GetNetworkCredential();
            return new RegistryCredential(input.Credential.UserName, network.Password).WithSource("-Credential");
        }

        if (configuration.GetString(ConfigSchema.RegistryPassword) is { Length: > 0 } password)
        {
            ConfigValue configured = configuration[ConfigSchema.RegistryPassword];
            string source = configured.Source == ConfigSource.Environment
                ? "environment (REGISTRY_PASSWORD)"
                : $"config file ({configuration.FilePath ?? configured.Source.ToString()})";
            return new RegistryCredential(configuration.GetString(ConfigSchema.RegistryUsername) ?? RegistryCredentialResolver.DefaultUsername, password)
                .WithSource(source);
        }

        string? secret = input.CredentialSecret ?? (configuration.GetString(ConfigSchema.RegistryCredentialSecret) is { Length: > 0 } fromConfig ? fromConfig : null);
        if (secret is not null)
        {
            bool named = input.CredentialSecret is not null;
            IReadOnlyList<string> contexts = configuration.GetList(ConfigSchema.Contexts);
            try
            {
                RegistryCredential? fromSecret = await KubernetesPullSecret.ReadAsync(
                    secret,
                    endpoint,
                    input.KubeConfig ?? configuration.GetString(ConfigSchema.KubeConfig),
                    input.Context ?? (contexts.Count == 1 ? contexts[0] : null),
                    named ? input.Timeout : (input.Timeout < ConfiguredSecretTimeout ? input.Timeout : ConfiguredSecretTimeout),
                    cancellationToken).ConfigureAwait(false);
                if (fromSecret is not null)
                {
                    return fromSecret;
                }

                string none = $"The pull secret {secret} has no credentials for {endpoint.DisplayName} (no auths entry for that host).";
                if (named)
                {
                    throw new PullSecretUnreadableException(none);
                }

                note($"Registry {endpoint.DisplayName}: {none} Trying the next source.");
            }
            catch (FormatException ex)
            {
                if (named)
                {
                    throw new PullSecretUnreadableException(ex.Message, ex);
                }

                note($"Registry {endpoint.DisplayName}: registry.credential_secret: {ex.Message} Trying the next source.");
            }
            catch (PullSecretUnreadableException ex) when (!named)
            {
                // registry.credential_secret is a fallback: a run with other credentials, or none needed, goes on.
                note($"Registry {endpoint.DisplayName}: {ex.Message} (registry.credential_secret). Trying the next source.");
            }
        }

        return await RegistryCredentialStores.ResolveAsync(endpoint, new CredentialStoreLookup { Note = note }, cancellationToken).ConfigureAwait(false);
    }
}
