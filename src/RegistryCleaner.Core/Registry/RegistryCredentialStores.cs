using System.Text;
using System.Text.Json;
using RegistryCleaner.Configuration;

namespace RegistryCleaner.Registry;

/// <summary>What <see cref="RegistryCredentialStores"/> reads from: the environment, the home folder, and where to say what it skipped.</summary>
public sealed class CredentialStoreLookup
{
    /// <summary>Gets the environment (<c>DOCKER_CONFIG</c>, <c>REGISTRY_AUTH_FILE</c>, <c>XDG_RUNTIME_DIR</c>).</summary>
    public Func<string, string?> Environment { get; init; } = System.Environment.GetEnvironmentVariable;

    /// <summary>Gets the user's home folder; <see langword="null"/> uses the current user's.</summary>
    public string? HomeDirectory { get; init; }

    /// <summary>Gets how long a credential helper may take.</summary>
    public TimeSpan HelperTimeout { get; init; } = DockerCredentialHelper.DefaultTimeout;

    /// <summary>Gets where to say why a store gave nothing (verbose text: names and paths, never a secret).</summary>
    public Action<string>? Note { get; init; }
}

/// <summary>
/// The credential stores other tools already fill, in the order they are asked: Docker's <c>config.json</c>
/// (<c>$DOCKER_CONFIG/config.json</c> or <c>~/.docker/config.json</c>) <c>auths</c>, then its <c>credHelpers</c> entry for
/// the registry, else its <c>credsStore</c>, through <c>docker-credential-&lt;name&gt; get</c>; then Podman's
/// <c>auth.json</c> (<c>$REGISTRY_AUTH_FILE</c>, else <c>$XDG_RUNTIME_DIR/containers/auth.json</c>, else
/// <c>~/.config/containers/auth.json</c>; containers-auth.json(5)) the same way.
/// </summary>
public static class RegistryCredentialStores
{
    /// <summary>Finds the credential for <paramref name="endpoint"/> in the stores.</summary>
    /// <param name="endpoint">The registry.</param>
    /// <param name="lookup">Environment, home folder and notes.</param>
    /// <param name="cancellationToken">Cancels a helper.</param>
    /// <returns>The credential with its <see cref="RegistryCredential.Source"/>, or <see langword="null"/>.</returns>
    /// <exception cref="InvalidDataException">A store file is not valid JSON or has an invalid <c>auth</c>.</exception>
    /// <exception cref="CredentialHelperException">A helper failed, timed out, or is named by a file others can write.</exception>
    public static async Task<RegistryCredential?> ResolveAsync(RegistryEndpoint endpoint, CredentialStoreLookup lookup, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(lookup);
        if (DockerConfigPath(lookup) is { } docker && File.Exists(docker))
        {
            if (await FromFileAsync(docker, "config.json", endpoint, lookup, cancellationToken).ConfigureAwait(false) is { } found)
            {
                return found;
            }
        }

        if (PodmanAuthPath(lookup) is { } podman && File.Exists(podman))
        {
            return await FromFileAsync(podman, "auth.json", endpoint, lookup, cancellationToken).ConfigureAwait(false);
        }

        return null;
    }

    /// <summary>Gets Docker's config.json path (it may not exist).</summary>
    /// <param name="lookup">The environment and home folder.</param>
    /// <returns>The path, or <see langword="null"/> without a home folder.</returns>
    public static string? DockerConfigPath(CredentialStoreLookup lookup)
    {
        ArgumentNullException.ThrowIfNull(lookup);
        if (lookup.Environment("DOCKER_CONFIG") is { Length: > 0 } directory)
        {
            return Path.Combine(directory, "config.json");
        }

        return Home(lookup) is { } home ? Path.Combine(home, ".docker", "config.json") : null;
    }

