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

    /// <summary>The kind of line written when a tag that left with a DELETE was put back, or deliberately not (<see cref="Tags"/> names it).</summary>
    public const string RetagKind = "retag";

    /// <summary>
    /// The outcome of a DELETE whose answer was an error or lost and whose HEAD afterwards failed too: the manifest (or
    /// tag) may be gone, so <c>Restore-RegistryImage</c> puts it back. The cmdlet reports it as <see cref="DeletionStatus.Failed"/>.
    /// </summary>
    public const string PossiblyDeletedOutcome = "PossiblyDeleted";

    /// <summary>The outcome of a retag line whose tag was put back.</summary>
    public const string RestoredOutcome = "Restored";

    /// <summary>
    /// The outcome of a retag line whose tag left while a DELETE of the manifest was in flight but was not put back: it
    /// may have gone with the DELETE or been deleted alone by someone else, which the registry allows. The line names
    /// the manifest it would go back onto; its attempt line holds the bytes that Restore-RegistryImage puts back.
    /// </summary>
    public const string NotPutBackOutcome = "NotPutBack";

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

/// <summary>What a journal holds: its records, and the lines that are not records.</summary>
/// <param name="Records">The records in file order.</param>
/// <param name="UnreadableLines">
/// The 1-based numbers of the lines that are not journal records: a line torn by a run that stopped mid-write or a full
/// disk (a later run starts its lines on a new line after it, so the torn one stays alone). They are skipped.
/// </param>
public sealed record JournalContents(IReadOnlyList<JournalRecord> Records, IReadOnlyList<int> UnreadableLines);


/// <summary>
/// The journal path is refused for writing: it is a symbolic link (or another reparse point), or not a regular file.
/// A link planted where the journal goes would make the run write elsewhere; nothing is deleted without a journal.
/// </summary>
public sealed class UnsafeJournalPathException : IOException
{
    /// <summary>Initializes the exception.</summary>
    public UnsafeJournalPathException()
    {
    }

    /// <summary>Initializes the exception.</summary>
    /// <param name="message">What is wrong with the path and what to do.</param>
    public UnsafeJournalPathException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes the exception.</summary>
    /// <param name="message">What is wrong with the path and what to do.</param>
    /// <param name="innerException">The cause.</param>
    public UnsafeJournalPathException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// An append-only JSON-lines file of deletions, so <c>Restore-RegistryImage</c> can put manifests back until garbage
/// collection runs. The file is created on the first write only (a dry run leaves no file), readable and writable by
/// its owner only (0600 on Unix, in a folder created 0700), and never through a symbolic link. Each line is written by
/// one write under an exclusive open of the file, so several runs may share one journal without interleaving; a line
/// torn by a crash or a full disk is closed with a newline before the next line, so it never glues onto it.
/// </summary>
public sealed class DeletionJournal
{
    private static readonly JsonSerializerOptions SerializerOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private readonly object gate = new();
    private readonly SortedSet<int> unreadableLines = [];
    private readonly SemaphoreSlim writer = new(1, 1);
    private readonly Queue<PendingLine> queue = new();

    // The records of the file as far as this instance has read or written it, without their manifests, so a line's
    // decision never re-reads the file: only lines other runs appended since are read.
    private readonly List<JournalRecord> known = [];
    private long parsedLength = -1;
    private int knownLines;

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

    /// <summary>
    /// Gets the 1-based numbers of lines found in the file that are not records (a torn line from an earlier run): they
    /// were closed with a newline, are skipped when restoring, and are worth a warning.
    /// </summary>
    public IReadOnlyList<int> UnreadableLines
    {
        get
        {
            lock (this.gate)
            {
                return [.. this.unreadableLines];
            }
        }
    }

    /// <summary>Reads every record of a journal; lines that are not records (torn) are skipped.</summary>
    /// <param name="path">The journal file.</param>
    /// <returns>The records in file order.</returns>
    public static IReadOnlyList<JournalRecord> Read(string path)
    {
        return ReadContents(path).Records;
    }

