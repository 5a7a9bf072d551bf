namespace RegistryCleaner.Registry;

/// <summary>Options of a <see cref="RegistryClient"/>.</summary>
public sealed class RegistryClientOptions
{
    /// <summary>How many request timeouts one listing may take when <see cref="MaxListingTime"/> is not set (10).</summary>
    public const int ListingTimeoutFactor = 10;

    /// <summary>Gets the credential; <see langword="null"/> for anonymous access (see <see cref="RegistryCredentialResolver"/>).</summary>
    public RegistryCredential? Credential { get; init; }

    /// <summary>
    /// Gets a function that asks the credential's source again (a credential helper that hands out short-lived
    /// tokens, such as ECR's 12-hour password). When the registry refuses the credential (401), it is called once per
    /// refused credential and the request is sent once more with what it returns; <see langword="null"/> asks nothing.
    /// </summary>
    public Func<CancellationToken, Task<RegistryCredential?>>? RefreshCredential { get; init; }

    /// <summary>
    /// Gets what software serves the registry (<c>registry.kind</c>); <see langword="null"/> (<c>auto</c>) tells it
    /// from the registry's answers (see <see cref="RegistryClient.DetectKindAsync"/>).
    /// </summary>
    public RegistryKind? Kind { get; init; }

    /// <summary>
    /// Gets the hosts, besides the registry's own site, whose token service (bearer realm) may receive the credentials
    /// (<c>registry.token_realm_hosts</c>; see <see cref="TokenRealmPolicy"/>).
    /// </summary>
    public IReadOnlyList<string> TokenRealmHosts { get; init; } = [];

    /// <summary>Gets whether to accept any TLS certificate (self-signed registries).</summary>
    public bool SkipCertificateCheck { get; init; }

    /// <summary>Gets the timeout of one HTTP request (each retry attempt gets its own).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Gets the number of concurrent requests (pooled connections) and the default inventory concurrency.</summary>
    public int MaxConcurrency { get; init; } = 16;

    /// <summary>Gets how many times an idempotent request is retried after 429/502/503/504, a reset connection or a timeout.</summary>
    public int MaxRetries { get; init; } = 4;

    /// <summary>Gets the first retry delay; later delays grow exponentially, with jitter.</summary>
    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Gets the longest delay between retries, also the cap on a server's <c>Retry-After</c>.</summary>
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Gets the largest manifest read, in bytes: 4 MiB, distribution's own limit. Also bounds a page of referrers
    /// and any other answer that is not a listing, a blob or an error. A manifest over it is an error for its tag.
    /// </summary>
    public long MaxManifestBytes { get; init; } = 4L << 20;

    /// <summary>
    /// Gets the largest image configuration read, in bytes (8 MiB): a configuration whose descriptor names more is
    /// refused without downloading it. Every configuration is read up to its descriptor's size and checked against its digest.
    /// </summary>
    public long MaxConfigBytes { get; init; } = 8L << 20;

    /// <summary>Gets the largest token service answer read, in bytes (1 MiB).</summary>
    public long MaxTokenResponseBytes { get; init; } = 1L << 20;

    /// <summary>Gets the largest page of a listing (catalog, tags), in bytes (8 MiB; 1000 names of 255 characters take 0.3 MiB).</summary>
    public long MaxListingPageBytes { get; init; } = 8L << 20;

    /// <summary>Gets the most pages one listing follows through <c>Link</c> headers (10,000).</summary>
    public int MaxListingPages { get; init; } = 10_000;

    /// <summary>Gets the most entries one listing returns (1,000,000 repositories, tags or referrers).</summary>
    public int MaxListingItems { get; init; } = 1_000_000;

    /// <summary>
    /// Gets how long one listing (all pages of a catalog, of a repository's tags, or of a manifest's referrers) may
    /// take; <see langword="null"/> means <see cref="ListingTimeoutFactor"/> times <see cref="Timeout"/>, so
    /// <c>-TimeoutSec</c> bounds a listing as a whole and not only each page.
    /// </summary>
    public TimeSpan? MaxListingTime { get; init; }

    /// <summary>Gets the effective time one listing may take.</summary>
    public TimeSpan ListingDeadline => this.MaxListingTime ?? this.Timeout * ListingTimeoutFactor;
}

/// <summary>A manifest as the registry stores it.</summary>
/// <param name="Digest">The manifest digest (<c>Docker-Content-Digest</c>, else the sha256 of <paramref name="Content"/>).</param>
/// <param name="MediaType">The media type the registry served it with.</param>
/// <param name="Content">The raw bytes, exactly as stored (needed to restore a deleted manifest).</param>
public sealed record ManifestContent(string Digest, string MediaType, ReadOnlyMemory<byte> Content);

/// <summary>What a manifest <c>DELETE</c> did.</summary>
public enum ManifestDeleteOutcome
{
    /// <summary>The registry deleted the manifest (202) and every tag pointing at it.</summary>
    Deleted,

    /// <summary>The manifest did not exist (404): not a failure.</summary>
    NotFound,

    /// <summary>The registry has deletion disabled (405 <c>UNSUPPORTED</c>).</summary>
    Unsupported,

    /// <summary>No answer arrived (timeout or lost connection): the caller must re-check with a <c>HEAD</c>, never resend blindly.</summary>
    NoAnswer,

    /// <summary>The registry answered with another error.</summary>
    Failed,

    /// <summary>
    /// The registry refuses a delete by digest while tags point at the manifest (Google Artifact Registry's
    /// <c>400 GOOGLE_MANIFEST_DANGLING_TAG</c>): nothing happened; the tags must go first.
    /// </summary>
    TagsFirst,

    /// <summary>
    /// The registry refuses because an image index still references the manifest (ECR's
    /// <c>ImageReferencedByManifestList</c>, Artifact Registry's "is referenced by"): nothing happened; the index must go first.
    /// </summary>
    ReferencedByIndex,

    /// <summary>
    /// The registry refuses for a reason RegistryCleaner does not change (an Azure Container Registry lock,
    /// <c>deleteEnabled: false</c>): nothing happened; the message names the registry's reason and the fix.
    /// </summary>
    Refused,

    /// <summary>Not deleted because the registry showed it is still needed (another tag, an index): nothing changed.</summary>
    Kept,
}

/// <summary>The result of a manifest <c>DELETE</c>.</summary>
/// <param name="Outcome">What happened.</param>
/// <param name="StatusCode">The HTTP status, when the registry answered.</param>
/// <param name="Message">A sentence for the user, naming the registry and what to do.</param>
public sealed record ManifestDeleteResult(ManifestDeleteOutcome Outcome, System.Net.HttpStatusCode? StatusCode, string Message)
{
    /// <summary>Gets the error entries of the registry's answer (its codes), empty when it sent none or deleted.</summary>
    public IReadOnlyList<RegistryError> Errors { get; init; } = [];
}
