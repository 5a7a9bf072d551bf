using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace RegistryCleaner.Registry;

/// <summary>
/// An OCI distribution (Docker registry v2) client for one registry: one pooled HTTP/1.1 connection pool, anonymous,
/// basic and bearer-token authentication, retries of idempotent requests. Thread-safe; dispose once.
/// </summary>
public sealed partial class RegistryClient : IDisposable
{
    private const string CatalogScope = "registry:catalog:*";
    private readonly RegistryClientOptions options;
    private readonly RegistryTransport transport;
    private readonly RegistryAuthenticator authenticator;

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
        this.transport = new RegistryTransport(endpoint, this.options);
        this.authenticator = new RegistryAuthenticator(endpoint, this.options, this.transport);
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
    public async Task<ManifestContent> GetManifestAsync(string repository, string reference, CancellationToken cancellationToken) =>
        (await this.ReadManifestAsync(repository, reference, missingIsNull: false, cancellationToken).ConfigureAwait(false))!;

    /// <summary>
    /// Downloads a manifest as <see cref="GetManifestAsync"/> does, or returns <see langword="null"/> when the manifest
    /// endpoint answers 404 (the tag or manifest is gone, or its repository), as <see cref="HeadManifestAsync"/> does.
    /// Any other error, a 404 from a token service included, is thrown.
    /// </summary>
    /// <param name="repository">The repository.</param>
    /// <param name="reference">A tag or a digest.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The manifest, or <see langword="null"/> when it does not exist.</returns>
    public Task<ManifestContent?> TryGetManifestAsync(string repository, string reference, CancellationToken cancellationToken) =>
        this.ReadManifestAsync(repository, reference, missingIsNull: true, cancellationToken);

    private async Task<ManifestContent?> ReadManifestAsync(string repository, string reference, bool missingIsNull, CancellationToken cancellationToken)
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
            return missingIsNull
                ? null
                : throw await this.NotFoundAsync(response, repository, $"Manifest {this.Name}/{repository}{RefSeparator(reference)}{reference} does not exist.", cancellationToken).ConfigureAwait(false);
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
        using HttpResponseMessage response = await this.GetExistingBlobAsync(
            repository, digest, cancellationToken, limit: new ResponseLimit(size, "its descriptor's size", $"blob {repository}@{digest}")).ConfigureAwait(false);
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
        using HttpResponseMessage response = await this.SendBlobAsync(HttpMethod.Head, repository, digest, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        await this.EnsureSuccessAsync(response, $"HEAD blob {repository}@{digest}", cancellationToken).ConfigureAwait(false);
        return response.Content.Headers.ContentLength ?? 0;
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

    /// <inheritdoc/>
    public void Dispose() => this.transport.Dispose();

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

    private static async Task<string> ReadErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken) =>
        RegistryError.Describe(await RegistryError.ReadAsync(response, cancellationToken).ConfigureAwait(false));

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

        IReadOnlyList<RegistryError> errors = await RegistryError.ReadAsync(response, cancellationToken).ConfigureAwait(false);
        this.Observe(errors);
        throw new RegistryException(this.Name, $"Registry {this.Name} answered {(int)response.StatusCode} {response.ReasonPhrase} to {what}{RegistryError.Describe(errors)}.", response.StatusCode)
        {
            Errors = errors,
        };
    }

    private Task<HttpResponseMessage> SendAsync(
        HttpMethod method,
        string path,
        string scope,
        string? accept,
        bool retry,
        CancellationToken cancellationToken,
        Func<HttpContent>? content = null,
        HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead,
        ResponseLimit? limit = null,
        RangeHeaderValue? range = null) =>
        this.authenticator.SendAsync(
            method,
            path,
            scope,
            authorization => this.transport.SendOnceAsync(method, path, accept, authorization, retry, content, cancellationToken, completion, limit, range),
            cancellationToken);
}
