using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace RegistryCleaner.Deletion;

/// <summary>
/// One line of a deletion journal. Two kinds share the shape: an <see cref="AttemptKind"/> line, written before the
/// DELETE, carries everything needed to put the manifest back; an <see cref="OutcomeKind"/> line, written after it,
/// says what the registry did. An attempt without an outcome is a DELETE whose result is unknown (the run stopped).
/// </summary>
/// <param name="Kind"><see cref="AttemptKind"/> or <see cref="OutcomeKind"/>.</param>
/// <param name="Time">When the line was written.</param>
/// <param name="Registry">The registry, host[:port].</param>
/// <param name="Repository">The repository.</param>
/// <param name="Digest">The manifest digest the DELETE names.</param>
/// <param name="MediaType">The manifest media type (attempt lines).</param>
/// <param name="Tags">Every tag the DELETE removes (attempt lines); empty for an untagged manifest or an index child.</param>
/// <param name="Parent">For a child of a deleted index, the index digest.</param>
/// <param name="Manifest">The raw manifest bytes, base64 (attempt lines).</param>
/// <param name="Outcome">
/// What happened (outcome lines): a <see cref="DeletionStatus"/> name, or <see cref="PossiblyDeletedOutcome"/> when
/// nobody could tell.
/// </param>
/// <param name="Message">The registry's answer in words (outcome lines).</param>
/// <param name="Run">Which deletion run wrote the line (runs may share a journal); absent in older journals.</param>
public sealed record JournalRecord(
    string Kind,
    DateTimeOffset Time,
    string Registry,
    string Repository,
    string Digest,
    string? MediaType = null,
    IReadOnlyList<string>? Tags = null,
    string? Parent = null,
    string? Manifest = null,
    string? Outcome = null,
    string? Message = null,
    string? Run = null)
{
    /// <summary>The kind of line written before a DELETE.</summary>
    public const string AttemptKind = "attempt";

    /// <summary>The kind of line written after a DELETE.</summary>
    public const string OutcomeKind = "outcome";

    /// <summary>The kind of line written when a tag that left with a DELETE unplanned was put back (<see cref="Tags"/> names it).</summary>
    public const string RetagKind = "retag";

    /// <summary>
    /// The outcome of a DELETE whose answer was an error or lost and whose HEAD afterwards failed too: the manifest (or
    /// tag) may be gone, so <c>Restore-RegistryImage</c> puts it back. The cmdlet reports it as <see cref="DeletionStatus.Failed"/>.
    /// </summary>
    public const string PossiblyDeletedOutcome = "PossiblyDeleted";

    /// <summary>The <see cref="Action"/> of a DELETE of one tag alone (the manifest stays).</summary>
    public const string UntagAction = "untag";

    /// <summary>Gets what the DELETE was: <see langword="null"/> for a manifest by digest, <see cref="UntagAction"/> for a tag alone.</summary>
    public string? Action { get; init; }

    /// <summary>
    /// Gets every tag the DELETE removed, as the tag list read right after it showed (outcome lines): the planned
    /// ones and any that had moved onto the manifest since the last check.
    /// </summary>
    public IReadOnlyList<string>? RemovedTags { get; init; }

    /// <summary>
    /// Gets whether a HEAD after a failed DELETE found the manifest (or the tag) still there (outcome lines). Only a
    /// <see cref="DeletionStatus.Failed"/> outcome with this marker proves the DELETE harmless; a Failed outcome
    /// without it (journals written before the marker existed, or a refusal nobody re-checked) may hide a deletion.
    /// </summary>
    public bool? Present { get; init; }
}

/// <summary>
/// An append-only JSON-lines file of deletions, so <c>Restore-RegistryImage</c> can put manifests back until garbage
/// collection runs. The file is created on the first write only (a dry run leaves no file). Each line is written by
/// one write under an exclusive open of the file, so several runs may share one journal without interleaving.
/// </summary>
public sealed class DeletionJournal
{
    private static readonly JsonSerializerOptions SerializerOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private readonly object gate = new();

    /// <summary>Initializes a journal at <paramref name="path"/>; nothing is created until the first record.</summary>
    /// <param name="path">The full path of the .jsonl file.</param>
    public DeletionJournal(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        this.Path = path;
    }

    /// <summary>Gets the journal file path.</summary>
    public string Path { get; }

