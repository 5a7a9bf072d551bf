using System.Globalization;
using MongoDB.Driver;
using MongoDB.Driver.Core.Servers;

namespace RegistryCleaner.Domino;

/// <summary>
/// Where and how to reach Domino's MongoDB: either a <c>mongodb://</c> URI or host, port, replica set, database and
/// authentication source, plus a user name and password. The password never appears in <see cref="ToString"/>,
/// <see cref="Target"/> or any error message produced from these settings.
/// </summary>
public sealed class MongoConnectionSettings
{
    /// <summary>The host of a default Domino install: the MongoDB replica set service.</summary>
    public const string DefaultHost = "mongodb-replicaset";

    /// <summary>The MongoDB port of a default Domino install.</summary>
    public const int DefaultPort = 27017;

    /// <summary>The replica set name of a default Domino install.</summary>
    public const string DefaultReplicaSet = "rs0";

    /// <summary>The database that holds Domino's records.</summary>
    public const string DefaultDatabase = "domino";

    /// <summary>The database that holds the credentials of a default Domino install.</summary>
    public const string DefaultAuthSource = "admin";

    /// <summary>The MongoDB user of a default Domino install.</summary>
    public const string DefaultUsername = "admin";

    /// <summary>The default bound on server selection, connecting and each socket operation.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// A <c>mongodb://</c> or <c>mongodb+srv://</c> connection string. When set, it decides the hosts and options;
    /// <see cref="Host"/>, <see cref="Port"/> and <see cref="ReplicaSet"/> are ignored, and <see cref="Database"/>,
    /// <see cref="AuthSource"/> and <see cref="Username"/> apply only where the URI does not say.
    /// </summary>
    public string? Uri { get; init; }

    /// <summary>The MongoDB host when no <see cref="Uri"/> is given.</summary>
    public string Host { get; init; } = DefaultHost;

    /// <summary>The MongoDB port when no <see cref="Uri"/> is given.</summary>
    public int Port { get; init; } = DefaultPort;

    /// <summary>The replica set name when no <see cref="Uri"/> is given; null or empty for a standalone server.</summary>
    public string? ReplicaSet { get; init; } = DefaultReplicaSet;

    /// <summary>The Domino database name.</summary>
    public string Database { get; init; } = DefaultDatabase;

    /// <summary>The database that holds the user's credentials.</summary>
    public string AuthSource { get; init; } = DefaultAuthSource;

    /// <summary>
    /// The MongoDB user, or null for the URI's user, else <see cref="DefaultUsername"/>. Used only together with a
    /// password; an explicit user wins over the URI's.
    /// </summary>
    public string? Username { get; init; }

    /// <summary>
    /// The MongoDB password (a secret), or null for the URI's password; with neither, the connection is not
    /// authenticated. An explicit password wins over the URI's.
    /// </summary>
    public string? Password { get; init; }

    /// <summary>The bound on server selection, connecting and each socket operation.</summary>
    public TimeSpan Timeout { get; init; } = DefaultTimeout;

    /// <summary>
    /// Connect to the single given host only, without discovering the other replica set members. Needed when the
    /// members' advertised names are not reachable from here (for example through <c>kubectl port-forward</c>).
    /// </summary>
    public bool DirectConnection { get; init; }

    /// <summary>
    /// The server(s), database and user these settings reach, for messages: for example
    /// <c>admin@mongodb-replicaset:27017/domino (replica set rs0)</c>. Never contains the password.
    /// </summary>
    public string Target
    {
        get
        {
            MongoClientSettings client;
            try
            {
                client = ToClientSettings();
            }
            catch (DominoDatabaseException)
            {
                // Invalid settings still describe themselves (ToString must not throw), without the password.
                return Uri is { Length: > 0 } ? Redact(Uri) : $"{Host}:{Port.ToString(CultureInfo.InvariantCulture)}/{Database}";
            }

            string user = client.Credential is { } credential ? credential.Username + "@" : string.Empty;
            string hosts = string.Join(",", client.Servers.Select(s => s.ToString()));
            string replicaSet = string.IsNullOrEmpty(client.ReplicaSetName) ? string.Empty : $" (replica set {client.ReplicaSetName})";
            return $"{user}{hosts}/{DatabaseName}{replicaSet}";
        }
    }

