using System.Management.Automation;
using RegistryCleaner.Configuration;
using RegistryCleaner.Registry;
using RegistryCleaner.Workloads;

namespace RegistryCleaner.PowerShell;

/// <summary>
/// The base of the cmdlets that talk to a registry: the shared connection parameters (-Registry, -Credential,
/// -CredentialSecret, -SkipCertificateCheck, -ThrottleLimit; -TimeoutSec comes from <see cref="RemoteCmdlet"/>), their
/// configuration defaults, repository resolution and the mapping of registry errors to PowerShell errors with stable IDs.
/// </summary>
public abstract partial class RegistryCmdlet : RemoteCmdlet
{
    /// <summary>The registry: host[:port] (HTTPS, certificate verified) or an http:// or https:// URL. Default: registry.url (REGISTRY_URL).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Registry { get; set; }

    /// <summary>Registry credentials; they win over every other source.</summary>
    [Parameter]
    [Credential]
    public PSCredential? Credential { get; set; }

    /// <summary>A Kubernetes image pull secret, NAMESPACE/NAME (Domino: domino-platform/domino-registry), whose .dockerconfigjson holds the registry's credentials.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? CredentialSecret { get; set; }

    /// <summary>Skips TLS certificate verification.</summary>
    [Parameter]
    public SwitchParameter SkipCertificateCheck { get; set; }

    /// <summary>The most concurrent requests to the registry.</summary>
    [Parameter]
    [ValidateRange(1, ConfigSchema.MaxWorkersLimit)]
    public int ThrottleLimit { get; set; }

    /// <summary>Gets the concurrency limit from the parameter or the configuration.</summary>
    protected int EffectiveThrottleLimit =>
        this.MyInvocation.BoundParameters.ContainsKey(nameof(this.ThrottleLimit)) ? this.ThrottleLimit : Math.Max(1, this.Configuration.GetInt32(ConfigSchema.MaxWorkers));

    /// <summary>
    /// Opens the image configuration cache the configuration asks for (<c>analysis.cache</c>, <c>analysis.cache_dir</c>),
    /// on the pipeline thread; <see langword="null"/> when it is turned off.
    /// </summary>
    /// <returns>The cache, or <see langword="null"/>.</returns>
    protected ImageConfigCache? OpenConfigCache()
    {
        if (this.ConfigCacheDirectory() is not { } directory)
        {
            return null;
        }

        ImageConfigCache cache = ImageConfigCache.Open(directory);
        this.WriteVerbose(Describe(cache));
        return cache;
    }

    /// <summary>
    /// Starts opening the image configuration cache like <see cref="OpenConfigCache"/>: the settings are read here, on
    /// the pipeline thread, and the file on the thread pool, so that it loads while the first requests (catalog, tag
    /// lists) are under way. <see cref="OpenedConfigCacheAsync"/> waits for it.
    /// </summary>
    /// <returns>The cache being opened, or <see langword="null"/> when it is turned off.</returns>
    protected Task<ImageConfigCache>? StartOpeningConfigCache() =>
        this.ConfigCacheDirectory() is { } directory ? Task.Run(() => ImageConfigCache.Open(directory)) : null;

    /// <summary>Waits for the cache <see cref="StartOpeningConfigCache"/> opens and says what it holds.</summary>
    /// <param name="opening">The cache being opened, or <see langword="null"/>.</param>
    /// <param name="queue">Where to write.</param>
    /// <returns>The cache, or <see langword="null"/> when it is turned off.</returns>
    protected static async Task<ImageConfigCache?> OpenedConfigCacheAsync(Task<ImageConfigCache>? opening, PipelineQueue queue)
    {
        ArgumentNullException.ThrowIfNull(queue);
        if (opening is null)
        {
            return null;
        }

        ImageConfigCache cache = await opening.ConfigureAwait(false);
        queue.Verbose(Describe(cache));
        return cache;
    }

