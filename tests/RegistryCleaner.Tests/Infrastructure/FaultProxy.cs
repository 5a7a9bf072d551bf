using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using RegistryCleaner.Registry;

namespace RegistryCleaner.Tests.Infrastructure;

/// <summary>What a <see cref="FaultProxy"/> does to a matching request instead of a clean forward.</summary>
public enum FaultKind
{
    /// <summary>429 with <c>Retry-After: 1</c>; the registry never sees the request.</summary>
    TooManyRequests,

    /// <summary>503; the registry never sees the request.</summary>
    ServiceUnavailable,

    /// <summary>Forwards, sends the headers and half the body, then aborts the connection.</summary>
    ResetMidBody,

    /// <summary>Only waits <see cref="Fault.Delay"/> (the client may give up first), then forwards.</summary>
    Slow,

    /// <summary>Forwards and answers half the body with a Content-Length that matches the half.</summary>
    TruncatedBody,

    /// <summary>Forwards (the registry acts on it), then aborts without answering: a lost response.</summary>
    LoseResponse,

    /// <summary>500 with a distribution error body; the registry never sees the request (not retried: not transient).</summary>
    InternalServerError,

    /// <summary>
    /// Forwards, then answers with the registry's status and headers and a chunked body that never ends: the registry's
    /// body followed by spaces (still JSON) until the client leaves; <see cref="FaultProxy.EndlessBytes"/> counts what was sent.
    /// </summary>
    EndlessBody,

    /// <summary>Forwards, then answers the registry's body with a space appended, under the registry's own <c>Docker-Content-Digest</c>.</summary>
    AlteredBody,

    /// <summary>404 MANIFEST_UNKNOWN (no body for a HEAD); the registry never sees the request.</summary>
    NotFound,

    /// <summary>
    /// Forwards (the registry acts on it: a DELETE reaches storage), then answers 500 with a distribution error body
    /// instead of the registry's answer, as a registry that fails after the change took place.
    /// </summary>
    ForwardThenServerError,

    /// <summary>
    /// Forwards, then answers as the registry did but without its <c>Docker-Content-Digest</c> header, as registries
    /// that do not send it: the client must name the manifest by the body's own hash.
    /// </summary>
    WithoutDigestHeader,
}

/// <summary>One programmed fault: requests matching method and path get <see cref="Kind"/>, <see cref="Remaining"/> times.</summary>
public sealed class Fault(string method, Regex path, FaultKind kind, int times, TimeSpan delay, int skip = 0)
{
    private int remaining = times;
    private int hits;
    private int skipping = skip;

    public string Method { get; } = method;

    public Regex Path { get; } = path;

    public FaultKind Kind { get; } = kind;

    public TimeSpan Delay { get; } = delay;

    /// <summary>Gets how often the fault fired.</summary>
    public int Hits => Volatile.Read(ref this.hits);

    /// <summary>Gets how many more times it fires (negative: always).</summary>
    public int Remaining => Volatile.Read(ref this.remaining);

    /// <summary>Stops the fault firing (for a clean rerun against the same proxy).</summary>
    public void Disable() => Volatile.Write(ref this.remaining, 0);

    internal bool TryFire(HttpRequest request)
    {
        if (!string.Equals(request.Method, this.Method, StringComparison.OrdinalIgnoreCase) || !this.Path.IsMatch(request.Path.Value ?? string.Empty))
        {
            return false;
        }

        // The first matching requests pass untouched (a read while planning, say, before the one under test).
        if (Volatile.Read(ref this.skipping) > 0 && Interlocked.Decrement(ref this.skipping) >= 0)
        {
            return false;
        }

        while (true)
        {
            int left = Volatile.Read(ref this.remaining);
            if (left == 0)
            {
                return false;
            }

            // Negative means "always"; otherwise take one firing atomically (concurrent requests race for the last one).
            if (left < 0 || Interlocked.CompareExchange(ref this.remaining, left - 1, left) == left)
            {
                Interlocked.Increment(ref this.hits);
                return true;
            }
        }
    }
}