    /// <summary>The host:port list the client connects to, for messages.</summary>
    public string Servers => string.Join(",", ToClientSettings().Servers.Select(s => s.ToString()));

    /// <summary>The database to read: the URI's database when it names one, otherwise <see cref="Database"/>.</summary>
    public string DatabaseName => ParsedUri() is { DatabaseName: { Length: > 0 } name } ? name : Database;

    /// <summary>Returns <see cref="Target"/>; never the password.</summary>
    /// <returns>A description of the connection without secrets.</returns>
    public override string ToString() => Target;

    /// <summary>Removes the password (from <see cref="Password"/> or the URI) from a message.</summary>
    /// <param name="message">Text that may contain the password.</param>
    /// <returns>The text with every occurrence of the password replaced by <c>*****</c>.</returns>
    public string Redact(string message)
    {
        ArgumentNullException.ThrowIfNull(message);
        foreach (string secret in Secrets())
        {
            message = message.Replace(secret, "*****", StringComparison.Ordinal);
        }

        return message;
    }

    /// <summary>Returns whether a text contains the password.</summary>
    internal bool Reveals(string? text) =>
        text is not null && Secrets().Any(secret => text.Contains(secret, StringComparison.Ordinal));

    private IEnumerable<string> Secrets()
    {
        if (!string.IsNullOrEmpty(Password))
        {
            yield return Password;
        }

        if (UriPassword() is { Length: > 0 } fromUri)
        {
            yield return fromUri;
            string escaped = System.Uri.EscapeDataString(fromUri);
            if (escaped != fromUri)
            {
                yield return escaped;
            }
        }

        if (UriPasswordAsWritten() is { Length: > 0 } written)
        {
            yield return written;
        }
    }

    /// <summary>The raw userinfo password of the URI, found without the driver so that even an invalid URI is redacted.</summary>
    private string? UriPasswordAsWritten()
    {
        if (string.IsNullOrEmpty(Uri))
        {
            return null;
        }

        int scheme = Uri.IndexOf("://", StringComparison.Ordinal);
        int start = scheme < 0 ? 0 : scheme + 3;
        int end = Uri.IndexOfAny(['/', '?'], start);
        string authority = end < 0 ? Uri[start..] : Uri[start..end];
        int at = authority.LastIndexOf('@');
        if (at < 0)
        {
            return null;
        }

        int colon = authority.IndexOf(':', StringComparison.Ordinal);
        return colon >= 0 && colon < at ? authority[(colon + 1)..at] : null;
    }

    private string? UriPassword()
    {
        string? written = UriPasswordAsWritten();
        if (written is null)
        {
            return null;
        }

        try
        {
            return System.Uri.UnescapeDataString(written);
        }
        catch (UriFormatException)
        {
            return written;
        }
    }

    private MongoUrl? ParsedUri()
    {
        if (string.IsNullOrWhiteSpace(Uri))
        {
            return null;
        }

        try
        {
            return new MongoUrl(Uri);
        }
        catch (Exception ex) when (ex is MongoConfigurationException or ArgumentException or FormatException)
        {
            // The driver's message may quote the whole URI, password included: say what is wrong without it.
            throw new DominoDatabaseException(
                $"The MongoDB URI '{Redact(Uri)}' is not valid: {Redact(ex.Message)} Expected mongodb://[user[:password]@]host[:port][/database][?options].",
                DominoDatabaseError.InvalidSettings);
        }
    }