    /// <summary>Says how the cache served this read and saves what it learned; a failed save is a warning, never an error.</summary>
    /// <param name="cache">The cache from <see cref="OpenConfigCache"/>, or <see langword="null"/>.</param>
    /// <param name="queue">Where to write.</param>
    protected static void SaveConfigCache(ImageConfigCache? cache, PipelineQueue queue)
    {
        ArgumentNullException.ThrowIfNull(queue);
        if (cache is null)
        {
            return;
        }

        queue.Verbose($"Image configurations: {cache.Hits} from the cache, {cache.Misses} downloaded.");
        if (cache.Save() is { } problem)
        {
            queue.Warning(problem);
        }
    }

    private static string Describe(ImageConfigCache cache) => cache.LoadProblem ?? $"Image configuration cache {cache.Path}: {cache.Loaded} entries.";

    // The cache folder from analysis.cache_dir (or the default), or null when analysis.cache turns the cache off.
    private string? ConfigCacheDirectory()
    {
        if (!this.Configuration.GetBoolean(ConfigSchema.Cache))
        {
            this.WriteVerbose("The image configuration cache is off (analysis.cache): every configuration is downloaded.");
            return null;
        }

        return this.Configuration.GetString(ConfigSchema.CacheDir) is { Length: > 0 } configured
            ? this.ResolveFilePath(configured)
            : ImageConfigCache.DefaultDirectory();
    }

    /// <summary>Parses the registry from -Registry or registry.url; stops the command when it is not a registry address.</summary>
    /// <returns>The endpoint.</returns>
    protected RegistryEndpoint ResolveEndpoint()
    {
        string value = this.Registry ?? this.Configuration.GetString(ConfigSchema.RegistryUrl) ?? string.Empty;
        try
        {
            return RegistryEndpoint.Parse(value);
        }
        catch (FormatException ex)
        {
            throw this.Terminate(
                new ArgumentException($"{ex.Message} Set it with -Registry or registry.url (REGISTRY_URL).", ex),
                ErrorIds.RegistryUrlInvalid,
                ErrorCategory.InvalidArgument,
                value);
        }
    }

    /// <summary>
    /// Creates the one pooled client for the registry, with the credential of the first source that has one (see
    /// <see cref="RegistryCredentialChain"/>); verbose output names the source only.
    /// </summary>
    /// <param name="endpoint">The registry.</param>
    /// <returns>A client the caller disposes.</returns>
    protected RegistryClient CreateRegistryClient(RegistryEndpoint endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        RegistryCredential? credential = this.ResolveCredential(endpoint);
        this.WriteVerbose(credential is null
            ? $"Registry {endpoint.DisplayName}: no credentials found; trying anonymous access."
            : $"Registry {endpoint.DisplayName}: credentials from {credential.Source}.");

        bool skipCertificateCheck = this.SkipCertificateCheck.IsPresent
            || (!this.MyInvocation.BoundParameters.ContainsKey(nameof(this.SkipCertificateCheck))
                && this.Configuration.GetBoolean(ConfigSchema.RegistrySkipCertificateCheck));
        return new RegistryClient(endpoint, new RegistryClientOptions
        {
            Credential = credential,
            SkipCertificateCheck = skipCertificateCheck,
            TokenRealmHosts = this.Configuration.GetList(ConfigSchema.RegistryTokenRealmHosts),
            Timeout = this.EffectiveTimeout,
            MaxConcurrency = this.EffectiveThrottleLimit,
            Kind = this.ResolveRegistryKind(),
            RefreshCredential = RegistryCredentialChain.RefreshFor(credential, endpoint),
        });
    }

    /// <summary>Reads registry.kind; stops the command when it is not one of the kinds.</summary>
    /// <returns>The configured kind, or <see langword="null"/> for auto.</returns>
    protected RegistryKind? ResolveRegistryKind()
    {
        string? value = this.Configuration.GetString(ConfigSchema.RegistryKind);
        try
        {
            return RegistryKinds.ParseSetting(value);
        }
        catch (FormatException ex)
        {
            throw this.Terminate(new FormatException($"{ex.Message} Set registry.kind in config.yaml to one of them, or to auto.", ex), ErrorIds.RegistryKindInvalid, ErrorCategory.InvalidArgument, value);
        }
    }

