using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using RegistryCleaner.Registry;

namespace RegistryCleaner.Tests.Infrastructure;

/// <summary>A blob as pushed.</summary>
public sealed record PushedBlob(string Digest, long Size, string MediaType);

/// <summary>A manifest as pushed: an image (config + layers) or an index (children).</summary>
public sealed record PushedImage(
    string Repository,
    string Digest,
    string MediaType,
    byte[] Manifest,
    PushedBlob? Config,
    IReadOnlyList<PushedBlob> Layers,
    IReadOnlyList<PushedImage> Children,
    string? Platform,
    DateTimeOffset? Created)
{
    /// <summary>Gets every distinct blob the image needs (config and layers; an index's children's).</summary>
    public IReadOnlyList<PushedBlob> Blobs =>
        (this.Children.Count == 0 ? (this.Config is null ? this.Layers : this.Layers.Prepend(this.Config)) : this.Children.SelectMany(static c => c.Blobs))
        .DistinctBy(static b => b.Digest)
        .ToArray();

    /// <summary>Gets the bytes of <see cref="Blobs"/>.</summary>
    public long Size => this.Blobs.Sum(static b => b.Size);
}

/// <summary>
/// Pushes synthetic images over the distribution API (monolithic blob upload POST + PUT, manifest PUT). Layers are
/// deterministic random bytes from a seed, so the same seed in two images is a shared layer.
/// </summary>
public sealed class ImagePusher : IDisposable
{
    private const string DockerLayer = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    private const string DockerConfig = "application/vnd.docker.container.image.v1+json";
    private const string OciLayer = "application/vnd.oci.image.layer.v1.tar+gzip";
    private const string OciConfig = "application/vnd.oci.image.config.v1+json";
    private readonly HttpClient http;
    private readonly ConcurrentDictionary<(string, string), Task> uploaded = new();

    public ImagePusher(Uri baseAddress, AuthenticationHeaderValue? authorization = null)
    {
        var handler = new SocketsHttpHandler { MaxConnectionsPerServer = 16 };
        handler.SslOptions.RemoteCertificateValidationCallback = static (_, _, _, _) => true;
        this.http = new HttpClient(handler) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
        this.http.DefaultRequestHeaders.Authorization = authorization;
    }

    /// <summary>Gets the media type of a layer (Docker or OCI).</summary>
    public static string LayerMediaType(bool oci) => oci ? OciLayer : DockerLayer;

    /// <summary>Gets the media type of an image configuration (Docker or OCI).</summary>
    public static string ConfigMediaType(bool oci) => oci ? OciConfig : DockerConfig;

