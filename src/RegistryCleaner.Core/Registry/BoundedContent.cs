using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;

namespace RegistryCleaner.Registry;

/// <summary>
/// Reads HTTP bodies within a byte limit, so a registry cannot make the module hold more than the limit: a
/// <c>Content-Length</c> over it is refused before anything is read, and a longer (or endless, chunked) body stops one
/// byte after it.
/// </summary>
internal static class BoundedContent
{
    /// <summary>The most bytes of a registry's error body read (64 KiB): only its detail is used, the rest is dropped.</summary>
    public const int MaxErrorBytes = 64 << 10;

    private const int ChunkSize = 1 << 16;

    /// <summary>Reads the whole body if it has at most <paramref name="limit"/> bytes.</summary>
    /// <param name="content">The body.</param>
    /// <param name="limit">The most bytes accepted.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The bytes, or <see langword="null"/> when the body is longer (the rest is not read).</returns>
    public static async Task<byte[]?> ReadAsync(HttpContent content, long limit, CancellationToken cancellationToken)
    {
        if (limit < 0 || content.Headers.ContentLength is long announced && announced > limit)
        {
            return null;
        }

        Stream stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            using var buffer = new MemoryStream((int)Math.Min(limit, content.Headers.ContentLength ?? ChunkSize));
            // Every manifest and configuration read goes through here: the chunk is borrowed, not allocated (and
            // zeroed) anew for each answer.
            int chunkSize = (int)Math.Min(ChunkSize, limit + 1);
            byte[] chunk = ArrayPool<byte>.Shared.Rent(chunkSize);
            try
            {
                while (true)
                {
                    // Never ask for more than one byte past the limit: that byte alone proves the body is too long.
                    int wanted = (int)Math.Min(chunkSize, limit + 1 - buffer.Length);
                    int read = await stream.ReadAsync(chunk.AsMemory(0, wanted), cancellationToken).ConfigureAwait(false);
                    if (read == 0)
                    {
                        return buffer.ToArray();
                    }

                    if (buffer.Length + read > limit)
                    {
                        return null;
                    }

                    buffer.Write(chunk, 0, read);
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(chunk);
            }
        }
    }

    /// <summary>Reads at most <paramref name="limit"/> bytes of a body and drops the rest unread (error bodies).</summary>
    /// <param name="content">The body.</param>
    /// <param name="limit">The most bytes kept.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The first bytes of the body.</returns>
    public static async Task<byte[]> ReadPrefixAsync(HttpContent content, int limit, CancellationToken cancellationToken)
    {
        Stream stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            byte[] buffer = new byte[(int)Math.Min(limit, content.Headers.ContentLength is long n and >= 0 ? n : limit)];
            int filled = 0;
            while (filled < buffer.Length)
            {
                int read = await stream.ReadAsync(buffer.AsMemory(filled), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                filled += read;
            }

            return filled == buffer.Length ? buffer : buffer[..filled];
        }
    }

    /// <summary>Replaces a response's body with bytes already read, keeping its content headers (media type).</summary>
    /// <param name="response">The response.</param>
    /// <param name="bytes">The body as read.</param>
    public static void Replace(HttpResponseMessage response, byte[] bytes)
    {
        HttpContent original = response.Content;
        var buffered = new ByteArrayContent(bytes);
        foreach ((string name, IEnumerable<string> values) in original.Headers)
        {
            if (!string.Equals(name, "Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                buffered.Headers.TryAddWithoutValidation(name, values);
            }
        }

        response.Content = buffered;
        original.Dispose();
    }

    /// <summary>Formats a byte limit for messages: <c>4 MiB</c>, <c>64 KiB</c>, <c>100 bytes</c>.</summary>
    /// <param name="bytes">The limit.</param>
    /// <returns>The text.</returns>
    public static string Format(long bytes) => bytes switch
    {
        >= 1L << 20 when bytes % (1L << 20) == 0 => string.Create(CultureInfo.InvariantCulture, $"{bytes >> 20} MiB"),
        >= 1L << 10 when bytes % (1L << 10) == 0 => string.Create(CultureInfo.InvariantCulture, $"{bytes >> 10} KiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes} bytes"),
    };
}

/// <summary>Content digests (<c>algorithm:hex</c>) the module can verify: sha256 and sha512.</summary>
internal static class ContentDigest
{
    /// <summary>Computes the digest of content with the algorithm of <paramref name="digest"/>.</summary>
    /// <param name="digest">A digest naming the algorithm (<c>sha256:…</c> or <c>sha512:…</c>).</param>
    /// <param name="content">The bytes.</param>
    /// <returns>The digest of the content in lower-case hex, or <see langword="null"/> for an algorithm that cannot be verified.</returns>
    public static string? Compute(string digest, ReadOnlySpan<byte> content)
    {
        if (digest.StartsWith("sha256:", StringComparison.Ordinal))
        {
            return ManifestParser.ComputeDigest(content);
        }

        if (digest.StartsWith("sha512:", StringComparison.Ordinal))
        {
            Span<byte> hash = stackalloc byte[64];
            SHA512.HashData(content, hash);
            return "sha512:" + Convert.ToHexString(hash).ToLowerInvariant();
        }

        return null;
    }

    /// <summary>Gets the algorithm part of a digest, for messages.</summary>
    /// <param name="digest">The digest.</param>
    /// <returns>The text before the colon.</returns>
    public static string Algorithm(string digest)
    {
        int colon = digest.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? digest : digest[..colon];
    }
}
