using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;

namespace RegistryCleaner.Registry;

/// <summary>Parses manifests of the four accepted media types into <see cref="ManifestRecord"/>.</summary>
public static class ManifestParser
{
    /// <summary>Parses a manifest.</summary>
    /// <param name="registry">The registry display name, for messages.</param>
    /// <param name="repository">The repository the manifest is in.</param>
    /// <param name="digest">The manifest digest.</param>
    /// <param name="contentType">The <c>Content-Type</c> the registry sent, used when the JSON has no <c>mediaType</c>.</param>
    /// <param name="content">The raw manifest bytes.</param>
    /// <param name="reference">The tag or digest the manifest was requested by, for messages; defaults to the digest.</param>
    /// <returns>The manifest, with <see cref="ManifestRecord.Created"/> unknown (it lives in the config blob).</returns>
    /// <exception cref="ManifestFormatException">The manifest is not JSON, is schema 1, or lacks required fields.</exception>
    public static ManifestRecord Parse(string registry, string repository, string digest, string? contentType, ReadOnlyMemory<byte> content, string? reference = null)
    {
        string named = reference ?? digest;
        try
        {
            using JsonDocument document = JsonDocument.Parse(content);
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw Malformed(registry, repository, named, "the JSON is not an object");
            }

            if (root.TryGetProperty("schemaVersion", out JsonElement schema) && schema.ValueKind == JsonValueKind.Number && schema.GetInt32() != 2)
            {
                throw Malformed(registry, repository, named, $"schema version {schema.GetInt32()} is not supported (only schema 2 and OCI)");
            }

            string? mediaType = root.TryGetProperty("mediaType", out JsonElement mt) && mt.ValueKind == JsonValueKind.String ? mt.GetString() : null;
            if (string.IsNullOrEmpty(mediaType))
            {
                mediaType = NormalizeContentType(contentType);
            }

            bool hasManifests = root.TryGetProperty("manifests", out JsonElement manifests) && manifests.ValueKind == JsonValueKind.Array;
            bool index = MediaTypes.IsIndex(mediaType) || (hasManifests && !root.TryGetProperty("config", out _));
            if (index)
            {
                if (!hasManifests)
                {
                    throw Malformed(registry, repository, named, "an index has no 'manifests' array");
                }

                var children = new List<ChildDescriptor>(manifests.GetArrayLength());
                foreach (JsonElement child in manifests.EnumerateArray())
                {
                    (string childDigest, long size, string childType) = Descriptor(child, registry, repository, named, "manifests[]");
                    children.Add(new ChildDescriptor(childDigest, size, childType, PlatformOf(child)));
                }

                return new ManifestRecord(
                    repository, digest, mediaType ?? MediaTypes.OciIndex, content.Length, null, Array.Empty<BlobDescriptor>(), children, null)
                {
                    Subject = SubjectOf(root, registry, repository, named),
                    ArtifactType = StringProperty(root, "artifactType"),
                };
            }

            if (!root.TryGetProperty("config", out JsonElement config) || config.ValueKind != JsonValueKind.Object)
            {
                throw Malformed(registry, repository, named, "an image manifest has no 'config' object");
            }

            (string configDigest, long configSize, string configType) = Descriptor(config, registry, repository, named, "config");
            long imageBytes = configSize;
            var layers = new List<BlobDescriptor>();
            if (root.TryGetProperty("layers", out JsonElement layerArray))
            {
                if (layerArray.ValueKind != JsonValueKind.Array)
                {
                    throw Malformed(registry, repository, named, "'layers' is not an array");
                }

                layers.Capacity = layerArray.GetArrayLength();
                foreach (JsonElement layer in layerArray.EnumerateArray())
                {
                    (string layerDigest, long size, string layerType) = Descriptor(layer, registry, repository, named, "layers[]");
                    layers.Add(new BlobDescriptor(layerDigest, size, layerType) { Urls = UrlsOf(layer, registry, repository, named) });
                    imageBytes = AddSize(imageBytes, size, registry, repository, named, "config and layer");
                }
            }

            var configDescriptor = new BlobDescriptor(configDigest, configSize, configType);
            return new ManifestRecord(
                repository,
                digest,
                mediaType ?? MediaTypes.OciManifest,
                content.Length,
                configDescriptor,
                layers,
                Array.Empty<ChildDescriptor>(),
                null)
            {
                Subject = SubjectOf(root, registry, repository, named),
                ArtifactType = StringProperty(root, "artifactType") ?? ArtifactTypeOf(configDescriptor, layers),
            };
        }
        catch (JsonException ex)
        {
            throw Malformed(registry, repository, named, "it is not valid JSON (" + ex.Message + ")", ex);
        }
        catch (InvalidOperationException ex)
        {
            throw Malformed(registry, repository, named, "a field has the wrong JSON type (" + ex.Message + ")", ex);
        }
        catch (FormatException ex)
        {
            throw Malformed(registry, repository, named, "a number is out of range (" + ex.Message + ")", ex);
        }
    }

    /// <summary>Reads the <c>created</c> time and platform of an image configuration blob.</summary>
    /// <param name="content">The config blob bytes.</param>
    /// <returns>The creation time and platform, each <see langword="null"/> when absent or not an image config (OCI artifacts).</returns>
    public static (DateTimeOffset? Created, string? Platform) ParseConfig(ReadOnlyMemory<byte> content)
    {
        try
        {
            using JsonDocument document = JsonDocument.Parse(content);
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return (null, null);
            }

            DateTimeOffset? created = root.TryGetProperty("created", out JsonElement c) && c.ValueKind == JsonValueKind.String
                && DateTimeOffset.TryParse(c.GetString(), System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out DateTimeOffset value)
                ? value
                : null;
            return (created, PlatformOf(root, nested: false));
        }
        catch (JsonException)
        {
            // Artifact configs need not be JSON; they simply have no creation time.
            return (null, null);
        }
    }

    /// <summary>Computes the <c>sha256:…</c> digest of content.</summary>
    /// <param name="content">The bytes.</param>
    /// <returns>The digest in lower-case hex.</returns>
    public static string ComputeDigest(ReadOnlySpan<byte> content)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(content, hash);
        return "sha256:" + Convert.ToHexString(hash).ToLowerInvariant();
    }

    internal static string? NormalizeContentType(string? contentType)
    {
        if (string.IsNullOrEmpty(contentType))
        {
            return null;
        }

        int semicolon = contentType.IndexOf(';', StringComparison.Ordinal);
        return (semicolon >= 0 ? contentType[..semicolon] : contentType).Trim();
    }

    private static (string Digest, long Size, string MediaType) Descriptor(JsonElement element, string registry, string repository, string digest, string where)
    {
        if (element.ValueKind != JsonValueKind.Object
            || !element.TryGetProperty("digest", out JsonElement d) || d.ValueKind != JsonValueKind.String
            || !element.TryGetProperty("size", out JsonElement s) || s.ValueKind != JsonValueKind.Number)
        {
            throw Malformed(registry, repository, digest, $"a {where} descriptor lacks a digest or size");
        }

        // The digest goes into URLs (blobs/<digest>, manifests/<digest>) and storage paths: only a digest may.
        string value = d.GetString()!;
        if (RegistryNames.DigestError(value) is { } error)
        {
            throw Malformed(registry, repository, digest, $"a {where} descriptor's digest is invalid: {error}");
        }

        long size = s.GetInt64();
        if (size < 0)
        {
            throw Malformed(registry, repository, digest, string.Create(CultureInfo.InvariantCulture, $"a {where} descriptor has the negative size {size}"));
        }

        string mediaType = element.TryGetProperty("mediaType", out JsonElement m) && m.ValueKind == JsonValueKind.String ? m.GetString()! : string.Empty;
        return (value, size, mediaType);
    }

    // An image's bytes must add up in a long: a manifest whose sizes cannot is an error for its tag, never a wrapped number.
    private static long AddSize(long total, long size, string registry, string repository, string digest, string what)
    {
        try
        {
            return checked(total + size);
        }
        catch (OverflowException ex)
        {
            throw Malformed(registry, repository, digest, $"its {what} sizes add up to more than {long.MaxValue} bytes", ex);
        }
    }

    // Foreign layers (Windows base layers) name where they are downloaded from instead of the registry.
    private static IReadOnlyList<string>? UrlsOf(JsonElement descriptor, string registry, string repository, string digest)
    {
        if (!descriptor.TryGetProperty("urls", out JsonElement urls) || urls.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (urls.ValueKind != JsonValueKind.Array || urls.EnumerateArray().Any(static u => u.ValueKind != JsonValueKind.String))
        {
            throw Malformed(registry, repository, digest, "a layers[] descriptor's 'urls' is not a list of strings");
        }

        return urls.GetArrayLength() == 0 ? null : urls.EnumerateArray().Select(static u => u.GetString()!).ToArray();
    }

    /// <summary>Returns whether a config media type is an image configuration (Docker or OCI), not an artifact's.</summary>
    /// <param name="mediaType">The config descriptor's media type.</param>
    /// <returns><see langword="true"/> for an image configuration (or none given).</returns>
    internal static bool IsImageConfig(string mediaType) =>
        mediaType is "application/vnd.docker.container.image.v1+json" or "application/vnd.oci.image.config.v1+json" or "";

    // The OCI 1.1 subject: the manifest this one refers to (signature, SBOM, attestation).
    private static string? SubjectOf(JsonElement root, string registry, string repository, string named)
    {
        if (!root.TryGetProperty("subject", out JsonElement subject) || subject.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return Descriptor(subject, registry, repository, named, "subject").Digest;
    }

    // An image has image layers under an image config; anything else is an artifact, named the way the referrers API
    // names it (artifactType, else the config's media type), except that a signature or SBOM stored under an image or
    // empty config (cosign) is named by its layer, which is what says what it is.
    private static string? ArtifactTypeOf(BlobDescriptor config, IReadOnlyList<BlobDescriptor> layers)
    {
        bool genericConfig = IsImageConfig(config.MediaType) || config.MediaType == "application/vnd.oci.empty.v1+json";
        if (!genericConfig)
        {
            return config.MediaType;
        }

        foreach (BlobDescriptor layer in layers)
        {
            if (!IsImageLayer(layer.MediaType))
            {
                return layer.MediaType;
            }
        }

        return null;
    }

    private static bool IsImageLayer(string mediaType) =>
        mediaType.Length == 0
        || mediaType.StartsWith("application/vnd.oci.image.layer.", StringComparison.Ordinal)
        || mediaType.StartsWith("application/vnd.docker.image.rootfs.", StringComparison.Ordinal);

    private static string? StringProperty(JsonElement root, string name) =>
        root.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } text ? text : null;

    private static string? PlatformOf(JsonElement element, bool nested = true)
    {
        JsonElement platform = element;
        if (nested && (!element.TryGetProperty("platform", out platform) || platform.ValueKind != JsonValueKind.Object))
        {
            return null;
        }

        string? os = platform.TryGetProperty("os", out JsonElement o) && o.ValueKind == JsonValueKind.String ? o.GetString() : null;
        string? arch = platform.TryGetProperty("architecture", out JsonElement a) && a.ValueKind == JsonValueKind.String ? a.GetString() : null;
        if (string.IsNullOrEmpty(os) || string.IsNullOrEmpty(arch))
        {
            return null;
        }

        string? variant = platform.TryGetProperty("variant", out JsonElement v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        return string.IsNullOrEmpty(variant) ? $"{os}/{arch}" : $"{os}/{arch}/{variant}";
    }

    private static ManifestFormatException Malformed(string registry, string repository, string digest, string reason, Exception? inner = null) =>
        new(registry, repository, digest, reason, inner);
}
