using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Polly;
using Polly.Retry;

namespace RegistryCleaner.Registry;

/// <summary>
/// An OCI distribution (Docker registry v2) client for one registry: one pooled HTTP/1.1 connection pool, anonymous,
/// basic and bearer-token authentication, retries of idempotent requests. Thread-safe; dispose once.
/// </summary>
public sealed partial class RegistryClient : IDisposable
{
    private const string CatalogScope = "registry:catalog:*";
    private readonly HttpClient http;
    private readonly RegistryClientOptions options;
    private readonly ResiliencePipeline<HttpResponseMessage> retryPipeline;
    private readonly ConcurrentDictionary<string, Task<BearerToken>> tokens = new(StringComparer.Ordinal);
    private readonly TokenRealmPolicy realmPolicy;
    private volatile BearerChallenge? bearerChallenge;
    private volatile bool useBasic;

    // Timeouts and lost connections are retried only once the registry has answered at least once: a registry that
    // never answered is unreachable, and the user should hear so within one timeout, not after every retry.
    private volatile bool answered;

    // What the registry was found to support, asked once per client (SupportsReferrersApiAsync, SupportsTagDeletionAsync).
    private Task<bool>? referrersApi;
    private Task<bool>? tagDeletion;

    /// <summary>Initializes a client.</summary>
    /// <param name="endpoint">The registry.</param>
    /// <param name="options">The options; defaults when <see langword="null"/>.</param>
    public RegistryClient(RegistryEndpoint endpoint, RegistryClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        this.Endpoint = endpoint;
        this.options = options ?? new RegistryClientOptions();
        this.realmPolicy = new TokenRealmPolicy(endpoint, this.options.TokenRealmHosts);
        int connections = Math.Max(1, this.options.MaxConcurrency);
        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = connections,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            ConnectTimeout = this.options.Timeout,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,

            // Registries redirect blob GETs to storage; the redirect target must not receive our Authorization header,
            // which HttpClient already strips on redirect.
            AllowAutoRedirect = true,
        };
        if (this.options.SkipCertificateCheck)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = static (_, _, _, _) => true;
        }

        this.http = new HttpClient(handler, disposeHandler: true)
        {
            BaseAddress = endpoint.BaseUri,
            Timeout = this.options.Timeout,
            DefaultRequestVersion = HttpVersion.Version11,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,

            // Only token service answers are buffered by HttpClient itself; every registry answer is read within its own limit.
            MaxResponseContentBufferSize = this.options.MaxTokenResponseBytes,
        };
        this.http.DefaultRequestHeaders.UserAgent.ParseAdd("RegistryCleaner/0.1");
        this.retryPipeline = this.BuildRetryPipeline();
    }

    /// <summary>Gets the registry this client talks to.</summary>
    public RegistryEndpoint Endpoint { get; }

    /// <summary>Gets the options.</summary>
    public RegistryClientOptions Options => this.options;

    private string Name => this.Endpoint.DisplayName;

    /// <summary>Checks that the registry speaks the v2 API and accepts the credentials (<c>GET /v2/</c>).</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the registry answered 200.</returns>
    /// <exception cref="RegistryAuthenticationException">The credentials were refused.</exception>
    /// <exception cref="RegistryUnreachableException">The registry did not answer.</exception>
    public async Task PingAsync(CancellationToken cancellationToken)
    {
        // /v2/ has no scope; a bearer registry challenges with a service only, and any token for it proves the login.
        using HttpResponseMessage response = await this.SendAsync(HttpMethod.Get, "v2/", scope: string.Empty, null, retry: true, cancellationToken).ConfigureAwait(false);
        await this.EnsureSuccessAsync(response, "GET /v2/", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Lists every repository of the registry (<c>/v2/_catalog</c>), following <c>Link</c> pages.</summary>
    /// <param name="pageSize">Entries per page, 1 to 1000.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The repository names, in the registry's order.</returns>
    public Task<IReadOnlyList<string>> GetCatalogAsync(int pageSize = 1000, CancellationToken cancellationToken = default) =>
        this.GetPagedAsync($"v2/_catalog?n={ClampPage(pageSize)}", CatalogScope, "repositories", null, cancellationToken);

    /// <summary>Lists the tags of a repository, following <c>Link</c> pages.</summary>
    /// <param name="repository">The repository, e.g. <c>dominodatalab/environment</c>.</param>
    /// <param name="pageSize">Entries per page, 1 to 1000.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The tags; empty when the repository has none.</returns>
    /// <exception cref="RepositoryNotFoundException">The repository does not exist.</exception>
    public Task<IReadOnlyList<string>> ListTagsAsync(string repository, int pageSize = 1000, CancellationToken cancellationToken = default)
    {
        ValidateRepository(repository);
        return this.GetPagedAsync($"v2/{repository}/tags/list?n={ClampPage(pageSize)}", PullScope(repository), "tags", repository, cancellationToken);
    }

    /// <summary>Gets a manifest by tag or digest, accepting all four manifest media types.</summary>
    /// <param name="repository">The repository.</param>
    /// <param name="reference">A tag or a digest.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The raw manifest, its media type and digest.</returns>
    /// <exception cref="ManifestFormatException">The content does not hash to the requested digest or, by tag, to the registry's <c>Docker-Content-Digest</c>.</exception>
    /// <exception cref="RegistryLimitException">The manifest is larger than <see cref="RegistryClientOptions.MaxManifestBytes"/>.</exception>
    /// <exception cref="RegistryException">The manifest does not exist (status 404) or another error.</exception>
    public async Task<ManifestContent> GetManifestAsync(string repository, string reference, CancellationToken cancellationToken)
    {
        ValidateRepository(repository);
        RegistryNames.ThrowIfNotReference(reference, nameof(reference));
        using HttpResponseMessage response = await this.SendAsync(
            HttpMethod.Get,
            $"v2/{repository}/manifests/{reference}",
            PullScope(repository),
            MediaTypes.AcceptAll,
            retry: true,
            cancellationToken,
            limit: new ResponseLimit(this.options.MaxManifestBytes, nameof(RegistryClientOptions.MaxManifestBytes), $"the manifest {repository}{RefSeparator(reference)}{reference}")).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            throw await this.NotFoundAsync(response, repository, $"Manifest {this.Name}/{repository}{RefSeparator(reference)}{reference} does not exist.", cancellationToken).ConfigureAwait(false);
        }

        await this.EnsureSuccessAsync(response, $"GET manifest {repository}{RefSeparator(reference)}{reference}", cancellationToken).ConfigureAwait(false);
        byte[] content = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        string mediaType = ManifestParser.NormalizeContentType(response.Content.Headers.ContentType?.MediaType) ?? string.Empty;
        string? digest = this.DigestHeader(response, repository, reference);
        if (IsDigest(reference))
        {
            this.VerifyManifest(repository, reference, reference, content, fromHeader: false);
            digest = reference;
        }
        else if (digest is not null)
        {
            // By tag the registry names the digest; the manifest is filed and protected under it, so it must be true.
            this.VerifyManifest(repository, reference, digest, content, fromHeader: true);
        }

        digest ??= ManifestParser.ComputeDigest(content);
        return new ManifestContent(digest, mediaType, content);
    }

    /// <summary>Resolves a tag (or checks a digest) with <c>HEAD</c>, without downloading the manifest.</summary>
    /// <param name="repository">The repository.</param>
    /// <param name="reference">A tag or a digest.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The manifest digest, or <see langword="null"/> when it does not exist (404).</returns>
    public async Task<string?> HeadManifestAsync(string repository, string reference, CancellationToken cancellationToken)
    {
        ValidateRepository(repository);
        RegistryNames.ThrowIfNotReference(reference, nameof(reference));
        using (HttpResponseMessage response = await this.SendAsync(
            HttpMethod.Head, $"v2/{repository}/manifests/{reference}", PullScope(repository), MediaTypes.AcceptAll, retry: true, cancellationToken).ConfigureAwait(false))
        {
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                return null;
            }

            await this.EnsureSuccessAsync(response, $"HEAD manifest {repository}{RefSeparator(reference)}{reference}", cancellationToken).ConfigureAwait(false);
            string? digest = this.DigestHeader(response, repository, reference);
            if (digest is not null)
            {
                return digest;
            }
        }

        // Some registries omit the digest header on HEAD; the content then decides.
        return (await this.GetManifestAsync(repository, reference, cancellationToken).ConfigureAwait(false)).Digest;
    }

    /// <summary>
    /// Downloads a small blob (an image configuration) up to its descriptor's size and checks it against its digest
    /// before returning it; a longer body is not read further.
    /// </summary>
    /// <param name="repository">The repository.</param>
    /// <param name="digest">The blob digest.</param>
    /// <param name="size">The size its descriptor names.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The blob bytes, verified.</returns>
    /// <exception cref="RegistryLimitException">The registry sent more than <paramref name="size"/> bytes.</exception>
    /// <exception cref="BlobContentException">The content is shorter than <paramref name="size"/> or does not hash to <paramref name="digest"/>.</exception>
    /// <exception cref="RegistryException">The blob does not exist (status 404) or another error.</exception>
    public async Task<byte[]> GetBlobAsync(string repository, string digest, long size, CancellationToken cancellationToken)
    {
        ValidateRepository(repository);
        RegistryNames.ThrowIfNotDigest(digest, nameof(digest));
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        using HttpResponseMessage response = await this.SendAsync(
            HttpMethod.Get,
            $"v2/{repository}/blobs/{digest}",
            PullScope(repository),
            null,
            retry: true,
            cancellationToken,
            limit: new ResponseLimit(size, "its descriptor's size", $"blob {repository}@{digest}")).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            throw await this.NotFoundAsync(response, repository, $"Blob {digest} does not exist in {this.Name}/{repository}.", cancellationToken).ConfigureAwait(false);
        }

        await this.EnsureSuccessAsync(response, $"GET blob {repository}@{digest}", cancellationToken).ConfigureAwait(false);
        byte[] content = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        this.VerifyBlob(repository, digest, size, content);
        return content;
    }

    /// <summary>Checks a blob with <c>HEAD</c>.</summary>
    /// <param name="repository">The repository.</param>
    /// <param name="digest">The blob digest.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The blob size in bytes, or <see langword="null"/> when it does not exist (404).</returns>
    public async Task<long?> HeadBlobAsync(string repository, string digest, CancellationToken cancellationToken)
    {
        ValidateRepository(repository);
        RegistryNames.ThrowIfNotDigest(digest, nameof(digest));
        using HttpResponseMessage response = await this.SendAsync(
            HttpMethod.Head, $"v2/{repository}/blobs/{digest}", PullScope(repository), null, retry: true, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        await this.EnsureSuccessAsync(response, $"HEAD blob {repository}@{digest}", cancellationToken).ConfigureAwait(false);
        return response.Content.Headers.ContentLength ?? 0;
    }

    /// <summary>
    /// Deletes a manifest by digest. The registry removes the manifest <b>and every tag pointing at it</b>. Never
    /// retried: a request that got no answer returns <see cref="ManifestDeleteOutcome.NoAnswer"/> for the caller to re-check.
    /// </summary>
    /// <param name="repository">The repository.</param>
    /// <param name="digest">The manifest digest (a tag is refused: registries delete by digest only).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>What happened.</returns>
    /// <exception cref="RegistryAuthenticationException">The credentials were refused or lack delete permission.</exception>
    public async Task<ManifestDeleteResult> DeleteManifestAsync(string repository, string digest, CancellationToken cancellationToken)
    {
        ValidateRepository(repository);
        if (!IsDigest(digest))
        {
            throw new ArgumentException($"'{digest}' is not a digest: manifests are deleted by digest (algorithm:hex).", nameof(digest));
        }

        string target = $"{this.Name}/{repository}@{digest}";
        HttpResponseMessage response;
        try
        {
            response = await this.SendAsync(HttpMethod.Delete, $"v2/{repository}/manifests/{digest}", DeleteScope(repository), null, retry: false, cancellationToken).ConfigureAwait(false);
        }
        catch (RegistryUnreachableException ex)
        {
            return new ManifestDeleteResult(ManifestDeleteOutcome.NoAnswer, null, $"The delete of {target} got no answer ({ex.Message}); check with HEAD whether it still exists.");
        }

        using (response)
        {
            switch (response.StatusCode)
            {
                case HttpStatusCode.Accepted:
                case HttpStatusCode.OK:
                case HttpStatusCode.NoContent:
                    return new ManifestDeleteResult(ManifestDeleteOutcome.Deleted, response.StatusCode, $"Deleted {target}.");
                case HttpStatusCode.NotFound:
                    return new ManifestDeleteResult(ManifestDeleteOutcome.NotFound, response.StatusCode, $"{target} does not exist (already deleted).");
                case HttpStatusCode.MethodNotAllowed:
                    return new ManifestDeleteResult(
                        ManifestDeleteOutcome.Unsupported,
                        response.StatusCode,
                        $"Registry {this.Name} has deletion disabled (405 UNSUPPORTED): set storage.delete.enabled: true in its config.yml (or REGISTRY_STORAGE_DELETE_ENABLED=true) and restart it; for a registry StatefulSet (Domino's docker-registry), Enable-RegistryDeletion does that.");
                default:
                    string detail = await ReadErrorAsync(response, cancellationToken).ConfigureAwait(false);
                    return new ManifestDeleteResult(ManifestDeleteOutcome.Failed, response.StatusCode, $"The delete of {target} failed with {(int)response.StatusCode} {response.ReasonPhrase}{detail}.");
            }
        }
    }

    /// <summary>Puts a manifest (restores a deleted image, or tags a digest).</summary>
    /// <param name="repository">The repository.</param>
    /// <param name="reference">The tag, or the digest of <paramref name="content"/>.</param>
    /// <param name="content">The raw manifest bytes, exactly as they were stored.</param>
    /// <param name="mediaType">The manifest media type.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The digest the registry stored the manifest under.</returns>
    /// <exception cref="RegistryException">The registry refused the manifest (for example a referenced blob was garbage-collected).</exception>
    public async Task<string> PutManifestAsync(string repository, string reference, ReadOnlyMemory<byte> content, string mediaType, CancellationToken cancellationToken)
    {
        ValidateRepository(repository);
        RegistryNames.ThrowIfNotReference(reference, nameof(reference));
        ArgumentException.ThrowIfNullOrEmpty(mediaType);
        using HttpResponseMessage response = await this.SendAsync(
            HttpMethod.Put,
            $"v2/{repository}/manifests/{reference}",
            PushScope(repository),
            null,
            retry: true,
            cancellationToken,
            () =>
            {
                var body = new ReadOnlyMemoryContent(content);
                body.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
                return body;
            }).ConfigureAwait(false);
        await this.EnsureSuccessAsync(response, $"PUT manifest {repository}{RefSeparator(reference)}{reference}", cancellationToken).ConfigureAwait(false);
        return this.DigestHeader(response, repository, reference) ?? ManifestParser.ComputeDigest(content.Span);
    }

    /// <summary>
    /// Tells whether the registry offers the OCI 1.1 referrers API, asking once per client (one client is one
    /// registry): <c>GET /v2/&lt;repository&gt;/referrers/&lt;digest&gt;</c> of the empty blob's digest. A registry with
    /// the API must answer 200 (an empty list) for any digest of an existing repository and must never answer 404, so
    /// 404 means it does not offer it (distribution 2.8 answers 404 for the unknown route), and clients use the tag schema.
    /// </summary>
    /// <param name="repository">An existing repository to ask in.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Whether the referrers API answers.</returns>
    /// <exception cref="RegistryException">The registry failed in another way (5xx after retries).</exception>
    public Task<bool> SupportsReferrersApiAsync(string repository, CancellationToken cancellationToken)
    {
        ValidateRepository(repository);
        // Concurrent callers share one answer; a failed or cancelled ask is asked again.
        Task<bool>? known = this.referrersApi;
        if (known is not null && !known.IsFaulted && !known.IsCanceled)
        {
            return known;
        }

        Task<bool> asked = this.ProbeReferrersApiAsync(repository, cancellationToken);
        Task<bool>? raced = Interlocked.CompareExchange(ref this.referrersApi, asked, known);
        return ReferenceEquals(raced, known) ? asked : raced!;
    }

    /// <summary>Lists the referrers of a manifest with the OCI 1.1 referrers API, following <c>Link</c> pages.</summary>
    /// <param name="repository">The repository.</param>
    /// <param name="digest">The subject manifest's digest.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The referrers, or <see langword="null"/> when the registry does not offer the API (404).</returns>
    /// <exception cref="RegistryException">The registry failed, or answered something that is not an image index.</exception>
    public async Task<IReadOnlyList<ReferrerDescriptor>?> GetReferrersAsync(string repository, string digest, CancellationToken cancellationToken)
    {
        ValidateRepository(repository);
        if (!IsDigest(digest))
        {
            throw new ArgumentException($"'{digest}' is not a digest.", nameof(digest));
        }

        using var budget = new ListingBudget(this, $"the referrers of {repository}@{digest}", cancellationToken);
        try
        {
            return await this.ListReferrersAsync(repository, digest, budget).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (budget.Expired(ex) is { } expired)
        {
            throw expired;
        }
    }

    private async Task<IReadOnlyList<ReferrerDescriptor>?> ListReferrersAsync(string repository, string digest, ListingBudget budget)
    {
        var referrers = new List<ReferrerDescriptor>();
        string? path = $"v2/{repository}/referrers/{digest}";
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (path is not null)
        {
            if (!seen.Add(path))
            {
                throw new RegistryException(this.Name, $"Registry {this.Name} returned a referrers Link header that loops back to {path}.", null);
            }

            budget.NextPage();
            using HttpResponseMessage response = await this.SendAsync(
                HttpMethod.Get,
                path,
                PullScope(repository),
                MediaTypes.OciIndex,
                retry: true,
                budget.Token,
                limit: new ResponseLimit(this.options.MaxManifestBytes, nameof(RegistryClientOptions.MaxManifestBytes), $"a page of the referrers of {repository}@{digest}")).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.NotFound && referrers.Count == 0 && seen.Count == 1)
            {
                if (await IsNameUnknownAsync(response, budget.Token).ConfigureAwait(false))
                {
                    throw new RepositoryNotFoundException(this.Name, repository);
                }

                return null;
            }

            await this.EnsureSuccessAsync(response, $"GET referrers of {repository}@{digest}", budget.Token).ConfigureAwait(false);
            byte[] body = await response.Content.ReadAsByteArrayAsync(budget.Token).ConfigureAwait(false);
            try
            {
                using JsonDocument document = JsonDocument.Parse(body);
                if (!document.RootElement.TryGetProperty("manifests", out JsonElement manifests) || manifests.ValueKind != JsonValueKind.Array)
                {
                    throw new RegistryException(this.Name, $"Registry {this.Name} answered the referrers of {repository}@{digest} without a 'manifests' list.", response.StatusCode);
                }

                foreach (JsonElement entry in manifests.EnumerateArray())
                {
                    if (entry.ValueKind != JsonValueKind.Object
                        || !entry.TryGetProperty("digest", out JsonElement d) || d.ValueKind != JsonValueKind.String || d.GetString() is not { } referrer || !IsDigest(referrer)
                        || !entry.TryGetProperty("size", out JsonElement s) || s.ValueKind != JsonValueKind.Number || s.GetInt64() < 0)
                    {
                        throw new RegistryException(this.Name, $"Registry {this.Name} listed a referrer of {repository}@{digest} without a digest or size.", response.StatusCode);
                    }

                    string mediaType = entry.TryGetProperty("mediaType", out JsonElement m) && m.ValueKind == JsonValueKind.String ? m.GetString()! : string.Empty;
                    string? artifactType = entry.TryGetProperty("artifactType", out JsonElement a) && a.ValueKind == JsonValueKind.String ? a.GetString() : null;
                    referrers.Add(new ReferrerDescriptor(referrer, mediaType, s.GetInt64(), artifactType));
                }
            }
            catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
            {
                throw new RegistryException(this.Name, $"Registry {this.Name} answered the referrers of {repository}@{digest} with something that is not an image index: {ex.Message}", response.StatusCode, ex);
            }

            budget.CheckItems(referrers.Count);
            path = this.NextLink(response);
        }

        return referrers;
    }

    /// <summary>
    /// Deletes one tag, leaving its manifest and every other tag (OCI distribution 1.1 <c>DELETE
    /// /v2/&lt;name&gt;/manifests/&lt;tag&gt;</c>). Only for a registry where <see cref="SupportsTagDeletionAsync"/> said
    /// yes. Never retried: a request that got no answer returns <see cref="ManifestDeleteOutcome.NoAnswer"/>.
    /// </summary>
    /// <param name="repository">The repository.</param>
    /// <param name="tag">The tag (a digest is refused: that would delete the manifest and all its tags).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>What happened; 400 and 405 are <see cref="ManifestDeleteOutcome.Unsupported"/>.</returns>
    /// <exception cref="RegistryAuthenticationException">The credentials were refused or lack delete permission.</exception>
    public async Task<ManifestDeleteResult> DeleteTagAsync(string repository, string tag, CancellationToken cancellationToken)
    {
        ValidateRepository(repository);
        ArgumentException.ThrowIfNullOrEmpty(tag);
        if (IsDigest(tag) || tag.Contains('/', StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{tag}' is not a tag: a DELETE by digest removes the manifest and every tag of it.", nameof(tag));
        }

        RegistryNames.ThrowIfNotTag(tag, nameof(tag));

        string target = $"{this.Name}/{repository}:{tag}";
        HttpResponseMessage response;
        try
        {
            response = await this.SendAsync(HttpMethod.Delete, $"v2/{repository}/manifests/{tag}", DeleteScope(repository), null, retry: false, cancellationToken).ConfigureAwait(false);
        }
        catch (RegistryUnreachableException ex)
        {
            return new ManifestDeleteResult(ManifestDeleteOutcome.NoAnswer, null, $"The delete of tag {target} got no answer ({ex.Message}); check with HEAD whether it still exists.");
        }

        using (response)
        {
            string detail = await ReadErrorAsync(response, cancellationToken).ConfigureAwait(false);
            return response.StatusCode switch
            {
                HttpStatusCode.Accepted or HttpStatusCode.OK or HttpStatusCode.NoContent =>
                    new ManifestDeleteResult(ManifestDeleteOutcome.Deleted, response.StatusCode, $"Deleted tag {target}; its manifest stays."),
                HttpStatusCode.NotFound =>
                    new ManifestDeleteResult(ManifestDeleteOutcome.NotFound, response.StatusCode, $"Tag {target} does not exist (already deleted)."),
                HttpStatusCode.BadRequest or HttpStatusCode.MethodNotAllowed =>
                    new ManifestDeleteResult(ManifestDeleteOutcome.Unsupported, response.StatusCode, $"Registry {this.Name} refused to delete tag {target} alone ({(int)response.StatusCode}{detail})."),
                _ => new ManifestDeleteResult(ManifestDeleteOutcome.Failed, response.StatusCode, $"The delete of tag {target} failed with {(int)response.StatusCode} {response.ReasonPhrase}{detail}."),
            };
        }
    }

    /// <summary>
    /// Tells whether the registry deletes a tag alone, asking once per client (one client is one registry) and never
    /// changing anything: it deletes a tag that cannot exist. The tag is a fresh random name that is first checked
    /// absent with HEAD; no one pushes it, so there is nothing to delete. A registry that deletes tags looks the name up
    /// as a tag and answers 404 (distribution 3: <c>MANIFEST_UNKNOWN</c>) or 202; distribution 2.8 parses every DELETE
    /// reference as a digest and answers <c>400 DIGEST_INVALID</c>, and a registry with deletion disabled answers 405.
    /// Anything else (no delete permission, no answer, a server error) is "no": the caller must never guess yes.
    /// </summary>
    /// <param name="repository">An existing repository to ask in (the DELETE needs delete permission on it).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Whether tags can be deleted alone.</returns>
    public Task<bool> SupportsTagDeletionAsync(string repository, CancellationToken cancellationToken)
    {
        ValidateRepository(repository);
        // Concurrent callers share one answer; a failed or cancelled ask is asked again.
        Task<bool>? known = this.tagDeletion;
        if (known is not null && !known.IsFaulted && !known.IsCanceled)
        {
            return known;
        }

        Task<bool> asked = this.ProbeTagDeletionAsync(repository, cancellationToken);
        Task<bool>? raced = Interlocked.CompareExchange(ref this.tagDeletion, asked, known);
        return ReferenceEquals(raced, known) ? asked : raced!;
    }

    /// <inheritdoc/>
    public void Dispose() => this.http.Dispose();

    private async Task<bool> ProbeReferrersApiAsync(string repository, CancellationToken cancellationToken)
    {
        // The digest of empty content: valid syntax, and no manifest has it.
        const string EmptyDigest = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        using HttpResponseMessage response = await this.SendAsync(
            HttpMethod.Get, $"v2/{repository}/referrers/{EmptyDigest}", PullScope(repository), MediaTypes.OciIndex, retry: true, cancellationToken).ConfigureAwait(false);
        if (response.IsSuccessStatusCode)
        {
            return true;
        }

        if ((int)response.StatusCode >= 500)
        {
            await this.EnsureSuccessAsync(response, $"GET referrers in {repository}", cancellationToken).ConfigureAwait(false);
        }

        // 404 (no such route) and any other client error: the registry does not speak the referrers API as specified.
        return false;
    }

    private async Task<bool> ProbeTagDeletionAsync(string repository, CancellationToken cancellationToken)
    {
        try
        {
            for (int attempt = 0; attempt < 3; attempt++)
            {
                string tag = "registrycleaner-probe-" + Guid.NewGuid().ToString("N");
                if (await this.HeadManifestAsync(repository, tag, cancellationToken).ConfigureAwait(false) is not null)
                {
                    // Someone has this name after all: never DELETE a tag that exists.
                    continue;
                }

                ManifestDeleteResult answer = await this.DeleteTagAsync(repository, tag, cancellationToken).ConfigureAwait(false);
                return answer.Outcome is ManifestDeleteOutcome.NotFound or ManifestDeleteOutcome.Deleted;
            }

            return false;
        }
        catch (RegistryException)
        {
            // No delete permission, no answer, a server error: not known to support it, so it does not.
            return false;
        }
    }

    // A tag never holds ':', so a reference with one is meant as a digest; the grammar then decides whether it is one.
    internal static bool IsDigest(string reference) => reference.Contains(':', StringComparison.Ordinal) && RegistryNames.IsDigest(reference);

    private static string RefSeparator(string reference) => IsDigest(reference) ? "@" : ":";

    private static int ClampPage(int pageSize) => Math.Clamp(pageSize, 1, 1000);

    private static string PullScope(string repository) => $"repository:{repository}:pull";

    private static string PushScope(string repository) => $"repository:{repository}:pull,push";

    private static string DeleteScope(string repository) => $"repository:{repository}:delete";

    // Every name goes into a URL path: only the distribution grammar gets there (no '..', '%', '?', '#' or controls).
    private static void ValidateRepository(string repository)
    {
        ArgumentException.ThrowIfNullOrEmpty(repository);
        RegistryNames.ThrowIfNotRepository(repository, nameof(repository));
    }

    private static string? HeaderValue(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out IEnumerable<string>? values) ? values.FirstOrDefault() : null;

    // The registry's word for a digest is used in later URLs and journals: it must be one.
    private string? DigestHeader(HttpResponseMessage response, string repository, string reference)
    {
        string? digest = HeaderValue(response, "Docker-Content-Digest");
        return digest is null || RegistryNames.IsDigest(digest)
            ? digest
            : throw new ManifestFormatException(this.Name, repository, reference, $"its Docker-Content-Digest header {RegistryNames.Quote(digest)} is not a digest");
    }

    private static async Task<string> ReadErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            // Bounded: a blob stream's error body is not read ahead like the others.
            string body = Encoding.UTF8.GetString(await BoundedContent.ReadPrefixAsync(response.Content, BoundedContent.MaxErrorBytes, cancellationToken).ConfigureAwait(false));
            if (body.Length == 0)
            {
                return string.Empty;
            }

            using JsonDocument document = JsonDocument.Parse(body);
            if (document.RootElement.TryGetProperty("errors", out JsonElement errors) && errors.ValueKind == JsonValueKind.Array)
            {
                var text = new StringBuilder();
                foreach (JsonElement error in errors.EnumerateArray())
                {
                    string? code = error.TryGetProperty("code", out JsonElement c) ? c.GetString() : null;
                    string? message = error.TryGetProperty("message", out JsonElement m) ? m.GetString() : null;
                    text.Append(text.Length == 0 ? ": " : "; ").Append(code).Append(' ').Append(message);
                }

                return text.ToString();
            }
        }
        catch (JsonException)
        {
            // A non-JSON error body (proxy page) adds nothing useful.
        }

        return string.Empty;
    }

    private static async Task<bool> IsNameUnknownAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        string detail = await ReadErrorAsync(response, cancellationToken).ConfigureAwait(false);
        return detail.Contains("NAME_UNKNOWN", StringComparison.Ordinal);
    }

    private async Task<RegistryException> NotFoundAsync(HttpResponseMessage response, string repository, string message, CancellationToken cancellationToken) =>
        await IsNameUnknownAsync(response, cancellationToken).ConfigureAwait(false)
            ? new RepositoryNotFoundException(this.Name, repository)
            : new RegistryException(this.Name, message, HttpStatusCode.NotFound);

    private async Task<IReadOnlyList<string>> GetPagedAsync(string firstPath, string scope, string property, string? repository, CancellationToken cancellationToken)
    {
        using var budget = new ListingBudget(this, repository is null ? "the catalog" : $"the tags of {repository}", cancellationToken);
        try
        {
            return await this.ReadPagesAsync(firstPath, scope, property, repository, budget).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (budget.Expired(ex) is { } expired)
        {
            throw expired;
        }
    }

    private async Task<IReadOnlyList<string>> ReadPagesAsync(string firstPath, string scope, string property, string? repository, ListingBudget budget)
    {
        var items = new List<string>();
        string? path = firstPath;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (path is not null)
        {
            if (!seen.Add(path))
            {
                throw new RegistryException(this.Name, $"Registry {this.Name} returned a Link header that loops back to {path}.", null);
            }

            budget.NextPage();
            using HttpResponseMessage response = await this.SendAsync(HttpMethod.Get, path, scope, "application/json", retry: true, budget.Token, limit: budget.PageLimit).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.NotFound && repository is not null)
            {
                // distribution answers NAME_UNKNOWN; treat a bare 404 on tags/list the same way.
                throw new RepositoryNotFoundException(this.Name, repository);
            }

            await this.EnsureSuccessAsync(response, "GET " + path, budget.Token).ConfigureAwait(false);
            byte[] body = await response.Content.ReadAsByteArrayAsync(budget.Token).ConfigureAwait(false);
            try
            {
                using JsonDocument document = JsonDocument.Parse(body);
                if (document.RootElement.TryGetProperty(property, out JsonElement array) && array.ValueKind == JsonValueKind.Array)
                {
                    foreach (JsonElement item in array.EnumerateArray())
                    {
                        if (item.GetString() is { } value)
                        {
                            items.Add(value);
                        }
                    }
                }
            }
            catch (JsonException ex)
            {
                throw new RegistryException(this.Name, $"Registry {this.Name} returned a {property} list that is not JSON: {ex.Message}", response.StatusCode, ex);
            }

            budget.CheckItems(items.Count);
            path = this.NextLink(response);
        }

        return items;
    }

    private string? NextLink(HttpResponseMessage response)
    {
        if (!response.Headers.TryGetValues("Link", out IEnumerable<string>? values))
        {
            return null;
        }

        foreach (string value in values)
        {
            foreach (string link in value.Split(','))
            {
                int open = link.IndexOf('<', StringComparison.Ordinal);
                int close = link.IndexOf('>', StringComparison.Ordinal);
                if (open < 0 || close < open || !link.Contains("rel=\"next\"", StringComparison.OrdinalIgnoreCase) && !link.Contains("rel=next", StringComparison.OrdinalIgnoreCase))
                {
                    continue;
                }

                var target = new Uri(this.Endpoint.BaseUri, link[(open + 1)..close]);
                return target.PathAndQuery.TrimStart('/');
            }
        }

        return null;
    }

    private async Task EnsureSuccessAsync(HttpResponseMessage response, string what, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        string detail = await ReadErrorAsync(response, cancellationToken).ConfigureAwait(false);
        throw new RegistryException(this.Name, $"Registry {this.Name} answered {(int)response.StatusCode} {response.ReasonPhrase} to {what}{detail}.", response.StatusCode);
    }

    private async Task<HttpResponseMessage> SendAsync(
        HttpMethod method,
        string path,
        string scope,
        string? accept,
        bool retry,
        CancellationToken cancellationToken,
        Func<HttpContent>? content = null,
        HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead,
        ResponseLimit? limit = null,
        RangeHeaderValue? range = null)
    {
        AuthenticationHeaderValue? authorization = await this.AuthorizationAsync(scope, cancellationToken).ConfigureAwait(false);
        HttpResponseMessage response = await this.SendOnceAsync(method, path, accept, authorization, retry, content, cancellationToken, completion, limit, range).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.Unauthorized)
        {
            // A 401 means the request was not executed, so resending it (even a DELETE) is safe.
            bool hadAuthorization = authorization is not null;
            AuthenticationHeaderValue? challenge = response.Headers.WwwAuthenticate.FirstOrDefault();
            response.Dispose();
            authorization = await this.AnswerChallengeAsync(challenge, scope, hadAuthorization, cancellationToken).ConfigureAwait(false);
            response = await this.SendOnceAsync(method, path, accept, authorization, retry, content, cancellationToken, completion, limit, range).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.Unauthorized)
            {
                // A token without the needed action is a permission problem, not a wrong password.
                bool insufficientScope = response.Headers.WwwAuthenticate.Any(static c => c.Parameter?.Contains("insufficient_scope", StringComparison.Ordinal) == true);
                response.Dispose();
                throw insufficientScope
                    ? new RegistryAuthenticationException(
                        this.Name,
                        $"Registry {this.Name} accepted the login of user '{this.options.Credential?.Username}'{(this.options.Credential is { } used ? $" (credentials from {used.Source})" : string.Empty)} but its token service did not grant '{scope}' for {method} /{path}: the user lacks permission.",
                        HttpStatusCode.Unauthorized)
                    : this.Refused(HttpStatusCode.Unauthorized, null);
            }
        }

        if (response.StatusCode == HttpStatusCode.Forbidden)
        {
            response.Dispose();
            throw this.Refused(HttpStatusCode.Forbidden, $"{method} {path}");
        }

        return response;
    }

    private RegistryAuthenticationException Refused(HttpStatusCode status, string? what)
    {
        RegistryCredential? credential = this.options.Credential;
        string message = status == HttpStatusCode.Forbidden
            ? $"Registry {this.Name} denied access (403) to {what} for {(credential is null ? "anonymous access" : $"user '{credential.Username}' (credentials from {credential.Source})")}: the credentials lack permission."
            : credential is null
                ? $"Registry {this.Name} requires credentials (401): pass -Credential, set REGISTRY_PASSWORD, name a pull secret with -CredentialSecret, or docker login {this.Name}."
                : $"Registry {this.Name}: the credentials from {credential.Source} were refused (401, user '{credential.Username}'): check the user name and password there.";
        return new RegistryAuthenticationException(this.Name, message, status);
    }

    private async ValueTask<AuthenticationHeaderValue?> AuthorizationAsync(string scope, CancellationToken cancellationToken)
    {
        RegistryCredential? credential = this.options.Credential;
        if (this.bearerChallenge is { } challenge)
        {
            BearerToken token = await this.TokenAsync(challenge, scope, forceNew: false, cancellationToken).ConfigureAwait(false);
            return new AuthenticationHeaderValue("Bearer", token.Value);
        }

        return this.useBasic && credential?.Password is not null
            ? new AuthenticationHeaderValue("Basic", credential.BasicAuthorizationParameter())
            : null;
    }

    private async Task<AuthenticationHeaderValue> AnswerChallengeAsync(AuthenticationHeaderValue? challenge, string scope, bool hadAuthorization, CancellationToken cancellationToken)
    {
        RegistryCredential? credential = this.options.Credential;
        if (challenge is not null && string.Equals(challenge.Scheme, "Bearer", StringComparison.OrdinalIgnoreCase))
        {
            BearerChallenge parsed = BearerChallenge.Parse(challenge.Parameter, this.Endpoint.BaseUri)
                ?? throw new RegistryException(this.Name, $"Registry {this.Name} sent a Bearer challenge without a realm.", HttpStatusCode.Unauthorized);
            this.bearerChallenge = parsed;

            // The registry names the scope it wants; prefer ours when it gave none.
            BearerToken token = await this.TokenAsync(parsed, string.IsNullOrEmpty(parsed.Scope) ? scope : parsed.Scope, forceNew: hadAuthorization, cancellationToken, cacheKey: scope).ConfigureAwait(false);
            return new AuthenticationHeaderValue("Bearer", token.Value);
        }

        if (credential?.Password is null || hadAuthorization)
        {
            throw this.Refused(HttpStatusCode.Unauthorized, null);
        }

        this.useBasic = true;
        return new AuthenticationHeaderValue("Basic", credential.BasicAuthorizationParameter());
    }

    private async Task<BearerToken> TokenAsync(BearerChallenge challenge, string scope, bool forceNew, CancellationToken cancellationToken, string? cacheKey = null)
    {
        cacheKey ??= scope;
        while (true)
        {
            Task<BearerToken> pending = this.tokens.GetOrAdd(cacheKey, _ => this.FetchTokenAsync(challenge, scope));
            BearerToken token;
            try
            {
                token = await pending.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception) when (!cancellationToken.IsCancellationRequested)
            {
                // Do not cache failures: the next call asks the token service again.
                this.tokens.TryRemove(new KeyValuePair<string, Task<BearerToken>>(cacheKey, pending));
                throw;
            }

            if (!forceNew && token.ExpiresAt > DateTimeOffset.UtcNow.AddSeconds(10))
            {
                return token;
            }

            this.tokens.TryRemove(new KeyValuePair<string, Task<BearerToken>>(cacheKey, pending));
            forceNew = false;
        }
    }

    private async Task<BearerToken> FetchTokenAsync(BearerChallenge challenge, string scope)
    {
        RegistryCredential? credential = this.options.Credential;

        // The registry names the realm: check it before anything, a password or a refresh token above all, is sent there.
        this.realmPolicy.Check(challenge.Realm, withCredentials: credential?.Password is not null || credential?.IdentityToken is not null);
        var query = new StringBuilder();
        if (!string.IsNullOrEmpty(challenge.Service))
        {
            query.Append("service=").Append(Uri.EscapeDataString(challenge.Service));
        }

        if (!string.IsNullOrEmpty(scope))
        {
            query.Append(query.Length == 0 ? string.Empty : "&").Append("scope=").Append(Uri.EscapeDataString(scope));
        }

        string what = $"the token service {challenge.Realm.GetLeftPart(UriPartial.Path)} of registry {this.Name}";
        HttpResponseMessage response;
        try
        {
            if (credential?.IdentityToken is { } refreshToken)
            {
                // docker's identity tokens are OAuth2 refresh tokens: POST them as a form.
                var form = new Dictionary<string, string>
                {
                    ["grant_type"] = "refresh_token",
                    ["refresh_token"] = refreshToken,
                    ["client_id"] = "registrycleaner",
                    ["service"] = challenge.Service ?? string.Empty,
                    ["scope"] = scope,
                };
                response = await this.retryPipeline.ExecuteAsync(
                    async ct =>
                    {
                        using var request = new HttpRequestMessage(HttpMethod.Post, challenge.Realm) { Content = new FormUrlEncodedContent(form) };
                        return await this.http.SendAsync(request, ct).ConfigureAwait(false);
                    },
                    CancellationToken.None).ConfigureAwait(false);
            }
            else
            {
                var builder = new UriBuilder(challenge.Realm);
                builder.Query = builder.Query.Length > 1 ? builder.Query[1..] + "&" + query : query.ToString();
                Uri uri = builder.Uri;
                response = await this.retryPipeline.ExecuteAsync(
                    async ct =>
                    {
                        using var request = new HttpRequestMessage(HttpMethod.Get, uri);
                        if (credential?.Password is not null)
                        {
                            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", credential.BasicAuthorizationParameter());
                        }

                        return await this.http.SendAsync(request, ct).ConfigureAwait(false);
                    },
                    CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            throw this.Translate(ex, what, CancellationToken.None);
        }

        using (response)
        {
            if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                throw this.Refused(HttpStatusCode.Unauthorized, null);
            }

            if (!response.IsSuccessStatusCode)
            {
                throw new RegistryException(this.Name, $"{what} answered {(int)response.StatusCode} {response.ReasonPhrase}.", response.StatusCode);
            }

            byte[] body = await response.Content.ReadAsByteArrayAsync(CancellationToken.None).ConfigureAwait(false);
            try
            {
                using JsonDocument document = JsonDocument.Parse(body);
                JsonElement root = document.RootElement;
                string? value = root.TryGetProperty("token", out JsonElement t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
                if (string.IsNullOrEmpty(value))
                {
                    value = root.TryGetProperty("access_token", out JsonElement a) && a.ValueKind == JsonValueKind.String ? a.GetString() : null;
                }

                if (string.IsNullOrEmpty(value))
                {
                    throw new RegistryException(this.Name, $"{what} returned no token.", response.StatusCode);
                }

                // The spec's default lifetime is 60 s when expires_in is absent.
                int lifetime = root.TryGetProperty("expires_in", out JsonElement e) && e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out int seconds) && seconds > 0 ? seconds : 60;
                return new BearerToken(value, DateTimeOffset.UtcNow.AddSeconds(lifetime));
            }
            catch (JsonException ex)
            {
                throw new RegistryException(this.Name, $"{what} returned a response that is not JSON.", response.StatusCode, ex);
            }
        }
    }

    private async Task<HttpResponseMessage> SendOnceAsync(
        HttpMethod method,
        string path,
        string? accept,
        AuthenticationHeaderValue? authorization,
        bool retry,
        Func<HttpContent>? content,
        CancellationToken cancellationToken,
        HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead,
        ResponseLimit? limit = null,
        RangeHeaderValue? range = null)
    {
        try
        {
            if (!retry)
            {
                using HttpRequestMessage request = this.CreateRequest(method, path, accept, authorization, content, range);
                HttpResponseMessage response = await this.SendAttemptAsync(request, completion, limit, cancellationToken).ConfigureAwait(false);
                this.answered = true;
                return response;
            }

            return await this.retryPipeline.ExecuteAsync(
                async (state, ct) =>
                {
                    using HttpRequestMessage request = state.Client.CreateRequest(state.Method, state.Path, state.Accept, state.Authorization, state.Content, state.Range);
                    return await state.Client.SendAttemptAsync(request, state.Completion, state.Limit, ct).ConfigureAwait(false);
                },
                (Client: this, Method: method, Path: path, Accept: accept, Authorization: authorization, Content: content, Completion: completion, Limit: limit, Range: range),
                cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw this.Translate(ex, $"{method} /{path}", cancellationToken);
        }
    }

    private HttpRequestMessage CreateRequest(HttpMethod method, string path, string? accept, AuthenticationHeaderValue? authorization, Func<HttpContent>? content, RangeHeaderValue? range = null)
    {
        var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        request.Headers.Range = range;
        if (accept is not null)
        {
            request.Headers.TryAddWithoutValidation("Accept", accept);
        }

        request.Headers.Authorization = authorization;
        if (content is not null)
        {
            request.Content = content();
        }

        return request;
    }

    private RegistryException Translate(Exception ex, string what, CancellationToken cancellationToken)
    {
        if (ex is TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return new RegistryUnreachableException(
                this.Name, $"Registry {this.Name} did not answer {what} within {this.options.Timeout.TotalSeconds:0.#} s.", ex);
        }

        if (ex is HttpRequestException { HttpRequestError: HttpRequestError.SecureConnectionError })
        {
            return new RegistryCertificateException(
                this.Name,
                $"The TLS connection to registry {this.Name} failed ({ex.InnerException?.Message ?? ex.Message}): trust its certificate authority, or pass -SkipCertificateCheck for a self-signed certificate.",
                ex);
        }

        return new RegistryUnreachableException(this.Name, $"Registry {this.Name} is unreachable ({ex.Message}).", ex);
    }

    private ResiliencePipeline<HttpResponseMessage> BuildRetryPipeline()
    {
        if (this.options.MaxRetries <= 0)
        {
            return ResiliencePipeline<HttpResponseMessage>.Empty;
        }

        TimeSpan maxDelay = this.options.MaxRetryDelay;
        return new ResiliencePipelineBuilder<HttpResponseMessage>()
            .AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = this.options.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = this.options.RetryBaseDelay,
                MaxDelay = maxDelay,
                ShouldHandle = args => ValueTask.FromResult(this.IsTransient(args.Outcome, args.Context.CancellationToken)),
                DelayGenerator = args =>
                {
                    RetryConditionHeaderValue? retryAfter = args.Outcome.Result?.Headers.RetryAfter;
                    TimeSpan? delay = retryAfter?.Delta ?? (retryAfter?.Date is { } date ? date - DateTimeOffset.UtcNow : null);
                    return ValueTask.FromResult(delay is { } d ? (TimeSpan?)TimeSpan.FromTicks(Math.Clamp(d.Ticks, 0, maxDelay.Ticks)) : null);
                },
            })
            .Build();
    }

    private bool IsTransient(Outcome<HttpResponseMessage> outcome, CancellationToken cancellationToken)
    {
        if (outcome.Result is { } response)
        {
            this.answered = true;
            return response.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.BadGateway
                or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout;
        }

        if (!this.answered)
        {
            return false;
        }

        return outcome.Exception switch
        {
            // Timeouts of an attempt (HttpClient.Timeout), not the caller's cancellation.
            TaskCanceledException => !cancellationToken.IsCancellationRequested,

            // Refused connections, unknown hosts and TLS failures will not heal in a few seconds.
            HttpRequestException http => http.HttpRequestError is not (HttpRequestError.NameResolutionError
                or HttpRequestError.ConnectionError or HttpRequestError.SecureConnectionError),
            _ => false,
        };
    }

    private sealed record BearerToken(string Value, DateTimeOffset ExpiresAt);

    private sealed record BearerChallenge(Uri Realm, string? Service, string? Scope)
    {
        // realm="…",service="…",scope="…" with quoted values that may contain commas.
        public static BearerChallenge? Parse(string? parameter, Uri baseUri)
        {
            if (string.IsNullOrEmpty(parameter))
            {
                return null;
            }

            var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            int i = 0;
            while (i < parameter.Length)
            {
                while (i < parameter.Length && (parameter[i] == ',' || char.IsWhiteSpace(parameter[i])))
                {
                    i++;
                }

                int equals = parameter.IndexOf('=', i);
                if (equals < 0)
                {
                    break;
                }

                string key = parameter[i..equals].Trim();
                i = equals + 1;
                string value;
                if (i < parameter.Length && parameter[i] == '"')
                {
                    var text = new StringBuilder();
                    i++;
                    while (i < parameter.Length && parameter[i] != '"')
                    {
                        if (parameter[i] == '\\' && i + 1 < parameter.Length)
                        {
                            i++;
                        }

                        text.Append(parameter[i]);
                        i++;
                    }

                    i++;
                    value = text.ToString();
                }
                else
                {
                    int comma = parameter.IndexOf(',', i);
                    int end = comma < 0 ? parameter.Length : comma;
                    value = parameter[i..end].Trim();
                    i = end;
                }

                values[key] = value;
            }

            return values.TryGetValue("realm", out string? realm) && Uri.TryCreate(baseUri, realm, out Uri? realmUri)
                ? new BearerChallenge(realmUri, values.GetValueOrDefault("service"), values.GetValueOrDefault("scope"))
                : null;
        }
    }
}
