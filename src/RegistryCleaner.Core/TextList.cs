using System.Collections;
using System.Runtime.CompilerServices;

namespace RegistryCleaner;

/// <summary>
/// A read-only list of strings that reads as <c>a;b;c</c> when it has to become one piece of text. Every list of
/// names or digests the cmdlets emit has this type: in the pipeline, in <c>ConvertTo-Json</c> (an array) and in
/// <c>Export-Clixml</c> (a list) it is a list, and <c>Export-Csv</c>, which writes each property's
/// <see cref="ToString"/>, writes the items instead of a type name. Names and digests never contain <c>;</c>
/// (the distribution grammar), so the text splits back exactly.
/// </summary>
[CollectionBuilder(typeof(TextList), nameof(Create))]
public sealed class TextList : IReadOnlyList<string>, IEquatable<TextList>
{
    /// <summary>What joins the items in <see cref="ToString"/>.</summary>
    public const char Separator = ';';

    private readonly string[] items;

    private TextList(string[] items) => this.items = items;

    /// <summary>Gets an empty list.</summary>
    public static TextList Empty { get; } = new([]);

    /// <inheritdoc />
    public int Count => this.items.Length;

    /// <inheritdoc />
    public string this[int index] => this.items[index];

    /// <summary>Copies <paramref name="items"/> into a list.</summary>
    /// <param name="items">The items, in order.</param>
    /// <returns>The list.</returns>
    public static TextList Create(ReadOnlySpan<string> items) => items.IsEmpty ? Empty : new(items.ToArray());

    /// <summary>Copies <paramref name="items"/> into a list (a <see cref="TextList"/> is returned as it is).</summary>
    /// <param name="items">The items, in order; <see langword="null"/> gives an empty list.</param>
    /// <returns>The list.</returns>
    public static TextList From(IEnumerable<string>? items) => items switch
    {
        null => Empty,
        TextList list => list,
        _ => items.ToArray() is { Length: > 0 } copy ? new(copy) : Empty,
    };

    /// <summary>Splits text that <see cref="ToString"/> wrote (as <c>Import-Csv</c> gives it back) into its items.</summary>
    /// <param name="text">The text, e.g. <c>a;b;c</c>.</param>
    /// <returns>The non-empty items, trimmed.</returns>
    public static TextList Parse(string? text) =>
        string.IsNullOrWhiteSpace(text) ? Empty : new(text.Split(Separator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

#pragma warning disable CA2225 // Operator overloads have named alternates: From is the named alternate.
    /// <summary>Copies an array into a list.</summary>
    /// <param name="items">The items.</param>
    public static implicit operator TextList(string[]? items) => From(items);

    /// <summary>Copies a list into a list.</summary>
    /// <param name="items">The items.</param>
    public static implicit operator TextList(List<string>? items) => From(items);
#pragma warning restore CA2225

    /// <summary>Compares two lists item by item.</summary>
    /// <param name="left">The first list.</param>
    /// <param name="right">The second list.</param>
    /// <returns>Whether they hold the same items in the same order.</returns>
    public static bool operator ==(TextList? left, TextList? right) => left is null ? right is null : left.Equals(right);

    /// <summary>Compares two lists item by item.</summary>
    /// <param name="left">The first list.</param>
    /// <param name="right">The second list.</param>
    /// <returns>Whether they differ.</returns>
    public static bool operator !=(TextList? left, TextList? right) => !(left == right);

    /// <summary>The items joined with <c>;</c>, which is what <c>Export-Csv</c> writes.</summary>
    /// <returns>The text.</returns>
    public override string ToString() => string.Join(Separator, this.items);

    /// <inheritdoc />
    public bool Equals(TextList? other) => other is not null && this.items.AsSpan().SequenceEqual(other.items);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is TextList other && this.Equals(other);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = default(HashCode);
        foreach (string item in this.items)
        {
            hash.Add(item, StringComparer.Ordinal);
        }

        return hash.ToHashCode();
    }

    /// <inheritdoc />
    public IEnumerator<string> GetEnumerator() => ((IEnumerable<string>)this.items).GetEnumerator();

    /// <inheritdoc />
    IEnumerator IEnumerable.GetEnumerator() => this.items.GetEnumerator();
}