    /// <summary>The image configuration this pusher writes: platform, creation time and the layers' digests.</summary>
    public static byte[] ImageConfig(string os, string architecture, DateTimeOffset created, IReadOnlyList<PushedBlob> layers) =>
        JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object?>
        {
            ["architecture"] = architecture,
            ["os"] = os,
            ["created"] = created.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", System.Globalization.CultureInfo.InvariantCulture),
            ["rootfs"] = new { type = "layers", diff_ids = layers.Select(static l => l.Digest).ToArray() },
            ["config"] = new { Env = new[] { "PATH=/usr/bin" } },
        });

    /// <summary>The image manifest this pusher writes over a configuration and layers.</summary>
    public static byte[] ImageManifest(string mediaType, PushedBlob config, IReadOnlyList<PushedBlob> layers) =>
        JsonSerializer.SerializeToUtf8Bytes(new
        {
            schemaVersion = 2,
            mediaType,
            config = new { mediaType = config.MediaType, size = config.Size, digest = config.Digest },
            layers = layers.Select(static l => new { mediaType = l.MediaType, size = l.Size, digest = l.Digest }).ToArray(),
        });

    /// <summary>Returns <paramref name="size"/> deterministic random bytes for <paramref name="seed"/>.</summary>
    public static byte[] Layer(int seed, int size)
    {
        var bytes = new byte[size];
#pragma warning disable CA5394 // Deterministic test data, not security.
        new Random(seed).NextBytes(bytes);
#pragma warning restore CA5394
        return bytes;
    }

    public static string Digest(byte[] content) => "sha256:" + Convert.ToHexString(SHA256.HashData(content)).ToLowerInvariant();

    /// <summary>Uploads a blob to a repository (once per repository and digest).</summary>
    public async Task<PushedBlob> PushBlobAsync(string repository, byte[] content, string mediaType)
    {
        string digest = Digest(content);
        await this.uploaded.GetOrAdd((repository, digest), _ => this.UploadAsync(repository, digest, content)).ConfigureAwait(false);
        return new PushedBlob(digest, content.Length, mediaType);
    }

    /// <summary>Pushes an image manifest with the given layers and tags it (when <paramref name="tag"/> is set).</summary>
    public async Task<PushedImage> PushImageAsync(
        string repository,
        string? tag,
        IReadOnlyList<byte[]> layers,
        bool oci = false,
        string platform = "linux/amd64",
        DateTimeOffset? created = null,
        string? configMediaType = null)
    {
        DateTimeOffset when = created ?? new DateTimeOffset(2024, 1, 2, 3, 4, 5, TimeSpan.Zero);
        string[] osArch = platform.Split('/');
        var pushedLayers = new List<PushedBlob>();
        foreach (byte[] layer in layers)
        {
            pushedLayers.Add(await this.PushBlobAsync(repository, layer, oci ? OciLayer : DockerLayer).ConfigureAwait(false));
        }

        byte[] config = ImageConfig(osArch[0], osArch[1], when, pushedLayers);
        PushedBlob pushedConfig = await this.PushBlobAsync(repository, config, configMediaType ?? (oci ? OciConfig : DockerConfig)).ConfigureAwait(false);
        string mediaType = oci ? MediaTypes.OciManifest : MediaTypes.DockerManifest;
        byte[] manifest = ImageManifest(mediaType, pushedConfig, pushedLayers);
        string digest = await this.PutManifestAsync(repository, tag ?? Digest(manifest), manifest, mediaType).ConfigureAwait(false);
        return new PushedImage(repository, digest, mediaType, manifest, pushedConfig, pushedLayers, Array.Empty<PushedImage>(), platform, when);
    }

    /// <summary>Pushes an index (OCI) or manifest list (Docker) over already pushed images and tags it.</summary>
    public async Task<PushedImage> PushIndexAsync(string repository, string tag, IReadOnlyList<PushedImage> children, bool oci = false)
    {
        string mediaType = oci ? MediaTypes.OciIndex : MediaTypes.DockerManifestList;
        byte[] manifest = JsonSerializer.SerializeToUtf8Bytes(new
        {
            schemaVersion = 2,
            mediaType,
            manifests = children.Select(static c => new
            {
                mediaType = c.MediaType,
                size = c.Manifest.Length,
                digest = c.Digest,
                platform = new { architecture = c.Platform!.Split('/')[1], os = c.Platform.Split('/')[0] },
            }).ToArray(),
        });
        string digest = await this.PutManifestAsync(repository, tag, manifest, mediaType).ConfigureAwait(false);
        return new PushedImage(repository, digest, mediaType, manifest, null, Array.Empty<PushedBlob>(), children, null, null);
    }

    /// <summary>Points another tag at an existing manifest (PUT of the same bytes).</summary>
    public Task TagAsync(PushedImage image, string tag) => this.PutManifestAsync(image.Repository, tag, image.Manifest, image.MediaType);

    /// <summary>Puts raw manifest bytes and returns the digest the registry reports.</summary>
    public async Task<string> PutManifestAsync(string repository, string reference, byte[] manifest, string mediaType)
    {
        using var content = new ByteArrayContent(manifest);
        content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        using HttpResponseMessage response = await this.http.PutAsync(new Uri($"v2/{repository}/manifests/{reference}", UriKind.Relative), content).ConfigureAwait(false);
        await EnsureAsync(response, $"PUT manifest {repository}:{reference}").ConfigureAwait(false);
        return response.Headers.GetValues("Docker-Content-Digest").First();
    }

    public void Dispose() => this.http.Dispose();

    private static async Task EnsureAsync(HttpResponseMessage response, string what)
    {
        if (!response.IsSuccessStatusCode)
        {
            string body = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
            throw new InvalidOperationException($"{what} failed: {(int)response.StatusCode} {body}");
        }
    }

    private async Task UploadAsync(string repository, string digest, byte[] content)
    {
        using (var empty = new ByteArrayContent(Array.Empty<byte>()))
        {
            using HttpResponseMessage start = await this.http.PostAsync(new Uri($"v2/{repository}/blobs/uploads/", UriKind.Relative), empty).ConfigureAwait(false);
            await EnsureAsync(start, $"POST upload {repository}").ConfigureAwait(false);
            Uri location = start.Headers.Location ?? throw new InvalidOperationException("The upload has no Location.");
            if (!location.IsAbsoluteUri)
            {
                location = new Uri(this.http.BaseAddress!, location);
            }

            string separator = location.Query.Length > 0 ? "&" : "?";
            using var body = new ByteArrayContent(content);
            body.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            using HttpResponseMessage put = await this.http.PutAsync(new Uri(location + separator + "digest=" + Uri.EscapeDataString(digest)), body).ConfigureAwait(false);
            await EnsureAsync(put, $"PUT blob {repository}@{digest}").ConfigureAwait(false);
            if (put.StatusCode != HttpStatusCode.Created)
            {
                throw new InvalidOperationException($"PUT blob answered {(int)put.StatusCode}.");
            }
        }
    }
}
