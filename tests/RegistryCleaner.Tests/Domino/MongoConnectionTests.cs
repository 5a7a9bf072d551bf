using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using MongoDB.Bson;
using MongoDB.Driver;
using RegistryCleaner.Domino;
using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.Domino;

/// <summary>Connecting: topologies, URIs, authentication failures and unreachable servers, never leaking the password.</summary>
public sealed class MongoConnectionTests
{
    private const string WrongPassword = "Wr0ng-Secret-Value";

    [Theory]
    [InlineData("rs0")]
    [InlineData(null)]
    public async Task The_driver_authenticates_with_SCRAM_SHA_256_to_a_replica_set_primary_or_a_standalone(string? replicaSet)
    {
        await using MongoTestDatabase database = MongoTestDatabase.Create(replicaSet);
        await database.SeedAsync(DominoDatabase.ModelsCollection, new BsonDocument { { "_id", MongoDB.Bson.ObjectId.GenerateNewId() }, { "isArchived", true } });
        using MongoConnection connection = database.Open();

        await connection.Domino.PingAsync();
        Assert.Single(await connection.Domino.GetArchivedModelIdsAsync());
        if (database.StandIn is { } standIn)
        {
            Assert.Contains(standIn.Commands, c => c.Contains("saslContinue"));
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Authentication_works_with_and_without_the_speculative_first_step(bool speculative)
    {
        await using var standIn = new MongoWireStandIn("rs0", "admin", "secret", speculative);
        using MongoConnection connection = MongoConnection.Open(
            new MongoConnectionSettings { Host = "127.0.0.1", Port = standIn.Port, Password = "secret", Timeout = TimeSpan.FromSeconds(5) });

        await connection.Domino.PingAsync();

        Assert.Equal(!speculative, standIn.Commands.Any(c => c.Contains("saslStart")));
        Assert.Contains(standIn.Commands, c => c.Contains("saslContinue"));
    }

    [Fact]
    public void An_explicit_user_and_password_win_over_the_uri_and_the_uri_user_pairs_with_an_explicit_password()
    {
        const string uri = "mongodb://domino-reader:from-uri@db:27017/";

        Assert.Equal("domino-reader", new MongoConnectionSettings { Uri = uri }.ToClientSettings().Credential.Username);
        Assert.Equal("domino-reader", new MongoConnectionSettings { Uri = "mongodb://domino-reader@db:27017/", Password = "p" }.ToClientSettings().Credential.Username);
        MongoCredential credential = new MongoConnectionSettings { Uri = uri, Username = "ops", Password = "p" }.ToClientSettings().Credential;
        Assert.Equal("ops", credential.Username);
        Assert.Equal("admin", credential.Source);
        Assert.Equal("admin", new MongoConnectionSettings { Host = "db", Password = "p" }.ToClientSettings().Credential.Username);
        Assert.Equal("SCRAM-SHA-1", new MongoConnectionSettings { Uri = uri + "?authMechanism=SCRAM-SHA-1" }.ToClientSettings().Credential.Mechanism);
    }

    [Fact]
    public async Task A_uri_with_credentials_and_a_direct_connection_both_work()
    {
        await using var standIn = new MongoWireStandIn("rs0", "admin", "p@ss:w/rd");
        var viaUri = new MongoConnectionSettings
        {
            Uri = $"mongodb://admin:{Uri.EscapeDataString("p@ss:w/rd")}@127.0.0.1:{standIn.Port}/domino?replicaSet=rs0&authSource=admin",
            Timeout = TimeSpan.FromSeconds(5),
        };
        var direct = new MongoConnectionSettings
        {
            Host = "127.0.0.1",
            Port = standIn.Port,
            DirectConnection = true,
            Password = "p@ss:w/rd",
            Timeout = TimeSpan.FromSeconds(5),
        };

        foreach (MongoConnectionSettings settings in new[] { viaUri, direct })
        {
            using MongoConnection connection = MongoConnection.Open(settings);
            await connection.Domino.PingAsync();
            Assert.Empty(await connection.Domino.GetArchivedEnvironmentsAsync());
        }

        Assert.Equal($"admin@127.0.0.1:{standIn.Port}/domino (replica set rs0)", viaUri.ToString());
        Assert.Equal($"admin@127.0.0.1:{standIn.Port}/domino", direct.ToString());
    }

    [Fact]
    public async Task A_wrong_password_is_a_clear_authentication_error_without_the_password()
    {
        await using MongoTestDatabase database = MongoTestDatabase.Create();
        MongoConnectionSettings wrong = database.StandIn is null
            ? WithUriPassword(database.Settings, WrongPassword)
            : new MongoConnectionSettings
            {
                Host = "127.0.0.1",
                Port = database.StandIn.Port,
                Password = WrongPassword,
                Timeout = TimeSpan.FromSeconds(5),
            };
        using MongoConnection connection = database.Open(wrong);

        DominoDatabaseException error = await Assert.ThrowsAsync<DominoDatabaseException>(() => connection.Domino.GetArchivedEnvironmentsAsync());

        Assert.Equal(DominoDatabaseError.AuthenticationFailed, error.Error);
        Assert.Contains("rejected the credentials of user '", error.Message, StringComparison.Ordinal);
        AssertNoSecret(error, WrongPassword);
        if (database.StandIn is not null)
        {
            MongoCommandException cause = Assert.IsType<MongoCommandException>(error.InnerException?.InnerException);
            Assert.Equal(18, cause.Code);
            Assert.Equal("AuthenticationFailed", cause.CodeName);
        }
    }

    [Fact]
    public async Task A_wrong_password_in_the_uri_is_redacted_too()
    {
        await using var standIn = new MongoWireStandIn("rs0", "admin", "right");
        var settings = new MongoConnectionSettings
        {
            Uri = $"mongodb://admin:{WrongPassword}@127.0.0.1:{standIn.Port}/?replicaSet=rs0",
            Timeout = TimeSpan.FromSeconds(5),
        };
        using MongoConnection connection = MongoConnection.Open(settings);

        DominoDatabaseException error = await Assert.ThrowsAsync<DominoDatabaseException>(() => connection.Domino.PingAsync());

        Assert.Equal(DominoDatabaseError.AuthenticationFailed, error.Error);
        AssertNoSecret(error, WrongPassword);
        Assert.DoesNotContain(WrongPassword, settings.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_refused_connection_fails_within_the_timeout_naming_host_and_port()
    {
        int port = UnusedPort();
        var settings = new MongoConnectionSettings
        {
            Host = "127.0.0.1",
            Port = port,
            ReplicaSet = null,
            Password = WrongPassword,
            Timeout = TimeSpan.FromSeconds(1.5),
        };
        using MongoConnection connection = MongoConnection.Open(settings);
        var clock = Stopwatch.StartNew();

        DominoDatabaseException error = await Assert.ThrowsAsync<DominoDatabaseException>(() => connection.Domino.ReadImageUsageAsync());

        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(6));
        Assert.Equal(DominoDatabaseError.Unreachable, error.Error);
        Assert.Contains($"127.0.0.1:{port}", error.Message, StringComparison.Ordinal);
        Assert.Contains("1.5 s", error.Message, StringComparison.Ordinal);
        AssertNoSecret(error, WrongPassword);
    }

    [Fact]
    public async Task A_server_that_never_answers_fails_within_the_timeout()
    {
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start(); // accepts connections (the kernel's backlog) and never says a word
        int port = ((IPEndPoint)silent.LocalEndpoint).Port;
        var settings = new MongoConnectionSettings { Host = "127.0.0.1", Port = port, Timeout = TimeSpan.FromSeconds(1.5) };
        using MongoConnection connection = MongoConnection.Open(settings);
        var clock = Stopwatch.StartNew();

        DominoDatabaseException error = await Assert.ThrowsAsync<DominoDatabaseException>(() => connection.Domino.PingAsync());

        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(6));
        Assert.Equal(DominoDatabaseError.Unreachable, error.Error);
        Assert.Contains($"127.0.0.1:{port}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Settings_default_to_a_Domino_install_and_never_show_the_password()
    {
        var settings = new MongoConnectionSettings { Password = WrongPassword };

        Assert.Equal("admin@mongodb-replicaset:27017/domino (replica set rs0)", settings.ToString());
        Assert.Equal("mongodb-replicaset:27017", settings.Servers);
        MongoClientSettings client = settings.ToClientSettings();
        Assert.Equal("rs0", client.ReplicaSetName);
        Assert.Equal("admin", client.Credential.Source);
        Assert.Equal(MongoConnectionSettings.DefaultTimeout, client.ServerSelectionTimeout);
        Assert.Equal(MongoConnectionSettings.DefaultTimeout, client.ConnectTimeout);
        Assert.Equal(MongoConnectionSettings.DefaultTimeout, client.SocketTimeout);
        Assert.Null(new MongoConnectionSettings().ToClientSettings().Credential);
    }

    [Fact]
    public void An_invalid_uri_is_reported_without_its_password()
    {
        var settings = new MongoConnectionSettings { Uri = $"mongodb://admin:{WrongPassword}@host:notaport/?replicaSet=rs0" };

        DominoDatabaseException error = Assert.Throws<DominoDatabaseException>(() => MongoConnection.Open(settings));

        Assert.Equal(DominoDatabaseError.InvalidSettings, error.Error);
        Assert.Contains("admin:*****@host:notaport", error.Message, StringComparison.Ordinal);
        Assert.Equal("mongodb://admin:*****@host:notaport/?replicaSet=rs0", settings.ToString());
        AssertNoSecret(error, WrongPassword);
        Assert.Equal("before *****, after", settings.Redact($"before {WrongPassword}, after"));
    }

    [Fact]
    public void A_direct_connection_needs_a_single_host()
    {
        var settings = new MongoConnectionSettings { Uri = "mongodb://a:27017,b:27017/", DirectConnection = true };

        Assert.Equal(DominoDatabaseError.InvalidSettings, Assert.Throws<DominoDatabaseException>(() => MongoConnection.Open(settings)).Error);
    }

    private static void AssertNoSecret(Exception error, string secret)
    {
        for (Exception? e = error; e is not null; e = e.InnerException)
        {
            Assert.DoesNotContain(secret, e.ToString(), StringComparison.Ordinal);
        }
    }

    private static MongoConnectionSettings WithUriPassword(MongoConnectionSettings settings, string password)
    {
        var url = new MongoUrlBuilder(settings.Uri) { Password = password };
        return new MongoConnectionSettings { Uri = url.ToString(), Database = settings.Database, Timeout = settings.Timeout };
    }

    private static int UnusedPort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