    /// <summary>Builds the driver's settings: every wait bounded by <see cref="Timeout"/>, credentials as configured.</summary>
    internal MongoClientSettings ToClientSettings()
    {
        if (Timeout <= TimeSpan.Zero)
        {
            throw new DominoDatabaseException(
                $"The MongoDB timeout must be positive; it is {Timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s.",
                DominoDatabaseError.InvalidSettings);
        }

        MongoUrl? url = ParsedUri();
        MongoClientSettings settings;
        if (url is not null)
        {
            settings = ClientSettingsFromUrl(url);
        }
        else
        {
            if (string.IsNullOrWhiteSpace(Host) || Port is < 1 or > 65535)
            {
                throw new DominoDatabaseException(
                    $"The MongoDB server '{Host}:{Port.ToString(CultureInfo.InvariantCulture)}' is not a valid host and port.",
                    DominoDatabaseError.InvalidSettings);
            }

            settings = new MongoClientSettings { Server = new MongoServerAddress(Host, Port) };
            if (!string.IsNullOrEmpty(ReplicaSet) && !DirectConnection)
            {
                settings.ReplicaSetName = ReplicaSet;
            }
        }

        if (DirectConnection)
        {
            if (settings.Servers.Count() != 1)
            {
                throw new DominoDatabaseException(
                    $"A direct MongoDB connection needs exactly one host; '{string.Join(",", settings.Servers)}' has {settings.Servers.Count().ToString(CultureInfo.InvariantCulture)}.",
                    DominoDatabaseError.InvalidSettings);
            }

            settings.DirectConnection = true;
            settings.ReplicaSetName = null;
        }

        settings.Credential = Credential(url);
        settings.ServerSelectionTimeout = Timeout;
        settings.ConnectTimeout = Timeout;
        settings.SocketTimeout = Timeout;
        settings.HeartbeatTimeout = Timeout;
        settings.WaitQueueTimeout = Timeout;
        settings.ApplicationName = "RegistryCleaner";
        // One short invocation: polling keeps the monitor simple and avoids long-lived awaitable hellos.
        settings.ServerMonitoringMode = ServerMonitoringMode.Poll;
        return settings;
    }

    private MongoClientSettings ClientSettingsFromUrl(MongoUrl url)
    {
        bool passwordGiven = !string.IsNullOrEmpty(Password) || !string.IsNullOrEmpty(url.Password);
        try
        {
            // The credential is built by Credential(), so the driver only needs the URI without its user information.
            return passwordGiven || string.IsNullOrEmpty(url.Username)
                ? MongoClientSettings.FromUrl(new MongoUrlBuilder(url.ToString()) { Username = null, Password = null, AuthenticationMechanism = null }.ToMongoUrl())
                : MongoClientSettings.FromUrl(url);
        }
        catch (Exception ex) when (ex is MongoConfigurationException or ArgumentException or FormatException)
        {
            string hint = passwordGiven ? string.Empty : $" The URI names user '{url.Username}' but no password was given.";
            throw new DominoDatabaseException(
                $"The MongoDB URI '{Redact(Uri!)}' cannot be used: {Redact(ex.Message)}{hint}",
                DominoDatabaseError.InvalidSettings);
        }
    }

    private MongoCredential? Credential(MongoUrl? url)
    {
        string? password = !string.IsNullOrEmpty(Password) ? Password : url?.Password;
        if (string.IsNullOrEmpty(password))
        {
            // No password anywhere: keep a password-less URI credential (for example x509), otherwise connect unauthenticated.
            return url?.Username is { Length: > 0 } ? ClientSettingsFromUrl(url).Credential : null;
        }

        string username = Username is { Length: > 0 } explicitUser ? explicitUser
            : url?.Username is { Length: > 0 } fromUri ? fromUri
            : DefaultUsername;
        string source = url?.AuthenticationSource is { Length: > 0 } fromUriSource ? fromUriSource : AuthSource;
        string? mechanism = url?.AuthenticationMechanism;
        return string.IsNullOrEmpty(mechanism)
            ? MongoCredential.CreateCredential(source, username, password)
            : new MongoCredential(mechanism, new MongoInternalIdentity(source, username), new PasswordEvidence(password));
    }
}
