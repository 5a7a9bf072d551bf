namespace RegistryCleaner.Registry;

/// <summary>
/// What <see cref="InventoryViews.EnumerateLayers"/> tallies for one blob: the repositories, tag numbers and ObjectIds
/// that use it, the first of each kept inline (most blobs have one), the smallest repository and name kept for the order.
/// </summary>
internal sealed class BlobUse
{
    private string? firstRepository;
    private List<string>? moreRepositories;
    private int firstTag = -1;
    private List<int>? moreTags;
    private string? firstObjectId;
    private List<string>? moreObjectIds;

    // The manifest whose descriptor is shown: the first in (repository, digest) order that names the blob, so the
    // media type shown is the same whatever order the manifests are tallied in.
    private string originRepository;
    private DigestKey originKey;
    private string? originDigest;

    public BlobUse(BlobDescriptor blob, string repository, string manifestDigest)
    {
        this.Blob = blob;
        this.originRepository = repository;
        this.originDigest = DigestKey.TryParse(manifestDigest, out this.originKey) ? null : manifestDigest;
    }

    public BlobDescriptor Blob { get; private set; }

    public bool IsConfig { get; set; }

    public string? FirstRepository { get; private set; }

    public string? FirstName { get; private set; }

    /// <summary>Takes the descriptor of a manifest that comes before the one described so far.</summary>
    /// <param name="blob">The blob's descriptor in that manifest.</param>
    /// <param name="repository">The manifest's repository.</param>
    /// <param name="manifestDigest">The manifest's digest.</param>
    public void Describe(BlobDescriptor blob, string repository, string manifestDigest)
    {
        int byRepository = string.CompareOrdinal(repository, this.originRepository);
        if (byRepository > 0 || (byRepository == 0 && this.CompareOrigin(manifestDigest) >= 0))
        {
            return;
        }

        this.Blob = blob;
        this.originRepository = repository;
        this.originDigest = DigestKey.TryParse(manifestDigest, out this.originKey) ? null : manifestDigest;
    }

    public void AddRepository(string repository)
    {
        if (this.firstRepository is null)
        {
            this.firstRepository = repository;
        }
        else if (!string.Equals(this.firstRepository, repository, StringComparison.Ordinal) && !(this.moreRepositories?.Contains(repository) ?? false))
        {
            (this.moreRepositories ??= []).Add(repository);
        }

        if (this.FirstRepository is null || string.CompareOrdinal(repository, this.FirstRepository) < 0)
        {
            this.FirstRepository = repository;
        }
    }

    // Tags come in ascending number and a tag adds all its blobs at once, so a repeat is always the last number.
    public void AddTag(int number, string name, string? objectId)
    {
        int last = this.moreTags is { Count: > 0 } more ? more[^1] : this.firstTag;
        if (last == number)
        {
            return;
        }

        if (this.firstTag < 0)
        {
            this.firstTag = number;
        }
        else
        {
            (this.moreTags ??= []).Add(number);
        }

        if (this.FirstName is null || string.CompareOrdinal(name, this.FirstName) < 0)
        {
            this.FirstName = name;
        }

        if (objectId is null)
        {
            return;
        }

        string? lastId = this.moreObjectIds is { Count: > 0 } ids ? ids[^1] : this.firstObjectId;
        if (lastId is null)
        {
            this.firstObjectId = objectId;
        }
        else if (!string.Equals(lastId, objectId, StringComparison.Ordinal))
        {
            (this.moreObjectIds ??= []).Add(objectId);
        }
    }

    public string[] Repositories() => Sorted(this.firstRepository, this.moreRepositories);

    public string[] ObjectIds() => Sorted(this.firstObjectId, this.moreObjectIds);

    public string[] Tags(IReadOnlyList<string?> names)
    {
        if (this.firstTag < 0)
        {
            return [];
        }

        var tags = new string[1 + (this.moreTags?.Count ?? 0)];
        tags[0] = names[this.firstTag]!;
        for (int i = 1; i < tags.Length; i++)
        {
            tags[i] = names[this.moreTags![i - 1]]!;
        }

        // Numbers follow (repository, tag); names sort as repository:tag, which can differ ("a-b:x" before "a:x").
        Array.Sort(tags, StringComparer.Ordinal);
        return tags;
    }

    private int CompareOrigin(string manifestDigest) =>
        this.originDigest is null && DigestKey.TryParse(manifestDigest, out DigestKey key)
            ? key.CompareTo(this.originKey)
            : string.CompareOrdinal(manifestDigest, this.originDigest ?? this.originKey.ToString());

    private static string[] Sorted(string? first, List<string>? more)
    {
        if (first is null)
        {
            return [];
        }

        if (more is null)
        {
            return [first];
        }

        // Distinct: ObjectIds repeat when tags of one ObjectId sit in two repositories.
        var all = new SortedSet<string>(more, StringComparer.Ordinal) { first };
        return [.. all];
    }
}
