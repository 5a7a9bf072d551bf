using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using k8s;

namespace RegistryCleaner.Workloads;

/// <summary>
/// Reads workload usage offline from files of <c>kubectl get pods,deploy,rs,sts,ds,rc,jobs,cronjobs -A -o json</c>
/// output: a <c>List</c> of mixed kinds, a typed list such as <c>PodList</c>, a single object, or a list of lists.
/// </summary>
/// <remarks>
/// A snapshot is what the user vouches for, so the scan is <see cref="WorkloadScan.Complete"/>; objects of other kinds
/// are ignored with a note in <see cref="WorkloadScan.Notes"/>.
/// </remarks>
public static class WorkloadSnapshotReader
{
    /// <summary>Reads and merges snapshot files.</summary>
    /// <param name="paths">The files to read.</param>
    /// <param name="cancellationToken">Stops reading between files and objects.</param>
    /// <returns>The merged scan, with one source per file.</returns>
    /// <exception cref="WorkloadSnapshotException">A file is missing, not JSON, or not Kubernetes objects; the message names it.</exception>
    public static async Task<WorkloadScan> ReadAsync(IEnumerable<string> paths, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(paths);
        DateTimeOffset readAt = DateTimeOffset.UtcNow;
        var collector = new WorkloadUsageCollector();
        var sources = new List<string>();
        foreach (string path in paths)
        {
            cancellationToken.ThrowIfCancellationRequested();
            sources.Add(await ReadFileAsync(path, collector, cancellationToken).ConfigureAwait(false));
        }

        return collector.ToScan(sources, readAt, complete: true);
    }

    private static async Task<string> ReadFileAsync(string path, WorkloadUsageCollector collector, CancellationToken cancellationToken)
    {
        string fullPath = Path.GetFullPath(path);
        ReadOnlyMemory<byte> json;
        SnapshotNode root;
        try
        {
            json = ToUtf8(await File.ReadAllBytesAsync(fullPath, cancellationToken).ConfigureAwait(false));
            root = SnapshotNode.Parse(json.Span);
        }
        catch (JsonException error)
        {
            string where = error.LineNumber is { } line
                ? $" at line {line + 1}, position {(error.BytePositionInLine ?? 0) + 1}"
                : "";
            throw new WorkloadSnapshotException(
                $"The workload snapshot '{fullPath}' is not valid JSON{where}: {error.Message} Write it with 'kubectl get pods,deploy,rs,sts,ds,rc,jobs,cronjobs -A -o json'.",
                fullPath,
                error.LineNumber + 1,
                error.BytePositionInLine + 1,
                error);
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            throw new WorkloadSnapshotException($"The workload snapshot '{fullPath}' cannot be read: {error.Message}", fullPath, null, null, error);
        }

        var counts = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var ignored = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var namespaces = new SortedSet<string>(StringComparer.Ordinal);
        var fileCollector = new WorkloadUsageCollector();
        var file = new SnapshotFile(fullPath, json, fileCollector, counts, ignored, namespaces);
        try
        {
            AddObject(file, root, null, cancellationToken);
        }
        catch (JsonException error)
        {
            throw new WorkloadSnapshotException(
                $"The workload snapshot '{fullPath}' holds an object that is not a valid Kubernetes object: {error.Message}",
                fullPath, null, null, error);
        }

        foreach ((string kind, int count) in ignored)
        {
            fileCollector.AddNote($"Ignored {count} object(s) of kind '{kind}' in '{fullPath}': not a workload kind.");
        }

        if (counts.Count == 0 && ignored.Count == 0)
        {
            throw new WorkloadSnapshotException(
                $"The workload snapshot '{fullPath}' holds no Kubernetes objects: expected a List or an object with 'kind'.",
                fullPath, null, null, null);
        }

        collector.MergeFrom(fileCollector);
        string kinds = counts.Count == 0 ? "no workload kinds" : string.Join(", ", counts.Select(pair => $"{pair.Value} {pair.Key}"));
        string scope = namespaces.Count == 0 ? "no namespaces" : "namespaces " + string.Join(", ", namespaces);
        return $"file '{fullPath}': {kinds}; {scope}";
    }

