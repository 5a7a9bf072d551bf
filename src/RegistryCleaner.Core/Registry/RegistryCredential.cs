using System.Text;
using System.Text.Json;

namespace RegistryCleaner.Registry;

/// <summary>
/// Credentials for one registry: a user name and password, or an identity token (a Docker <c>config.json</c>
/// <c>identitytoken</c>, used as the OAuth2 refresh token in the bearer flow). The secret never appears in
/// <see cref="ToString"/>.
/// </summary>
public sealed class RegistryCredential
{
    /// <summary>Initializes a user name and password credential.</summary>
    /// <param name="username">The user name.</param>
    /// <param name="password">The password.</param>
    public RegistryCredential(string username, string password)
    {
        ArgumentNullException.ThrowIfNull(username);
        ArgumentNullException.ThrowIfNull(password);
        this.Username = username;
        this.Password = password;
    }

    private RegistryCredential(string username, string? password, string? identityToken)
    {
        this.Username = username;
        this.Password = password;
        this.IdentityToken = identityToken;
    }

    /// <summary>Gets the user name.</summary>
    public string Username { get; }

    /// <summary>Gets the password; <see langword="null"/> for an identity-token credential.</summary>
    internal string? Password { get; }

    /// <summary>Gets the identity (refresh) token, when the credential is one.</summary>
    internal string? IdentityToken { get; }

    /// <summary>Gets where the credential came from, for diagnostics and refusals: <c>-Credential</c>, <c>environment (REGISTRY_PASSWORD)</c>, <c>credHelpers 'name'</c> and so on; never the secret.</summary>
    public string Source { get; private init; } = "-Credential";

    /// <summary>Creates an identity-token credential (the <c>identitytoken</c> of a Docker <c>config.json</c>).</summary>
    /// <param name="username">The user name (often <c>&lt;token&gt;</c>).</param>
    /// <param name="identityToken">The refresh token.</param>
    /// <returns>The credential.</returns>
    public static RegistryCredential FromIdentityToken(string username, string identityToken)
    {
        ArgumentNullException.ThrowIfNull(identityToken);
        return new RegistryCredential(username ?? string.Empty, null, identityToken);
    }

    /// <summary>Returns a description without the secret.</summary>
    /// <returns>The user name and source.</returns>
    public override string ToString() => $"{this.Username} ({this.Source})";

    /// <summary>Returns the same credential naming where it came from, so a refusal points the user at the right place.</summary>
    /// <param name="source"><c>Environment</c>, a file path, or another short description (never the secret).</param>
    /// <returns>The credential with <see cref="Source"/> set.</returns>
    public RegistryCredential WithSource(string source) =>
        new(this.Username, this.Password, this.IdentityToken) { Source = source };

    internal string BasicAuthorizationParameter() =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes($"{this.Username}:{this.Password}"));
}

/// <summary>
/// Resolves the credential for a registry: an explicit credential, else <c>REGISTRY_USERNAME</c> /
/// <c>REGISTRY_PASSWORD</c> (the user name defaults to <see cref="DefaultUsername"/>), else the Docker
/// <c>config.json</c> (<c>$DOCKER_CONFIG/config.json</c> or <c>~/.docker/config.json</c>).
/// </summary>
public static class RegistryCredentialResolver
{
    /// <summary>The Domino registry user name used when only a password is set.</summary>
    public const string DefaultUsername = "domino-registry";

    /// <summary>Resolves the credential for <paramref name="endpoint"/>.</summary>
    /// <param name="endpoint">The registry.</param>
    /// <param name="explicitCredential">A credential the user passed, which wins when present.</param>
    /// <param name="environment">Reads an environment variable; <see langword="null"/> reads the process environment.</param>
    /// <param name="homeDirectory">The user's home directory; <see langword="null"/> uses the current user's.</param>
    /// <returns>The credential, or <see langword="null"/> for anonymous access.</returns>
    /// <exception cref="InvalidDataException">The Docker config.json exists but cannot be read as JSON.</exception>
    public static RegistryCredential? Resolve(
        RegistryEndpoint endpoint,
        RegistryCredential? explicitCredential,
        Func<string, string?>? environment = null,
        string? homeDirectory = null)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        if (explicitCredential is not null)
        {
            return explicitCredential;
        }

        environment ??= Environment.GetEnvironmentVariable;
        string? password = environment("REGISTRY_PASSWORD");
        if (!string.IsNullOrEmpty(password))
        {
            string? username = environment("REGISTRY_USERNAME");
            return new RegistryCredential(string.IsNullOrEmpty(username) ? DefaultUsername : username, password)
                .WithSource("environment (REGISTRY_PASSWORD)");
        }

        string? dockerConfigDirectory = environment("DOCKER_CONFIG");
        if (string.IsNullOrEmpty(dockerConfigDirectory))
        {
            string home = homeDirectory ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            if (string.IsNullOrEmpty(home))
            {
                return null;
            }

            dockerConfigDirectory = Path.Combine(home, ".docker");
        }

