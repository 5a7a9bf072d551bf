using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using MongoDB.Bson;
using MongoDB.Bson.IO;
using MongoDB.Bson.Serialization;

namespace RegistryCleaner.Tests.Infrastructure;

/// <summary>
/// A MongoDB server stand-in on a loopback port, speaking the real wire protocol (OP_MSG, plus OP_QUERY/OP_REPLY for a
/// legacy handshake) so that the real MongoDB.Driver runs end to end: hello as a standalone or replica set primary,
/// SCRAM-SHA-256 authentication, find/getMore/killCursors with MongoDB's matching rules for the operators the engine uses,
/// insert, delete, endSessions and dropDatabase, over collections kept in memory.
/// </summary>
public sealed class MongoWireStandIn : IAsyncDisposable
{
    private const int OpReply = 1;
    private const int OpQuery = 2004;
    private const int OpMsg = 2013;
    private const int Iterations = 4096;
    private const int DefaultBatchSize = 101;

    private readonly TcpListener listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource stopping = new();
    private readonly ConcurrentDictionary<Task, bool> connections = new();
    private readonly Dictionary<string, List<BsonDocument>> collections = new(StringComparer.Ordinal);
    private readonly Dictionary<long, (string Namespace, Queue<BsonDocument> Remaining)> cursors = [];
    private readonly object gate = new();
    private readonly byte[] salt = RandomNumberGenerator.GetBytes(16);
    private readonly Task acceptLoop;
    private long nextCursorId = 1000;
    private int nextConnectionId;
    private int nextRequestId;

    /// <summary>Starts the stand-in.</summary>
    /// <param name="replicaSetName">Answer hello as the primary of this replica set; null for a standalone server.</param>
    /// <param name="username">The only user; null for a server without authentication.</param>
    /// <param name="password">That user's password.</param>
    /// <param name="speculativeAuthentication">
    /// Answer the SCRAM first step carried in the handshake (as MongoDB 4.4+ does); otherwise the driver starts a
    /// separate saslStart conversation (as older servers make it).
    /// </param>
    public MongoWireStandIn(string? replicaSetName = null, string? username = null, string? password = null, bool speculativeAuthentication = true)
    {
        SpeculativeAuthentication = speculativeAuthentication;
        ReplicaSetName = replicaSetName;
        Username = username;
        Password = password;
        listener.Start();
        Port = ((IPEndPoint)listener.LocalEndpoint).Port;
        acceptLoop = AcceptAsync();
    }

    /// <summary>The loopback port the stand-in listens on.</summary>
    public int Port { get; }

    /// <summary>host:port as the server advertises itself.</summary>
    public string Address => $"127.0.0.1:{Port}";

    /// <summary>The replica set name, or null for a standalone.</summary>
    public string? ReplicaSetName { get; }

    /// <summary>The user the stand-in accepts.</summary>
    public string? Username { get; }

    /// <summary>The password the stand-in accepts.</summary>
    public string? Password { get; }

    /// <summary>Whether the handshake's speculative SCRAM first step is answered.</summary>
    public bool SpeculativeAuthentication { get; }

    /// <summary>Every command received, in order, with its name first (for diagnosing a failing test).</summary>
    public ConcurrentQueue<BsonDocument> Commands { get; } = new();

    /// <summary>Whether any message arrived as OP_QUERY (the legacy handshake).</summary>
    public bool SawOpQuery { get; private set; }

    /// <summary>Adds documents to a collection.</summary>
    /// <param name="database">The database name.</param>
    /// <param name="collection">The collection name.</param>
    /// <param name="documents">The documents, stored as given (deep copies).</param>
    public void Seed(string database, string collection, params BsonDocument[] documents)
    {
        lock (gate)
        {
            Collection($"{database}.{collection}").AddRange(documents.Select(d => d.DeepClone().AsBsonDocument));
        }
    }