    /// <summary>
    /// The file's text as UTF-8 without a byte order mark. Windows PowerShell 5.1's <c>kubectl … &gt; file</c> writes
    /// UTF-16 LE with a BOM; UTF-16 without a BOM shows as a zero byte beside the first character (JSON starts with ASCII).
    /// </summary>
    private static ReadOnlyMemory<byte> ToUtf8(byte[] raw)
    {
        if (raw.Length >= 3 && raw[0] == 0xEF && raw[1] == 0xBB && raw[2] == 0xBF)
        {
            return raw.AsMemory(3);
        }

        (Encoding? wide, int bom) = raw.Length < 2 ? (null, 0)
            : raw[0] == 0xFF && raw[1] == 0xFE ? (Encoding.Unicode, 2)
            : raw[0] == 0xFE && raw[1] == 0xFF ? (Encoding.BigEndianUnicode, 2)
            : raw[0] != 0 && raw[1] == 0 ? (Encoding.Unicode, 0)
            : raw[0] == 0 && raw[1] != 0 ? (Encoding.BigEndianUnicode, 0)
            : ((Encoding?)null, 0);
        return wide is null ? raw : Encoding.UTF8.GetBytes(wide.GetString(raw, bom, raw.Length - bom));
    }

    private static void AddObject(SnapshotFile file, SnapshotNode node, string? kindFromList, CancellationToken cancellationToken)
    {
        if (node.Token != JsonTokenType.StartObject)
        {
            throw new JsonException($"expected a JSON object, found {node.Token} at line {file.LineOf(node.Start)}.");
        }

        string? kind = node.Kind ?? kindFromList;
        if (node.Items is { } items && (kind is null || kind.EndsWith("List", StringComparison.Ordinal)))
        {
            // Items of a typed list (PodList) may omit kind; items of List always carry it.
            string? itemKind = kind is null or "List" ? null : kind[..^"List".Length];
            foreach (SnapshotNode item in items)
            {
                cancellationToken.ThrowIfCancellationRequested();
                AddObject(file, item, itemKind, cancellationToken);
            }

            return;
        }

        if (kind is null)
        {
            throw new JsonException($"an object has no 'kind' (line {file.LineOf(node.Start)}).");
        }

        bool added;
        try
        {
            added = WorkloadKind.TryAdd(file.Collector, kind, Encoding.UTF8.GetString(file.Json.Span.Slice(node.Start, node.Length)), ValueErrors.Options);
        }
        catch (JsonException error)
        {
            // The error's line counts from the object's first line; the file's line is what the user opens.
            long line = file.LineOf(node.Start) + (error.LineNumber ?? 0);
            string name = node.Namespace is null ? node.Name ?? "(no name)" : $"{node.Namespace}/{node.Name}";
            throw new WorkloadSnapshotException(
                $"The workload snapshot '{file.Path}' line {line}: {kind} {name} has a value that cannot be read{(error.Path is null ? "" : $" at {error.Path}")}: {error.Message} "
                + "Fix or remove that object, or write the snapshot again with 'kubectl get pods,deploy,rs,sts,ds,rc,jobs,cronjobs -A -o json'.",
                file.Path,
                line,
                error.LineNumber is null ? null : error.BytePositionInLine + 1,
                error);
        }

        if (!added)
        {
            file.Ignored[kind] = file.Ignored.GetValueOrDefault(kind) + 1;
            return;
        }

        file.Counts[kind] = file.Counts.GetValueOrDefault(kind) + 1;
        if (node.Namespace is { Length: > 0 } ns)
        {
            file.Namespaces.Add(ns);
        }
    }

    /// <summary>One file being read: its UTF-8 text and what its objects add up to.</summary>
    private sealed record SnapshotFile(
        string Path,
        ReadOnlyMemory<byte> Json,
        WorkloadUsageCollector Collector,
        SortedDictionary<string, int> Counts,
        SortedDictionary<string, int> Ignored,
        SortedSet<string> Namespaces)
    {
        /// <summary>The 1-based line of a byte offset.</summary>
        public long LineOf(int offset) => 1 + this.Json.Span[..offset].Count((byte)'\n');
    }

    /// <summary>
    /// The shape of a snapshot, read once with <see cref="Utf8JsonReader"/>: each object's byte range, kind, name and
    /// namespace, and the items of lists; everything else is skipped (and validated as JSON on the way).
    /// </summary>
    private sealed class SnapshotNode
    {
        public JsonTokenType Token { get; private init; }

        public int Start { get; private init; }

        public int Length { get; private set; }

        public string? Kind { get; private set; }

        public string? Name { get; private set; }

        public string? Namespace { get; private set; }

        public List<SnapshotNode>? Items { get; private set; }