    /// <summary>Resolves the registry credential on the pipeline thread, writing why sources were skipped as verbose text.</summary>
    /// <param name="endpoint">The registry.</param>
    /// <returns>The credential, or <see langword="null"/> for anonymous access.</returns>
    protected RegistryCredential? ResolveCredential(RegistryEndpoint endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        var input = new CredentialChainInput
        {
            Credential = this.Credential,
            CredentialSecret = this.CredentialSecret,
            KubeConfig = this.MyInvocation.BoundParameters.TryGetValue("KubeConfig", out object? kubeConfig) && kubeConfig is string path ? this.ResolveFilePath(path) : null,
            Context = this.MyInvocation.BoundParameters.TryGetValue("Context", out object? context)
                ? context switch { string one => one, string[] { Length: > 0 } many => many[0], _ => null }
                : null,
            Timeout = this.EffectiveTimeout,
        };
        var notes = new List<string>();
        try
        {
            Action<string> note = text =>
            {
                lock (notes)
                {
                    notes.Add(text);
                }
            };
            return Task.Run(() => RegistryCredentialChain.ResolveAsync(this.Configuration, endpoint, input, note, this.StopToken)).GetAwaiter().GetResult();
        }
        catch (PullSecretUnreadableException ex)
        {
            throw this.Terminate(ex, ErrorIds.RegistryCredentialSecretUnreadable, ErrorCategory.AuthenticationError, this.CredentialSecret);
        }
        catch (CredentialHelperException ex)
        {
            throw this.Terminate(ex, ErrorIds.RegistryCredentialHelperFailed, ErrorCategory.AuthenticationError, endpoint.DisplayName);
        }
        catch (InvalidDataException ex)
        {
            throw this.Terminate(ex, ErrorIds.DockerConfigInvalid, ErrorCategory.InvalidData, endpoint.DisplayName);
        }
        finally
        {
            foreach (string text in notes)
            {
                this.WriteVerbose(text);
            }
        }
    }

    /// <summary>
    /// Resolves -Repository: the configured defaults (registry.repository/registry.images) when not given; names with
    /// wildcards are matched against the registry's catalog.
    /// </summary>
    /// <param name="patterns">The -Repository values, or <see langword="null"/>.</param>
    /// <param name="client">The registry client, for the catalog.</param>
    /// <param name="cancellationToken">Cancels the catalog read.</param>
    /// <returns>Repository names, distinct, in the order given.</returns>
    protected async Task<IReadOnlyList<string>> ResolveRepositoriesAsync(string[]? patterns, RegistryClient client, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        if (patterns is null || patterns.Length == 0)
        {
            return this.Configuration.DefaultRepositories();
        }

        if (!patterns.Any(WildcardPattern.ContainsWildcardCharacters))
        {
            return patterns.Select(p => p.Trim('/')).Distinct(StringComparer.Ordinal).ToArray();
        }

        IReadOnlyList<string> catalog = await client.GetCatalogAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        var result = new List<string>();
        foreach (string pattern in patterns)
        {
            if (!WildcardPattern.ContainsWildcardCharacters(pattern))
            {
                result.Add(pattern.Trim('/'));
                continue;
            }

            var wildcard = new WildcardPattern(pattern, WildcardOptions.IgnoreCase);
            result.AddRange(catalog.Where(wildcard.IsMatch));
        }

        return result.Distinct(StringComparer.Ordinal).ToArray();
    }

    /// <summary>Turns a registry failure into an error record with a stable ID and category; the message already says what to do.</summary>
    /// <param name="exception">The failure.</param>
    /// <param name="target">The object concerned (registry, repository or image).</param>
    /// <returns>The error record.</returns>
    protected static ErrorRecord RegistryErrorRecord(Exception exception, object? target) => EngineErrorMap.Registry(exception, target);
}