    /// <summary>Returns a copy of a collection's documents.</summary>
    /// <param name="database">The database name.</param>
    /// <param name="collection">The collection name.</param>
    /// <returns>The documents.</returns>
    public IReadOnlyList<BsonDocument> Documents(string database, string collection)
    {
        lock (gate)
        {
            return Collection($"{database}.{collection}").Select(d => d.DeepClone().AsBsonDocument).ToList();
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync();
        listener.Stop();
        await acceptLoop;
        await Task.WhenAll(connections.Keys);
        stopping.Dispose();
    }

    private List<BsonDocument> Collection(string ns)
    {
        if (!collections.TryGetValue(ns, out List<BsonDocument>? documents))
        {
            collections[ns] = documents = [];
        }

        return documents;
    }

    private async Task AcceptAsync()
    {
        while (!stopping.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await listener.AcceptTcpClientAsync(stopping.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            Task connection = ServeAsync(client);
            connections[connection] = true;
            _ = connection.ContinueWith(t => connections.TryRemove(t, out _), TaskScheduler.Default);
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        var connection = new ConnectionState(Interlocked.Increment(ref nextConnectionId));
        using (client)
        {
            NetworkStream stream = client.GetStream();
            byte[] header = new byte[16];
            try
            {
                while (!stopping.IsCancellationRequested)
                {
                    await stream.ReadExactlyAsync(header, stopping.Token);
                    int length = BinaryPrimitives.ReadInt32LittleEndian(header);
                    int requestId = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(4));
                    int opCode = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(12));
                    byte[] body = new byte[length - 16];
                    await stream.ReadExactlyAsync(body, stopping.Token);
                    byte[] reply = opCode switch
                    {
                        OpMsg => ReplyToOpMsg(body, requestId, connection),
                        OpQuery => ReplyToOpQuery(body, requestId, connection),
                        _ => throw new InvalidDataException($"MongoWireStandIn does not speak opCode {opCode}."),
                    };
                    await stream.WriteAsync(reply, stopping.Token);
                }
            }
            catch (Exception ex) when (ex is EndOfStreamException or IOException or OperationCanceledException or SocketException or ObjectDisposedException)
            {
                // The client closed the connection or the stand-in is stopping.
            }
        }
    }

    private byte[] ReplyToOpMsg(byte[] body, int requestId, ConnectionState connection)
    {
        uint flags = BinaryPrimitives.ReadUInt32LittleEndian(body);
        int end = (flags & 1) != 0 ? body.Length - 4 : body.Length; // checksumPresent
        int position = 4;
        BsonDocument? command = null;
        var sequences = new List<(string Name, BsonArray Documents)>();
        while (position < end)
        {
            byte kind = body[position++];
            if (kind == 0)
            {
                int size = BinaryPrimitives.ReadInt32LittleEndian(body.AsSpan(position));
                command = ReadDocument(body, position, size);
                position += size;
            }
            else
            {
                int size = BinaryPrimitives.ReadInt32LittleEndian(body.AsSpan(position));
                int sectionEnd = position + size;
                position += 4;
                int zero = Array.IndexOf(body, (byte)0, position);
                string name = Encoding.UTF8.GetString(body, position, zero - position);
                position = zero + 1;
                var documents = new BsonArray();
                while (position < sectionEnd)
                {
                    int documentSize = BinaryPrimitives.ReadInt32LittleEndian(body.AsSpan(position));
                    documents.Add(ReadDocument(body, position, documentSize));
                    position += documentSize;
                }

                sequences.Add((name, documents));
            }
        }

        command ??= [];
        foreach ((string name, BsonArray documents) in sequences)
        {
            command[name] = documents;
        }

        BsonDocument response = Execute(command, connection);
        if ((flags & 2) != 0)
        {
            return []; // moreToCome: the client expects no reply
        }

        byte[] document = response.ToBson();
        byte[] reply = new byte[16 + 4 + 1 + document.Length];
        WriteHeader(reply, requestId, OpMsg);
        reply[20] = 0;
        document.CopyTo(reply, 21);
        return reply;
    }

    private byte[] ReplyToOpQuery(byte[] body, int requestId, ConnectionState connection)
    {
        SawOpQuery = true;
        int zero = Array.IndexOf(body, (byte)0, 4);
        int position = zero + 1 + 8; // full collection name, numberToSkip, numberToReturn
        int size = BinaryPrimitives.ReadInt32LittleEndian(body.AsSpan(position));
        BsonDocument query = ReadDocument(body, position, size);
        if (query.TryGetValue("$query", out BsonValue inner))
        {
            query = inner.AsBsonDocument;
        }

        byte[] document = Execute(query, connection).ToBson();
        byte[] reply = new byte[16 + 20 + document.Length];
        WriteHeader(reply, requestId, OpReply);
        BinaryPrimitives.WriteInt32LittleEndian(reply.AsSpan(32), 1); // numberReturned; flags, cursorId, startingFrom stay 0
        document.CopyTo(reply, 36);
        return reply;
    }

    private void WriteHeader(byte[] message, int responseTo, int opCode)
    {
        BinaryPrimitives.WriteInt32LittleEndian(message, message.Length);
        BinaryPrimitives.WriteInt32LittleEndian(message.AsSpan(4), Interlocked.Increment(ref nextRequestId));
        BinaryPrimitives.WriteInt32LittleEndian(message.AsSpan(8), responseTo);
        BinaryPrimitives.WriteInt32LittleEndian(message.AsSpan(12), opCode);
    }

    private static BsonDocument ReadDocument(byte[] buffer, int offset, int size)
    {
        using var stream = new MemoryStream(buffer, offset, size, writable: false);
        using var reader = new BsonBinaryReader(stream);
        return BsonSerializer.Deserialize<BsonDocument>(reader);
    }

    private BsonDocument Execute(BsonDocument command, ConnectionState connection)
    {
        Commands.Enqueue(command);
        try
        {
            return Dispatch(command, connection);
        }
        catch (Exception ex) when (ex is NotSupportedException or InvalidCastException or KeyNotFoundException or FormatException or ArgumentException)
        {
            // Answer like a server would, so the test fails with this reason rather than a dropped connection.
            return Error(2, "BadValue", $"MongoWireStandIn cannot run {command.ToJson()}: {ex.Message}");
        }
    }

    private BsonDocument Dispatch(BsonDocument command, ConnectionState connection)
    {
        string name = command.ElementCount == 0 ? string.Empty : command.GetElement(0).Name;
        string database = command.GetValue("$db", "admin").AsString;
        bool open = name is "hello" or "isMaster" or "ismaster" or "saslStart" or "saslContinue" or "ping" or "buildInfo" or "buildinfo" or "endSessions";
        if (!open && Username is not null && !connection.Authenticated)
        {
            return Error(13, "Unauthorized", $"Command {name} requires authentication");
        }

        return name switch
        {
            "hello" or "isMaster" or "ismaster" => Hello(command, name == "hello", connection),
            "ping" or "endSessions" => Ok(),
            "buildInfo" or "buildinfo" => Ok(new BsonDocument
            {
                { "version", "7.0.0" },
                { "versionArray", new BsonArray { 7, 0, 0, 0 } },
                { "maxBsonObjectSize", 16 * 1024 * 1024 },
            }),
            "saslStart" => SaslStart(command, connection),
            "saslContinue" => SaslContinue(command, connection),
            "find" => Find(database, command),
            "getMore" => GetMore(command),
            "killCursors" => KillCursors(command),
            "insert" => Insert(database, command),
            "delete" => Delete(database, command),
            "dropDatabase" => DropDatabase(database),
            _ => Error(59, "CommandNotFound", $"no such command: '{name}'"),
        };
    }

    private BsonDocument Hello(BsonDocument command, bool modern, ConnectionState connection)
    {
        var reply = new BsonDocument
        {
            { modern ? "isWritablePrimary" : "ismaster", true },
            { "helloOk", true },
            { "maxBsonObjectSize", 16 * 1024 * 1024 },
            { "maxMessageSizeBytes", 48_000_000 },
            { "maxWriteBatchSize", 100_000 },
            { "localTime", new BsonDateTime(DateTime.UtcNow) },
            { "logicalSessionTimeoutMinutes", 30 },
            { "connectionId", connection.Id },
            { "minWireVersion", 0 },
            { "maxWireVersion", 21 },
            { "readOnly", false },
        };
        if (ReplicaSetName is not null)
        {
            reply.Add("setName", ReplicaSetName);
            reply.Add("setVersion", 1);
            reply.Add("hosts", new BsonArray { Address });
            reply.Add("primary", Address);
            reply.Add("me", Address);
            reply.Add("electionId", new MongoDB.Bson.ObjectId("7fffffff0000000000000001"));
        }

        // A real server lists the user's mechanisms when asked, which makes the driver choose SCRAM-SHA-256.
        if (command.TryGetValue("saslSupportedMechs", out BsonValue user) && Username is not null && user.AsString.EndsWith("." + Username, StringComparison.Ordinal))
        {
            reply.Add("saslSupportedMechs", new BsonArray { "SCRAM-SHA-256" });
        }

        if (SpeculativeAuthentication && command.TryGetValue("speculativeAuthenticate", out BsonValue speculative))
        {
            BsonDocument first = SaslStart(speculative.AsBsonDocument, connection);
            if (first["ok"].ToDouble() == 1.0)
            {
                first.Remove("ok");
                reply.Add("speculativeAuthenticate", first);
            }
        }

        return Ok(reply);
    }

    private BsonDocument SaslStart(BsonDocument command, ConnectionState connection)
    {
        if (command.GetValue("mechanism", string.Empty).AsString != "SCRAM-SHA-256")
        {
            return Error(2, "BadValue", $"Unsupported mechanism '{command.GetValue("mechanism", string.Empty)}' (the stand-in speaks SCRAM-SHA-256)");
        }

        string clientFirst = Encoding.UTF8.GetString(command["payload"].AsByteArray);
        if (!clientFirst.StartsWith("n,,", StringComparison.Ordinal))
        {
            return Error(17, "ProtocolError", "Invalid SCRAM client-first message");
        }

        string bare = clientFirst[3..];
        Dictionary<char, string> fields = ScramFields(bare);
        string nonce = fields['r'] + Convert.ToBase64String(RandomNumberGenerator.GetBytes(18));
        string serverFirst = $"r={nonce},s={Convert.ToBase64String(salt)},i={Iterations}";
        connection.Scram = new ScramConversation(fields['n'], bare, serverFirst, nonce);
        return Ok(new BsonDocument
        {
            { "conversationId", 1 },
            { "done", false },
            { "payload", new BsonBinaryData(Encoding.UTF8.GetBytes(serverFirst)) },
        });
    }

    private BsonDocument SaslContinue(BsonDocument command, ConnectionState connection)
    {
        if (connection.Scram is not { } scram)
        {
            return Error(17, "ProtocolError", "No SASL session state found");
        }

        string clientFinal = Encoding.UTF8.GetString(command["payload"].AsByteArray);
        if (clientFinal.Length == 0 && connection.Authenticated)
        {
            return Ok(new BsonDocument { { "conversationId", 1 }, { "done", true }, { "payload", new BsonBinaryData([]) } });
        }

        connection.Scram = null;
        int proofAt = clientFinal.LastIndexOf(",p=", StringComparison.Ordinal);
        Dictionary<char, string> fields = ScramFields(clientFinal);
        if (proofAt < 0 || fields.GetValueOrDefault('r') != scram.Nonce || Username is null || Password is null || scram.User != Username)
        {
            return AuthenticationFailed();
        }

        string authMessage = $"{scram.ClientFirstBare},{scram.ServerFirst},{clientFinal[..proofAt]}";
        byte[] saltedPassword = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(Password), salt, Iterations, HashAlgorithmName.SHA256, 32);
        byte[] storedKey = SHA256.HashData(HMACSHA256.HashData(saltedPassword, "Client Key"u8));
        byte[] clientSignature = HMACSHA256.HashData(storedKey, Encoding.UTF8.GetBytes(authMessage));
        byte[] proof = Convert.FromBase64String(fields['p']);
        if (proof.Length != clientSignature.Length)
        {
            return AuthenticationFailed();
        }

        byte[] clientKey = proof.Select((b, i) => (byte)(b ^ clientSignature[i])).ToArray();
        if (!CryptographicOperations.FixedTimeEquals(SHA256.HashData(clientKey), storedKey))
        {
            return AuthenticationFailed();
        }

        connection.Authenticated = true;
        byte[] serverKey = HMACSHA256.HashData(saltedPassword, "Server Key"u8);
        string serverFinal = "v=" + Convert.ToBase64String(HMACSHA256.HashData(serverKey, Encoding.UTF8.GetBytes(authMessage)));
        return Ok(new BsonDocument
        {
            { "conversationId", 1 },
            { "done", true },
            { "payload", new BsonBinaryData(Encoding.UTF8.GetBytes(serverFinal)) },
        });
    }

