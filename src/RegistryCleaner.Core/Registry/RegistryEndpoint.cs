namespace RegistryCleaner.Registry;

/// <summary>
/// A registry as the user named it: <c>host[:port]</c> or <c>http(s)://host[:port][/]</c>. HTTPS unless the user
/// explicitly wrote <c>http://</c>, so credentials never travel in clear text by accident.
/// </summary>
public sealed class RegistryEndpoint
{
    private RegistryEndpoint(Uri baseUri, string displayName)
    {
        this.BaseUri = baseUri;
        this.DisplayName = displayName;
    }

    /// <summary>Gets the base URI, <c>scheme://host[:port]/</c>; API paths (<c>v2/…</c>) are relative to it.</summary>
    public Uri BaseUri { get; }

    /// <summary>Gets the registry's display name, <c>host[:port]</c>, as used in messages and in <see cref="RegistryInventory.Registry"/>.</summary>
    public string DisplayName { get; }

    /// <summary>Gets the host name, the key of the registry in a Docker <c>config.json</c> together with the port.</summary>
    public string Host => this.BaseUri.Host;

    /// <summary>Gets whether requests use plain HTTP.</summary>
    public bool IsPlainHttp => this.BaseUri.Scheme == Uri.UriSchemeHttp;

    /// <summary>Parses a registry string.</summary>
    /// <param name="value"><c>host[:port]</c>, <c>https://host[:port][/]</c> or <c>http://host[:port][/]</c>.</param>
    /// <returns>The endpoint.</returns>
    /// <exception cref="FormatException">The value is empty, has a path, or is not a host name.</exception>
    public static RegistryEndpoint Parse(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        string trimmed = value.Trim();
        if (trimmed.Length == 0)
        {
            throw new FormatException("The registry is empty: give host[:port] or an http(s):// URL, for example docker-registry:5000.");
        }

        string withScheme = trimmed.Contains("://", StringComparison.Ordinal) ? trimmed : "https://" + trimmed;
        if (!Uri.TryCreate(withScheme, UriKind.Absolute, out Uri? uri)
            || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
            || string.IsNullOrEmpty(uri.Host)
            || uri.AbsolutePath.TrimEnd('/').Length > 0
            || uri.Query.Length > 0
            || uri.UserInfo.Length > 0)
        {
            // A user name and password in the URL are never echoed: the message shows them as *** and says where they go.
            string shown = WithoutUserInfo(trimmed);
            throw new FormatException(
                !string.Equals(shown, trimmed, StringComparison.Ordinal)
                    ? $"'{shown}' is not a registry: a user name or password does not belong in the registry URL (it would be written to logs and shell history). Give host[:port] or an http(s):// URL, and the credentials with -Credential (or registry.username and registry.password)."
                    : $"'{value}' is not a registry: give host[:port] or an http(s):// URL without a path, for example docker-registry:5000 or http://localhost:5000.");
        }

        // An address in another form (a bare number such as 5000, hexadecimal or octal parts) is read as some IPv4
        // address: never connect to one the user did not write.
        if (uri.HostNameType == UriHostNameType.IPv4 && !string.Equals(TypedHost(withScheme), uri.Host, StringComparison.Ordinal))
        {
            throw new FormatException(
                $"'{value}' is not a registry: its host reads as the IPv4 address {uri.Host}, which is not what was written. Give host[:port] or an http(s):// URL, for example localhost:5000 or http://10.0.0.5:5000.");
        }

        string display = uri.IsDefaultPort ? uri.Host : $"{uri.Host}:{uri.Port}";
        if (uri.HostNameType == UriHostNameType.IPv6)
        {
            display = uri.IsDefaultPort ? $"[{uri.Host.Trim('[', ']')}]" : $"[{uri.Host.Trim('[', ']')}]:{uri.Port}";
        }

        return new RegistryEndpoint(new Uri($"{uri.Scheme}://{uri.Authority}/"), display);
    }

    /// <summary>The host as written in a URL with a scheme and no user info: the authority up to its port.</summary>
    private static string TypedHost(string url)
    {
        int start = url.IndexOf("://", StringComparison.Ordinal) + 3;
        int end = url.IndexOfAny(['/', '?', '#', ':'], start) is int stop and >= 0 ? stop : url.Length;
        return url[start..end];
    }

    /// <summary>The value with anything before an <c>@</c> in its authority (a user name and password) shown as <c>***</c>.</summary>
    private static string WithoutUserInfo(string value)
    {
        int start = value.IndexOf("://", StringComparison.Ordinal) is int scheme and >= 0 ? scheme + 3 : 0;
        int end = value.IndexOfAny(['/', '?', '#'], start) is int stop and >= 0 ? stop : value.Length;
        int at = value.AsSpan(start, end - start).LastIndexOf('@');
        return at < 0 ? value : value[..start] + "***" + value[(start + at)..];
    }

    /// <summary>Returns the display name.</summary>
    /// <returns><c>host[:port]</c>.</returns>
    public override string ToString() => this.DisplayName;
}