/// <summary>
/// A reverse proxy (Kestrel on a free loopback port) in front of a real registry that injects programmed faults, so
/// the module meets rate limits, 503 bursts, dropped connections, slow and truncated answers exactly as over a network.
/// Unmatched requests are forwarded unchanged (status, headers, body).
/// </summary>
public sealed partial class FaultProxy : IAsyncDisposable, IDisposable
{
    private static readonly HashSet<string> HopByHop = new(StringComparer.OrdinalIgnoreCase) { "Connection", "Keep-Alive", "Transfer-Encoding", "Host", "Content-Length" };
    private readonly ConcurrentQueue<Fault> faults = new();
    private readonly HttpClient upstream;
    private readonly Uri target;
    private readonly string? oci11Storage;
    private WebApplication app = null!;
    private long endlessBytes;

    private FaultProxy(Uri target, string? oci11Storage)
    {
        this.target = target;
        this.oci11Storage = oci11Storage;
        this.upstream = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, AutomaticDecompression = DecompressionMethods.None, UseCookies = false })
        {
            Timeout = TimeSpan.FromSeconds(30),
        };
    }

    /// <summary>Gets the proxy as the module names a registry: <c>http://127.0.0.1:port/</c>.</summary>
    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>Gets the count of requests seen, by "METHOD path".</summary>
    public ConcurrentDictionary<string, int> Requests { get; } = new(StringComparer.Ordinal);

    /// <summary>Gets the bytes sent by <see cref="FaultKind.EndlessBody"/> answers so far.</summary>
    public long EndlessBytes => Interlocked.Read(ref this.endlessBytes);

    /// <summary>
    /// Starts a proxy. With <paramref name="oci11Storage"/> (the registry's storage root) it also speaks what
    /// distribution 2.8 lacks of OCI distribution 1.1, from the registry's own files: the referrers API (every
    /// revision of the repository whose <c>subject</c> is the digest, two per page), and tag deletion, which removes the
    /// tag's folder <c>_manifests/tags/&lt;tag&gt;</c> exactly as distribution 3 does (404 <c>MANIFEST_UNKNOWN</c> when absent).
    /// </summary>
    public static FaultProxy Start(Uri target, string? oci11Storage = null)
    {
        var proxy = new FaultProxy(target, oci11Storage);
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        proxy.app = builder.Build();
        proxy.app.Run(proxy.HandleAsync);
        proxy.app.StartAsync().GetAwaiter().GetResult();
        string address = proxy.app.Services.GetRequiredServiceOf<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        proxy.BaseAddress = new Uri(address.TrimEnd('/') + "/");
        return proxy;
    }

    /// <summary>Programs a fault; <paramref name="times"/> negative means every matching request.</summary>
    public Fault Add(string method, string pathPattern, FaultKind kind, int times = 1, TimeSpan? delay = null, int skip = 0)
    {
        var fault = new Fault(method, new Regex(pathPattern, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1)), kind, times, delay ?? TimeSpan.Zero, skip);
        this.faults.Enqueue(fault);
        return fault;
    }

    public async ValueTask DisposeAsync()
    {
        await this.app.StopAsync().ConfigureAwait(false);
        await this.app.DisposeAsync().ConfigureAwait(false);
        this.upstream.Dispose();
    }

    public void Dispose() => this.DisposeAsync().AsTask().GetAwaiter().GetResult();

    private async Task HandleAsync(HttpContext context)
    {
        HttpRequest request = context.Request;
        this.Requests.AddOrUpdate($"{request.Method} {request.Path}", 1, static (_, n) => n + 1);
        await this.RunHooksAsync(request).ConfigureAwait(false);
        Fault? fault = this.faults.FirstOrDefault(f => f.TryFire(request));
        if (fault is null && await this.TryAnswerAsCloudAsync(context).ConfigureAwait(false))
        {
            return;
        }

        if (fault is null && this.oci11Storage is not null && await this.TryAnswerOci11Async(context).ConfigureAwait(false))
        {
            return;
        }

        if (fault is { Delay.Ticks: > 0 })
        {
            // Any fault may come late (Slow is only a delay): lets tests line up concurrent runs on one request.
            try
            {
                await Task.Delay(fault.Delay, context.RequestAborted).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // The client gave up (its timeout or Ctrl+C): nothing to answer.
                return;
            }
        }

        switch (fault?.Kind)
        {
            case FaultKind.TooManyRequests:
                context.Response.StatusCode = 429;
                context.Response.Headers.RetryAfter = "1";
                return;
            case FaultKind.ServiceUnavailable:
                context.Response.StatusCode = 503;
                return;
            case FaultKind.InternalServerError:
                context.Response.StatusCode = 500;
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync("""{"errors":[{"code":"UNKNOWN","message":"unknown error","detail":"injected by the fault proxy"}]}""").ConfigureAwait(false);
                return;
            case FaultKind.NotFound:
                context.Response.StatusCode = 404;
                if (!HttpMethods.IsHead(request.Method))
                {
                    context.Response.ContentType = "application/json";
                    await context.Response.WriteAsync("""{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":"injected by the fault proxy"}]}""").ConfigureAwait(false);
                }

                return;
        }

        using HttpResponseMessage response = await this.ForwardAsync(context).ConfigureAwait(false);
        byte[] body = await response.Content.ReadAsByteArrayAsync().ConfigureAwait(false);
        if (fault?.Kind == FaultKind.LoseResponse)
        {
            context.Abort();
            return;
        }

        if (fault?.Kind == FaultKind.ForwardThenServerError)
        {
            context.Response.StatusCode = 500;
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("""{"errors":[{"code":"UNKNOWN","message":"unknown error","detail":"injected by the fault proxy after the registry answered"}]}""").ConfigureAwait(false);
            return;
        }

        context.Response.StatusCode = (int)response.StatusCode;
        foreach ((string name, IEnumerable<string> values) in response.Headers.Concat(response.Content.Headers))
        {
            if (!HopByHop.Contains(name) && !(fault?.Kind == FaultKind.WithoutDigestHeader && string.Equals(name, "Docker-Content-Digest", StringComparison.OrdinalIgnoreCase)))
            {
                context.Response.Headers[name] = values.ToArray();
            }
        }

        bool head = HttpMethods.IsHead(request.Method);
        if (fault?.Kind == FaultKind.TruncatedBody)
        {
            body = body[..(body.Length / 2)];
        }

        if (fault?.Kind == FaultKind.AlteredBody)
        {
            body = [.. body, (byte)' '];
        }

        if (fault?.Kind == FaultKind.EndlessBody && !head)
        {
            await this.WriteEndlessAsync(context, body).ConfigureAwait(false);
            return;
        }

        context.Response.ContentLength = head ? response.Content.Headers.ContentLength : body.Length;
        if (head)
        {
            return;
        }

        if (fault?.Kind == FaultKind.ResetMidBody)
        {
            await context.Response.Body.WriteAsync(body.AsMemory(0, body.Length / 2)).ConfigureAwait(false);
            await context.Response.Body.FlushAsync().ConfigureAwait(false);
            context.Abort();
            return;
        }

        await context.Response.Body.WriteAsync(body).ConfigureAwait(false);
    }

    private async Task WriteEndlessAsync(HttpContext context, byte[] body)
    {
        byte[] spaces = new byte[1 << 16];
        Array.Fill(spaces, (byte)' ');
        try
        {
            await context.Response.Body.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
            for (long sent = 0; sent < 2L << 30 && !context.RequestAborted.IsCancellationRequested; sent += spaces.Length)
            {
                // Kestrel completes writes to a closed connection without sending them: the flush result says so.
                System.IO.Pipelines.FlushResult flushed = await context.Response.BodyWriter.WriteAsync(spaces, context.RequestAborted).ConfigureAwait(false);
                if (flushed.IsCompleted || flushed.IsCanceled)
                {
                    return;
                }

                Interlocked.Add(ref this.endlessBytes, spaces.Length);

                // RequestAborted is signalled from the thread pool: yield so it is seen.
                await Task.Yield();
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or InvalidOperationException)
        {
            // The client left: what a bounded read looks like from here.
        }
    }

    private static async Task WriteJsonAsync(HttpContext context, int status, string contentType, string body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = contentType;
        context.Response.Headers["Docker-Distribution-Api-Version"] = "registry/2.0";
        await context.Response.WriteAsync(body).ConfigureAwait(false);
    }

    private async Task<bool> TryAnswerOci11Async(HttpContext context)
    {
        const string NameUnknown = "{\"errors\":[{\"code\":\"NAME_UNKNOWN\",\"message\":\"repository name not known to registry\"}]}";
        const string ManifestUnknown = "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest unknown\"}]}";
        string path = context.Request.Path.Value ?? string.Empty;
        string v2 = Path.Combine(this.oci11Storage!, "docker", "registry", "v2");
        Match referrers = Regex.Match(path, "^/v2/(?<name>.+)/referrers/(?<digest>sha256:[0-9a-f]{64})$", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        if (referrers.Success && HttpMethods.IsGet(context.Request.Method))
        {
            string repository = Path.Combine(v2, "repositories", referrers.Groups["name"].Value);
            if (!Directory.Exists(Path.Combine(repository, "_manifests")))
            {
                await WriteJsonAsync(context, 404, "application/json", NameUnknown).ConfigureAwait(false);
                return true;
            }

            string revisions = Path.Combine(repository, "_manifests", "revisions", "sha256");
            var found = new List<JsonObject>();
            foreach (string revision in Directory.Exists(revisions) ? Directory.EnumerateDirectories(revisions).Order(StringComparer.Ordinal) : Enumerable.Empty<string>())
            {
                if (!File.Exists(Path.Combine(revision, "link")))
                {
                    continue;
                }

                string hex = Path.GetFileName(revision);
                byte[] manifest = await File.ReadAllBytesAsync(Path.Combine(v2, "blobs", "sha256", hex[..2], hex, "data")).ConfigureAwait(false);
                JsonObject parsed = JsonNode.Parse(manifest)!.AsObject();
                if ((string?)parsed["subject"]?["digest"] != referrers.Groups["digest"].Value)
                {
                    continue;
                }

                var descriptor = new JsonObject
                {
                    ["mediaType"] = (string?)parsed["mediaType"],
                    ["size"] = manifest.Length,
                    ["digest"] = "sha256:" + hex,
                };
                string? artifactType = (string?)parsed["artifactType"] ?? (string?)parsed["config"]?["mediaType"];
                if (artifactType is not null)
                {
                    descriptor["artifactType"] = artifactType;
                }

                found.Add(descriptor);
            }

            int page = int.TryParse(context.Request.Query["page"], out int p) ? p : 0;
            if (found.Count > (page + 1) * 2)
            {
                context.Response.Headers.Link = $"<{path}?page={page + 1}>; rel=\"next\"";
            }

            var body = new JsonObject { ["schemaVersion"] = 2, ["mediaType"] = MediaTypes.OciIndex, ["manifests"] = new JsonArray([.. found.Skip(page * 2).Take(2)]) };
            await WriteJsonAsync(context, 200, MediaTypes.OciIndex, body.ToJsonString()).ConfigureAwait(false);
            return true;
        }

        Match tag = Regex.Match(path, "^/v2/(?<name>.+)/manifests/(?<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})$", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        if (tag.Success && HttpMethods.IsDelete(context.Request.Method))
        {
            string folder = Path.Combine(v2, "repositories", tag.Groups["name"].Value, "_manifests", "tags", tag.Groups["tag"].Value);
            if (!Directory.Exists(folder))
            {
                await WriteJsonAsync(context, 404, "application/json", ManifestUnknown).ConfigureAwait(false);
                return true;
            }

            Directory.Delete(folder, recursive: true);
            context.Response.StatusCode = 202;
            return true;
        }

        return false;
    }

    private async Task<HttpResponseMessage> ForwardAsync(HttpContext context)
    {
        HttpRequest request = context.Request;
        using var message = new HttpRequestMessage(new HttpMethod(request.Method), new Uri(this.target, request.Path.Value!.TrimStart('/') + request.QueryString));
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer).ConfigureAwait(false);
        if (buffer.Length > 0 || request.ContentLength is not null)
        {
            message.Content = new ByteArrayContent(buffer.ToArray());
        }

        foreach ((string name, Microsoft.Extensions.Primitives.StringValues values) in request.Headers)
        {
            if (HopByHop.Contains(name))
            {
                continue;
            }

            if (!message.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values) && message.Content is not null)
            {
                message.Content.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
            }
        }

        // Not the caller's abort token: a forwarded DELETE must complete on the registry even if the client left.
        return await this.upstream.SendAsync(message, HttpCompletionOption.ResponseContentRead).ConfigureAwait(false);
    }
}