    private static Dictionary<char, string> ScramFields(string message) =>
        message.Split(',').Where(p => p.Length >= 2 && p[1] == '=').ToDictionary(p => p[0], p => p[2..]);

    private static BsonDocument AuthenticationFailed() => Error(18, "AuthenticationFailed", "Authentication failed.");

    private BsonDocument Find(string database, BsonDocument command)
    {
        string ns = $"{database}.{command["find"].AsString}";
        BsonDocument filter = command.GetValue("filter", new BsonDocument()).AsBsonDocument;
        BsonDocument? projection = command.TryGetValue("projection", out BsonValue given) && given.AsBsonDocument.ElementCount > 0 ? given.AsBsonDocument : null;
        IEnumerable<BsonDocument> selected;
        List<BsonDocument> matches;
        lock (gate)
        {
            selected = Collection(ns).Where(d => MongoFilter.Matches(d, filter));
            if (command.TryGetValue("skip", out BsonValue skip))
            {
                selected = selected.Skip(skip.ToInt32());
            }

            if (command.TryGetValue("limit", out BsonValue limit) && limit.ToInt32() != 0)
            {
                selected = selected.Take(Math.Abs(limit.ToInt32()));
            }

            // A projection copies what it keeps; without one the whole document is copied. Stored documents never leave.
            matches = selected.Select(d => projection is null ? d.DeepClone().AsBsonDocument : MongoFilter.Project(d, projection)).ToList();
        }

        int batchSize = command.TryGetValue("batchSize", out BsonValue size) && size.ToInt32() > 0 ? size.ToInt32() : DefaultBatchSize;
        bool singleBatch = command.GetValue("singleBatch", false).ToBoolean();
        return CursorReply(ns, new Queue<BsonDocument>(matches), batchSize, "firstBatch", singleBatch);
    }