        string configPath = Path.Combine(dockerConfigDirectory, "config.json");
        return File.Exists(configPath) ? FromDockerConfig(File.ReadAllText(configPath), endpoint, configPath) : null;
    }

    /// <summary>Resolves with an injected environment dictionary (tests, configuration layers).</summary>
    /// <param name="endpoint">The registry.</param>
    /// <param name="explicitCredential">A credential the user passed.</param>
    /// <param name="environment">The environment variables.</param>
    /// <param name="homeDirectory">The user's home directory.</param>
    /// <returns>The credential, or <see langword="null"/> for anonymous access.</returns>
    public static RegistryCredential? Resolve(
        RegistryEndpoint endpoint,
        RegistryCredential? explicitCredential,
        IReadOnlyDictionary<string, string> environment,
        string? homeDirectory)
    {
        ArgumentNullException.ThrowIfNull(environment);
        return Resolve(endpoint, explicitCredential, name => environment.TryGetValue(name, out string? v) ? v : null, homeDirectory);
    }

    /// <summary>Reads the credential for a registry from the text of a Docker <c>config.json</c>.</summary>
    /// <param name="json">The file's text.</param>
    /// <param name="endpoint">The registry.</param>
    /// <param name="source">The file path, for messages.</param>
    /// <returns>The credential, or <see langword="null"/> when the file has none for this registry.</returns>
    /// <exception cref="InvalidDataException">The text is not a Docker config or its <c>auth</c> is not base64 <c>user:password</c>.</exception>
    public static RegistryCredential? FromDockerConfig(string json, RegistryEndpoint endpoint, string source)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentNullException.ThrowIfNull(endpoint);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"The Docker config '{source}' is not valid JSON: {ex.Message}", ex);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("auths", out JsonElement auths)
                || auths.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            foreach (JsonProperty entry in auths.EnumerateObject())
            {
                if (!KeyMatches(entry.Name, endpoint) || entry.Value.ValueKind != JsonValueKind.Object)
                {
                    continue;
                }

                string? identityToken = StringProperty(entry.Value, "identitytoken");
                string? auth = StringProperty(entry.Value, "auth");
                string? username = StringProperty(entry.Value, "username");
                string? password = StringProperty(entry.Value, "password");
                if (!string.IsNullOrEmpty(auth))
                {
                    string decoded;
                    try
                    {
                        decoded = Encoding.UTF8.GetString(Convert.FromBase64String(auth));
                    }
                    catch (FormatException ex)
                    {
                        throw new InvalidDataException($"The Docker config '{source}' has an auth entry for {endpoint.DisplayName} that is not base64.", ex);
                    }

                    int colon = decoded.IndexOf(':', StringComparison.Ordinal);
                    if (colon < 0)
                    {
                        throw new InvalidDataException($"The Docker config '{source}' has an auth entry for {endpoint.DisplayName} that is not user:password.");
                    }

                    username = decoded[..colon];
                    password = decoded[(colon + 1)..];
                }

                if (!string.IsNullOrEmpty(identityToken))
                {
                    return RegistryCredential.FromIdentityToken(username ?? string.Empty, identityToken).WithSource(source);
                }

                if (username is not null && password is not null)
                {
                    return new RegistryCredential(username, password).WithSource(source);
                }
            }
        }

        return null;
    }

    private static string? StringProperty(JsonElement element, string name) =>
        element.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    // docker login stores keys as host[:port] or as a URL (https://host[:port]/v1/ for Docker Hub). podman may also
    // key a credential by host/namespace: that one is for part of the registry only, so it is not used for all of it.
    internal static bool KeyMatches(string key, RegistryEndpoint endpoint)
    {
        string host = key;
        int scheme = host.IndexOf("://", StringComparison.Ordinal);
        if (scheme >= 0)
        {
            host = host[(scheme + 3)..];
        }

        int slash = host.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            if (scheme < 0 && host[(slash + 1)..].Trim('/').Length > 0)
            {
                return false;
            }

            host = host[..slash];
        }

        return string.Equals(CanonicalHost(host), CanonicalHost(endpoint.DisplayName), StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Gets the name Docker uses for a registry in its credential stores: Docker Hub's aliases are one registry.</summary>
    /// <param name="endpoint">The registry.</param>
    /// <returns><c>https://index.docker.io/v1/</c> for Docker Hub, else host[:port].</returns>
    internal static string ServerUrl(RegistryEndpoint endpoint) =>
        CanonicalHost(endpoint.DisplayName) == "docker.io" ? "https://index.docker.io/v1/" : endpoint.DisplayName;

    private static string CanonicalHost(string host) => host.ToLowerInvariant() switch
    {
        "docker.io" or "index.docker.io" or "registry-1.docker.io" or "registry.hub.docker.com" => "docker.io",
        string other => other,
    };
}
