using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using RegistryCleaner.Registry;
using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.Graph;

/// <summary>A manifest as the registry stores it: what a descriptor of it says.</summary>
public sealed record StoredManifest(string Digest, string MediaType, long Size);

/// <summary>
/// Pushes what signing and SBOM tools push, through the distribution API: cosign's signature (an OCI manifest of a
/// simplesigning layer under the tag <c>sha256-&lt;hex&gt;.sig</c>), SBOMs as OCI 1.1 artifacts with a <c>subject</c>
/// (listed in the referrers-schema index tag <c>sha256-&lt;hex&gt;</c> the way clients do on registries without the
/// referrers API, or not, the way they do on registries with it), indexes over stored manifests, and images from an
/// OCI layout by digest only (no tag).
/// </summary>
public sealed class ArtifactPusher(Uri registry) : IDisposable
{
    public const string CosignLayer = "application/vnd.dev.cosign.simplesigning.v1+json";
    public const string Spdx = "application/spdx+json";
    private const string Empty = "application/vnd.oci.empty.v1+json";
    private readonly ImagePusher pusher = new(registry);
    private readonly RegistryClient client = new(RegistryEndpoint.Parse(registry.ToString()));

    /// <summary>Reads what a descriptor of a stored manifest says (by tag or digest).</summary>
    public async Task<StoredManifest> StatAsync(string repository, string reference)
    {
        ManifestContent content = await this.client.GetManifestAsync(repository, reference, CancellationToken.None);
        return new StoredManifest(content.Digest, content.MediaType, content.Content.Length);
    }

    /// <summary>Signs a manifest as cosign does: payload, config and manifest, tagged <c>sha256-&lt;hex&gt;.sig</c>.</summary>
    public async Task<string> SignAsync(string repository, string subject, string suffix = ".sig")
    {
        byte[] payload = Encoding.UTF8.GetBytes(
            $$"""{"critical":{"identity":{"docker-reference":"registry/{{repository}}"},"image":{"docker-manifest-digest":"{{subject}}"},"type":"cosign container image signature"},"optional":null}""");
        PushedBlob layer = await this.pusher.PushBlobAsync(repository, payload, CosignLayer);
        byte[] config = Encoding.UTF8.GetBytes(
            $$$"""{"architecture":"","created":"0001-01-01T00:00:00Z","history":[{"created":"0001-01-01T00:00:00Z"}],"os":"","rootfs":{"type":"layers","diff_ids":["{{{layer.Digest}}}"]},"config":{}}""");
        PushedBlob configBlob = await this.pusher.PushBlobAsync(repository, config, "application/vnd.oci.image.config.v1+json");
        byte[] manifest = JsonSerializer.SerializeToUtf8Bytes(new
        {
            schemaVersion = 2,
            mediaType = MediaTypes.OciManifest,
            config = new { mediaType = configBlob.MediaType, size = configBlob.Size, digest = configBlob.Digest },
            layers = new[]
            {
                new Dictionary<string, object>
                {
                    ["mediaType"] = CosignLayer,
                    ["size"] = layer.Size,
                    ["digest"] = layer.Digest,
                    ["annotations"] = new Dictionary<string, string> { ["dev.cosignproject.cosign/signature"] = Convert.ToBase64String(ImagePusher.Layer(subject.GetHashCode(StringComparison.Ordinal), 70)) },
                },
            },
        });
        return await this.pusher.PutManifestAsync(repository, SchemaTag(subject) + suffix, manifest, MediaTypes.OciManifest);
    }

    /// <summary>
    /// Pushes an artifact whose <c>subject</c> is <paramref name="subject"/> by digest; with
    /// <paramref name="tagSchema"/>, also adds it to the subject's referrers index tag, as clients do where the
    /// registry has no referrers API.
    /// </summary>
    public async Task<StoredManifest> AttachAsync(string repository, StoredManifest subject, string artifactType, int seed, bool tagSchema)
    {
        PushedBlob empty = await this.pusher.PushBlobAsync(repository, "{}"u8.ToArray(), Empty);
        PushedBlob content = await this.pusher.PushBlobAsync(repository, Encoding.UTF8.GetBytes($$"""{"spdxVersion":"SPDX-2.3","name":"sbom-{{seed}}","data":"{{Convert.ToHexString(ImagePusher.Layer(seed, 600))}}"}"""), artifactType);
        byte[] manifest = JsonSerializer.SerializeToUtf8Bytes(new
        {
            schemaVersion = 2,
            mediaType = MediaTypes.OciManifest,
            artifactType,
            config = new { mediaType = Empty, size = empty.Size, digest = empty.Digest },
            layers = new[] { new { mediaType = artifactType, size = content.Size, digest = content.Digest } },
            subject = new { mediaType = subject.MediaType, size = subject.Size, digest = subject.Digest },
            annotations = new Dictionary<string, string> { ["org.opencontainers.image.created"] = "2024-06-01T00:00:00Z" },
        });
        string digest = await this.pusher.PutManifestAsync(repository, ImagePusher.Digest(manifest), manifest, MediaTypes.OciManifest);
        var stored = new StoredManifest(digest, MediaTypes.OciManifest, manifest.Length);
        if (tagSchema)
        {
            await this.AddToReferrersIndexAsync(repository, subject.Digest, stored, artifactType);
        }

        return stored;
    }