    /// <summary>Reads every record of a journal and says which lines are not records (torn by a crash or a full disk).</summary>
    /// <param name="path">The journal file.</param>
    /// <returns>The records in file order and the numbers of the skipped lines.</returns>
    /// <exception cref="InvalidDataException">The file has lines but none is a journal record: it is not a deletion journal; or a record's repository, digest or tags are not names.</exception>
    public static JournalContents ReadContents(string path)
    {
        JournalContents contents = Parse(ReadLinesShared(path), path);
        if (contents.Records.Count == 0 && contents.UnreadableLines.Count > 0)
        {
            throw new InvalidDataException($"'{path}' is not a deletion journal: none of its lines is a deletion record (line {contents.UnreadableLines[0]} is not).");
        }

        return contents;
    }

    /// <summary>
    /// Appends one record, letting <paramref name="decide"/> rewrite it from the records already in the file while the
    /// file is locked, so concurrent runs sharing the journal see each other's lines before writing theirs.
    /// </summary>
    /// <param name="record">The record as this run would write it.</param>
    /// <param name="decide">Returns the record to write, given the records already in the file.</param>
    /// <param name="cancellationToken">Cancels waiting for another writer's lock.</param>
    /// <returns>The record written.</returns>
    /// <exception cref="UnsafeJournalPathException">The path is a symbolic link or not a regular file.</exception>
    public Task<JournalRecord> AppendAsync(JournalRecord record, Func<IReadOnlyList<JournalRecord>, JournalRecord> decide, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(decide);
        return this.AppendLineAsync(decide, record, cancellationToken);
    }

    /// <summary>Appends one record as one complete line, flushed to disk before returning.</summary>
    /// <param name="record">The record.</param>
    /// <param name="cancellationToken">Cancels waiting for another writer's lock.</param>
    /// <returns>A task that completes when the line is on disk.</returns>
    /// <exception cref="UnsafeJournalPathException">The path is a symbolic link or not a regular file.</exception>
    public Task AppendAsync(JournalRecord record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        return this.AppendLineAsync(null, record, cancellationToken);
    }

    private static JournalContents Parse(string[] lines, string path)
    {
        var records = new List<JournalRecord>(lines.Length);
        var unreadable = new List<int>();
        for (int i = 0; i < lines.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(lines[i]))
            {
                continue;
            }

            try
            {
                JournalRecord? record = JsonSerializer.Deserialize<JournalRecord>(lines[i], SerializerOptions);
                if (record is { Kind: not null, Registry: not null, Repository: not null, Digest: not null })
                {
                    // Its names go into URLs when it is restored: a whole record whose names are not names is not a torn
                    // line but a tampered one, and the journal is refused.
                    if (JournalRecordNames.Error(record) is { } invalid)
                    {
                        throw new InvalidDataException($"Journal '{path}' line {i + 1} is refused: {invalid}.");
                    }

                    records.Add(record);
                    continue;
                }
            }
            catch (JsonException)
            {
                // Below: a torn line (a crash or a full disk mid-write) is skipped and reported, never fatal.
            }

            unreadable.Add(i + 1);
        }

        return new JournalContents(records, unreadable);
    }

    private async Task<JournalRecord> AppendLineAsync(Func<IReadOnlyList<JournalRecord>, JournalRecord>? decide, JournalRecord record, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var pending = new PendingLine(record, decide);
        lock (this.gate)
        {
            this.queue.Enqueue(pending);
        }

        // Once queued the line is written whatever the token says: a caller never abandons a line it asked for. Whoever
        // holds the writer writes every line queued by then in one write and one flush, so DELETEs running at once share
        // the wait for the disk instead of queueing for it one line each.
        while (!pending.Done.Task.IsCompleted)
        {
            await this.writer.WaitAsync(CancellationToken.None).ConfigureAwait(false);
            try
            {
                if (!pending.Done.Task.IsCompleted)
                {
                    await this.WriteQueuedAsync().ConfigureAwait(false);
                }
            }
            finally
            {
                this.writer.Release();
            }
        }

        return await pending.Done.Task.ConfigureAwait(false);
    }

