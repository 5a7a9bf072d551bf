using MongoDB.Driver;

namespace RegistryCleaner.Domino;

/// <summary>
/// One MongoDB client for one invocation: open it, use <see cref="Domino"/>, dispose it (which closes its connections
/// and ends its sessions). Creating it does no I/O; the first call connects, bounded by the settings' timeout.
/// </summary>
public sealed class MongoConnection : IDisposable
{
    private readonly MongoClient client;

    private MongoConnection(MongoConnectionSettings settings, MongoClient client)
    {
        Settings = settings;
        this.client = client;
        Domino = new DominoDatabase(client.GetDatabase(settings.DatabaseName), settings);
    }

    /// <summary>The settings this connection was opened with.</summary>
    public MongoConnectionSettings Settings { get; }

    /// <summary>Domino's records in the configured database.</summary>
    public DominoDatabase Domino { get; }

    /// <summary>Creates the client for <paramref name="settings"/>.</summary>
    /// <param name="settings">Where and how to connect.</param>
    /// <returns>The connection; dispose it when the invocation ends.</returns>
    /// <exception cref="DominoDatabaseException">The settings are invalid (message without the password).</exception>
    public static MongoConnection Open(MongoConnectionSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        MongoClientSettings clientSettings = settings.ToClientSettings();
        try
        {
            return new MongoConnection(settings, new MongoClient(clientSettings));
        }
        catch (MongoException ex)
        {
            throw new DominoDatabaseException(
                $"Cannot create a MongoDB client for {settings.Target}: {settings.Redact(ex.Message)}",
                DominoDatabaseError.InvalidSettings,
                settings.Reveals(ex.ToString()) ? null : ex);
        }
    }

    /// <inheritdoc/>
    public void Dispose() => client.Dispose();
}