    /// <summary>Pushes an OCI index over stored manifests (which may be indexes themselves), tagged or by digest.</summary>
    public async Task<StoredManifest> IndexAsync(string repository, string? tag, params StoredManifest[] children)
    {
        byte[] manifest = JsonSerializer.SerializeToUtf8Bytes(new
        {
            schemaVersion = 2,
            mediaType = MediaTypes.OciIndex,
            manifests = children.Select(static c => new { mediaType = c.MediaType, size = c.Size, digest = c.Digest }).ToArray(),
        });
        string digest = await this.pusher.PutManifestAsync(repository, tag ?? ImagePusher.Digest(manifest), manifest, MediaTypes.OciIndex);
        return new StoredManifest(digest, MediaTypes.OciIndex, manifest.Length);
    }

    /// <summary>Pushes an image or index of an OCI layout by digest only: no tag names it.</summary>
    public async Task<StoredManifest> PushUntaggedAsync(string layout, string name, string repository)
    {
        JsonNode index = JsonNode.Parse(await File.ReadAllBytesAsync(Path.Combine(layout, "index.json")))!;
        JsonNode descriptor = index["manifests"]!.AsArray().First(m => (string?)m!["annotations"]?["org.opencontainers.image.ref.name"] == name)!;
        return await this.PushTreeAsync(layout, descriptor, repository);
    }

    public void Dispose()
    {
        this.pusher.Dispose();
        this.client.Dispose();
    }

    private static string SchemaTag(string digest) => "sha256-" + digest["sha256:".Length..];

    private static byte[] Blob(string layout, string digest) => File.ReadAllBytes(Path.Combine(layout, "blobs", "sha256", digest["sha256:".Length..]));

    private async Task<StoredManifest> PushTreeAsync(string layout, JsonNode descriptor, string repository)
    {
        string digest = (string)descriptor["digest"]!;
        string mediaType = (string)descriptor["mediaType"]!;
        byte[] manifest = Blob(layout, digest);
        JsonNode parsed = JsonNode.Parse(manifest)!;
        if (parsed["manifests"] is JsonArray children)
        {
            foreach (JsonNode? child in children)
            {
                await this.PushTreeAsync(layout, child!, repository);
            }
        }
        else
        {
            foreach (JsonNode? blob in new[] { parsed["config"] }.Concat(parsed["layers"]!.AsArray()))
            {
                await this.pusher.PushBlobAsync(repository, Blob(layout, (string)blob!["digest"]!), (string)blob["mediaType"]!);
            }
        }

        string stored = await this.pusher.PutManifestAsync(repository, digest, manifest, mediaType);
        return new StoredManifest(stored, mediaType, manifest.Length);
    }

    private async Task AddToReferrersIndexAsync(string repository, string subject, StoredManifest referrer, string artifactType)
    {
        string tag = SchemaTag(subject);
        JsonArray manifests;
        try
        {
            ManifestContent current = await this.client.GetManifestAsync(repository, tag, CancellationToken.None);
            manifests = JsonNode.Parse(current.Content.Span)!["manifests"]!.AsArray();
        }
        catch (RegistryException ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            manifests = [];
        }

        manifests.Add(new JsonObject
        {
            ["mediaType"] = referrer.MediaType,
            ["size"] = referrer.Size,
            ["digest"] = referrer.Digest,
            ["artifactType"] = artifactType,
        });
        byte[] index = Encoding.UTF8.GetBytes(new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = MediaTypes.OciIndex,
            ["manifests"] = JsonNode.Parse(manifests.ToJsonString()),
        }.ToJsonString());
        await this.pusher.PutManifestAsync(repository, tag, index, MediaTypes.OciIndex);
    }
}
