using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace RegistryCleaner.Registry;

/// <summary>
/// Authentication for one registry: answers its challenges (anonymous, Basic, the Bearer token flow), checks every
/// token realm against the <see cref="TokenRealmPolicy"/> before a secret goes there, caches tokens per scope, and
/// turns refusals into <see cref="RegistryAuthenticationException"/>s that name the credential's source. When the
/// credential is refused (401) and the options can fetch a fresh one (a credential helper's short-lived token, such as
/// ECR's 12-hour password), it asks once and sends the request again.
/// </summary>
internal sealed class RegistryAuthenticator
{
    private readonly RegistryEndpoint endpoint;
    private readonly RegistryClientOptions options;
    private readonly RegistryTransport transport;
    private readonly TokenRealmPolicy realmPolicy;
    private readonly ConcurrentDictionary<string, Task<BearerToken>> tokens = new(StringComparer.Ordinal);
    private readonly object refreshLock = new();
    private volatile BearerChallenge? bearerChallenge;
    private volatile bool useBasic;
    private volatile RegistryCredential? credential;
    private Task<RegistryCredential?>? refreshing;
    private RegistryCredential? refreshedFrom;

    public RegistryAuthenticator(RegistryEndpoint endpoint, RegistryClientOptions options, RegistryTransport transport)
    {
        this.endpoint = endpoint;
        this.options = options;
        this.transport = transport;
        this.credential = options.Credential;
        this.realmPolicy = new TokenRealmPolicy(endpoint, options.TokenRealmHosts);
    }

    /// <summary>Gets the last challenge the registry sent (scheme and parameters), for telling what registry it is.</summary>
    public AuthenticationHeaderValue? LastChallenge { get; private set; }

    private string Name => this.endpoint.DisplayName;