    private BsonDocument GetMore(BsonDocument command)
    {
        long id = command["getMore"].ToInt64();
        (string Namespace, Queue<BsonDocument> Remaining) cursor;
        lock (gate)
        {
            if (!cursors.Remove(id, out cursor))
            {
                return Error(43, "CursorNotFound", $"cursor id {id} not found");
            }
        }

        int batchSize = command.TryGetValue("batchSize", out BsonValue size) && size.ToInt32() > 0 ? size.ToInt32() : int.MaxValue;
        return CursorReply(cursor.Namespace, cursor.Remaining, batchSize, "nextBatch", singleBatch: false, id);
    }

    private BsonDocument CursorReply(string ns, Queue<BsonDocument> rest, int batchSize, string batchName, bool singleBatch, long? existingId = null)
    {
        var batch = new BsonArray();
        while (batch.Count < batchSize && rest.TryDequeue(out BsonDocument? document))
        {
            batch.Add(document);
        }

        long id = 0;
        if (rest.Count > 0 && !singleBatch)
        {
            id = existingId ?? Interlocked.Increment(ref nextCursorId);
            lock (gate)
            {
                cursors[id] = (ns, rest);
            }
        }

        return Ok(new BsonDocument("cursor", new BsonDocument { { batchName, batch }, { "id", id }, { "ns", ns } }));
    }

