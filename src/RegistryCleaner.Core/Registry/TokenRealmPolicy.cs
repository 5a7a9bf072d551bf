using System.Net;
using RegistryCleaner.Configuration;

namespace RegistryCleaner.Registry;

/// <summary>
/// Decides whether the token service (<c>realm</c>) a registry names in its <c>WWW-Authenticate: Bearer</c> challenge
/// may be asked for a token, and whether the credentials (user name and password, or an identity token) may go with
/// the request. The registry names the realm, so a hostile or misconfigured registry must not be able to send the
/// password anywhere it likes:
/// <list type="bullet">
/// <item>a realm that is not <c>http://</c> or <c>https://</c> is refused;</item>
/// <item>an HTTPS registry whose realm is plain <c>http://</c> is refused, with or without credentials;</item>
/// <item>credentials go only to a realm on the registry's own site (<see cref="IsSameSite"/>) or on a host the
/// configuration allows (<c>registry.token_realm_hosts</c>); a realm on another site is still asked for an
/// anonymous token when there are no credentials, which public registries need and which reveals nothing.</item>
/// </list>
/// </summary>
public sealed class TokenRealmPolicy
{
    // Second-level labels under which a two-letter country code registers names (example.co.uk, example.com.au).
    private static readonly HashSet<string> GenericSecondLevelLabels = new(StringComparer.Ordinal)
    {
        "ac", "co", "com", "edu", "go", "gob", "gov", "mil", "ne", "net", "or", "org",
    };

    private readonly RegistryEndpoint registry;
    private readonly HashSet<string> allowedHosts;

    /// <summary>Initializes the policy for one registry.</summary>
    /// <param name="registry">The registry whose challenges are checked.</param>
    /// <param name="allowedHosts">Other hosts that may receive the credentials (<c>registry.token_realm_hosts</c>).</param>
    public TokenRealmPolicy(RegistryEndpoint registry, IEnumerable<string>? allowedHosts)
    {
        ArgumentNullException.ThrowIfNull(registry);
        this.registry = registry;
        this.allowedHosts = new HashSet<string>(
            (allowedHosts ?? []).Where(static h => !string.IsNullOrWhiteSpace(h)).Select(HostOf),
            StringComparer.Ordinal);
    }

    /// <summary>Checks a realm right before a token request.</summary>
    /// <param name="realm">The realm, resolved against the registry's address.</param>
    /// <param name="withCredentials">Whether the request would carry credentials.</param>
    /// <exception cref="TokenRealmRefusedException">The realm may not be asked, or not with these credentials.</exception>
    public void Check(Uri realm, bool withCredentials)
    {
        ArgumentNullException.ThrowIfNull(realm);
        string name = this.registry.DisplayName;
        if (!realm.IsAbsoluteUri || (realm.Scheme != Uri.UriSchemeHttp && realm.Scheme != Uri.UriSchemeHttps) || realm.Host.Length == 0)
        {
            throw new TokenRealmRefusedException(
                name,
                $"Registry {name} named the token service '{Describe(realm)}', which is not an http:// or https:// URL; no token was requested. Check the registry's auth.token.realm setting, or that {name} is the registry you meant.");
        }

        if (!this.registry.IsPlainHttp && realm.Scheme == Uri.UriSchemeHttp)
        {
            throw new TokenRealmRefusedException(
                name,
                $"Registry {name} is HTTPS but named the token service {Describe(realm)} over plain http; nothing was sent to it, since credentials and tokens would travel in clear text. Set the registry's auth.token.realm to an https:// URL.");
        }

        if (withCredentials && !this.MaySendCredentials(realm))
        {
            string host = HostOf(realm.Host);
            throw new TokenRealmRefusedException(
                name,
                $"Registry {name} named the token service {Describe(realm)}, which is not on the registry's own site, so the credentials were not sent to it. If {host} really is the token service of {name}, allow it in config.yaml with {ConfigSchema.RegistryTokenRealmHosts}: [\"{host}\"].");
        }
    }

    /// <summary>Tells whether credentials may go to a realm: same site as the registry, or an allowed host.</summary>
    /// <param name="realm">The realm.</param>
    /// <returns><see langword="true"/> when the credentials may be sent (scheme checks aside).</returns>
    public bool MaySendCredentials(Uri realm)
    {
        ArgumentNullException.ThrowIfNull(realm);
        return IsSameSite(this.registry.Host, realm.Host) || this.allowedHosts.Contains(HostOf(realm.Host));
    }