    /// <summary>Gets the Podman auth.json to read: <c>$REGISTRY_AUTH_FILE</c>, else the first that exists of <c>$XDG_RUNTIME_DIR/containers/auth.json</c> and <c>~/.config/containers/auth.json</c>.</summary>
    /// <param name="lookup">The environment and home folder.</param>
    /// <returns>The path, or <see langword="null"/>.</returns>
    public static string? PodmanAuthPath(CredentialStoreLookup lookup)
    {
        ArgumentNullException.ThrowIfNull(lookup);
        if (lookup.Environment("REGISTRY_AUTH_FILE") is { Length: > 0 } named)
        {
            return named;
        }

        if (lookup.Environment("XDG_RUNTIME_DIR") is { Length: > 0 } runtime && Path.Combine(runtime, "containers", "auth.json") is var runtimeFile && File.Exists(runtimeFile))
        {
            return runtimeFile;
        }

        return Home(lookup) is { } home && Path.Combine(home, ".config", "containers", "auth.json") is var userFile && File.Exists(userFile) ? userFile : null;
    }

    private static string? Home(CredentialStoreLookup lookup)
    {
        string home = lookup.HomeDirectory ?? System.Environment.GetFolderPath(System.Environment.SpecialFolder.UserProfile);
        return string.IsNullOrEmpty(home) ? null : home;
    }

    private static async Task<RegistryCredential?> FromFileAsync(string path, string label, RegistryEndpoint endpoint, CredentialStoreLookup lookup, CancellationToken cancellationToken)
    {
        string text;
        (string Reason, bool ForeignOwner)? trustProblem;
        using (FileStream file = new(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
        {
            trustProblem = ConfigFileTrust.Problem(file.SafeFileHandle);
            using var reader = new StreamReader(file, Encoding.UTF8);
            text = await reader.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
        }

        if (RegistryCredentialResolver.FromDockerConfig(text, endpoint, $"{label} auths ({path})") is { } fromAuths)
        {
            return fromAuths;
        }

        (string? helper, string kind) = HelperFor(text, endpoint);
        if (helper is null)
        {
            return null;
        }

        string source = $"{kind} '{helper}'";
        if (trustProblem is { } problem)
        {
            // A helper is a program the file names: run it only from a file nobody else can write, as for config.yaml.
            throw new CredentialHelperException($"{path} names the credential helper {DockerCredentialHelper.ProgramName(helper)} ({kind}), but {problem.Reason}: the helper is not run. Make the file yours and not writable by others (chmod go-w), or pass -Credential.");
        }

        try
        {
            RegistryCredential? credential = await DockerCredentialHelper.GetAsync(helper, RegistryCredentialResolver.ServerUrl(endpoint), lookup.HelperTimeout, cancellationToken).ConfigureAwait(false);
            if (credential is null)
            {
                lookup.Note?.Invoke($"Registry {endpoint.DisplayName}: {source} in {path} has no credentials for it.");
                return null;
            }

            return credential.WithSource(source);
        }
        catch (FileNotFoundException)
        {
            lookup.Note?.Invoke($"Registry {endpoint.DisplayName}: {path} names {source}, but {DockerCredentialHelper.ProgramName(helper)} is not on PATH; skipped.");
            return null;
        }
    }

    // Docker asks credHelpers[host] when it names the registry, else credsStore (docker/cli configfile.GetCredentialsStore).
    private static (string? Helper, string Kind) HelperFor(string json, RegistryEndpoint endpoint)
    {
        using JsonDocument document = JsonDocument.Parse(json);
        JsonElement root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            return (null, string.Empty);
        }

        if (root.TryGetProperty("credHelpers", out JsonElement helpers) && helpers.ValueKind == JsonValueKind.Object)
        {
            foreach (JsonProperty entry in helpers.EnumerateObject())
            {
                if (entry.Value.ValueKind == JsonValueKind.String && entry.Value.GetString() is { Length: > 0 } name && RegistryCredentialResolver.KeyMatches(entry.Name, endpoint))
                {
                    return (name, "credHelpers");
                }
            }
        }

        return root.TryGetProperty("credsStore", out JsonElement store) && store.ValueKind == JsonValueKind.String && store.GetString() is { Length: > 0 } storeName
            ? (storeName, "credsStore")
            : (null, string.Empty);
    }
}
