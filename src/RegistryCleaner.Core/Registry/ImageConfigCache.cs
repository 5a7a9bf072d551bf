using System.Runtime.InteropServices;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace RegistryCleaner.Registry;

/// <summary>
/// What an inventory needs from an image configuration blob (its creation time and platform), kept on disk by the
/// blob's digest so that later reads skip the configuration GET. A digest names immutable content in every registry,
/// so entries never go stale and need no registry in their key; only content that was checked to hash to its digest
/// is stored. The cache is an optimisation only: a missing, unreadable or locked file reads as empty, and a failed
/// save loses nothing but speed.
/// </summary>
/// <remarks>
/// The file (<c>image-configs.v1.tsv</c>) holds one line per digest: <c>digest TAB created TAB platform</c>, with
/// <c>-</c> for a missing value; lines that do not parse (a save cut short) are ignored. New entries are appended;
/// when the file outgrows its size limit it is rewritten with this read's entries only.
/// </remarks>
public sealed partial class ImageConfigCache
{
    /// <summary>The file name inside the cache folder.</summary>
    public const string FileName = "image-configs.v1.tsv";

    /// <summary>The default size above which a save rewrites the file with the entries used by this read only (about 500,000 entries).</summary>
    public const long DefaultMaxFileBytes = 64L * 1024 * 1024;

    // One table for everything known of a digest, keyed by its 32 bytes (a digest string is 168): what the file or
    // this read stored, whether this read used it, added it, or asked for it in vain. About 70 bytes per configuration.
    private readonly Dictionary<DigestKey, Entry> entries = [];
    private readonly Dictionary<string, string> platforms = new(StringComparer.Ordinal);
    private readonly object gate = new();
    private readonly long maxFileBytes;
    private int added;
    private HashSet<string>? missedOther;
    private int hits;
    private int misses;

    private ImageConfigCache(string path, long maxFileBytes)
    {
        this.Path = path;
        this.maxFileBytes = maxFileBytes;
    }

    /// <summary>Gets the cache file.</summary>
    public string Path { get; }

    /// <summary>Gets how many distinct configurations were answered from the cache (not downloaded since opening).</summary>
    public int Hits => this.hits;

    /// <summary>Gets how many distinct configurations the cache did not have when first asked.</summary>
    public int Misses => this.misses;

    /// <summary>Gets how many entries were read from the file.</summary>
    public int Loaded { get; private set; }

    /// <summary>Gets why the file could not be read, or <see langword="null"/>.</summary>
    public string? LoadProblem { get; private set; }

    /// <summary>Returns the per-user cache folder: <c>$XDG_CACHE_HOME/RegistryCleaner</c> or <c>~/.cache/RegistryCleaner</c>, and <c>%LOCALAPPDATA%\RegistryCleaner\Cache</c> on Windows.</summary>
    /// <returns>The folder (not created).</returns>
    public static string DefaultDirectory()
    {
        if (OperatingSystem.IsWindows())
        {
            return System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "RegistryCleaner", "Cache");
        }

