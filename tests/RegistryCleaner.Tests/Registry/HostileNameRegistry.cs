using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using RegistryCleaner.Registry;
using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.Registry;

/// <summary>
/// A registry that lies about names and sizes: its catalog lists <c>x/%2E%2E/app</c>, the tag list of <c>app</c> lists
/// <c>a/../../b%2F..</c>, and some tags serve manifests with two layers of 2^63-1 bytes, a negative size, a descriptor
/// digest that is a path, or a <c>Docker-Content-Digest</c> header that is one. Every request target is recorded raw.
/// </summary>
internal sealed class HostileNameRegistry : IAsyncDisposable
{
    public const string BadRepository = "x/%2E%2E/app";
    public const string BadTag = "a/../../b%2F..";

    /// <summary>The valid tags that serve a sound image.</summary>
    public static readonly string[] GoodTags = ["good", "v2"];

    private const string ConfigJson = """{"created":"2024-01-01T00:00:00Z","os":"linux","architecture":"amd64"}""";

    private static readonly string ConfigDigest = ImagePusher.Digest(Encoding.UTF8.GetBytes(ConfigJson));

    private readonly StubHttpServer stub;

    public HostileNameRegistry()
    {
        this.stub = StubHttpServer.Start(this.AnswerAsync);
    }

    /// <summary>Gets every request target as sent (path and query, not decoded), in arrival order.</summary>
    public ConcurrentQueue<string> Requests { get; } = new();

    /// <summary>Gets the registry as -Registry takes it.</summary>
    public string Registry => this.stub.BaseAddress.ToString().TrimEnd('/');

    public Uri BaseAddress => this.stub.BaseAddress;

    /// <summary>Gets the requests that left the endpoints of the valid names: anything but /v2/, the catalog and /v2/app/….</summary>
    public IReadOnlyList<string> Escaped => this.Requests
        .Where(static target => target != "/v2/" && !target.StartsWith("/v2/_catalog", StringComparison.Ordinal)
            && (!target.StartsWith("/v2/app/", StringComparison.Ordinal) || target.Contains("..", StringComparison.Ordinal) || target.Contains('%', StringComparison.Ordinal)
                || target.Count(static c => c == '/') != 4))
        .ToArray();

    public ValueTask DisposeAsync() => this.stub.DisposeAsync();

    private static string Manifest(string layers) =>
        $$"""{"schemaVersion":2,"mediaType":"{{MediaTypes.DockerManifest}}","config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":{{ConfigJson.Length}},"digest":"{{ConfigDigest}}"},"layers":[{{layers}}]}""";

    private static string Layer(char hex, string size, string? digest = null) =>
        $$"""{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":{{size}},"digest":"{{digest ?? "sha256:" + new string(hex, 64)}}"}""";

    private async Task AnswerAsync(HttpContext context)
    {
        string target = context.Features.Get<IHttpRequestFeature>()!.RawTarget;
        this.Requests.Enqueue(target);
        string good = Manifest(Layer('1', "1000") + "," + Layer('2', "2000"));
        (int status, string body, string type, string? digestHeader) = target switch
        {
            "/v2/" => (200, "{}", "application/json", null),
            _ when target.StartsWith("/v2/_catalog", StringComparison.Ordinal) =>
                (200, $$"""{"repositories":["app","{{BadRepository}}"]}""", "application/json", null),
            _ when target.StartsWith("/v2/app/tags/list", StringComparison.Ordinal) =>
                (200, $$"""{"name":"app","tags":["good","{{BadTag}}","v2","huge","negative","pathdigest","pathheader"]}""", "application/json", null),
            "/v2/app/manifests/good" or "/v2/app/manifests/v2" => (200, good, MediaTypes.DockerManifest, null),

            // Two layers of 2^63-1 bytes: each a long, their sum not.
            "/v2/app/manifests/huge" => (200, Manifest(Layer('3', long.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture)) + "," + Layer('4', long.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture))), MediaTypes.DockerManifest, null),

            // -10^15 bytes is what showed as "freeing -909.5 TB".
            "/v2/app/manifests/negative" => (200, Manifest(Layer('5', "-1000000000000000")), MediaTypes.DockerManifest, null),
            "/v2/app/manifests/pathdigest" => (200, Manifest(Layer('6', "10", "sha256:../../../_catalog")), MediaTypes.DockerManifest, null),
            "/v2/app/manifests/pathheader" => (200, good, MediaTypes.DockerManifest, "sha256:../../../_catalog"),
            _ when target == "/v2/app/blobs/" + ConfigDigest => (200, ConfigJson, "application/octet-stream", null),
            _ => (404, """{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}""", "application/json", null),
        };
        context.Response.StatusCode = status;
        context.Response.ContentType = type;
        if (digestHeader is not null)
        {
            context.Response.Headers["Docker-Content-Digest"] = digestHeader;
        }

        await context.Response.WriteAsync(body);
    }
}
