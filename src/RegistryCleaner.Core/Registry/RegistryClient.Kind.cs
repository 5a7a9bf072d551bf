using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;

namespace RegistryCleaner.Registry;

/// <content>
/// What software serves the registry: the configured <see cref="RegistryClientOptions.Kind"/>, else what the registry
/// said (its challenge, the error codes it answered with, Harbor's API), else its host name, else distribution.
/// </content>
public sealed partial class RegistryClient
{
    // The distinct error codes the registry answered with (a handful at most; capped so a hostile registry cannot grow it).
    private readonly ConcurrentDictionary<string, RegistryError> seenErrors = new(StringComparer.OrdinalIgnoreCase);
    private Task<RegistryKind>? detectedKind;
    private volatile bool harborAnswered;

    /// <summary>
    /// Gets what software serves the registry as far as is known without asking: <see cref="RegistryClientOptions.Kind"/>
    /// when set, else what the answers so far said (including those <see cref="DetectKindAsync"/> asked for), else the
    /// host name, else distribution.
    /// </summary>
    public RegistryKind Kind => this.KindFromAnswers() ?? RegistryKind.Distribution;

    /// <summary>
    /// Tells what software serves the registry, once per client: <see cref="RegistryClientOptions.Kind"/> when set;
    /// otherwise what the registry said (its authentication challenge to <c>GET /v2/</c>, the error codes it answered
    /// with, Harbor's <c>/api/v2.0/systeminfo</c>), then its host name, and distribution when nothing tells.
    /// </summary>
    /// <param name="cancellationToken">Cancels the questions.</param>
    /// <returns>The kind.</returns>
    public Task<RegistryKind> DetectKindAsync(CancellationToken cancellationToken)
    {
        if (this.options.Kind is { } configured)
        {
            return Task.FromResult(configured);
        }

        Task<RegistryKind>? known = this.detectedKind;
        if (known is not null && !known.IsFaulted && !known.IsCanceled)
        {
            return known;
        }

        Task<RegistryKind> asked = this.AskKindAsync(cancellationToken);
        Task<RegistryKind>? raced = Interlocked.CompareExchange(ref this.detectedKind, asked, known);
        return ReferenceEquals(raced, known) ? asked : raced!;
    }

    /// <summary>The kind as far as the answers so far (and the host name) tell, without asking anything.</summary>
    internal RegistryKind? KindFromAnswers() =>
        this.options.Kind ?? RegistryKinds.Decide(this.authenticator.LastChallenge, this.seenErrors.Values, this.harborAnswered, this.Endpoint.BaseUri.Host);

    /// <summary>Remembers the error codes of an answer, for <see cref="DetectKindAsync"/>.</summary>
    private void Observe(IReadOnlyList<RegistryError> errors)
    {
        foreach (RegistryError error in errors)
        {
            if (this.seenErrors.Count < 32 && error.Code.Length is > 0 and <= 64)
            {
                this.seenErrors.TryAdd(error.Code, error);
            }
        }
    }

    private async Task<RegistryKind> AskKindAsync(CancellationToken cancellationToken)
    {
        if (this.authenticator.LastChallenge is null)
        {
            try
            {
                // The challenge to /v2/ names the token service: ECR's Basic service, ACR's /oauth2/token, Harbor's /service/token.
                await this.PingAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (RegistryException)
            {
                // An unanswered or refused ping tells nothing more; the other signs still do.
            }
        }

        this.harborAnswered = await this.IsHarborAsync(cancellationToken).ConfigureAwait(false);
        return this.Kind;
    }

    /// <summary>Harbor answers <c>GET /api/v2.0/systeminfo</c> without credentials, with its <c>harbor_version</c>.</summary>
    private async Task<bool> IsHarborAsync(CancellationToken cancellationToken)
    {
        try
        {
            // No credentials go with it: it is not the registry API.
            using HttpResponseMessage response = await this.transport.SendOnceAsync(
                HttpMethod.Get,
                "api/v2.0/systeminfo",
                "application/json",
                null,
                retry: false,
                null,
                cancellationToken,
                limit: new ResponseLimit(64 * 1024, "the Harbor systeminfo limit", "its answer to GET /api/v2.0/systeminfo")).ConfigureAwait(false);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                return false;
            }

            byte[] body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            using JsonDocument document = JsonDocument.Parse(body);
            return document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("harbor_version", out _);
        }
        catch (Exception ex) when (ex is RegistryException or JsonException)
        {
            return false;
        }
    }
}
