using System.Runtime.InteropServices;

namespace RegistryCleaner.Registry;

/// <summary>
/// What <see cref="InventoryViews.LayerTally"/> tallies for one blob, kept as a value in a <see cref="BlobTable"/>:
/// numbers into the tally's tables instead of strings and objects, so a blob costs about 110 bytes however its digest,
/// media type and repositories are spelled. The first repository and tag are kept inline (most blobs have one).
/// </summary>
[StructLayout(LayoutKind.Auto)]
internal struct BlobUse
{
    /// <summary>The blob's digest, when it is a canonical <c>sha256:</c> digest (else the table keeps its string).</summary>
    public DigestKey Key;

    /// <summary>The size the shown descriptor declares.</summary>
    public long Size;

    /// <summary>The number of the shown descriptor's media type.</summary>
    public int MediaType;

    /// <summary>Whether a manifest names the blob as its configuration.</summary>
    public bool IsConfig;

    /// <summary>The number of the first repository with a manifest naming the blob; -1 for none yet.</summary>
    public int FirstRepository;

    /// <summary>The list (in the tally's lists) of the further repositories; -1 for none.</summary>
    public int MoreRepositories;

    /// <summary>The number of the first tag that needs the blob; -1 for none yet.</summary>
    public int FirstTag;

    /// <summary>The list of the further tags, in ascending number; -1 for none.</summary>
    public int MoreTags;

    // The manifest whose descriptor is shown: the first in (repository, digest) order that names the blob, so the
    // media type shown is the same whatever order the manifests are tallied in.

    /// <summary>The number of the repository of the manifest whose descriptor is shown.</summary>
    public int OriginRepository;

    /// <summary>That manifest's digest, when canonical (else <see cref="OddOrigin"/>).</summary>
    public DigestKey OriginKey;

    /// <summary>0 when that manifest's digest is canonical, else 1 + the number of its string in the table.</summary>
    public int OddOrigin;

    /// <summary>The next entry in the same hash bucket; -1 at the end.</summary>
    public int Next;
}

/// <summary>
/// The blobs of a <see cref="InventoryViews.LayerTally"/>, numbered in the order first seen and found by digest. Entries
/// live in fixed pages that never move or grow, so a table of 100,000s of blobs is never copied to grow and a reference
/// to an entry stays valid while others are added. Canonical digests are kept as their 32 bytes; any other digest
/// (another algorithm) keeps its string.
/// </summary>
internal sealed class BlobTable
{
    private const int PageBits = 9;
    private const int PageSize = 1 << PageBits;

    private readonly List<BlobUse[]> pages = [];
    private readonly Dictionary<string, int> oddByDigest = new(StringComparer.Ordinal);
    private readonly Dictionary<int, string> oddDigests = [];
    private readonly List<string> oddOrigins = [];
    private int[] buckets = new int[PageSize];

    public BlobTable() => Array.Fill(this.buckets, -1);

    /// <summary>Gets the number of blobs.</summary>
    public int Count { get; private set; }

    /// <summary>Gets the entry of a blob by its number.</summary>
    /// <param name="number">The blob's number.</param>
    public ref BlobUse this[int number] => ref this.pages[number >> PageBits][number & (PageSize - 1)];

    /// <summary>Finds the entry of a digest, or adds an empty one (<paramref name="added"/>) that the caller fills.</summary>
    /// <param name="digest">The blob's digest.</param>
    /// <param name="added">Whether the entry is new.</param>
    /// <returns>The entry.</returns>
    public ref BlobUse Find(string digest, out bool added)
    {
        if (!DigestKey.TryParse(digest, out DigestKey key))
        {
            ref int odd = ref CollectionsMarshal.GetValueRefOrAddDefault(this.oddByDigest, digest, out bool found);
            added = !found;
            if (found)
            {
                return ref this[odd];
            }

            odd = this.Count;
            this.oddDigests.Add(odd, digest);
            return ref this.Add(default, 0);
        }

        int hash = key.GetHashCode();
        for (int number = this.buckets[hash & (this.buckets.Length - 1)]; number >= 0;)
        {
            ref BlobUse entry = ref this[number];
            if (entry.Key.Equals(key))
            {
                added = false;
                return ref entry;
            }

            number = entry.Next;
        }

        added = true;
        return ref this.Add(key, hash);
    }