    /// <summary>
    /// Tells whether two hosts are one site: the same host (any port), or the same registrable domain
    /// (<see cref="RegistrableDomain"/>); an IP address is the same site only as the same address.
    /// </summary>
    /// <param name="registryHost">The registry's host.</param>
    /// <param name="realmHost">The realm's host.</param>
    /// <returns><see langword="true"/> when they are one site.</returns>
    public static bool IsSameSite(string registryHost, string realmHost)
    {
        ArgumentNullException.ThrowIfNull(registryHost);
        ArgumentNullException.ThrowIfNull(realmHost);
        string a = HostOf(registryHost);
        string b = HostOf(realmHost);
        if (a.Length == 0 || b.Length == 0)
        {
            return false;
        }

        bool aIsAddress = IPAddress.TryParse(a, out IPAddress? aAddress);
        bool bIsAddress = IPAddress.TryParse(b, out IPAddress? bAddress);
        if (aIsAddress || bIsAddress)
        {
            return aIsAddress && bIsAddress && Canonical(aAddress!).Equals(Canonical(bAddress!));
        }

        return a == b || RegistrableDomain(a) == RegistrableDomain(b);
    }

    /// <summary>
    /// The registrable domain of a host name, without a public suffix list: the last two labels
    /// (<c>registry-1.docker.io</c> → <c>docker.io</c>), or the last three when the last is a two-letter country code
    /// and the one before it a generic second level such as <c>co</c>, <c>com</c>, <c>org</c>, <c>net</c>,
    /// <c>gov</c>, <c>ac</c> or <c>edu</c> (<c>registry.example.co.uk</c> → <c>example.co.uk</c>). A Kubernetes
    /// service name counts per namespace (<c>registry.ns.svc.cluster.local</c> → <c>ns.svc.cluster.local</c>). A host
    /// with no more labels than that is its own registrable domain; an IP address is itself.
    /// </summary>
    /// <param name="host">A host name.</param>
    /// <returns>The registrable domain, lower case.</returns>
    public static string RegistrableDomain(string host)
    {
        ArgumentNullException.ThrowIfNull(host);
        string normalized = HostOf(host);
        if (IPAddress.TryParse(normalized, out _))
        {
            return normalized;
        }

        string[] labels = normalized.Split('.');
        int take = 2;
        if (labels.Length >= 5 && labels[^3] == "svc" && labels[^2] == "cluster" && labels[^1] == "local")
        {
            take = 4;
        }
        else if (labels.Length >= 3 && labels[^1].Length == 2 && GenericSecondLevelLabels.Contains(labels[^2]))
        {
            take = 3;
        }

        return labels.Length <= take ? normalized : string.Join('.', labels[^take..]);
    }

    // A host as configured or as a URI gives it: lower case, no brackets, no trailing dot; a port or URL is reduced to its host.
    private static string HostOf(string value)
    {
        string text = value.Trim();
        if (text.Contains("://", StringComparison.Ordinal) || (text.Contains(':', StringComparison.Ordinal) && !IPAddress.TryParse(text.Trim('[', ']'), out _)))
        {
            text = Uri.TryCreate(text.Contains("://", StringComparison.Ordinal) ? text : "https://" + text, UriKind.Absolute, out Uri? uri) ? uri.Host : text;
        }

        return text.Trim('[', ']').TrimEnd('.').ToLowerInvariant();
    }

    private static IPAddress Canonical(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;

    // The realm without its query, which may carry anything the registry put there.
    private static string Describe(Uri realm) => realm.IsAbsoluteUri ? realm.GetLeftPart(UriPartial.Path) : realm.OriginalString;
}

/// <summary>
/// A registry named a token service (realm) that may not be asked: not http(s), plain http for an HTTPS registry, or
/// another site while credentials would go with the request. Nothing was sent to it.
/// </summary>
public sealed class TokenRealmRefusedException : RegistryException
{
    /// <summary>Initializes a new instance.</summary>
    public TokenRealmRefusedException()
    {
    }

    /// <summary>Initializes a new instance.</summary>
    /// <param name="message">The message.</param>
    public TokenRealmRefusedException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public TokenRealmRefusedException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Initializes a new instance.</summary>
    /// <param name="registry">The registry display name.</param>
    /// <param name="message">What was refused and what to do.</param>
    public TokenRealmRefusedException(string registry, string message)
        : base(registry, message, HttpStatusCode.Unauthorized)
    {
    }
}
