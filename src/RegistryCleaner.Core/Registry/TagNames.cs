namespace RegistryCleaner.Registry;

/// <summary>
/// The tags of a <see cref="InventoryViews.LayerTally"/>, numbered in the order added: per tag its repository's number
/// and the tag string as read (which the reader's listing holds anyway while it reads), where a <c>repository:tag</c>
/// string would take over 120 bytes more per tag. The names are made only when they are written out.
/// </summary>
internal sealed class TagNames
{
    private readonly IReadOnlyList<string> repositories;
    private readonly List<(int Repository, string Tag)> tags = [];

    // Made as first written out, then shared: the blobs that every image needs list every tag, each made once.
    private string?[]? names;
    private string?[]? objectIds;

    /// <summary>Initializes a new instance of the <see cref="TagNames"/> class.</summary>
    /// <param name="repositories">The repositories, by number.</param>
    public TagNames(IReadOnlyList<string> repositories) => this.repositories = repositories;

    /// <summary>Numbers the next tag.</summary>
    /// <param name="repository">The number of the tag's repository.</param>
    /// <param name="tag">The tag.</param>
    /// <returns>The tag's number.</returns>
    public int Add(int repository, string tag)
    {
        this.tags.Add((repository, tag));
        return this.tags.Count - 1;
    }

    /// <summary>Returns the name of a tag, <c>repository:tag</c>; call once every tag is added.</summary>
    /// <param name="number">The tag's number.</param>
    /// <returns>The name.</returns>
    public string Name(int number)
    {
        this.names ??= new string?[this.tags.Count];
        return this.names[number] ??= string.Concat(this.repositories[this.tags[number].Repository], ":", this.tags[number].Tag);
    }

    /// <summary>Returns the Domino ObjectId of a tag (<see cref="Domino.ObjectId.FromTag"/>); call once every tag is added.</summary>
    /// <param name="number">The tag's number.</param>
    /// <returns>The ObjectId, or <see langword="null"/>.</returns>
    public string? ObjectId(int number)
    {
        this.objectIds ??= new string?[this.tags.Count];
        if (this.objectIds[number] is { } known)
        {
            return known;
        }

        // The revisions of one environment or model are tagged side by side: they share one string.
        string? objectId = Domino.ObjectId.FromTag(this.tags[number].Tag);
        string? previous = number > 0 ? this.objectIds[number - 1] : null;
        return this.objectIds[number] = string.Equals(objectId, previous, StringComparison.Ordinal) ? previous : objectId;
    }

    /// <summary>
    /// Ranks the tags by their names, <c>repository:tag</c>, as <see cref="StringComparer.Ordinal"/> orders them
    /// (which can differ from the order of repository, then tag: <c>a-b:x</c> comes before <c>a:x</c>).
    /// </summary>
    /// <returns>Per tag number its rank; tags of equal names have equal ranks.</returns>
    public int[] Ranks() => Rank(this.tags.Count, this.Compare);

    /// <summary>Ranks the numbers 0 to <paramref name="count"/> - 1 in the order <paramref name="compare"/> gives them.</summary>
    /// <param name="count">How many there are.</param>
    /// <param name="compare">The order.</param>
    /// <returns>Per number its rank; numbers that compare equal have equal ranks.</returns>
    public static int[] Rank(int count, Comparison<int> compare)
    {
        int[] ordered = new int[count];
        for (int i = 0; i < count; i++)
        {
            ordered[i] = i;
        }

        Array.Sort(ordered, compare);
        int[] ranks = new int[count];
        for (int i = 0; i < count; i++)
        {
            ranks[ordered[i]] = i > 0 && compare(ordered[i - 1], ordered[i]) == 0 ? ranks[ordered[i - 1]] : i;
        }

        return ranks;
    }

    private int Compare(int x, int y)
    {
        (int xRepository, string xTag) = this.tags[x];
        (int yRepository, string yTag) = this.tags[y];
        if (xRepository == yRepository)
        {
            return string.CompareOrdinal(xTag, yTag);
        }

        // Different repositories: one may be a prefix of the other, so the names are compared whole.
        string xName = this.repositories[xRepository];
        string yName = this.repositories[yRepository];
        int length = Math.Max(xName.Length + xTag.Length, yName.Length + yTag.Length) + 1;
        Span<char> xBuffer = length <= 512 ? stackalloc char[length] : new char[length];
        Span<char> yBuffer = length <= 512 ? stackalloc char[length] : new char[length];
        return Write(xName, xTag, xBuffer).SequenceCompareTo(Write(yName, yTag, yBuffer));
    }

    private static ReadOnlySpan<char> Write(string repository, string tag, Span<char> destination)
    {
        repository.CopyTo(destination);
        destination[repository.Length] = ':';
        tag.CopyTo(destination[(repository.Length + 1)..]);
        return destination[..(repository.Length + 1 + tag.Length)];
    }
}
