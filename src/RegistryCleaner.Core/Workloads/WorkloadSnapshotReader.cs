using System.Text.Json;

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
        JsonDocument document;
        try
        {
            FileStream stream = File.OpenRead(fullPath);
            await using (stream.ConfigureAwait(false))
            {
                document = await JsonDocument.ParseAsync(stream, default, cancellationToken).ConfigureAwait(false);
            }
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

        using (document)
        {
            var counts = new SortedDictionary<string, int>(StringComparer.Ordinal);
            var ignored = new SortedDictionary<string, int>(StringComparer.Ordinal);
            var namespaces = new SortedSet<string>(StringComparer.Ordinal);
            var fileCollector = new WorkloadUsageCollector();
            try
            {
                AddObject(document.RootElement, null, fileCollector, counts, ignored, namespaces, cancellationToken);
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
    }

    private static void AddObject(
        JsonElement element,
        string? kindFromList,
        WorkloadUsageCollector collector,
        SortedDictionary<string, int> counts,
        SortedDictionary<string, int> ignored,
        SortedSet<string> namespaces,
        CancellationToken cancellationToken)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new JsonException($"expected a JSON object, found {element.ValueKind}.");
        }

        string? kind = element.TryGetProperty("kind", out JsonElement kindElement) && kindElement.ValueKind == JsonValueKind.String
            ? kindElement.GetString()
            : kindFromList;
        if (element.TryGetProperty("items", out JsonElement items) && items.ValueKind == JsonValueKind.Array
            && (kind is null || kind.EndsWith("List", StringComparison.Ordinal)))
        {
            // Items of a typed list (PodList) may omit kind; items of List always carry it.
            string? itemKind = kind is null or "List" ? null : kind[..^"List".Length];
            foreach (JsonElement item in items.EnumerateArray())
            {
                cancellationToken.ThrowIfCancellationRequested();
                AddObject(item, itemKind, collector, counts, ignored, namespaces, cancellationToken);
            }

            return;
        }

        if (kind is null)
        {
            throw new JsonException("an object has no 'kind'.");
        }

        if (!WorkloadKind.TryAdd(collector, kind, element.GetRawText()))
        {
            ignored[kind] = ignored.GetValueOrDefault(kind) + 1;
            return;
        }

        counts[kind] = counts.GetValueOrDefault(kind) + 1;
        if (element.TryGetProperty("metadata", out JsonElement metadata) && metadata.TryGetProperty("namespace", out JsonElement ns)
            && ns.GetString() is { Length: > 0 } name)
        {
            namespaces.Add(name);
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
