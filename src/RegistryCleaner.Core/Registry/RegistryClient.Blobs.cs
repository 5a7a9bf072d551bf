using System.Net;
using System.Net.Http.Headers;

namespace RegistryCleaner.Registry;

/// <content>
/// Streaming blob transfer (backups read layers of any size, restores upload them) and the probes that tell whether
/// the registry accepts writes and deletes right now.
/// </content>
public sealed partial class RegistryClient
{
    private const int CopyBufferSize = 1 << 16;

    /// <summary>Blobs up to this size are read whole when a registry ignores a range request.</summary>
    private const long WholeBlobReadLimit = 64 * 1024;

    /// <summary>A digest no blob or manifest has: probes name it so that nothing real is ever touched.</summary>
    private const string ProbeDigest = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

    /// <summary>
    /// Streams a blob into <paramref name="destination"/> without holding it in memory. The caller verifies the
    /// content against the digest (the registry is not trusted); a read that makes no progress for the request timeout
    /// fails, and with <paramref name="expectedSize"/> a body longer than the descriptor's size stops one byte after it
    /// (a <c>Content-Length</c> over it is refused before anything is read).
    /// </summary>
    /// <param name="repository">The repository.</param>
    /// <param name="digest">The blob digest.</param>
    /// <param name="destination">Where the bytes go.</param>
    /// <param name="cancellationToken">Cancels the transfer.</param>
    /// <param name="expectedSize">The size the blob's descriptor names; <see langword="null"/> for no bound.</param>
    /// <returns>The number of bytes copied.</returns>
    /// <exception cref="RegistryLimitException">The registry sent more than <paramref name="expectedSize"/> bytes.</exception>
    /// <exception cref="RegistryException">The blob does not exist (status 404) or another error.</exception>
    public async Task<long> CopyBlobAsync(string repository, string digest, Stream destination, CancellationToken cancellationToken, long? expectedSize = null)
    {
        ValidateRepository(repository);
        RegistryNames.ThrowIfNotDigest(digest, nameof(digest));
        ArgumentNullException.ThrowIfNull(destination);
        using HttpResponseMessage response = await this.GetExistingBlobAsync(repository, digest, cancellationToken, HttpCompletionOption.ResponseHeadersRead).ConfigureAwait(false);
        var limit = expectedSize is { } size ? new ResponseLimit(size, "its descriptor's size", $"blob {repository}@{digest}") : null;
        if (limit is not null && response.Content.Headers.ContentLength is long announced && announced > limit.Bytes)
        {
            throw this.OverLimit(limit, announced);
        }

        Stream source = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (source.ConfigureAwait(false))
        {
            byte[] buffer = new byte[CopyBufferSize];
            long copied = 0;
            using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            while (true)
            {
                idle.CancelAfter(this.options.Timeout);
                int read;
                try
                {
                    // Never more than one byte past the descriptor's size: that byte proves the blob is too long.
                    int wanted = limit is null ? buffer.Length : (int)Math.Clamp(limit.Bytes + 1 - copied, 1, buffer.Length);
                    read = await source.ReadAsync(buffer.AsMemory(0, wanted), idle.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
                {
                    throw new RegistryUnreachableException(this.Name, $"Registry {this.Name} stopped sending blob {repository}@{digest} after {copied} bytes (nothing for {this.options.Timeout.TotalSeconds:0.#} s).", ex);
                }
                catch (HttpRequestException ex)
                {
                    throw new RegistryUnreachableException(this.Name, $"The download of blob {repository}@{digest} from registry {this.Name} broke off after {copied} bytes ({ex.Message}).", ex);
                }

                if (read == 0)
                {
                    return copied;
                }

                if (limit is not null && copied + read > limit.Bytes)
                {
                    throw this.OverLimit(limit, null);
                }

                await destination.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                copied += read;
            }
        }
    }

    /// <summary>
    /// Proves that the registry's storage still holds a blob of the expected size: a ranged <c>GET</c> of its last
    /// byte. <c>HEAD</c> cannot prove it: distribution 2.8 with <c>storage.cache.blobdescriptor: inmemory</c> (the
    /// default in its own and Debian's config.yml) answers <c>HEAD</c> from its cache, 200 for a blob whose data file
    /// is gone, until it restarts. The same cache makes a <c>GET</c> answer 206 too, but the registry then has to read
    /// the byte from storage, and sends none (the body ends before its <c>Content-Length</c>). One small request per
    /// blob; a zero-byte blob, which has no byte to read, gets a <c>HEAD</c>.
    /// </summary>
    /// <param name="repository">The repository.</param>
    /// <param name="digest">The blob digest.</param>
    /// <param name="size">The size the referencing descriptor declares.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>What the registry answered and sent.</returns>
    /// <exception cref="RegistryException">Any other answer than 200, 206, 404 or 416.</exception>
    public async Task<BlobDataCheck> CheckBlobDataAsync(string repository, string digest, long size, CancellationToken cancellationToken)
    {
        ValidateRepository(repository);
        RegistryNames.ThrowIfNotDigest(digest, nameof(digest));
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        string what = $"{repository}@{digest}";
        if (size == 0)
        {
            long? headSize = await this.HeadBlobAsync(repository, digest, cancellationToken).ConfigureAwait(false);
            return headSize is null
                ? new BlobDataCheck(BlobDataOutcome.NotFound, null, $"HEAD {what} answered 404: the blob is gone.")
                : new BlobDataCheck(headSize == 0 ? BlobDataOutcome.Readable : BlobDataOutcome.SizeDiffers, headSize, $"HEAD {what} answered {headSize} bytes.");
        }

        using HttpResponseMessage response = await this.SendBlobAsync(
            HttpMethod.Get, repository, digest, cancellationToken, HttpCompletionOption.ResponseHeadersRead, range: new RangeHeaderValue(size - 1, size - 1)).ConfigureAwait(false);
        string asked = $"GET {what} (Range: bytes={size - 1}-{size - 1})";
        switch (response.StatusCode)
        {
            case HttpStatusCode.NotFound:
                return new BlobDataCheck(BlobDataOutcome.NotFound, null, $"{asked} answered 404: the blob is gone.");
            case HttpStatusCode.RequestedRangeNotSatisfiable:
                // The stored blob is shorter than the manifest says: Content-Range: bytes */<actual size>.
                long? shorter = response.Content.Headers.ContentRange?.Length;
                return new BlobDataCheck(BlobDataOutcome.SizeDiffers, shorter, $"{asked} answered 416: the stored blob is {(shorter is null ? "shorter" : $"{shorter} bytes")}, not {size}.");
            case HttpStatusCode.PartialContent:
                ContentRangeHeaderValue? range = response.Content.Headers.ContentRange;
                if (range?.Length is not { } total)
                {
                    return new BlobDataCheck(BlobDataOutcome.Unreadable, null, $"{asked} answered 206 without the blob's size in Content-Range.");
                }

                if (total != size)
                {
                    return new BlobDataCheck(BlobDataOutcome.SizeDiffers, total, $"{asked} answered 206 for a blob of {total} bytes, not {size}.");
                }

                return await this.ReadBlobDataAsync(response, 1, total, asked, cancellationToken).ConfigureAwait(false);
            case HttpStatusCode.OK:
                // The registry ignored the range. A tiny blob is read whole; of a larger one, its first byte proves
                // that storage answers, and the connection is dropped rather than downloading the rest.
                long? length = response.Content.Headers.ContentLength;
                if (length is { } whole && whole != size)
                {
                    return new BlobDataCheck(BlobDataOutcome.SizeDiffers, whole, $"{asked} answered 200 with {whole} bytes, not {size}.");
                }

                return await this.ReadBlobDataAsync(response, size <= WholeBlobReadLimit ? size : 1, size, asked, cancellationToken).ConfigureAwait(false);
            default:
                await this.EnsureSuccessAsync(response, asked, cancellationToken).ConfigureAwait(false);
                throw new RegistryException(this.Name, $"Registry {this.Name} answered {(int)response.StatusCode} {response.ReasonPhrase} to {asked}.", response.StatusCode);
        }
    }

    /// <summary>
    /// Uploads a blob monolithically (<c>POST /blobs/uploads/</c>, then one <c>PUT ?digest=</c> with the content); the
    /// registry checks the digest and refuses content that does not match it.
    /// </summary>
    /// <param name="repository">The repository.</param>
    /// <param name="digest">The blob digest.</param>
    /// <param name="size">The content length.</param>
    /// <param name="open">Opens the content; called once per attempt.</param>
    /// <param name="cancellationToken">Cancels the upload.</param>
    /// <returns>A task that completes when the registry has stored the blob (201).</returns>
    /// <exception cref="RegistryException">The registry refused the upload.</exception>
    public async Task UploadBlobAsync(string repository, string digest, long size, Func<Stream> open, CancellationToken cancellationToken)
    {
        ValidateRepository(repository);
        RegistryNames.ThrowIfNotDigest(digest, nameof(digest));
        ArgumentNullException.ThrowIfNull(open);
        string location = await this.StartUploadAsync(repository, cancellationToken).ConfigureAwait(false)
            ?? throw new RegistryException(this.Name, $"Registry {this.Name} refuses uploads to {repository} (405): it is read-only or a pull-through cache.", HttpStatusCode.MethodNotAllowed);
        string separator = location.Contains('?', StringComparison.Ordinal) ? "&" : "?";

        // Not retried: a PUT that failed half-way leaves an upload session the registry may not accept again.
        using HttpResponseMessage response = await this.SendAsync(
            HttpMethod.Put,
            location + separator + "digest=" + Uri.EscapeDataString(digest),
            PushScope(repository),
            null,
            retry: false,
            cancellationToken,
            () =>
            {
                var body = new StreamContent(open(), CopyBufferSize);
                body.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
                body.Headers.ContentLength = size;
                return body;
            }).ConfigureAwait(false);
        await this.EnsureSuccessAsync(response, $"PUT blob {repository}@{digest}", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Tells whether the registry accepts writes now: starts a blob upload (read-only registries answer 405) and
    /// cancels it at once, so nothing is stored.
    /// </summary>
    /// <param name="repository">A repository the credentials may push to.</param>
    /// <param name="cancellationToken">Cancels the probe.</param>
    /// <returns><see langword="true"/> when writable, <see langword="false"/> when read-only.</returns>
    /// <exception cref="RegistryAuthenticationException">The credentials may not push, so the state cannot be told.</exception>
    public async Task<bool> IsWritableAsync(string repository, CancellationToken cancellationToken)
    {
        ValidateRepository(repository);
        string? location = await this.StartUploadAsync(repository, cancellationToken).ConfigureAwait(false);
        if (location is null)
        {
            return false;
        }

        using HttpResponseMessage cancel = await this.SendAsync(HttpMethod.Delete, location, PushScope(repository), null, retry: true, cancellationToken).ConfigureAwait(false);

        // 204 cancelled; 404 the session is already gone. Either way nothing was stored.
        return true;
    }

    /// <summary>
    /// Tells whether the registry accepts manifest deletes now: DELETE of a digest nothing has answers 404 where
    /// deletion is enabled and 405 where it is not.
    /// </summary>
    /// <param name="repository">A repository the credentials may delete from.</param>
    /// <param name="cancellationToken">Cancels the probe.</param>
    /// <returns><see langword="true"/> when enabled, <see langword="false"/> when disabled.</returns>
    public async Task<bool> IsDeleteEnabledAsync(string repository, CancellationToken cancellationToken)
    {
        ManifestDeleteResult answer = await this.DeleteManifestAsync(repository, ProbeDigest, cancellationToken).ConfigureAwait(false);
        return answer.Outcome switch
        {
            ManifestDeleteOutcome.NotFound => true,
            ManifestDeleteOutcome.Unsupported => false,
            _ => throw new RegistryException(this.Name, $"Registry {this.Name} answered a DELETE of a digest nothing has with {answer.Message}", answer.StatusCode),
        };
    }

    /// <summary>Sends a read of a blob (retried, as every read is).</summary>
    private Task<HttpResponseMessage> SendBlobAsync(
        HttpMethod method,
        string repository,
        string digest,
        CancellationToken cancellationToken,
        HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead,
        ResponseLimit? limit = null,
        RangeHeaderValue? range = null) =>
        this.SendAsync(method, $"v2/{repository}/blobs/{digest}", PullScope(repository), null, retry: true, cancellationToken, completion: completion, limit: limit, range: range);

    /// <summary>GETs a blob that must exist: a 404 and any other error answer throw.</summary>
    private async Task<HttpResponseMessage> GetExistingBlobAsync(
        string repository,
        string digest,
        CancellationToken cancellationToken,
        HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead,
        ResponseLimit? limit = null)
    {
        HttpResponseMessage response = await this.SendBlobAsync(HttpMethod.Get, repository, digest, cancellationToken, completion, limit).ConfigureAwait(false);
        try
        {
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                throw await this.NotFoundAsync(response, repository, $"Blob {digest} does not exist in {this.Name}/{repository}.", cancellationToken).ConfigureAwait(false);
            }

            await this.EnsureSuccessAsync(response, $"GET blob {repository}@{digest}", cancellationToken).ConfigureAwait(false);
            return response;
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    /// <summary>Reads <paramref name="wanted"/> bytes of a blob answer; fewer means storage could not give them.</summary>
    private async Task<BlobDataCheck> ReadBlobDataAsync(HttpResponseMessage response, long wanted, long size, string asked, CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[(int)Math.Min(wanted, CopyBufferSize)];
        long read = 0;
        string? broke = null;
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        idle.CancelAfter(this.options.Timeout);
        try
        {
            Stream body = await response.Content.ReadAsStreamAsync(idle.Token).ConfigureAwait(false);
            await using (body.ConfigureAwait(false))
            {
                while (read < wanted)
                {
                    int n = await body.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, wanted - read)), idle.Token).ConfigureAwait(false);
                    if (n == 0)
                    {
                        break;
                    }

                    read += n;
                }
            }
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            broke = $"nothing for {this.options.Timeout.TotalSeconds:0.#} s ({ex.Message})";
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException)
        {
            // distribution ends the body early when its storage has no data behind a cached descriptor.
            broke = ex.Message;
        }

        if (read >= wanted)
        {
            return new BlobDataCheck(BlobDataOutcome.Readable, size, $"{asked} sent {read} byte(s).");
        }

        return new BlobDataCheck(
            BlobDataOutcome.NoData,
            size,
            $"{asked} answered {(int)response.StatusCode} but sent {read} of {wanted} byte(s){(broke is null ? string.Empty : $" ({broke})")}: its storage has no data for the blob (deleted or truncated behind the registry's back; the registry still knows it from its blob descriptor cache).");
    }

    /// <summary>Starts an upload; returns its location as a path relative to the registry, or <see langword="null"/> on 405.</summary>
    private async Task<string?> StartUploadAsync(string repository, CancellationToken cancellationToken)
    {
        using HttpResponseMessage response = await this.SendAsync(
            HttpMethod.Post, $"v2/{repository}/blobs/uploads/", PushScope(repository), null, retry: true, cancellationToken, () => new ByteArrayContent([])).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.MethodNotAllowed)
        {
            return null;
        }

        await this.EnsureSuccessAsync(response, $"POST blob upload {repository}", cancellationToken).ConfigureAwait(false);
        Uri location = response.Headers.Location
            ?? throw new RegistryException(this.Name, $"Registry {this.Name} started an upload to {repository} without a Location header.", response.StatusCode);
        Uri absolute = location.IsAbsoluteUri ? location : new Uri(this.Endpoint.BaseUri, location);

        // The upload continues with our credentials, so it may only continue on the registry itself.
        if (!string.Equals(absolute.GetLeftPart(UriPartial.Authority), this.Endpoint.BaseUri.GetLeftPart(UriPartial.Authority), StringComparison.OrdinalIgnoreCase))
        {
            throw new RegistryException(this.Name, $"Registry {this.Name} sent the upload to {repository} to another host ({absolute.Authority}); credentials are sent to the registry only.", response.StatusCode);
        }

        return absolute.PathAndQuery.TrimStart('/');
    }
}

/// <summary>What <see cref="RegistryClient.CheckBlobDataAsync"/> found.</summary>
public enum BlobDataOutcome
{
    /// <summary>The registry sent the blob's last byte (or all of a tiny one) and its size is the expected one.</summary>
    Readable,

    /// <summary>404: the registry does not know the blob.</summary>
    NotFound,

    /// <summary>The registry knows the blob with another size (<see cref="BlobDataCheck.Size"/>).</summary>
    SizeDiffers,

    /// <summary>The registry answered as if the blob were there but sent no data: its storage has none.</summary>
    NoData,

    /// <summary>The answer cannot be interpreted.</summary>
    Unreadable,
}

/// <summary>What a registry answered when asked for a blob's data.</summary>
/// <param name="Outcome">The outcome.</param>
/// <param name="Size">The blob's size as the registry states it, when it did.</param>
/// <param name="Reason">What was asked and answered, in words.</param>
public sealed record BlobDataCheck(BlobDataOutcome Outcome, long? Size, string Reason);