        public static SnapshotNode Parse(ReadOnlySpan<byte> json)
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 256 });
            if (!reader.Read())
            {
                throw new JsonException("The file holds no JSON value.", null, 0, 0);
            }

            SnapshotNode root = Read(ref reader);
            reader.Read(); // throws on anything but white space after the value
            return root;
        }

        private static SnapshotNode Read(ref Utf8JsonReader reader)
        {
            var node = new SnapshotNode { Token = reader.TokenType, Start = (int)reader.TokenStartIndex };
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                node.Length = (int)reader.BytesConsumed - node.Start;
                return node;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                string property = reader.GetString()!;
                reader.Read();
                switch (property)
                {
                    case "kind" when reader.TokenType == JsonTokenType.String:
                        node.Kind = reader.GetString();
                        break;
                    case "items" when reader.TokenType == JsonTokenType.StartArray:
                        node.Items = [];
                        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                        {
                            node.Items.Add(Read(ref reader));
                        }

                        break;
                    case "metadata" when reader.TokenType == JsonTokenType.StartObject:
                        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                        {
                            string field = reader.GetString()!;
                            reader.Read();
                            if (reader.TokenType == JsonTokenType.String && field == "name")
                            {
                                node.Name = reader.GetString();
                            }
                            else if (reader.TokenType == JsonTokenType.String && field == "namespace")
                            {
                                node.Namespace = reader.GetString();
                            }
                            else
                            {
                                reader.Skip();
                            }
                        }

                        break;
                    default:
                        reader.Skip();
                        break;
                }
            }

            node.Length = (int)reader.BytesConsumed - node.Start;
            return node;
        }
    }

    /// <summary>
    /// KubernetesClient's serializer options with each value converter wrapped, so a value it cannot convert (a
    /// timestamp of "yesterday", a bad quantity) fails as a <see cref="JsonException"/>, which carries the line and path.
    /// </summary>
    private static class ValueErrors
    {
        public static JsonSerializerOptions Options { get; } = Create();

        private static JsonSerializerOptions Create()
        {
            JsonSerializerOptions? copy = null;
            KubernetesJson.AddJsonOptions(options => copy = new JsonSerializerOptions(options)); // copies; theirs stays as is
            for (int i = 0; i < copy!.Converters.Count; i++)
            {
                if (ValueType(copy.Converters[i].GetType()) is { } type)
                {
                    copy.Converters[i] = (JsonConverter)Activator.CreateInstance(typeof(Wrapped<>).MakeGenericType(type), copy.Converters[i])!;
                }
            }

            return copy;
        }

        private static Type? ValueType(Type? converter)
        {
            for (; converter is not null; converter = converter.BaseType)
            {
                if (converter.IsGenericType && converter.GetGenericTypeDefinition() == typeof(JsonConverter<>))
                {
                    return converter.GetGenericArguments()[0];
                }
            }

            return null;
        }

        private sealed class Wrapped<T>(JsonConverter<T> inner) : JsonConverter<T>
        {
            public override bool HandleNull => inner.HandleNull;

            public override bool CanConvert(Type typeToConvert) => inner.CanConvert(typeToConvert);

            public override T? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
            {
                try
                {
                    return inner.Read(ref reader, typeToConvert, options);
                }
                catch (Exception error) when (error is FormatException or OverflowException or InvalidCastException or ArgumentException)
                {
                    throw new JsonException(error.Message, error);
                }
            }

            public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options) => inner.Write(writer, value, options);
        }
    }
}

/// <summary>A workload snapshot file cannot be read; the message names the file and, for bad JSON, where.</summary>
public sealed class WorkloadSnapshotException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong and what to do.</param>
    /// <param name="filePath">The full path of the file.</param>
    /// <param name="lineNumber">The 1-based line of a JSON error, when known.</param>
    /// <param name="bytePositionInLine">The 1-based byte position in that line, when known.</param>
    /// <param name="innerException">The underlying error.</param>
    public WorkloadSnapshotException(string message, string filePath, long? lineNumber, long? bytePositionInLine, Exception? innerException)
        : base(message, innerException)
    {
        FilePath = filePath;
        LineNumber = lineNumber;
        BytePositionInLine = bytePositionInLine;
    }

    /// <summary>Creates the exception with a message only.</summary>
    public WorkloadSnapshotException()
        : this("A workload snapshot cannot be read.", "", null, null, null)
    {
    }

    /// <summary>Creates the exception with a message only.</summary>
    /// <param name="message">What is wrong.</param>
    public WorkloadSnapshotException(string message)
        : this(message, "", null, null, null)
    {
    }

    /// <summary>Creates the exception with a message and cause.</summary>
    /// <param name="message">What is wrong.</param>
    /// <param name="innerException">The underlying error.</param>
    public WorkloadSnapshotException(string message, Exception innerException)
        : this(message, "", null, null, innerException)
    {
    }

    /// <summary>The full path of the file.</summary>
    public string FilePath { get; }

    /// <summary>The 1-based line of a JSON error, when known.</summary>
    public long? LineNumber { get; }

    /// <summary>The 1-based byte position in <see cref="LineNumber"/>, when known.</summary>
    public long? BytePositionInLine { get; }
}