    /// <summary>Gets whether at least one record has been written by this instance.</summary>
    public bool HasRecords { get; private set; }

    /// <summary>Reads every complete record of a journal; a torn last line (a crash mid-write) is ignored.</summary>
    /// <param name="path">The journal file.</param>
    /// <returns>The records in file order.</returns>
    /// <exception cref="InvalidDataException">A line other than the last is not a journal record.</exception>
    public static IReadOnlyList<JournalRecord> Read(string path)
    {
        return Parse(ReadLinesShared(path), path);
    }

    /// <summary>
    /// Appends one record, letting <paramref name="decide"/> rewrite it from the records already in the file while the
    /// file is locked, so concurrent runs sharing the journal see each other's lines before writing theirs.
    /// </summary>
    /// <param name="record">The record as this run would write it.</param>
    /// <param name="decide">Returns the record to write, given the records already in the file.</param>
    /// <param name="cancellationToken">Cancels waiting for another writer's lock.</param>
    /// <returns>The record written.</returns>
    public async Task<JournalRecord> AppendAsync(JournalRecord record, Func<IReadOnlyList<JournalRecord>, JournalRecord> decide, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(decide);
        for (int attempt = 0; ; attempt++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                lock (this.gate)
                {
                    using var stream = new FileStream(this.Path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.WriteThrough);
                    string text;
                    using (var reader = new StreamReader(stream, Encoding.UTF8, false, 4096, leaveOpen: true))
                    {
                        text = reader.ReadToEnd();
                    }

                    JournalRecord decided = decide(Parse(text.Split('\n'), this.Path));
                    byte[] line = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(decided, SerializerOptions) + "\n");
                    stream.Seek(0, SeekOrigin.End);
                    stream.Write(line, 0, line.Length);
                    stream.Flush(flushToDisk: true);
                    this.HasRecords = true;
                    return decided;
                }
            }
            catch (IOException) when (attempt < 200 && File.Exists(this.Path))
            {
                // Another run holds the file for its line: wait briefly and try again.
                await Task.Delay(10 + Random.Shared.Next(20), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static List<JournalRecord> Parse(string[] lines, string path)
    {
        var records = new List<JournalRecord>(lines.Length);
        for (int i = 0; i < lines.Length; i++)
        {
            if (lines[i].Length == 0)
            {
                continue;
            }

            try
            {
                records.Add(JsonSerializer.Deserialize<JournalRecord>(lines[i], SerializerOptions)
                    ?? throw new JsonException("The line is null."));
            }
            catch (JsonException ex) when (i == lines.Length - 1)
            {
                // Only the last line can be torn; everything before it was flushed complete.
                _ = ex;
            }
            catch (JsonException ex)
            {
                throw new InvalidDataException($"Journal '{path}' line {i + 1} is not a deletion record: {ex.Message}", ex);
            }
        }

        return records;
    }

    /// <summary>Appends one record as one complete line, flushed to disk before returning.</summary>
    /// <param name="record">The record.</param>
    /// <param name="cancellationToken">Cancels waiting for another writer's lock.</param>
    /// <returns>A task that completes when the line is on disk.</returns>
    public async Task AppendAsync(JournalRecord record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        byte[] line = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(record, SerializerOptions) + "\n");
        string? directory = System.IO.Path.GetDirectoryName(this.Path);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        for (int attempt = 0; ; attempt++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                lock (this.gate)
                {
                    // FileShare.None is an exclusive lock (flock on Unix, a sharing lock on Windows) held only for
                    // this one line, so concurrent runs append whole lines one after another.
                    using var stream = new FileStream(this.Path, FileMode.Append, FileAccess.Write, FileShare.None, 1, FileOptions.WriteThrough);
                    stream.Write(line, 0, line.Length);
                    stream.Flush(flushToDisk: true);
                    this.HasRecords = true;
                }

                return;
            }
            catch (IOException) when (attempt < 200 && File.Exists(this.Path))
            {
                // Another run holds the file for its line: wait briefly and try again.
                await Task.Delay(10 + Random.Shared.Next(20), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static string[] ReadLinesShared(string path)
    {
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
                using var reader = new StreamReader(stream, Encoding.UTF8);
                return reader.ReadToEnd().Split('\n');
            }
            catch (IOException) when (attempt < 100 && File.Exists(path))
            {
                Thread.Sleep(10);
            }
        }
    }
}
