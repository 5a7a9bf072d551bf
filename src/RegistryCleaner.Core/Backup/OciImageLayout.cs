using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace RegistryCleaner.Backup;

/// <summary>One descriptor of a layout's <c>index.json</c>: a manifest (or index) the layout holds, with its annotations.</summary>
/// <param name="MediaType">The manifest media type.</param>
/// <param name="Digest">The manifest digest.</param>
/// <param name="Size">The manifest size in bytes.</param>
/// <param name="Annotations">The descriptor's annotations (<see cref="OciImageLayout.RefNameAnnotation"/> among them).</param>
public sealed record OciLayoutEntry(string MediaType, string Digest, long Size, IReadOnlyDictionary<string, string> Annotations)
{
    /// <summary>Gets the reference name (<c>org.opencontainers.image.ref.name</c>), when the entry has one.</summary>
    public string? RefName => this.Annotations.GetValueOrDefault(OciImageLayout.RefNameAnnotation);
}

/// <summary>The layout is not an OCI image layout this code can use, or a blob in it is damaged.</summary>
public sealed class OciLayoutException : Exception
{
    /// <summary>Initializes the exception.</summary>
    public OciLayoutException()
    {
    }

    /// <summary>Initializes the exception.</summary>
    /// <param name="message">What is wrong and where.</param>
    public OciLayoutException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes the exception.</summary>
    /// <param name="message">What is wrong and where.</param>
    /// <param name="innerException">The cause.</param>
    public OciLayoutException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// A directory in the OCI image layout format (image-spec <c>image-layout.md</c>): an <c>oci-layout</c> file, an
/// <c>index.json</c> image index naming the manifests it holds, and every blob (manifests, configurations, layers)
/// under <c>blobs/&lt;algorithm&gt;/&lt;hex&gt;</c>, each stored once however many images share it. Every blob is
/// written to a temporary file, checked against its digest and only then renamed into place, so a blob that exists is
/// complete; <c>index.json</c> is rewritten the same way under a lock file, so several writers may share a layout.
/// skopeo, umoci and other OCI tools read it.
/// </summary>
public sealed partial class OciImageLayout
{
    /// <summary>The annotation OCI tools look up a reference by (<c>oci:&lt;dir&gt;:&lt;ref&gt;</c>).</summary>
    public const string RefNameAnnotation = "org.opencontainers.image.ref.name";

    /// <summary>The layout version this code writes and reads.</summary>
    public const string LayoutVersion = "1.0.0";

    private const string IndexMediaType = "application/vnd.oci.image.index.v1+json";

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    private readonly object indexGate = new();

    private OciImageLayout(string path) => this.Path = path;

    /// <summary>Gets the layout's directory.</summary>
    public string Path { get; }

    /// <summary>
    /// Opens a layout, creating it (directory, <c>oci-layout</c>, empty <c>index.json</c>, <c>blobs/</c>) when
    /// <paramref name="create"/> is set and it does not exist yet.
    /// </summary>
    /// <param name="path">The directory.</param>
    /// <param name="create">Whether to create a missing layout.</param>
    /// <returns>The layout.</returns>
    /// <exception cref="OciLayoutException">The directory is not an OCI image layout, or of a version this code does not know.</exception>
    /// <exception cref="DirectoryNotFoundException">The layout does not exist and <paramref name="create"/> is not set.</exception>
    public static OciImageLayout Open(string path, bool create)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = System.IO.Path.GetFullPath(path);
        string marker = System.IO.Path.Combine(full, "oci-layout");
        if (!File.Exists(marker))
        {
            if (!create)
            {
                throw new DirectoryNotFoundException($"'{full}' is not an OCI image layout (it has no oci-layout file): give the -BackupPath a backup was written to.");
            }

            if (Directory.Exists(full) && Directory.EnumerateFileSystemEntries(full).Any())
            {
                throw new OciLayoutException($"'{full}' is a folder with other files in it, not an OCI image layout: give an empty or new folder, or an existing backup.");
            }

            Directory.CreateDirectory(System.IO.Path.Combine(full, "blobs", "sha256"));
            var layout = new OciImageLayout(full);
            WriteAtomically(System.IO.Path.Combine(full, "index.json"), JsonSerializer.SerializeToUtf8Bytes(new JsonObject
            {
                ["schemaVersion"] = 2,
                ["mediaType"] = IndexMediaType,
                ["manifests"] = new JsonArray(),
            }, Indented));
            WriteAtomically(marker, JsonSerializer.SerializeToUtf8Bytes(new JsonObject { ["imageLayoutVersion"] = LayoutVersion }));
            return layout;
        }