        string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        string root = !string.IsNullOrEmpty(xdg) && System.IO.Path.IsPathRooted(xdg)
            ? xdg
            : System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return System.IO.Path.Combine(root, "RegistryCleaner");
    }

    /// <summary>Opens the cache of a folder, reading what its file holds (a missing or unreadable file reads as empty).</summary>
    /// <param name="directory">The cache folder; created on the first save.</param>
    /// <param name="maxFileBytes">The size above which a save rewrites the file with the entries this read used.</param>
    /// <returns>The cache.</returns>
    public static ImageConfigCache Open(string directory, long maxFileBytes = DefaultMaxFileBytes)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxFileBytes);
        var cache = new ImageConfigCache(System.IO.Path.Combine(directory, FileName), maxFileBytes);
        cache.Load();
        return cache;
    }

    /// <summary>Looks up a configuration by digest.</summary>
    /// <param name="digest">The configuration blob digest.</param>
    /// <param name="facts">What is known of it.</param>
    /// <returns>Whether it was cached.</returns>
    public bool TryGet(string digest, out ImageConfigFacts facts)
    {
        ArgumentNullException.ThrowIfNull(digest);
        // Only canonical sha256 digests are ever stored; any other is a miss, counted once like the rest.
        bool canonical = DigestKey.TryParse(digest, out DigestKey key);
        lock (this.gate)
        {
            if (!canonical)
            {
                facts = default;
                this.missedOther ??= new HashSet<string>(StringComparer.Ordinal);
                if (this.missedOther.Add(digest))
                {
                    this.misses++;
                }

                return false;
            }

            // Each configuration counts once, however many tags share it and ask for it.
            ref Entry entry = ref CollectionsMarshal.GetValueRefOrAddDefault(this.entries, key, out _);
            if ((entry.State & EntryState.Known) != 0)
            {
                if ((entry.State & EntryState.Used) == 0)
                {
                    entry.State |= EntryState.Used;
                    this.hits++;
                }

                facts = entry.Facts;
                return true;
            }

            if ((entry.State & EntryState.Missed) == 0)
            {
                entry.State |= EntryState.Missed;
                this.misses++;
            }

            facts = default;
            return false;
        }
    }

    /// <summary>Stores what was read from a downloaded configuration, if its content hashes to the digest.</summary>
    /// <param name="digest">The digest the blob was requested by.</param>
    /// <param name="content">The blob as downloaded.</param>
    /// <param name="facts">What was parsed from it.</param>
    /// <returns>Whether it was stored (only <c>sha256</c> digests that match the content are).</returns>
    public bool Add(string digest, ReadOnlySpan<byte> content, ImageConfigFacts facts)
    {
        ArgumentNullException.ThrowIfNull(digest);
        if (!DigestPattern().IsMatch(digest) || !string.Equals(ManifestParser.ComputeDigest(content), digest, StringComparison.Ordinal)
            || (facts.Platform is { } platform && !IsStorable(platform)))
        {
            return false;
        }

        _ = DigestKey.TryParse(digest, out DigestKey key);
        lock (this.gate)
        {
            ref Entry entry = ref CollectionsMarshal.GetValueRefOrAddDefault(this.entries, key, out _);
            if ((entry.State & EntryState.Added) == 0)
            {
                this.added++;
            }

            entry.Facts = facts with { Platform = this.Intern(facts.Platform) };
            entry.State |= EntryState.Known | EntryState.Used | EntryState.Added;
        }

        return true;
    }

    /// <summary>
    /// Appends the entries added since opening to the file (or rewrites it with the entries this read used when it has
    /// grown past its size limit). Another process holding the file is waited for briefly.
    /// </summary>
    /// <returns><see langword="null"/> when saved (or nothing to save), else why not.</returns>
    public string? Save()
    {
        if (this.added == 0)
        {
            return null;
        }

        try
        {
            // Created times decide -OlderThan and -KeepLatest, so the folder is the user's alone (like config.yaml).
            string directory = System.IO.Path.GetDirectoryName(this.Path)!;
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(directory);
            }
            else
            {
                Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }

            bool rewrite = File.Exists(this.Path) && new FileInfo(this.Path).Length > this.maxFileBytes;
            EntryState wanted = rewrite ? EntryState.Known | EntryState.Used : EntryState.Added;
            // The lines are written as UTF-8 straight into one buffer (about 120 bytes a line), never as one string.
            using var text = new MemoryStream();
            lock (this.gate)
            {
                text.Capacity = 128 * (rewrite ? this.entries.Count : this.added);
                using var writer = new StreamWriter(text, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), 1 << 16, leaveOpen: true) { NewLine = "\n" };
                Span<char> digest = stackalloc char[DigestKey.Length];
                foreach ((DigestKey key, Entry entry) in this.entries)
                {
                    if ((entry.State & wanted) != wanted)
                    {
                        continue;
                    }

                    key.Format(digest);
                    writer.Write(digest);
                    writer.Write('\t');
                    writer.Write(entry.Facts.Created?.ToString("o", CultureInfo.InvariantCulture) ?? "-");
                    writer.Write('\t');
                    writer.Write(entry.Facts.Platform ?? "-");
                    writer.Write('\n');
                }
            }

            ReadOnlySpan<byte> bytes = text.GetBuffer().AsSpan(0, (int)text.Length);
            for (int attempt = 0; ; attempt++)
            {
                try
                {
                    // One write of whole lines under an exclusive handle: concurrent runs never interleave lines.
                    using var stream = new FileStream(this.Path, rewrite ? FileMode.Create : FileMode.Append, FileAccess.Write, FileShare.None);
                    stream.Write(bytes);
                    break;
                }
                catch (IOException) when (attempt < 20 && File.Exists(this.Path))
                {
                    Thread.Sleep(50);
                }
            }

            lock (this.gate)
            {
                foreach (DigestKey key in this.entries.Keys)
                {
                    CollectionsMarshal.GetValueRefOrNullRef(this.entries, key).State &= ~EntryState.Added;
                }

                this.added = 0;
            }

            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return $"The image configuration cache {this.Path} could not be saved ({ex.Message}); the next read downloads those configurations again.";
        }
    }

    // A handful of platforms repeat over every configuration: each is kept once.
    [return: System.Diagnostics.CodeAnalysis.NotNullIfNotNull(nameof(value))]
    private string? Intern(string? value)
    {
        if (value is null)
        {
            return null;
        }

        ref string? known = ref CollectionsMarshal.GetValueRefOrAddDefault(this.platforms, value, out _);
        return known ??= value;
    }

    private static bool IsStorable(string value) => !value.AsSpan().ContainsAny("\t\r\n") && value != "-";

    [GeneratedRegex("^sha256:[0-9a-f]{64}$", RegexOptions.CultureInvariant)]
    private static partial Regex DigestPattern();

    private void Load()
    {
        if (!File.Exists(this.Path))
        {
            return;
        }

        try
        {
            using var stream = new FileStream(this.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            int loaded = 0;
            while (reader.ReadLine() is { } line)
            {
                ReadOnlySpan<char> rest = line;
                int tab = rest.IndexOf('\t');
                ReadOnlySpan<char> digest = tab < 0 ? rest : rest[..tab];
                rest = tab < 0 ? [] : rest[(tab + 1)..];
                tab = rest.IndexOf('\t');
                if (tab < 0 || rest[(tab + 1)..].Contains('\t') || !DigestKey.TryParse(digest, out DigestKey key))
                {
                    continue;
                }

                ReadOnlySpan<char> createdText = rest[..tab];
                ReadOnlySpan<char> platform = rest[(tab + 1)..];
                DateTimeOffset? created = null;
                if (!createdText.SequenceEqual("-"))
                {
                    if (!DateTimeOffset.TryParseExact(createdText, "o", CultureInfo.InvariantCulture, DateTimeStyles.None, out DateTimeOffset value))
                    {
                        continue;
                    }

                    created = value;
                }

                ref Entry entry = ref CollectionsMarshal.GetValueRefOrAddDefault(this.entries, key, out _);
                entry.Facts = new ImageConfigFacts(created, platform.SequenceEqual("-") ? null : this.Intern(platform.ToString()));
                entry.State |= EntryState.Known;
                loaded++;
            }

            this.Loaded = loaded;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            this.entries.Clear();
            this.LoadProblem = $"The image configuration cache {this.Path} could not be read ({ex.Message}); configurations are downloaded.";
        }
    }
}

/// <summary>What an inventory reads from an image configuration.</summary>
/// <param name="Created">The image's creation time, when the configuration has one.</param>
/// <param name="Platform">The image's platform (<c>os/arch[/variant]</c>), when the configuration has one.</param>
public readonly record struct ImageConfigFacts(DateTimeOffset? Created, string? Platform);

/// <content>One digest's entry.</content>
public sealed partial class ImageConfigCache
{
    [Flags]
    private enum EntryState : byte
    {
        None = 0,
        Known = 1,
        Used = 2,
        Added = 4,
        Missed = 8,
    }

    private struct Entry
    {
        public ImageConfigFacts Facts;
        public EntryState State;
    }
}