    /// <summary>
    /// Sends a request with the authorization the registry wants for <paramref name="scope"/>, answering one 401
    /// challenge. A 403, and a 401 after the challenge was answered, are <see cref="RegistryAuthenticationException"/>s
    /// carrying the registry's error codes.
    /// </summary>
    public async Task<HttpResponseMessage> SendAsync(
        HttpMethod method, string path, string scope, Func<AuthenticationHeaderValue?, Task<HttpResponseMessage>> send, CancellationToken cancellationToken)
    {
        RegistryCredential? used = this.credential;
        AuthenticationHeaderValue? authorization = await this.AuthorizationAsync(scope, cancellationToken).ConfigureAwait(false);
        HttpResponseMessage response = await send(authorization).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.Unauthorized)
        {
            // A 401 means the request was not executed, so resending it (even a DELETE) is safe.
            bool hadAuthorization = authorization is not null;
            AuthenticationHeaderValue? challenge = response.Headers.WwwAuthenticate.FirstOrDefault();
            response.Dispose();
            string? refused = string.Equals(authorization?.Scheme, "Bearer", StringComparison.OrdinalIgnoreCase) ? authorization!.Parameter : null;
            authorization = await this.AnswerChallengeAsync(challenge, scope, hadAuthorization, refused, cancellationToken).ConfigureAwait(false);
            response = await send(authorization).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.Unauthorized)
            {
                // A token without the needed action is a permission problem, not a wrong password.
                bool insufficientScope = response.Headers.WwwAuthenticate.Any(static c => c.Parameter?.Contains("insufficient_scope", StringComparison.Ordinal) == true);
                IReadOnlyList<RegistryError> errors = await RegistryError.ReadAsync(response, cancellationToken).ConfigureAwait(false);
                response.Dispose();
                if (insufficientScope)
                {
                    throw new RegistryAuthenticationException(
                        this.Name,
                        $"Registry {this.Name} accepted the login of user '{this.credential?.Username}'{(this.credential is { } c ? $" (credentials from {c.Source})" : string.Empty)} but its token service did not grant '{scope}' for {method} /{path}: the user lacks permission{RegistryError.Describe(errors)}.",
                        HttpStatusCode.Unauthorized)
                    {
                        Errors = errors,
                    };
                }

                response = await this.RetryWithFreshCredentialAsync(used, scope, send, errors, cancellationToken).ConfigureAwait(false);
            }
        }

        if (response.StatusCode == HttpStatusCode.Forbidden)
        {
            IReadOnlyList<RegistryError> errors = await RegistryError.ReadAsync(response, cancellationToken).ConfigureAwait(false);
            response.Dispose();
            throw this.Refused(HttpStatusCode.Forbidden, $"{method} {path}", errors);
        }

        return response;
    }

    /// <summary>Sends the request once more with a fresh credential from its source, or throws the refusal.</summary>
    private async Task<HttpResponseMessage> RetryWithFreshCredentialAsync(
        RegistryCredential? used, string scope, Func<AuthenticationHeaderValue?, Task<HttpResponseMessage>> send, IReadOnlyList<RegistryError> errors, CancellationToken cancellationToken)
    {
        if (used is null || this.options.RefreshCredential is null)
        {
            throw this.Refused(HttpStatusCode.Unauthorized, null, errors);
        }

        RegistryCredential? fresh = await this.RefreshAsync(used, cancellationToken).ConfigureAwait(false);
        if (fresh is null)
        {
            throw this.Refused(HttpStatusCode.Unauthorized, null, errors, $" Asked {used.Source} once more for a fresh credential: it gave the same one, so it stays refused.");
        }

        AuthenticationHeaderValue? authorization = await this.AuthorizationAsync(scope, cancellationToken).ConfigureAwait(false);
        HttpResponseMessage response = await send(authorization).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.Unauthorized)
        {
            AuthenticationHeaderValue? challenge = response.Headers.WwwAuthenticate.FirstOrDefault();
            response.Dispose();
            authorization = await this.AnswerChallengeAsync(challenge, scope, hadAuthorization: false, refusedToken: null, cancellationToken).ConfigureAwait(false);
            response = await send(authorization).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.Unauthorized)
            {
                IReadOnlyList<RegistryError> again = await RegistryError.ReadAsync(response, cancellationToken).ConfigureAwait(false);
                response.Dispose();
                throw this.Refused(HttpStatusCode.Unauthorized, null, again, $" A fresh credential asked from {fresh.Source} once more (after the first was refused, as a short-lived token such as ECR's expires after 12 hours) was refused too.");
            }
        }

        return response;
    }

    /// <summary>Asks the credential source once per refused credential; concurrent refusals share the answer.</summary>
    /// <returns>The new credential, or <see langword="null"/> when the source gave none or the same secret.</returns>
    private Task<RegistryCredential?> RefreshAsync(RegistryCredential refused, CancellationToken cancellationToken)
    {
        lock (this.refreshLock)
        {
            if (!ReferenceEquals(this.credential, refused))
            {
                // Another request already replaced it.
                return Task.FromResult<RegistryCredential?>(this.credential);
            }

            if (this.refreshing is null || !ReferenceEquals(this.refreshedFrom, refused))
            {
                this.refreshedFrom = refused;
                this.refreshing = this.FetchFreshAsync(refused, cancellationToken);
            }

            return this.refreshing;
        }
    }

    private async Task<RegistryCredential?> FetchFreshAsync(RegistryCredential refused, CancellationToken cancellationToken)
    {
        RegistryCredential? fresh;
        try
        {
            fresh = await this.options.RefreshCredential!.Invoke(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw this.Refused(HttpStatusCode.Unauthorized, null, null, $" Asking {refused.Source} once more for a fresh credential failed: {ex.Message}");
        }

        if (fresh is null || (fresh.Username == refused.Username && fresh.Password == refused.Password && fresh.IdentityToken == refused.IdentityToken))
        {
            return null;
        }

        lock (this.refreshLock)
        {
            this.credential = fresh;
            this.tokens.Clear();
        }

        return fresh;
    }

    private RegistryAuthenticationException Refused(HttpStatusCode status, string? what, IReadOnlyList<RegistryError>? errors = null, string? more = null)
    {
        RegistryCredential? used = this.credential;
        string message = status == HttpStatusCode.Forbidden
            ? $"Registry {this.Name} denied access (403) to {what} for {(used is null ? "anonymous access" : $"user '{used.Username}' (credentials from {used.Source})")}: the credentials lack permission{RegistryError.Describe(errors ?? [])}."
            : used is null
                ? $"Registry {this.Name} requires credentials (401): pass -Credential, set REGISTRY_PASSWORD, name a pull secret with -CredentialSecret, or docker login {this.Name}."
                : $"Registry {this.Name}: the credentials from {used.Source} were refused (401, user '{used.Username}'): check the user name and password there.";
        return new RegistryAuthenticationException(this.Name, message + more, status) { Errors = errors ?? [] };
    }

    private async ValueTask<AuthenticationHeaderValue?> AuthorizationAsync(string scope, CancellationToken cancellationToken)
    {
        RegistryCredential? current = this.credential;
        if (this.bearerChallenge is { } challenge)
        {
            BearerToken token = await this.TokenAsync(challenge, scope, refused: null, cancellationToken).ConfigureAwait(false);
            return new AuthenticationHeaderValue("Bearer", token.Value);
        }

        return this.useBasic && current?.Password is not null
            ? new AuthenticationHeaderValue("Basic", current.BasicAuthorizationParameter())
            : null;
    }

    private async Task<AuthenticationHeaderValue> AnswerChallengeAsync(
        AuthenticationHeaderValue? challenge, string scope, bool hadAuthorization, string? refusedToken, CancellationToken cancellationToken)
    {
        RegistryCredential? current = this.credential;
        if (challenge is not null)
        {
            this.LastChallenge = challenge;
        }

        if (challenge is not null && string.Equals(challenge.Scheme, "Bearer", StringComparison.OrdinalIgnoreCase))
        {
            BearerChallenge parsed = BearerChallenge.Parse(challenge.Parameter, this.endpoint.BaseUri)
                ?? throw new RegistryException(this.Name, $"Registry {this.Name} sent a Bearer challenge without a realm.", HttpStatusCode.Unauthorized);
            this.bearerChallenge = parsed;

            // The registry names the scope it wants; prefer ours when it gave none.
            BearerToken token = await this.TokenAsync(parsed, string.IsNullOrEmpty(parsed.Scope) ? scope : parsed.Scope, refusedToken, cancellationToken, cacheKey: scope).ConfigureAwait(false);
            return new AuthenticationHeaderValue("Bearer", token.Value);
        }

        if (current?.Password is null || hadAuthorization)
        {
            throw this.Refused(HttpStatusCode.Unauthorized, null);
        }

        this.useBasic = true;
        return new AuthenticationHeaderValue("Basic", current.BasicAuthorizationParameter());
    }

    /// <summary>
    /// The token for a scope: the cached one until it is due for renewal, unless it is <paramref name="refused"/> (the
    /// token the registry just answered 401 to; another caller may have replaced it already, and that one is used).
    /// A token dropped is asked for again; the one that comes back is used unless it has expired (a caller resumed
    /// late may find one another caller fetched long ago), and the next one whatever lifetime it names. So a service
    /// naming a lifetime shorter than the renewal margin gets one token request per request, never a loop of them.
    /// </summary>
    private async Task<BearerToken> TokenAsync(BearerChallenge challenge, string scope, string? refused, CancellationToken cancellationToken, string? cacheKey = null)
    {
        cacheKey ??= scope;
        for (int pass = 0; ; pass++)
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

            long now = Environment.TickCount64;
            bool usable = pass switch
            {
                0 => token.RenewAt > now && !string.Equals(token.Value, refused, StringComparison.Ordinal),
                1 => token.ExpiresAt > now && !string.Equals(token.Value, refused, StringComparison.Ordinal),
                _ => true,
            };
            if (usable)
            {
                return token;
            }

            this.tokens.TryRemove(new KeyValuePair<string, Task<BearerToken>>(cacheKey, pending));
        }
    }

    private async Task<BearerToken> FetchTokenAsync(BearerChallenge challenge, string scope)
    {
        RegistryCredential? current = this.credential;

        // The registry names the realm: check it before anything, a password or a refresh token above all, is sent there.
        this.realmPolicy.Check(challenge.Realm, withCredentials: current?.Password is not null || current?.IdentityToken is not null);
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
            if (current?.IdentityToken is { } refreshToken)
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
                response = await this.transport.SendTokenRequestAsync(
                    () => new HttpRequestMessage(HttpMethod.Post, challenge.Realm) { Content = new FormUrlEncodedContent(form) }).ConfigureAwait(false);
            }
            else
            {
                var builder = new UriBuilder(challenge.Realm);
                builder.Query = builder.Query.Length > 1 ? builder.Query[1..] + "&" + query : query.ToString();
                Uri uri = builder.Uri;
                response = await this.transport.SendTokenRequestAsync(
                    () =>
                    {
                        var request = new HttpRequestMessage(HttpMethod.Get, uri);
                        if (current?.Password is not null)
                        {
                            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", current.BasicAuthorizationParameter());
                        }

                        return request;
                    }).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            throw this.transport.Translate(ex, what, CancellationToken.None);
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

                // Renewed 10 s before it expires, so a request never carries a token that expires on its way; a
                // lifetime of 20 s or less is renewed halfway instead. Timed on the monotonic clock, which a step of the
                // wall clock (NTP, an admin) does not move.
                long issued = Environment.TickCount64;
                long lifetimeMs = lifetime * 1000L;
                return new BearerToken(value, issued + lifetimeMs - Math.Min(10_000L, lifetimeMs / 2), issued + lifetimeMs);
            }
            catch (JsonException ex)
            {
                throw new RegistryException(this.Name, $"{what} returned a response that is not JSON.", response.StatusCode, ex);
            }
        }
    }

    // RenewAt and ExpiresAt are Environment.TickCount64 values (milliseconds of the monotonic clock).
    private sealed record BearerToken(string Value, long RenewAt, long ExpiresAt);
}
