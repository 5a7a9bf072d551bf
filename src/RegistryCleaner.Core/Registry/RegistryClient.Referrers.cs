using System.Net;
using System.Text.Json;

namespace RegistryCleaner.Registry;

/// <content>
/// The OCI 1.1 referrers API: whether the registry offers it, and the paged list of a manifest's referrers.
/// </content>
public sealed partial class RegistryClient
{
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
}