    /// <summary>Returns the digest of a blob.</summary>
    /// <param name="number">The blob's number.</param>
    /// <returns>The digest.</returns>
    public string DigestOf(int number) => this.oddDigests.TryGetValue(number, out string? odd) ? odd : this[number].Key.ToString();

    /// <summary>Compares two blobs' digests as strings (ordinal).</summary>
    /// <param name="x">A blob's number.</param>
    /// <param name="y">Another blob's number.</param>
    /// <returns>The order.</returns>
    public int CompareDigests(int x, int y) =>
        this.oddDigests.Count == 0 || (!this.oddDigests.ContainsKey(x) && !this.oddDigests.ContainsKey(y))
            ? this[x].Key.CompareTo(this[y].Key)
            : string.CompareOrdinal(this.DigestOf(x), this.DigestOf(y));

    /// <summary>Records the manifest whose descriptor a blob shows.</summary>
    /// <param name="entry">The blob's entry.</param>
    /// <param name="repository">The manifest's repository number.</param>
    /// <param name="origin">The manifest's digest.</param>
    public void SetOrigin(ref BlobUse entry, int repository, in OriginDigest origin)
    {
        entry.OriginRepository = repository;
        entry.OriginKey = origin.Key;
        if (origin.Odd is not { } odd)
        {
            entry.OddOrigin = 0;
        }
        else if (entry.OddOrigin > 0)
        {
            this.oddOrigins[entry.OddOrigin - 1] = odd;
        }
        else
        {
            this.oddOrigins.Add(odd);
            entry.OddOrigin = this.oddOrigins.Count;
        }
    }

    /// <summary>Compares a manifest's digest with that of the manifest whose descriptor a blob shows.</summary>
    /// <param name="entry">The blob's entry.</param>
    /// <param name="digest">The other manifest's digest.</param>
    /// <returns>The order of <paramref name="digest"/> against the shown one.</returns>
    public int CompareOrigin(ref BlobUse entry, in OriginDigest digest) =>
        entry.OddOrigin == 0 && digest.Odd is null
            ? digest.Key.CompareTo(entry.OriginKey)
            : string.CompareOrdinal(digest.ToString(), entry.OddOrigin > 0 ? this.oddOrigins[entry.OddOrigin - 1] : entry.OriginKey.ToString());

    /// <summary>Lets go of what only finding blobs needs, once no blob is added any more.</summary>
    public void StopAdding()
    {
        this.buckets = [];
        this.oddByDigest.Clear();
    }

    private ref BlobUse Add(DigestKey key, int hash)
    {
        int number = this.Count;
        if ((number & (PageSize - 1)) == 0)
        {
            this.pages.Add(new BlobUse[PageSize]);
        }

        this.Count++;
        ref BlobUse entry = ref this[number];
        entry.Key = key;
        entry.Next = -1;
        if (!this.oddDigests.ContainsKey(number))
        {
            ref int bucket = ref this.buckets[hash & (this.buckets.Length - 1)];
            entry.Next = bucket;
            bucket = number;
            if (this.Count > this.buckets.Length)
            {
                this.Grow();
            }
        }

        return ref entry;
    }

    // Twice the buckets, the chains rebuilt from the entries: only the 4-byte buckets are ever copied.
    private void Grow()
    {
        this.buckets = new int[this.buckets.Length * 2];
        Array.Fill(this.buckets, -1);
        for (int number = 0; number < this.Count; number++)
        {
            ref BlobUse entry = ref this[number];
            if (this.oddDigests.ContainsKey(number))
            {
                continue;
            }

            ref int bucket = ref this.buckets[entry.Key.GetHashCode() & (this.buckets.Length - 1)];
            entry.Next = bucket;
            bucket = number;
        }
    }
}

/// <summary>A manifest's digest, read once: its 32 bytes when canonical, else its string.</summary>
internal readonly struct OriginDigest
{
    /// <summary>The digest's bytes, when canonical.</summary>
    public readonly DigestKey Key;

    /// <summary>The digest's string, when it is not canonical.</summary>
    public readonly string? Odd;

    /// <summary>Reads a manifest's digest.</summary>
    /// <param name="digest">The digest.</param>
    public OriginDigest(string digest) => this.Odd = DigestKey.TryParse(digest, out this.Key) ? null : digest;

    /// <inheritdoc />
    public override string ToString() => this.Odd ?? this.Key.ToString();
}
