using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using RegistryCleaner.Registry;
using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.Registry;

/// <summary>
/// Hostile registries (Kestrel stubs) meet the client's bounds: manifests up to 4 MiB, configurations up to their
/// descriptor's size and digest, listings within pages, entries and time; each limit is an error for that tag or
/// repository that names it, and the other tags are read as usual. Bytes served are counted, never timed.
/// </summary>
public class RegistryBoundsTests
{
    /// <summary>Far more than any bounded read takes (socket buffers and the 1 MiB drain included): an endless body was not read.</summary>
    private const long StoppedEarly = 64L << 20;

    private const string ConfigJson = """{"created":"2024-01-01T00:00:00Z","os":"linux","architecture":"amd64"}""";

    private static readonly string ConfigDigest = ImagePusher.Digest(Encoding.UTF8.GetBytes(ConfigJson));

    private static readonly string GoodManifest = Manifest(ConfigDigest, ConfigJson.Length);

    internal static string Manifest(string configDigest, long configSize) =>
        $$$"""{"schemaVersion":2,"mediaType":"{{{MediaTypes.DockerManifest}}}","config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":{{{configSize}}},"digest":"{{{configDigest}}}"},"layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":10,"digest":"sha256:{{{new string('1', 64)}}}"}]}""";

    [Fact]
    public async Task A_manifest_over_4_MiB_announced_by_Content_Length_is_an_error_for_its_tag_naming_the_limit()
    {
        await using var registry = HostileRegistry.Start(async (context, served) =>
        {
            context.Response.ContentType = MediaTypes.DockerManifest;
            context.Response.ContentLength = 5L << 20;
            await served.WriteAsync(context, ' ', 5L << 20);
        });

        (List<TagReadResult> results, InventoryReader reader) = await ReadAsync(registry);

        RegistryLimitException error = Assert.IsType<RegistryLimitException>(results.Single(r => r.Tag == "hostile").Error);
        Assert.Equal(nameof(RegistryClientOptions.MaxManifestBytes), error.Limit);
        Assert.Contains("app:hostile", error.Message, StringComparison.Ordinal);
        Assert.Contains("4 MiB (MaxManifestBytes", error.Message, StringComparison.Ordinal);
        Assert.Contains("announced 5242880 bytes, so nothing was read", error.Message, StringComparison.Ordinal);
        AssertOthersRead(results, reader);
    }

