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

    public BlobUse(BlobDescriptor blob) => this.Blob = blob;

    public BlobDescriptor Blob { get; }

    public bool IsConfig { get; set; }

    public string? FirstRepository { get; private set; }

    public string? FirstName { get; private set; }

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

    public string[] Tags(string?[] names)
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