    private BsonDocument KillCursors(BsonDocument command)
    {
        var killed = new BsonArray();
        var notFound = new BsonArray();
        lock (gate)
        {
            foreach (BsonValue id in command["cursors"].AsBsonArray)
            {
                (cursors.Remove(id.ToInt64()) ? killed : notFound).Add(id);
            }
        }

        return Ok(new BsonDocument
        {
            { "cursorsKilled", killed },
            { "cursorsNotFound", notFound },
            { "cursorsAlive", new BsonArray() },
            { "cursorsUnknown", new BsonArray() },
        });
    }

    private BsonDocument Insert(string database, BsonDocument command)
    {
        BsonArray documents = command["documents"].AsBsonArray;
        lock (gate)
        {
            Collection($"{database}.{command["insert"].AsString}").AddRange(documents.Select(d => d.DeepClone().AsBsonDocument));
        }

        return Ok(new BsonDocument("n", documents.Count));
    }

    private BsonDocument Delete(string database, BsonDocument command)
    {
        int deleted = 0;
        lock (gate)
        {
            List<BsonDocument> documents = Collection($"{database}.{command["delete"].AsString}");
            foreach (BsonDocument delete in command["deletes"].AsBsonArray.Select(d => d.AsBsonDocument))
            {
                BsonDocument filter = delete["q"].AsBsonDocument;
                if (delete.GetValue("limit", 0).ToInt32() == 1)
                {
                    int index = documents.FindIndex(d => MongoFilter.Matches(d, filter));
                    if (index >= 0)
                    {
                        documents.RemoveAt(index);
                        deleted++;
                    }
                }
                else
                {
                    deleted += documents.RemoveAll(d => MongoFilter.Matches(d, filter));
                }
            }
        }

        return Ok(new BsonDocument("n", deleted));
    }

    private BsonDocument DropDatabase(string database)
    {
        lock (gate)
        {
            foreach (string ns in collections.Keys.Where(k => k.StartsWith(database + ".", StringComparison.Ordinal)).ToList())
            {
                collections.Remove(ns);
            }
        }

        return Ok();
    }

    private static BsonDocument Ok(BsonDocument? fields = null)
    {
        BsonDocument reply = fields ?? [];
        reply["ok"] = 1.0;
        return reply;
    }

    private static BsonDocument Error(int code, string codeName, string message) => new()
    {
        { "ok", 0.0 },
        { "errmsg", message },
        { "code", code },
        { "codeName", codeName },
    };

    private sealed record ScramConversation(string User, string ClientFirstBare, string ServerFirst, string Nonce);

    private sealed class ConnectionState(int id)
    {
        public int Id { get; } = id;

        public bool Authenticated { get; set; }

        public ScramConversation? Scram { get; set; }
    }
}
