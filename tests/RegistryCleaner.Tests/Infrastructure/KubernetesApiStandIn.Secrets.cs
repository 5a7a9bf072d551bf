using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace RegistryCleaner.Tests.Infrastructure;

/// <summary>
/// Secrets on the stand-in: <c>GET /api/v1/namespaces/{ns}/secrets/{name}</c> answers 200 with the secret (its data
/// base64-encoded, as the real server sends it), 403 with a real Status when the secret is forbidden, else 404.
/// </summary>
public sealed partial class KubernetesApiStandIn
{
    private readonly ConcurrentDictionary<string, (string Type, IReadOnlyDictionary<string, string> Data)> secrets = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> forbiddenSecrets = new(StringComparer.Ordinal);

    /// <summary>Adds a secret.</summary>
    /// <param name="namespace">Its namespace.</param>
    /// <param name="name">Its name.</param>
    /// <param name="type">Its type, e.g. <c>kubernetes.io/dockerconfigjson</c>.</param>
    /// <param name="data">Its data, as text (served base64-encoded).</param>
    public void AddSecret(string @namespace, string name, string type, IReadOnlyDictionary<string, string> data) =>
        this.secrets[$"{@namespace}/{name}"] = (type, data);

    /// <summary>Adds an image pull secret whose <c>.dockerconfigjson</c> holds one registry entry with username and password.</summary>
    /// <param name="namespace">Its namespace.</param>
    /// <param name="name">Its name.</param>
    /// <param name="registryKey">The auths key, e.g. <c>127.0.0.1:5000</c>.</param>
    /// <param name="username">The user name.</param>
    /// <param name="password">The password.</param>
    /// <param name="asAuth">Writes <c>auth</c> (base64 user:password) instead of username and password.</param>
    public void AddPullSecret(string @namespace, string name, string registryKey, string username, string password, bool asAuth = false)
    {
        object entry = asAuth
            ? new { auth = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{username}:{password}")) }
            : new { username, password };
        string json = JsonSerializer.Serialize(new Dictionary<string, object> { ["auths"] = new Dictionary<string, object> { [registryKey] = entry } });
        this.AddSecret(@namespace, name, "kubernetes.io/dockerconfigjson", new Dictionary<string, string> { [".dockerconfigjson"] = json });
    }

    /// <summary>Makes a GET of the secret answer 403 Forbidden.</summary>
    /// <param name="namespace">Its namespace.</param>
    /// <param name="name">Its name.</param>
    public void ForbidSecret(string @namespace, string name) => this.forbiddenSecrets[$"{@namespace}/{name}"] = true;

    private async Task<bool> TryHandleSecretAsync(HttpContext context, string[] parts)
    {
        if (context.Request.Method != "GET" || parts is not ["api", "v1", "namespaces", string ns, "secrets", string name])
        {
            return false;
        }

        if (this.forbiddenSecrets.ContainsKey($"{ns}/{name}"))
        {
            await WriteStatusAsync(context, 403, "Forbidden", $"secrets \"{name}\" is forbidden: User \"system:serviceaccount:domino-platform:registry-cleaner\" cannot get resource \"secrets\" in API group \"\" in the namespace \"{ns}\"", "secrets");
            return true;
        }

        if (!this.secrets.TryGetValue($"{ns}/{name}", out var secret))
        {
            await WriteStatusAsync(context, 404, "NotFound", $"secrets \"{name}\" not found", "secrets");
            return true;
        }

        string body = JsonSerializer.Serialize(new
        {
            kind = "Secret",
            apiVersion = "v1",
            metadata = new { name, @namespace = ns, resourceVersion = "1" },
            type = secret.Type,
            data = secret.Data.ToDictionary(d => d.Key, d => Convert.ToBase64String(Encoding.UTF8.GetBytes(d.Value))),
        });
        await WriteJsonAsync(context, 200, body);
        return true;
    }
}