        try
        {
            using JsonDocument document = JsonDocument.Parse(File.ReadAllBytes(marker));
            string? version = document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("imageLayoutVersion", out JsonElement v) && v.ValueKind == JsonValueKind.String
                ? v.GetString()
                : null;
            if (version is null || !version.StartsWith("1.", StringComparison.Ordinal))
            {
                throw new OciLayoutException($"'{marker}' names image layout version '{version}'; this module reads version 1.x layouts only.");
            }
        }
        catch (JsonException ex)
        {
            throw new OciLayoutException($"'{marker}' is not JSON, so '{full}' is not an OCI image layout: {ex.Message}", ex);
        }

        Directory.CreateDirectory(System.IO.Path.Combine(full, "blobs"));
        return new OciImageLayout(full);
    }

    /// <summary>Checks that a digest is one this layout stores (<c>sha256</c> or <c>sha512</c>, lower-case hex).</summary>
    /// <param name="digest">The digest.</param>
    /// <returns>Whether it is valid; anything else would not be a safe file name either.</returns>
    public static bool IsValidDigest(string? digest) => digest is not null && DigestPattern().IsMatch(digest);

    /// <summary>Gets the file a blob lives in (whether or not it exists).</summary>
    /// <param name="digest">The blob digest.</param>
    /// <returns>The path.</returns>
    /// <exception cref="ArgumentException">The digest is not valid.</exception>
    public string BlobPath(string digest)
    {
        if (!IsValidDigest(digest))
        {
            throw new ArgumentException($"'{digest}' is not a sha256 or sha512 digest.", nameof(digest));
        }

        int colon = digest.IndexOf(':', StringComparison.Ordinal);
        return System.IO.Path.Combine(this.Path, "blobs", digest[..colon], digest[(colon + 1)..]);
    }

    /// <summary>Gets the size of a stored blob, or <see langword="null"/> when the layout does not have it.</summary>
    /// <param name="digest">The blob digest.</param>
    /// <returns>The size.</returns>
    public long? BlobSize(string digest)
    {
        var file = new FileInfo(this.BlobPath(digest));
        return file.Exists ? file.Length : null;
    }