    private async Task WriteQueuedAsync()
    {
        PendingLine[] batch;
        lock (this.gate)
        {
            batch = [.. this.queue];
            this.queue.Clear();
        }

        try
        {
            for (int attempt = 0; ; attempt++)
            {
                try
                {
                    JournalRecord[] written = this.WriteBatch(batch);
                    for (int i = 0; i < batch.Length; i++)
                    {
                        batch[i].Done.TrySetResult(written[i]);
                    }

                    return;
                }
                catch (IOException ex) when (ex is not UnsafeJournalPathException && attempt < 200 && File.Exists(this.Path))
                {
                    // Another run holds the file for its line: wait briefly and try again.
                    await Task.Delay(10 + Random.Shared.Next(20)).ConfigureAwait(false);
                }
            }
        }
        catch (Exception ex)
        {
            foreach (PendingLine line in batch)
            {
                line.Done.TrySetException(ex);
            }
        }
    }

    /// <summary>
    /// Writes the lines under one exclusive open of the file. Only what other runs appended since this instance last
    /// wrote is read (the records are kept in memory without their manifests); the whole file is read once, the first
    /// time a line's decision needs it.
    /// </summary>
    private JournalRecord[] WriteBatch(PendingLine[] batch)
    {
        // The exclusive open (flock on Unix, a sharing lock on Windows) is held only for these lines, so concurrent runs
        // append whole lines one after another.
        using FileStream stream = JournalFile.OpenForAppend(this.Path);
        long length = stream.Length;
        if (this.parsedLength > length)
        {
            // The file was replaced or cut short under us: what was known of it no longer holds.
            this.parsedLength = -1;
            this.known.Clear();
            this.knownLines = 0;
        }

        bool torn;
        if (this.parsedLength < 0 && !batch.Any(static p => p.Decide is not null))
        {
            byte[] last = new byte[Math.Min(1, length)];
            stream.Seek(-last.Length, SeekOrigin.End);
            stream.ReadExactly(last);
            torn = last.Length > 0 && last[0] != (byte)'\n';
            if (torn)
            {
                // Rare (once after a crash): read it all to name the torn line in the warning.
                this.ReadFrom(stream, 0, length);
            }
        }
        else
        {
            long from = Math.Max(0, this.parsedLength);
            if (this.parsedLength < 0)
            {
                this.known.Clear();
                this.knownLines = 0;
            }

            torn = this.ReadFrom(stream, from, length);
        }

        var text = new StringBuilder();
        if (torn)
        {
            // A torn last line gets its newline first, so it stays a line of its own and ours parse.
            text.Append('\n');
        }

        var written = new JournalRecord[batch.Length];
        for (int i = 0; i < batch.Length; i++)
        {
            JournalRecord decided = batch[i].Decide is { } decide ? decide(this.known) : batch[i].Record;
            written[i] = decided;
            if (this.parsedLength >= 0)
            {
                this.known.Add(decided with { Manifest = null });
                this.knownLines++;
            }

            text.Append(JsonSerializer.Serialize(decided, SerializerOptions)).Append('\n');
        }

        byte[] bytes = Encoding.UTF8.GetBytes(text.ToString());
        stream.Seek(0, SeekOrigin.End);
        stream.Write(bytes, 0, bytes.Length);
        stream.Flush(flushToDisk: true);
        if (this.parsedLength >= 0)
        {
            this.parsedLength = length + bytes.Length;
        }

        this.HasRecords = true;
        return written;
    }

    /// <summary>Parses the file from <paramref name="from"/> (a line start) to its end; returns whether its last line is torn.</summary>
    private bool ReadFrom(FileStream stream, long from, long length)
    {
        byte[] added = new byte[length - from];
        stream.Seek(from, SeekOrigin.Begin);
        stream.ReadExactly(added);
        string[] lines = Encoding.UTF8.GetString(added).Split('\n');
        bool torn = lines[^1].Length > 0;
        if (!torn)
        {
            lines = lines[..^1];
        }

        JournalContents contents = Parse(lines, this.Path);
        lock (this.gate)
        {
            this.unreadableLines.UnionWith(contents.UnreadableLines.Select(n => n + this.knownLines));
        }

        this.known.AddRange(contents.Records.Select(static r => r.Manifest is null ? r : r with { Manifest = null }));
        this.knownLines += lines.Length;
        this.parsedLength = length;
        return torn;
    }

    /// <summary>A line waiting for the writer.</summary>
    private sealed record PendingLine(JournalRecord Record, Func<IReadOnlyList<JournalRecord>, JournalRecord>? Decide)
    {
        public TaskCompletionSource<JournalRecord> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
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
