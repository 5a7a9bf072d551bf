using System.Text;
using MongoDB.Bson;
using MongoDB.Bson.IO;

namespace RegistryCleaner.Domino;

/// <summary>
/// Appends documents to a backup file as canonical MongoDB Extended JSON, one document per line, flushing each line so
/// that a crash right after a deletion still leaves the deleted document on disk.
/// </summary>
public sealed class RevisionBackupWriter : IDisposable, IAsyncDisposable
{
    private readonly StreamWriter writer;

    private RevisionBackupWriter(string path, StreamWriter writer)
    {
        Path = path;
        this.writer = writer;
    }

    /// <summary>The backup file.</summary>
    public string Path { get; }

    /// <summary>Opens (creating it and its directory when needed) a backup file for appending.</summary>
    /// <param name="path">The backup file.</param>
    /// <returns>The writer; dispose it when done.</returns>
    public static RevisionBackupWriter Open(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string full = System.IO.Path.GetFullPath(path);
        if (System.IO.Path.GetDirectoryName(full) is { Length: > 0 } directory)
        {
            Directory.CreateDirectory(directory);
        }

        var stream = new FileStream(full, FileMode.Append, FileAccess.Write, FileShare.Read);
        return new RevisionBackupWriter(full, new StreamWriter(stream, new UTF8Encoding(false)) { NewLine = "\n" });
    }

    /// <summary>Appends a revision's full document and flushes it to disk.</summary>
    /// <param name="revision">The revision read from MongoDB.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task that completes when the line is on disk.</returns>
    public Task AppendAsync(EnvironmentRevision revision, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(revision);
        return AppendAsync(revision.ExtendedJson, cancellationToken);
    }

    /// <summary>Appends one document, given as Extended JSON, as a canonical single line and flushes it to disk.</summary>
    /// <param name="extendedJson">One JSON document (relaxed or canonical Extended JSON).</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task that completes when the line is on disk.</returns>
    /// <exception cref="FormatException">The text is not one JSON document.</exception>
    public async Task AppendAsync(string extendedJson, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(extendedJson);
        string line = DominoDatabase.ToCanonicalJson(RevisionBackupReader.ParseDocument(extendedJson));
        await writer.WriteLineAsync(line.AsMemory(), cancellationToken).ConfigureAwait(false);
        await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
        if (writer.BaseStream is FileStream file)
        {
            file.Flush(flushToDisk: true);
        }
    }

    /// <inheritdoc/>
    public void Dispose() => writer.Dispose();

    /// <inheritdoc/>
    public ValueTask DisposeAsync() => writer.DisposeAsync();
}

/// <summary>Reads a backup written by <see cref="RevisionBackupWriter"/>.</summary>
public static class RevisionBackupReader
{
    /// <summary>Reads every revision of a backup file.</summary>
    /// <param name="path">The backup file.</param>
    /// <returns>The revisions in file order, each with its document as canonical Extended JSON.</returns>
    /// <exception cref="FormatException">A line is not a JSON document; the message names the file and line.</exception>
    public static IReadOnlyList<EnvironmentRevision> ReadRevisions(string path) =>
        ReadDocuments(path).Select(DominoDatabase.ToRevision).ToList();

    /// <summary>Reads every document of a backup file, with its exact BSON types.</summary>
    internal static IReadOnlyList<BsonDocument> ReadDocuments(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var documents = new List<BsonDocument>();
        int number = 0;
        foreach (string line in File.ReadLines(path))
        {
            number++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            try
            {
                documents.Add(ParseDocument(line));
            }
            catch (FormatException ex)
            {
                throw new FormatException($"{path}, line {number}: {ex.Message}", ex);
            }
        }

        return documents;
    }

    /// <summary>Parses exactly one Extended JSON document.</summary>
    internal static BsonDocument ParseDocument(string json)
    {
        try
        {
            using var reader = new JsonReader(json);
            BsonDocument document = MongoDB.Bson.Serialization.BsonSerializer.Deserialize<BsonDocument>(reader);
            if (!reader.IsAtEndOfFile())
            {
                throw new FormatException("more than one JSON document on the line.");
            }

            return document;
        }
        catch (Exception ex) when (ex is not FormatException and (BsonException or InvalidOperationException or ArgumentException))
        {
            throw new FormatException($"not an Extended JSON document: {ex.Message}", ex);
        }
    }
}