    /// <summary>
    /// Stores a blob once: the bytes <paramref name="write"/> produces go to a temporary file, are checked against the
    /// digest (and size, when given), and only then take the blob's name. A blob already present is left as it is.
    /// </summary>
    /// <param name="digest">The blob digest.</param>
    /// <param name="expectedSize">The size the descriptor names, or <see langword="null"/>.</param>
    /// <param name="write">Writes the content into the stream it is given.</param>
    /// <param name="cancellationToken">Cancels the write (the temporary file is removed).</param>
    /// <returns><see langword="true"/> when the blob was stored now, <see langword="false"/> when it was already there.</returns>
    /// <exception cref="OciLayoutException">The content does not match the digest or size.</exception>
    public async Task<bool> WriteBlobAsync(string digest, long? expectedSize, Func<Stream, CancellationToken, Task> write, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(write);
        string target = this.BlobPath(digest);
        if (File.Exists(target))
        {
            return false;
        }

        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(target)!);
        string temporary = $"{target}.{Guid.NewGuid():N}.partial";
        try
        {
            long length;
            string actual;
            var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
            await using (file.ConfigureAwait(false))
            {
                using var hasher = IncrementalHash.CreateHash(digest.StartsWith("sha512:", StringComparison.Ordinal) ? HashAlgorithmName.SHA512 : HashAlgorithmName.SHA256);
                var hashing = new HashingStream(file, hasher);
                await write(hashing, cancellationToken).ConfigureAwait(false);
                await file.FlushAsync(cancellationToken).ConfigureAwait(false);
                file.Flush(flushToDisk: true);
                length = hashing.Length;
                actual = digest[..(digest.IndexOf(':', StringComparison.Ordinal) + 1)] + Convert.ToHexString(hasher.GetHashAndReset()).ToLowerInvariant();
            }

            if (!string.Equals(actual, digest, StringComparison.Ordinal))
            {
                throw new OciLayoutException($"The content received for blob {digest} hashes to {actual}; it was not stored.");
            }

            if (expectedSize is { } size && size != length)
            {
                throw new OciLayoutException($"Blob {digest} is {length} bytes, not the {size} bytes its descriptor names; it was not stored.");
            }

            try
            {
                File.Move(temporary, target, overwrite: false);
            }
            catch (IOException) when (File.Exists(target))
            {
                // Another writer stored the same content first: same digest, same bytes.
                return false;
            }

            return true;
        }
        finally
        {
            if (File.Exists(temporary))
            {
                File.Delete(temporary);
            }
        }
    }

    /// <summary>Stores a small blob (a manifest) from memory; see <see cref="WriteBlobAsync(string, long?, Func{Stream, CancellationToken, Task}, CancellationToken)"/>.</summary>
    /// <param name="digest">The blob digest.</param>
    /// <param name="content">The bytes.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns><see langword="true"/> when the blob was stored now.</returns>
    public Task<bool> WriteBlobAsync(string digest, ReadOnlyMemory<byte> content, CancellationToken cancellationToken) =>
        this.WriteBlobAsync(digest, content.Length, (stream, token) => stream.WriteAsync(content, token).AsTask(), cancellationToken);

    /// <summary>Opens a stored blob for reading.</summary>
    /// <param name="digest">The blob digest.</param>
    /// <returns>The stream; the caller disposes it.</returns>
    /// <exception cref="OciLayoutException">The layout does not have the blob.</exception>
    public Stream OpenBlob(string digest)
    {
        string file = this.BlobPath(digest);
        try
        {
            return new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new OciLayoutException($"The backup '{this.Path}' does not have blob {digest}.", ex);
        }
    }

    /// <summary>Reads a small stored blob (a manifest) and checks it against its digest.</summary>
    /// <param name="digest">The blob digest.</param>
    /// <param name="maxBytes">The largest size accepted.</param>
    /// <returns>The bytes.</returns>
    /// <exception cref="OciLayoutException">The blob is missing, too large, or damaged.</exception>
    public byte[] ReadBlob(string digest, long maxBytes = 4 * 1024 * 1024)
    {
        using Stream stream = this.OpenBlob(digest);
        if (stream.Length > maxBytes)
        {
            throw new OciLayoutException($"Blob {digest} in '{this.Path}' is {stream.Length} bytes, more than the {maxBytes} bytes a manifest may have.");
        }

        byte[] content = new byte[stream.Length];
        stream.ReadExactly(content);
        string actual = digest.StartsWith("sha512:", StringComparison.Ordinal)
            ? "sha512:" + Convert.ToHexString(SHA512.HashData(content)).ToLowerInvariant()
            : "sha256:" + Convert.ToHexString(SHA256.HashData(content)).ToLowerInvariant();
        if (!string.Equals(actual, digest, StringComparison.Ordinal))
        {
            throw new OciLayoutException($"Blob {digest} in '{this.Path}' is damaged: its content hashes to {actual}.");
        }

        return content;
    }

    [GeneratedRegex("^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$", RegexOptions.CultureInvariant)]
    private static partial Regex DigestPattern();

    private static void WriteAtomically(string path, byte[] content)
    {
        string temporary = $"{path}.{Guid.NewGuid():N}.partial";
        using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
        {
            stream.Write(content);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Hashes and counts what passes through on its way to the file.</summary>
    private sealed class HashingStream(Stream inner, IncrementalHash hasher) : Stream
    {
        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => this.Written;

        public override long Position
        {
            get => this.Written;
            set => throw new NotSupportedException();
        }

        private long Written { get; set; }

        public override void Flush() => inner.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => this.Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            hasher.AppendData(buffer);
            inner.Write(buffer);
            this.Written += buffer.Length;
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            hasher.AppendData(buffer.Span);
            await inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
            this.Written += buffer.Length;
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            this.WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }
}
