using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.Faults;

/// <summary>
/// A small real registry for fault tests: two repositories, six tags with distinct layers (so every tag is its own
/// manifest and a deletion candidate under <c>-InUse @()</c>), behind a <see cref="FaultProxy"/>. One per test, since
/// deletion tests change it.
/// </summary>
public sealed class FaultRegistry : IAsyncDisposable
{
    public static readonly string[] Tags = ["app/web:v1", "app/web:v2", "app/web:v3", "app/api:a1", "app/api:a2", "app/api:a3"];

    private FaultRegistry(RegistryServer server, FaultProxy proxy, string folder, IReadOnlyDictionary<string, string> digests)
    {
        this.Server = server;
        this.Proxy = proxy;
        this.Folder = folder;
        this.Digests = digests;
    }

    public RegistryServer Server { get; }

    public FaultProxy Proxy { get; }

    /// <summary>Gets a temporary folder for journals and session files.</summary>
    public string Folder { get; }

    /// <summary>Gets the manifest digest of each "repository:tag".</summary>
    public IReadOnlyDictionary<string, string> Digests { get; }

    /// <summary>Gets the proxy address as a -Registry argument.</summary>
    public string Registry => this.Proxy.BaseAddress.ToString();

    public static async Task<FaultRegistry> CreateAsync(RegistryServerOptions? options = null)
    {
        var server = new RegistryServer(options ?? new RegistryServerOptions());
        var digests = new Dictionary<string, string>(StringComparer.Ordinal);
        System.Net.Http.Headers.AuthenticationHeaderValue? authorization = server.Options.Auth == RegistryAuthMode.Htpasswd
            ? new("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{server.Options.Username}:{server.Options.Password}")))
            : null;
        using (var pusher = new ImagePusher(server.BaseAddress, authorization))
        {
            int seed = 100;
            foreach (string name in Tags)
            {
                string[] parts = name.Split(':');
                PushedImage image = await pusher.PushImageAsync(parts[0], parts[1], [ImagePusher.Layer(seed++, 2048), ImagePusher.Layer(seed++, 1024)]);
                digests[name] = image.Digest;
            }
        }

        string folder = Directory.CreateTempSubdirectory("registrycleaner-faults-").FullName;
        return new FaultRegistry(server, FaultProxy.Start(server.BaseAddress), folder, digests);
    }

    /// <summary>Gets the manifest path regex of one "repository:tag" (by tag) or its digest (<paramref name="byDigest"/>).</summary>
    public string ManifestPath(string name, bool byDigest = false)
    {
        string[] parts = name.Split(':');
        string reference = byDigest ? this.Digests[name] : parts[1];
        return $"^/v2/{System.Text.RegularExpressions.Regex.Escape(parts[0])}/manifests/{System.Text.RegularExpressions.Regex.Escape(reference)}$";
    }

    /// <summary>Returns the tags still in the registry (asked directly, not through the proxy).</summary>
    public async Task<SortedSet<string>> RemainingTagsAsync()
    {
        using var client = new RegistryCleaner.Registry.RegistryClient(
            RegistryCleaner.Registry.RegistryEndpoint.Parse(this.Server.Registry),
            new RegistryCleaner.Registry.RegistryClientOptions
            {
                Credential = this.Server.Options.Auth == RegistryAuthMode.Htpasswd
                    ? new RegistryCleaner.Registry.RegistryCredential(this.Server.Options.Username, this.Server.Options.Password)
                    : null,
            });
        var remaining = new SortedSet<string>(StringComparer.Ordinal);
        foreach (string name in Tags)
        {
            string[] parts = name.Split(':');
            if (await client.HeadManifestAsync(parts[0], parts[1], CancellationToken.None) is not null)
            {
                remaining.Add(name);
            }
        }

        return remaining;
    }

    public async ValueTask DisposeAsync()
    {
        await this.Proxy.DisposeAsync();
        this.Server.Dispose();
        try
        {
            Directory.Delete(this.Folder, recursive: true);
        }
        catch (IOException)
        {
            // A straggling handle must not fail the run.
        }
    }
}