    [Fact]
    public async Task An_endless_chunked_manifest_stops_at_4_MiB_without_being_buffered()
    {
        await using var registry = HostileRegistry.Start(async (context, served) =>
        {
            context.Response.ContentType = MediaTypes.DockerManifest;
            await served.WriteAsync(context, ' ', long.MaxValue);
        });

        (List<TagReadResult> results, InventoryReader reader) = await ReadAsync(registry);

        RegistryLimitException error = Assert.IsType<RegistryLimitException>(results.Single(r => r.Tag == "hostile").Error);
        Assert.Equal(nameof(RegistryClientOptions.MaxManifestBytes), error.Limit);
        Assert.Contains("it was not read further", error.Message, StringComparison.Ordinal);
        AssertOthersRead(results, reader);
        long served = await registry.HostileBytesAsync();
        Assert.InRange(served, 4L << 20, StoppedEarly);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_100_byte_config_descriptor_whose_blob_streams_1_GB_stops_at_its_size(bool announced)
    {
        string hostileConfig = "sha256:" + new string('c', 64);
        await using var registry = HostileRegistry.Start(
            async (context, served) =>
            {
                context.Response.ContentType = "application/octet-stream";
                if (announced)
                {
                    context.Response.ContentLength = 1L << 30;
                }

                await served.WriteAsync(context, '{', 1L << 30);
            },
            hostileManifest: Manifest(hostileConfig, 100),
            hostileBlob: hostileConfig);

        (List<TagReadResult> results, InventoryReader reader) = await ReadAsync(registry);

        RegistryLimitException error = Assert.IsType<RegistryLimitException>(results.Single(r => r.Tag == "hostile").Error);
        Assert.Contains($"blob app@{hostileConfig} larger than 100 bytes (its descriptor's size)", error.Message, StringComparison.Ordinal);
        AssertOthersRead(results, reader);
        Assert.InRange(await registry.HostileBytesAsync(), 0, StoppedEarly);
    }

    [Fact]
    public async Task A_config_descriptor_over_MaxConfigBytes_is_refused_without_a_download()
    {
        string hostileConfig = "sha256:" + new string('c', 64);
        await using var registry = HostileRegistry.Start(
            (context, served) => served.WriteAsync(context, '{', 1L << 30),
            hostileManifest: Manifest(hostileConfig, 9L << 20),
            hostileBlob: hostileConfig);

        (List<TagReadResult> results, InventoryReader reader) = await ReadAsync(registry);

        RegistryLimitException error = Assert.IsType<RegistryLimitException>(results.Single(r => r.Tag == "hostile").Error);
        Assert.Equal(nameof(RegistryClientOptions.MaxConfigBytes), error.Limit);
        Assert.Contains("over 8 MiB (MaxConfigBytes); it was not downloaded", error.Message, StringComparison.Ordinal);
        AssertOthersRead(results, reader);
        Assert.Equal(0, registry.HostileRequests);
    }

    [Fact]
    public async Task A_config_blob_that_does_not_hash_to_its_digest_is_an_error_for_its_tag_and_is_not_cached()
    {
        // Same length as the real configuration, other content: only the digest tells.
        string forged = ConfigJson.Replace("2024", "1999", StringComparison.Ordinal);
        await using var registry = HostileRegistry.Start(
            (context, served) => served.WriteAsync(context, forged),
            hostileManifest: GoodManifest.Replace("\"size\":10,", "\"size\":11,", StringComparison.Ordinal),
            hostileBlob: ConfigDigest,
            goodConfigServed: false);
        string cacheFolder = Directory.CreateTempSubdirectory("registrycleaner-bounds-cache-").FullName;
        try
        {
            ImageConfigCache cache = ImageConfigCache.Open(cacheFolder);
            (List<TagReadResult> results, InventoryReader _) = await ReadAsync(registry, cache: cache);

            BlobContentException error = Assert.IsType<BlobContentException>(results.Single(r => r.Tag == "hostile").Error);
            Assert.Contains("app:hostile", error.Message, StringComparison.Ordinal);
            Assert.Contains($"blob app@{ConfigDigest} whose content hashes to {ImagePusher.Digest(Encoding.UTF8.GetBytes(forged))}", error.Message, StringComparison.Ordinal);
            Assert.False(cache.TryGet(ConfigDigest, out _));
        }
        finally
        {
            Directory.Delete(cacheFolder, recursive: true);
        }
    }

    [Fact]
    public async Task A_tag_whose_body_does_not_hash_to_Docker_Content_Digest_is_an_error_for_that_tag_and_the_others_are_read()
    {
        string claimed = ImagePusher.Digest(Encoding.UTF8.GetBytes(GoodManifest));
        string served = GoodManifest.Replace("\"size\":10,", "\"size\":99,", StringComparison.Ordinal);
        await using var registry = HostileRegistry.Start(
            async (context, _) =>
            {
                context.Response.ContentType = MediaTypes.DockerManifest;
                context.Response.Headers["Docker-Content-Digest"] = claimed;
                await context.Response.WriteAsync(served);
            });

        (List<TagReadResult> results, InventoryReader reader) = await ReadAsync(registry);

        ManifestFormatException error = Assert.IsType<ManifestFormatException>(results.Single(r => r.Tag == "hostile").Error);
        Assert.Contains("app:hostile", error.Message, StringComparison.Ordinal);
        Assert.Contains($"not to the Docker-Content-Digest {claimed} the registry sent with it", error.Message, StringComparison.Ordinal);
        AssertOthersRead(results, reader);
        Assert.DoesNotContain(reader.Inventory.Manifests, m => m.Digest == claimed && m.Layers.Any(l => l.Size == 99));
    }

    [Fact]
    public async Task Sha512_references_and_headers_are_verified_and_other_algorithms_refused()
    {
        byte[] body = Encoding.UTF8.GetBytes(GoodManifest);
        string sha512 = "sha512:" + Convert.ToHexString(SHA512.HashData(body)).ToLowerInvariant();
        string wrong512 = "sha512:" + new string('0', 128);
        await using var stub = StubHttpServer.Start(async context =>
        {
            string path = context.Request.Path.Value!;
            context.Response.ContentType = MediaTypes.DockerManifest;
            context.Response.Headers["Docker-Content-Digest"] = path.EndsWith("/by-sha512", StringComparison.Ordinal) ? sha512 : path.EndsWith("/by-md5", StringComparison.Ordinal) ? "md5:0123" : wrong512;
            await context.Response.Body.WriteAsync(body);
        });
        using var client = new RegistryClient(RegistryEndpoint.Parse(stub.BaseAddress.ToString()));

        Assert.Equal(sha512, (await client.GetManifestAsync("app", sha512, CancellationToken.None)).Digest);
        Assert.Equal(sha512, (await client.GetManifestAsync("app", "by-sha512", CancellationToken.None)).Digest);
        ManifestFormatException byDigest = await Assert.ThrowsAsync<ManifestFormatException>(() => client.GetManifestAsync("app", wrong512, CancellationToken.None));
        Assert.Contains($"hashes to {sha512}, not to the requested digest", byDigest.Message, StringComparison.Ordinal);
        ManifestFormatException byTag = await Assert.ThrowsAsync<ManifestFormatException>(() => client.GetManifestAsync("app", "by-wrong", CancellationToken.None));
        Assert.Contains($"not to the Docker-Content-Digest {wrong512}", byTag.Message, StringComparison.Ordinal);
        ManifestFormatException md5 = await Assert.ThrowsAsync<ManifestFormatException>(() => client.GetManifestAsync("app", "by-md5", CancellationToken.None));
        // md5 is no digest algorithm of the OCI grammar: the header is refused as not a digest before any hashing.
        Assert.Contains("its Docker-Content-Digest header 'md5:0123' is not a digest", md5.Message, StringComparison.Ordinal);
        ArgumentException md5Reference = await Assert.ThrowsAsync<ArgumentException>(() => client.GetManifestAsync("app", "md5:0123", CancellationToken.None));
        Assert.Contains("The digest 'md5:0123' must be algorithm:hex", md5Reference.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_endless_chain_of_distinct_Link_pages_stops_at_MaxListingPages_as_an_error_for_that_repository()
    {
        int pages = 0;
        await using var stub = StubHttpServer.Start(async context =>
        {
            string path = context.Request.Path.Value!;
            context.Response.ContentType = "application/json";
            if (path == "/v2/endless/tags/list")
            {
                int page = Interlocked.Increment(ref pages);
                context.Response.Headers.Link = $"</v2/endless/tags/list?n=1&last=t{page}>; rel=\"next\"";
                await context.Response.WriteAsync($$"""{"name":"endless","tags":["t{{page}}"]}""");
            }
            else if (path == "/v2/app/tags/list")
            {
                await context.Response.WriteAsync("""{"name":"app","tags":["good"]}""");
            }
            else if (path == "/v2/app/manifests/good")
            {
                context.Response.ContentType = MediaTypes.DockerManifest;
                await context.Response.WriteAsync(GoodManifest);
            }
            else if (path == "/v2/app/blobs/" + ConfigDigest)
            {
                await context.Response.WriteAsync(ConfigJson);
            }
            else
            {
                context.Response.StatusCode = 404;
            }
        });
        using var client = new RegistryClient(RegistryEndpoint.Parse(stub.BaseAddress.ToString()), new RegistryClientOptions { MaxListingPages = 50 });
        var reader = new InventoryReader(client, new InventoryReaderOptions { Repositories = ["endless", "app"] });
        var results = new List<TagReadResult>();
        await foreach (TagReadResult result in reader.ReadAsync(CancellationToken.None))
        {
            results.Add(result);
        }

        TagReadResult failed = results.Single(r => r.Repository == "endless");
        Assert.Equal(string.Empty, failed.Tag);
        Assert.Equal("endless", failed.Name);
        RegistryLimitException error = Assert.IsType<RegistryLimitException>(failed.Error);
        Assert.Equal(nameof(RegistryClientOptions.MaxListingPages), error.Limit);
        Assert.Contains("endless: Registry", error.Message, StringComparison.Ordinal);
        Assert.Contains("after 50 pages (MaxListingPages)", error.Message, StringComparison.Ordinal);
        Assert.Equal(50, pages);
        Assert.Null(results.Single(r => r.Tag == "good").Error);
        Assert.False(reader.Inventory.Complete);
        Assert.Equal(["good"], reader.Inventory.Tags.Select(t => t.Tag));
    }

    [Fact]
    public async Task An_endless_chain_of_slow_Link_pages_stops_at_ten_request_timeouts_as_a_whole()
    {
        int pages = 0;
        await using var stub = StubHttpServer.Start(async context =>
        {
            // Each page well within the request timeout: only the listing's own deadline can stop the chain.
            int page = Interlocked.Increment(ref pages);
            await Task.Delay(50, context.RequestAborted);
            context.Response.ContentType = "application/json";
            context.Response.Headers.Link = $"</v2/_catalog?n=1&last=r{page}>; rel=\"next\"";
            await context.Response.WriteAsync($$"""{"repositories":["r{{page}}"]}""");
        });
        using var client = new RegistryClient(RegistryEndpoint.Parse(stub.BaseAddress.ToString()), new RegistryClientOptions { Timeout = TimeSpan.FromMilliseconds(500) });

        RegistryLimitException error = await Assert.ThrowsAsync<RegistryLimitException>(() => client.GetCatalogAsync(1000, CancellationToken.None));

        Assert.Equal(nameof(RegistryClientOptions.MaxListingTime), error.Limit);
        Assert.Contains("did not finish listing the catalog within 5 s (MaxListingTime: 10 times -TimeoutSec)", error.Message, StringComparison.Ordinal);
        Assert.InRange(pages, 2, 100);
    }

    [Fact]
    public async Task Listing_pages_and_entries_are_bounded_in_bytes_and_count()
    {
        await using var stub = StubHttpServer.Start(async context =>
        {
            context.Response.ContentType = "application/json";
            if (context.Request.Path.Value == "/v2/big/tags/list")
            {
                await context.Response.WriteAsync("{\"tags\":[\"" + new string('a', 2 << 20) + "\"]}");
            }
            else
            {
                await context.Response.WriteAsync("""{"tags":["a","b","c","d"]}""");
            }
        });
        using var client = new RegistryClient(
            RegistryEndpoint.Parse(stub.BaseAddress.ToString()),
            new RegistryClientOptions { MaxListingPageBytes = 1 << 20, MaxListingItems = 3 });

        RegistryLimitException page = await Assert.ThrowsAsync<RegistryLimitException>(() => client.ListTagsAsync("big", 1000, CancellationToken.None));
        Assert.Contains("a page of the tags of big larger than 1 MiB (MaxListingPageBytes)", page.Message, StringComparison.Ordinal);
        RegistryLimitException items = await Assert.ThrowsAsync<RegistryLimitException>(() => client.ListTagsAsync("many", 1000, CancellationToken.None));
        Assert.Contains("more than 3 entries of the tags of many (MaxListingItems)", items.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Endless_referrers_pages_stop_at_MaxListingPages()
    {
        int pages = 0;
        string subject = "sha256:" + new string('d', 64);
        await using var stub = StubHttpServer.Start(async context =>
        {
            int page = Interlocked.Increment(ref pages);
            context.Response.ContentType = MediaTypes.OciIndex;
            context.Response.Headers.Link = $"</v2/app/referrers/{subject}?page={page}>; rel=\"next\"";
            await context.Response.WriteAsync($$"""{"schemaVersion":2,"mediaType":"{{MediaTypes.OciIndex}}","manifests":[]}""");
        });
        using var client = new RegistryClient(RegistryEndpoint.Parse(stub.BaseAddress.ToString()), new RegistryClientOptions { MaxListingPages = 20 });

        RegistryLimitException error = await Assert.ThrowsAsync<RegistryLimitException>(() => client.GetReferrersAsync("app", subject, CancellationToken.None));

        Assert.Equal(nameof(RegistryClientOptions.MaxListingPages), error.Limit);
        Assert.Contains($"pages of the referrers of app@{subject} after 20 pages", error.Message, StringComparison.Ordinal);
        Assert.Equal(20, pages);
    }

    [Fact]
    public async Task An_endless_error_body_is_read_to_64_KiB_and_the_status_still_reported()
    {
        int requests = 0;
        await using var registry = HostileRegistry.Start(async (context, served) =>
        {
            Interlocked.Increment(ref requests);
            context.Response.StatusCode = 500;
            context.Response.ContentType = "application/json";
            await served.WriteAsync(context, ' ', long.MaxValue);
        });

        (List<TagReadResult> results, InventoryReader reader) = await ReadAsync(registry);

        RegistryException error = results.Single(r => r.Tag == "hostile").Error!;
        Assert.Contains("answered 500", error.Message, StringComparison.Ordinal);
        AssertOthersRead(results, reader);
        Assert.InRange(await registry.HostileBytesAsync(), 1, StoppedEarly);
    }

    [Fact]
    public async Task A_streamed_backup_blob_stops_one_byte_past_its_descriptor_size()
    {
        await using var registry = HostileRegistry.Start((context, served) => served.WriteAsync(context, 'x', long.MaxValue), hostileBlob: "sha256:" + new string('e', 64));
        using var client = new RegistryClient(RegistryEndpoint.Parse(registry.BaseAddress));
        using var destination = new MemoryStream();

        RegistryLimitException error = await Assert.ThrowsAsync<RegistryLimitException>(
            () => client.CopyBlobAsync("app", "sha256:" + new string('e', 64), destination, CancellationToken.None, expectedSize: 1000));

        Assert.Contains("larger than 1000 bytes (its descriptor's size)", error.Message, StringComparison.Ordinal);
        Assert.InRange(destination.Length, 0, 1000);
        Assert.InRange(await registry.HostileBytesAsync(), 1001, StoppedEarly);
    }

    private static async Task<(List<TagReadResult> Results, InventoryReader Reader)> ReadAsync(HostileRegistry registry, ImageConfigCache? cache = null)
    {
        using var client = new RegistryClient(RegistryEndpoint.Parse(registry.BaseAddress), new RegistryClientOptions { MaxRetries = 1, RetryBaseDelay = TimeSpan.FromMilliseconds(1) });
        var reader = new InventoryReader(client, new InventoryReaderOptions { Repositories = ["app"], ConfigCache = cache });
        var results = new List<TagReadResult>();
        await foreach (TagReadResult result in reader.ReadAsync(CancellationToken.None))
        {
            results.Add(result);
        }

        return (results, reader);
    }

    private static void AssertOthersRead(List<TagReadResult> results, InventoryReader reader)
    {
        Assert.Equal(["good", "hostile", "other"], results.Select(r => r.Tag).Order(StringComparer.Ordinal));
        Assert.All(results.Where(r => r.Tag != "hostile"), r => Assert.Null(r.Error));
        Assert.Equal(new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero), results.Single(r => r.Tag == "good").Manifest!.Created);
        Assert.Equal(["good", "other"], reader.Inventory.Tags.Select(t => t.Tag));
        Assert.False(reader.Inventory.Complete);
    }
}

/// <summary>
/// A registry stub with repository <c>app</c> and tags <c>good</c>, <c>other</c> and <c>hostile</c>: the hostile
/// answer (the tag's manifest, or with <c>hostileBlob</c> that blob) comes from a delegate that writes through a
/// <see cref="ServedBytes"/>, which counts what the stub managed to send. Repository <c>endless</c> lists its tags in
/// distinct <c>Link</c> pages that never end.
/// </summary>
internal sealed class HostileRegistry : IAsyncDisposable
{
    private const string ConfigJson = """{"created":"2024-01-01T00:00:00Z","os":"linux","architecture":"amd64"}""";
    private readonly StubHttpServer stub;
    private readonly ServedBytes served;
    private int hostileRequests;
    private int endlessPages;

    private HostileRegistry(Func<HttpContext, ServedBytes, Task> hostile, string? hostileManifest, string? hostileBlob, bool goodConfigServed)
    {
        this.served = new ServedBytes();
        string configDigest = ImagePusher.Digest(Encoding.UTF8.GetBytes(ConfigJson));
        string good = RegistryBoundsTests.Manifest(configDigest, ConfigJson.Length);
        string other = good.Replace("\"size\":10,", "\"size\":12,", StringComparison.Ordinal);
        this.stub = StubHttpServer.Start(async context =>
        {
            string path = context.Request.Path.Value!;
            bool isHostile = hostileBlob is null ? path == "/v2/app/manifests/hostile" : path == "/v2/app/blobs/" + hostileBlob;
            if (isHostile)
            {
                Interlocked.Increment(ref this.hostileRequests);
                try
                {
                    await hostile(context, this.served);
                }
                finally
                {
                    this.served.Finished();
                }

                return;
            }

            if (path == "/v2/endless/tags/list")
            {
                // Repository "endless": distinct Link pages forever, each well within any request timeout.
                int page = Interlocked.Increment(ref this.endlessPages);
                await Task.Delay(100, context.RequestAborted);
                context.Response.ContentType = "application/json";
                context.Response.Headers.Link = $"</v2/endless/tags/list?n=1&last=t{page}>; rel=\"next\"";
                await context.Response.WriteAsync($$"""{"name":"endless","tags":["t{{page}}"]}""");
                return;
            }

            (int status, string body, string type) = path switch
            {
                "/v2/" => (200, "{}", "application/json"),
                "/v2/app/tags/list" => (200, """{"name":"app","tags":["good","hostile","other"]}""", "application/json"),
                "/v2/app/manifests/good" => (200, good, MediaTypes.DockerManifest),
                "/v2/app/manifests/other" => (200, other, MediaTypes.DockerManifest),
                "/v2/app/manifests/hostile" => (200, hostileManifest ?? good, MediaTypes.DockerManifest),
                _ when path == "/v2/app/blobs/" + configDigest && goodConfigServed => (200, ConfigJson, "application/octet-stream"),
                _ => (404, """{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}""", "application/json"),
            };
            context.Response.StatusCode = status;
            context.Response.ContentType = type;
            await context.Response.WriteAsync(body);
        });
    }

    public string BaseAddress => this.stub.BaseAddress.ToString();

    /// <summary>Gets how many pages of repository <c>endless</c> were served.</summary>
    public int EndlessPages => Volatile.Read(ref this.endlessPages);

    /// <summary>Gets how many requests reached the hostile answer.</summary>
    public int HostileRequests => Volatile.Read(ref this.hostileRequests);

    public static HostileRegistry Start(Func<HttpContext, ServedBytes, Task> hostile, string? hostileManifest = null, string? hostileBlob = null, bool goodConfigServed = true) =>
        new(hostile, hostileManifest, hostileBlob, goodConfigServed);

    /// <summary>Waits until every hostile answer has ended (the client closed the connection) and returns the bytes sent.</summary>
    public async Task<long> HostileBytesAsync()
    {
        // A guard against a hang, not a timing assertion: an answer ends once the client closes its connection.
        await this.served.AllFinishedAsync(this.HostileRequests).WaitAsync(TimeSpan.FromMinutes(2));
        return this.served.Bytes;
    }

    public ValueTask DisposeAsync() => this.stub.DisposeAsync();
}

/// <summary>Counts the bytes a stub answer managed to send, and which answers have ended.</summary>
internal sealed class ServedBytes
{
    private const long Cap = 2L << 30;
    private long bytes;
    private int finished;

    public long Bytes => Interlocked.Read(ref this.bytes);

    /// <summary>Writes <paramref name="count"/> copies of a character (at most 2 GiB) until the client goes away.</summary>
    public async Task WriteAsync(HttpContext context, char fill, long count)
    {
        byte[] chunk = new byte[1 << 16];
        Array.Fill(chunk, (byte)fill);
        long left = Math.Min(count, Cap);
        try
        {
            while (left > 0 && !context.RequestAborted.IsCancellationRequested)
            {
                int n = (int)Math.Min(chunk.Length, left);

                // Kestrel completes writes to a connection the client closed without sending them: the flush says so.
                System.IO.Pipelines.FlushResult flushed = await context.Response.BodyWriter.WriteAsync(chunk.AsMemory(0, n), context.RequestAborted);
                if (flushed.IsCompleted || flushed.IsCanceled)
                {
                    return;
                }

                Interlocked.Add(ref this.bytes, n);
                left -= n;

                // After the client closed the connection Kestrel completes writes without sending them and signals
                // RequestAborted from the thread pool: yield so that signal is seen, and these bytes are not counted as served.
                await Task.Yield();
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or InvalidOperationException)
        {
            // The client closed the connection: that is what bounded reading looks like from here.
        }
    }

    /// <summary>Writes a whole string.</summary>
    public async Task WriteAsync(HttpContext context, string body)
    {
        byte[] content = Encoding.UTF8.GetBytes(body);
        await context.Response.Body.WriteAsync(content);
        Interlocked.Add(ref this.bytes, content.Length);
    }

    public void Finished() => Interlocked.Increment(ref this.finished);

    public async Task AllFinishedAsync(int expected)
    {
        while (Volatile.Read(ref this.finished) < expected)
        {
            await Task.Delay(20);
        }
    }
}
