using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Http;
using RegistryCleaner.Registry;
using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.Registry;

/// <summary>Behaviour a real registry will not produce on demand, served by a Kestrel stub.</summary>
public class RegistryStubTests
{
    private const string ConfigJson = """{"created":"2024-01-01T00:00:00Z","os":"linux","architecture":"amd64"}""";

    private static readonly string ConfigDigest = ImagePusher.Digest(Encoding.UTF8.GetBytes(ConfigJson));

    private static readonly string GoodManifest =
        $$$"""{"schemaVersion":2,"mediaType":"{{{MediaTypes.DockerManifest}}}","config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":{{{ConfigJson.Length}}},"digest":"{{{ConfigDigest}}}"},"layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":10,"digest":"sha256:{{{new string('1', 64)}}}"}]}""";

    private static readonly string IndexWithBadChild =
        $$$"""{"schemaVersion":2,"mediaType":"{{{MediaTypes.OciIndex}}}","manifests":[{"mediaType":"{{{MediaTypes.OciManifest}}}","size":10,"digest":"sha256:{{{new string('a', 64)}}}","platform":{"os":"linux","architecture":"amd64"}}]}""";

    [Fact]
    public async Task A_malformed_manifest_is_a_per_item_error_while_the_others_complete()
    {
        await using var stub = StubHttpServer.Start(async context =>
        {
            string path = context.Request.Path.Value!;
            (int status, string body, string type) = path switch
            {
                "/v2/" => (200, "{}", "application/json"),
                "/v2/app/tags/list" => (200, """{"name":"app","tags":["good","bad","index-bad-child","gone"]}""", "application/json"),
                "/v2/app/manifests/good" => (200, GoodManifest, MediaTypes.DockerManifest),
                "/v2/app/manifests/bad" => (200, "{\"schemaVersion\":2,\"config\":", MediaTypes.DockerManifest),
                "/v2/app/manifests/index-bad-child" => (200, IndexWithBadChild, MediaTypes.OciIndex),

                // Served under a digest it does not hash to.
                _ when path.StartsWith("/v2/app/manifests/sha256:", StringComparison.Ordinal) => (200, GoodManifest, MediaTypes.DockerManifest),
                _ when path == "/v2/app/blobs/" + ConfigDigest => (200, ConfigJson, "application/octet-stream"),
                _ => (404, """{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}""", "application/json"),
            };
            context.Response.StatusCode = status;
            context.Response.ContentType = type;
            await context.Response.WriteAsync(body);
        });

        using var client = new RegistryClient(RegistryEndpoint.Parse(stub.BaseAddress.ToString()));
        var reader = new InventoryReader(client, new InventoryReaderOptions { Repositories = ["app"] });
        var results = new List<TagReadResult>();
        await foreach (TagReadResult result in reader.ReadAsync(CancellationToken.None))
        {
            results.Add(result);
        }

        Assert.Equal(4, results.Count);
        TagReadResult good = results.Single(static r => r.Tag == "good");
        Assert.Null(good.Error);
        Assert.Equal(new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero), good.Manifest!.Created);

        ManifestFormatException bad = Assert.IsType<ManifestFormatException>(results.Single(static r => r.Tag == "bad").Error);
        Assert.Contains("app:bad", bad.Message, StringComparison.Ordinal);
        ManifestFormatException badChild = Assert.IsType<ManifestFormatException>(results.Single(static r => r.Tag == "index-bad-child").Error);
        Assert.Contains("app:index-bad-child", badChild.Message, StringComparison.Ordinal);
        Assert.Contains("hashes to", badChild.Message, StringComparison.Ordinal);
        RegistryException gone = results.Single(static r => r.Tag == "gone").Error!;
        Assert.Contains("app:gone", gone.Message, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);

