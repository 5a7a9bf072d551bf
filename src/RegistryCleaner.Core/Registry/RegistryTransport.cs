using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Polly;
using Polly.Retry;

namespace RegistryCleaner.Registry;

/// <summary>
/// The HTTP side of one registry: one pooled HTTP/1.1 connection pool, retries of idempotent requests with jittered
/// backoff (honouring <c>Retry-After</c>), a byte bound on every answer read, and the translation of transport
/// failures into <see cref="RegistryException"/>s. It knows nothing of authentication: callers pass the header.
/// </summary>
internal sealed class RegistryTransport : IDisposable
{
    private readonly HttpClient http;
    private readonly RegistryClientOptions options;
    private readonly string name;

    // Timeouts and lost connections are retried only once the registry has answered at least once: a registry that
    // never answered is unreachable, and the user should hear so within one timeout, not after every retry.
    private volatile bool answered;

    /// <summary>Initializes the transport of one registry.</summary>
    /// <param name="endpoint">The registry.</param>
    /// <param name="options">The client options.</param>
    public RegistryTransport(RegistryEndpoint endpoint, RegistryClientOptions options)
    {
        this.options = options;
        this.name = endpoint.DisplayName;
        int connections = Math.Max(1, options.MaxConcurrency);
        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = connections,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            ConnectTimeout = options.Timeout,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,

            // Registries redirect blob GETs to storage; the redirect target must not receive our Authorization header,
            // which HttpClient already strips on redirect.
            AllowAutoRedirect = true,
        };
        if (options.SkipCertificateCheck)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = static (_, _, _, _) => true;
        }

        this.http = new HttpClient(handler, disposeHandler: true)
        {
            BaseAddress = endpoint.BaseUri,
            Timeout = options.Timeout,
            DefaultRequestVersion = HttpVersion.Version11,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,

            // Only token service answers are buffered by HttpClient itself; every registry answer is read within its own limit.
            MaxResponseContentBufferSize = options.MaxTokenResponseBytes,
        };
        this.http.DefaultRequestHeaders.UserAgent.ParseAdd("RegistryCleaner/0.1");
        this.RetryPipeline = this.BuildRetryPipeline();
    }

    /// <summary>Gets the retry pipeline idempotent requests run in.</summary>
    public ResiliencePipeline<HttpResponseMessage> RetryPipeline { get; }

    /// <summary>Creates the error for an answer larger than its limit.</summary>
    public static RegistryLimitException OverLimit(string registry, ResponseLimit limit, long? announced) =>
        new(
            registry,
            limit.Option,
            $"Registry {registry} sent {limit.What} larger than {BoundedContent.Format(limit.Bytes)} ({limit.Option}{(limit.Option == nameof(RegistryClientOptions.MaxManifestBytes) ? ", distribution's own manifest limit" : string.Empty)})"
            + (announced is long n && n > limit.Bytes ? string.Create(CultureInfo.InvariantCulture, $": it announced {n} bytes, so nothing was read.") : "; it was not read further."));

    /// <summary>Sends a request to a token service (an absolute address), retried like any idempotent request.</summary>
    /// <param name="create">Creates each attempt's request.</param>
    /// <returns>The answer, its body buffered within <see cref="RegistryClientOptions.MaxTokenResponseBytes"/>.</returns>
    public async Task<HttpResponseMessage> SendTokenRequestAsync(Func<HttpRequestMessage> create) =>
        await this.RetryPipeline.ExecuteAsync(
            async ct =>
            {
                using HttpRequestMessage request = create();
                return await this.http.SendAsync(request, ct).ConfigureAwait(false);
            },
            CancellationToken.None).ConfigureAwait(false);

    /// <summary>Sends one request (retried when <paramref name="retry"/>), its body read within <paramref name="limit"/>.</summary>
    public async Task<HttpResponseMessage> SendOnceAsync(
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
                using HttpRequestMessage request = CreateRequest(method, path, accept, authorization, content, range);
                HttpResponseMessage response = await this.SendAttemptAsync(request, completion, limit, cancellationToken).ConfigureAwait(false);
                this.answered = true;
                return response;
            }

            return await this.RetryPipeline.ExecuteAsync(
                async (state, ct) =>
                {
                    using HttpRequestMessage request = CreateRequest(state.Method, state.Path, state.Accept, state.Authorization, state.Content, state.Range);
                    return await state.Transport.SendAttemptAsync(request, state.Completion, state.Limit, ct).ConfigureAwait(false);
                },
                (Transport: this, Method: method, Path: path, Accept: accept, Authorization: authorization, Content: content, Completion: completion, Limit: limit, Range: range),
                cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw this.Translate(ex, $"{method} /{path}", cancellationToken);
        }
    }

    /// <summary>Turns a transport failure into the error the user reads.</summary>
    public RegistryException Translate(Exception ex, string what, CancellationToken cancellationToken)
    {
        if (ex is TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return new RegistryUnreachableException(
                this.name, $"Registry {this.name} did not answer {what} within {this.options.Timeout.TotalSeconds:0.#} s.", ex);
        }

        if (ex is HttpRequestException { HttpRequestError: HttpRequestError.SecureConnectionError })
        {
            return new RegistryCertificateException(
                this.name,
                $"The TLS connection to registry {this.name} failed ({ex.InnerException?.Message ?? ex.Message}): trust its certificate authority, or pass -SkipCertificateCheck for a self-signed certificate.",
                ex);
        }

        return new RegistryUnreachableException(this.name, $"Registry {this.name} is unreachable ({ex.Message}).", ex);
    }

    /// <inheritdoc/>
    public void Dispose() => this.http.Dispose();

    private static HttpRequestMessage CreateRequest(HttpMethod method, string path, string? accept, AuthenticationHeaderValue? authorization, Func<HttpContent>? content, RangeHeaderValue? range = null)
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

    /// <summary>Sends one attempt and reads its body within the attempt's timeout and <paramref name="limit"/>.</summary>
    /// <remarks>
    /// A success body over the limit is a <see cref="RegistryLimitException"/> (never retried); an error body is cut
    /// at <see cref="BoundedContent.MaxErrorBytes"/> (only its detail is lost). <see cref="HttpCompletionOption.ResponseHeadersRead"/>
    /// leaves the body to the caller (blob streaming, which bounds it itself).
    /// </remarks>
    private async Task<HttpResponseMessage> SendAttemptAsync(HttpRequestMessage request, HttpCompletionOption completion, ResponseLimit? limit, CancellationToken cancellationToken)
    {
        if (completion == HttpCompletionOption.ResponseHeadersRead)
        {
            return await this.http.SendAsync(request, completion, cancellationToken).ConfigureAwait(false);
        }

        // The request timeout covers headers and body, as HttpClient's own buffering did.
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        attempt.CancelAfter(this.options.Timeout);
        HttpResponseMessage response = await this.http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, attempt.Token).ConfigureAwait(false);
        if (request.Method == HttpMethod.Head)
        {
            // No body; Content-Length is the size of what a GET would send.
            return response;
        }

        try
        {
            if (response.IsSuccessStatusCode)
            {
                limit ??= new ResponseLimit(this.options.MaxManifestBytes, nameof(RegistryClientOptions.MaxManifestBytes), $"its answer to {request.Method} {request.RequestUri}");
                byte[] body = await BoundedContent.ReadAsync(response.Content, limit.Bytes, attempt.Token).ConfigureAwait(false)
                    ?? throw OverLimit(this.name, limit, response.Content.Headers.ContentLength);
                BoundedContent.Replace(response, body);
            }
            else
            {
                BoundedContent.Replace(response, await BoundedContent.ReadPrefixAsync(response.Content, BoundedContent.MaxErrorBytes, attempt.Token).ConfigureAwait(false));
            }

            return response;
        }
        catch (Exception ex)
        {
            response.Dispose();
            if (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                // The attempt's timeout: the same exception HttpClient's timeout raises, so it is retried and reported alike.
                throw new TaskCanceledException($"The answer did not arrive within {this.options.Timeout.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture)} s.", ex);
            }

            if (ex is IOException)
            {
                // A body that broke off, as HttpClient's own buffering reports it: transient.
                throw new HttpRequestException(HttpRequestError.ResponseEnded, "Error while copying content to a stream.", ex);
            }

            throw;
        }
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
}

/// <summary>What an answer's body may hold, and how the error names it.</summary>
/// <param name="Bytes">The most bytes read.</param>
/// <param name="Option">The limit's name: its <see cref="RegistryClientOptions"/> property, or "descriptor size".</param>
/// <param name="What">What is read, for the message ("the manifest app:v1").</param>
internal sealed record ResponseLimit(long Bytes, string Option, string What);
