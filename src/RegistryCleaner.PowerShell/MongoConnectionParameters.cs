using System.Globalization;
using System.Management.Automation;
using RegistryCleaner.Configuration;
using RegistryCleaner.Domino;

namespace RegistryCleaner.PowerShell;

/// <summary>
/// The MongoDB connection parameters (-MongoUri, -MongoCredential, -Database) as a cmdlet declares them. Cmdlets with
/// different bases (Find-ArchivedEnvTag, Remove-MongoEnvRevision, Get-UnusedImage -MongoUsage) implement this and hand
/// themselves to <see cref="MongoConnectionParameters"/>, so the defaults, secret handling and error mapping live once.
/// </summary>
public interface IMongoConnectionParameters
{
    /// <summary>Gets the -MongoUri value, or <see langword="null"/> for the configuration's.</summary>
    string? MongoUri { get; }

    /// <summary>Gets the -MongoCredential value, or <see langword="null"/> for the configuration's.</summary>
    PSCredential? MongoCredential { get; }

    /// <summary>Gets the -Database value, or <see langword="null"/> for the configuration's.</summary>
    string? Database { get; }
}

/// <summary>
/// Turns the MongoDB parameters plus configuration (<c>mongo.*</c>, MONGODB_URI, MONGODB_USERNAME, MONGODB_PASSWORD)
/// into connection settings, and MongoDB failures into error records with stable IDs. Precedence: parameter, then
/// environment variable, then config file, then built-in default.
/// </summary>
public static class MongoConnectionParameters
{
    /// <summary>Builds the connection settings for one invocation.</summary>
    /// <param name="parameters">The cmdlet's MongoDB parameters.</param>
    /// <param name="configuration">The loaded configuration.</param>
    /// <param name="timeout">The bound on connecting and each operation (-TimeoutSec or analysis.timeout).</param>
    /// <returns>The settings; the password is read from its SecureString here, just before the client needs it.</returns>
    public static MongoConnectionSettings ToSettings(IMongoConnectionParameters parameters, RegistryCleanerConfiguration configuration, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(configuration);
        string? uri = parameters.MongoUri is { Length: > 0 } given ? given : configuration.GetString(ConfigSchema.MongoUri);
        string host = configuration.GetString(ConfigSchema.MongoHost) ?? MongoConnectionSettings.DefaultHost;
        int port = configuration.GetInt32(ConfigSchema.MongoPort);
        string? replicaSet = configuration.GetString(ConfigSchema.MongoReplicaSet);
        string database = parameters.Database ?? configuration.GetString(ConfigSchema.MongoDatabase) ?? MongoConnectionSettings.DefaultDatabase;
        string authSource = configuration.GetString(ConfigSchema.MongoAuthSource) ?? MongoConnectionSettings.DefaultAuthSource;

        // The settings have no TLS switch of their own; mongo.tls without a URI becomes the equivalent URI.
        if (string.IsNullOrEmpty(uri) && configuration.GetBoolean(ConfigSchema.MongoTls))
        {
            string set = string.IsNullOrEmpty(replicaSet) ? string.Empty : "&replicaSet=" + Uri.EscapeDataString(replicaSet);
            uri = string.Create(CultureInfo.InvariantCulture, $"mongodb://{host}:{port}/?tls=true{set}");
        }

        string? username;
        string? password;
        if (parameters.MongoCredential is { } credential)
        {
            username = credential.UserName;
            password = credential.GetNetworkCredential().Password;
        }
        else
        {
            // The built-in default user must not override a user named in the URI; only a configured one does.
            username = configuration[ConfigSchema.MongoUsername].Source == ConfigSource.Default ? null : configuration.GetString(ConfigSchema.MongoUsername);
            password = configuration.GetString(ConfigSchema.MongoPassword);
        }

        return new MongoConnectionSettings
        {
            Uri = string.IsNullOrEmpty(uri) ? null : uri,
            Host = host,
            Port = port,
            ReplicaSet = string.IsNullOrEmpty(replicaSet) ? null : replicaSet,
            Database = database,
            AuthSource = authSource,
            Username = string.IsNullOrEmpty(username) ? null : username,
            Password = string.IsNullOrEmpty(password) ? null : password,
            Timeout = timeout,
        };
    }

    /// <summary>Turns a MongoDB failure into an error record with a stable ID; the message never holds the password.</summary>
    /// <param name="exception">The failure.</param>
    /// <param name="target">The object concerned (the connection target or a revision).</param>
    /// <returns>The error record.</returns>
    public static ErrorRecord ErrorRecord(DominoDatabaseException exception, object? target) => EngineErrorMap.Mongo(exception, target);

    /// <summary>
    /// Opens the one MongoDB client of an invocation, or stops the command with <see cref="ErrorIds.MongoSettingsInvalid"/>.
    /// The caller disposes the connection.
    /// </summary>
    /// <param name="cmdlet">The cmdlet, for the terminating error and a verbose line naming the target.</param>
    /// <param name="settings">The settings from <see cref="ToSettings"/>.</param>
    /// <returns>The connection (no I/O happened yet).</returns>
    internal static MongoConnection Open(RegistryCleanerCmdlet cmdlet, MongoConnectionSettings settings)
    {
        ArgumentNullException.ThrowIfNull(cmdlet);
        ArgumentNullException.ThrowIfNull(settings);
        try
        {
            MongoConnection connection = MongoConnection.Open(settings);
            cmdlet.WriteVerbose($"MongoDB: {settings.Target}, timeout {settings.Timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s.");
            return connection;
        }
        catch (DominoDatabaseException ex)
        {
            cmdlet.ThrowTerminatingError(ErrorRecord(ex, null));
            throw;
        }
    }
}