        Assert.Equal(3, reader.Errors.Count);
        Assert.Equal(["good"], reader.Inventory.Tags.Select(static t => t.Tag));
        Assert.False(reader.Inventory.Complete);
    }

    [Fact]
    public async Task Transient_503_and_429_are_retried_honouring_Retry_After()
    {
        int attempts = 0;
        await using var stub = StubHttpServer.Start(async context =>
        {
            int attempt = Interlocked.Increment(ref attempts);
            if (attempt == 1)
            {
                context.Response.StatusCode = 503;
                context.Response.Headers.RetryAfter = "1";
                return;
            }

            if (attempt == 2)
            {
                context.Response.StatusCode = 429;
                return;
            }

            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("""{"name":"app","tags":["v1"]}""");
        });

        using var client = new RegistryClient(
            RegistryEndpoint.Parse(stub.BaseAddress.ToString()),
            new RegistryClientOptions { RetryBaseDelay = TimeSpan.FromMilliseconds(1), MaxRetries = 3 });
        var elapsed = Stopwatch.StartNew();
        IReadOnlyList<string> tags = await client.ListTagsAsync("app", 1000, CancellationToken.None);
        elapsed.Stop();

        Assert.Equal(["v1"], tags);
        Assert.Equal(3, attempts);
        Assert.True(elapsed.Elapsed >= TimeSpan.FromMilliseconds(900), $"Retry-After: 1 was not honoured ({elapsed.Elapsed}).");
    }

    [Fact]
    public async Task Retries_give_up_with_the_status_after_MaxRetries()
    {
        int attempts = 0;
        await using var stub = StubHttpServer.Start(context =>
        {
            Interlocked.Increment(ref attempts);
            context.Response.StatusCode = 502;
            return Task.CompletedTask;
        });
        using var client = new RegistryClient(
            RegistryEndpoint.Parse(stub.BaseAddress.ToString()),
            new RegistryClientOptions { RetryBaseDelay = TimeSpan.FromMilliseconds(1), MaxRetries = 2 });
        RegistryException error = await Assert.ThrowsAsync<RegistryException>(() => client.PingAsync(CancellationToken.None));
        Assert.Equal(HttpStatusCode.BadGateway, error.StatusCode);
        Assert.Equal(3, attempts);
    }

    [Fact]
    public async Task A_DELETE_is_never_retried_and_a_lost_answer_says_to_re_check()
    {
        int deletes = 0;
        await using var stub = StubHttpServer.Start(async context =>
        {
            if (HttpMethods.IsDelete(context.Request.Method))
            {
                int attempt = Interlocked.Increment(ref deletes);
                if (attempt == 1)
                {
                    context.Response.StatusCode = 503;
                    return;
                }

                await Task.Delay(TimeSpan.FromSeconds(10), context.RequestAborted).ContinueWith(static _ => { }, TaskScheduler.Default);
            }
        });
        using var client = new RegistryClient(
            RegistryEndpoint.Parse(stub.BaseAddress.ToString()),
            new RegistryClientOptions { RetryBaseDelay = TimeSpan.FromMilliseconds(1), Timeout = TimeSpan.FromMilliseconds(300) });
        string digest = "sha256:" + new string('b', 64);

        ManifestDeleteResult failed = await client.DeleteManifestAsync("app", digest, CancellationToken.None);
        Assert.Equal(ManifestDeleteOutcome.Failed, failed.Outcome);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, failed.StatusCode);
        Assert.Equal(1, deletes);

        ManifestDeleteResult lost = await client.DeleteManifestAsync("app", digest, CancellationToken.None);
        Assert.Equal(ManifestDeleteOutcome.NoAnswer, lost.Outcome);
        Assert.Contains("HEAD", lost.Message, StringComparison.Ordinal);
        Assert.Equal(2, deletes);
    }

    [Fact]
    public async Task Tag_lists_follow_Link_pages()
    {
        string[] all = ["a", "b", "c", "d", "e"];
        await using var stub = StubHttpServer.Start(async context =>
        {
            int n = int.Parse(context.Request.Query["n"]!, System.Globalization.CultureInfo.InvariantCulture);
            string? last = context.Request.Query["last"];
            string[] page = all.Where(t => last is null || string.CompareOrdinal(t, last) > 0).Take(Math.Min(n, 2)).ToArray();
            if (page.Length > 0 && page[^1] != all[^1])
            {
                context.Response.Headers.Link = $"</v2/app/tags/list?n={n}&last={page[^1]}>; rel=\"next\"";
            }

            context.Response.ContentType = "application/json";
            await context.Response.WriteAsJsonAsync(new { name = "app", tags = page });
        });
        using var client = new RegistryClient(RegistryEndpoint.Parse(stub.BaseAddress.ToString()));
        Assert.Equal(all, await client.ListTagsAsync("app", 1000, CancellationToken.None));
    }

    [Fact]
    public async Task An_unreachable_registry_is_named_within_the_timeout()
    {
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        using var client = new RegistryClient(RegistryEndpoint.Parse($"http://127.0.0.1:{port}"), new RegistryClientOptions { Timeout = TimeSpan.FromSeconds(2) });
        var elapsed = Stopwatch.StartNew();
        RegistryUnreachableException error = await Assert.ThrowsAsync<RegistryUnreachableException>(() => client.PingAsync(CancellationToken.None));
        Assert.Contains($"127.0.0.1:{port}", error.Message, StringComparison.Ordinal);
        Assert.True(elapsed.Elapsed < TimeSpan.FromSeconds(3));
    }

    [Fact]
    public async Task A_registry_that_never_answered_fails_within_one_timeout()
    {
        int attempts = 0;
        await using var stub = StubHttpServer.Start(async context =>
        {
            Interlocked.Increment(ref attempts);
            await Task.Delay(TimeSpan.FromSeconds(10), context.RequestAborted).ContinueWith(static _ => { }, TaskScheduler.Default);
        });
        using var client = new RegistryClient(
            RegistryEndpoint.Parse(stub.BaseAddress.ToString()),
            new RegistryClientOptions { Timeout = TimeSpan.FromSeconds(1), RetryBaseDelay = TimeSpan.FromMilliseconds(1) });
        var elapsed = Stopwatch.StartNew();
        RegistryUnreachableException error = await Assert.ThrowsAsync<RegistryUnreachableException>(() => client.PingAsync(CancellationToken.None));
        Assert.Contains("did not answer", error.Message, StringComparison.Ordinal);
        Assert.Contains(client.Endpoint.DisplayName, error.Message, StringComparison.Ordinal);
        Assert.Equal(1, attempts);
        Assert.True(elapsed.Elapsed < TimeSpan.FromSeconds(8), elapsed.Elapsed.ToString()); // one timeout, not a retry's ten seconds
    }

    [Fact]
    public async Task A_request_that_times_out_on_a_live_registry_is_retried_and_the_caller_can_cancel()
    {
        int catalogAttempts = 0;
        await using var stub = StubHttpServer.Start(async context =>
        {
            if (context.Request.Path == "/v2/")
            {
                await context.Response.WriteAsync("{}");
                return;
            }

            Interlocked.Increment(ref catalogAttempts);
            await Task.Delay(TimeSpan.FromSeconds(10), context.RequestAborted).ContinueWith(static _ => { }, TaskScheduler.Default);
        });
        using var client = new RegistryClient(
            RegistryEndpoint.Parse(stub.BaseAddress.ToString()),
            new RegistryClientOptions { Timeout = TimeSpan.FromMilliseconds(300), MaxRetries = 1, RetryBaseDelay = TimeSpan.FromMilliseconds(1) });
        await client.PingAsync(CancellationToken.None);
        RegistryUnreachableException error = await Assert.ThrowsAsync<RegistryUnreachableException>(() => client.GetCatalogAsync(1000, CancellationToken.None));
        Assert.Contains("did not answer", error.Message, StringComparison.Ordinal);
        Assert.Equal(2, catalogAttempts);

        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        using var patient = new RegistryClient(RegistryEndpoint.Parse(stub.BaseAddress.ToString()));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => patient.GetCatalogAsync(1000, cancel.Token));
    }
}
