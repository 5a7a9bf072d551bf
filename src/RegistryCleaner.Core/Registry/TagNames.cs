using System.Runtime.InteropServices;

namespace RegistryCleaner.Registry;

/// <summary>
/// The tags of a <see cref="InventoryViews.LayerTally"/>, numbered in the order added: per tag its repository's number
/// and its characters in shared pages (about 16 bytes and 2 per character, where a <c>repository:tag</c> string takes
/// over 120). The <c>repository:tag</c> names are made only when they are written out.
/// </summary>
internal sealed class TagNames
{
    private const int PageSize = 16384;

    private readonly IReadOnlyList<string> repositories;
    private readonly List<char[]> pages = [];
    private readonly List<TagName> tags = [];
    private int used;

    /// <summary>Initializes a new instance of the <see cref="TagNames"/> class.</summary>
    /// <param name="repositories">The repositories, by number.</param>
    public TagNames(IReadOnlyList<string> repositories) => this.repositories = repositories;

    /// <summary>Numbers the next tag.</summary>
    /// <param name="repository">The number of the tag's repository.</param>
    /// <param name="tag">The tag.</param>
    /// <returns>The tag's number.</returns>
    public int Add(int repository, string tag)
    {
        if (this.pages.Count == 0 || this.used + tag.Length > this.pages[^1].Length)
        {
            // A tag longer than a page (the grammar allows 128 characters) gets a page of its own.
            this.pages.Add(new char[Math.Max(PageSize, tag.Length)]);
            this.used = 0;
        }

        char[] page = this.pages[^1];
        tag.CopyTo(page.AsSpan(this.used));
        this.tags.Add(new TagName(repository, this.pages.Count - 1, this.used, tag.Length));
        this.used += tag.Length;
        return this.tags.Count - 1;
    }

    /// <summary>Returns a tag.</summary>
    /// <param name="number">The tag's number.</param>
    /// <returns>The tag, as added.</returns>
    public string Tag(int number) => new(this.Span(number));

    /// <summary>Returns the repository of a tag.</summary>
    /// <param name="number">The tag's number.</param>
    /// <returns>The repository.</returns>
    public string Repository(int number) => this.repositories[this.tags[number].Repository];

    /// <summary>
    /// Ranks the tags by their names, <c>repository:tag</c>, as <see cref="StringComparer.Ordinal"/> orders them
    /// (which can differ from the order of repository, then tag: <c>a-b:x</c> comes before <c>a:x</c>).
    /// </summary>
    /// <returns>Per tag number its rank; tags of equal names have equal ranks.</returns>
    public int[] Ranks()
    {
        int[] byName = new int[this.tags.Count];
        for (int i = 0; i < byName.Length; i++)
        {
            byName[i] = i;
        }

        Array.Sort(byName, this.Compare);
        int[] ranks = new int[byName.Length];
        for (int i = 0; i < byName.Length; i++)
        {
            ranks[byName[i]] = i > 0 && this.Compare(byName[i - 1], byName[i]) == 0 ? ranks[byName[i - 1]] : i;
        }

        return ranks;
    }

    private ReadOnlySpan<char> Span(int number)
    {
        TagName tag = this.tags[number];
        return this.pages[tag.Page].AsSpan(tag.Start, tag.Length);
    }

    private int Compare(int x, int y)
    {
        int xRepository = this.tags[x].Repository;
        int yRepository = this.tags[y].Repository;
        if (xRepository == yRepository)
        {
            return this.Span(x).SequenceCompareTo(this.Span(y));
        }

        // Different repositories: one may be a prefix of the other, so the names are compared whole.
        string xName = this.repositories[xRepository];
        string yName = this.repositories[yRepository];
        int length = Math.Max(xName.Length + this.tags[x].Length, yName.Length + this.tags[y].Length) + 1;
        Span<char> xBuffer = length <= 512 ? stackalloc char[length] : new char[length];
        Span<char> yBuffer = length <= 512 ? stackalloc char[length] : new char[length];
        return this.Write(x, xBuffer).SequenceCompareTo(this.Write(y, yBuffer));
    }

    private ReadOnlySpan<char> Write(int number, Span<char> destination)
    {
        string repository = this.Repository(number);
        ReadOnlySpan<char> tag = this.Span(number);
        repository.CopyTo(destination);
        destination[repository.Length] = ':';
        tag.CopyTo(destination[(repository.Length + 1)..]);
        return destination[..(repository.Length + 1 + tag.Length)];
    }

    [StructLayout(LayoutKind.Auto)]
    private readonly record struct TagName(int Repository, int Page, int Start, int Length);
}
