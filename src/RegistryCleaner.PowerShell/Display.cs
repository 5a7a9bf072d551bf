using System.Collections;
using System.Globalization;
using System.Management.Automation;
using RegistryCleaner.Registry;

namespace RegistryCleaner.PowerShell;

/// <summary>
/// The pieces every format view shows the same way, built once: byte sizes, short digests, dates and lists. Views call
/// them as <c>[RegistryCleaner.PowerShell.Display]::Bytes($_.Size)</c> (public types of the imported assembly resolve
/// from format script blocks). Text from elsewhere still goes through <see cref="HostText.Escape"/> in the view.
/// </summary>
public static partial class Display
{
    private static readonly string[] Units = ["B", "KB", "MB", "GB", "TB", "PB", "EB"];

    /// <summary>
    /// Bytes as people read them in a table column, at most 8 characters: binary units with one decimal, moving to the
    /// next unit from 1000 on (<c>1000 MB</c> shows as <c>1.0 GB</c>), invariant culture, e.g. <c>999.9 MB</c>.
    /// </summary>
    /// <param name="bytes">The byte count.</param>
    /// <returns>The text; empty for <see langword="null"/>.</returns>
    public static string Bytes(long? bytes)
    {
        if (bytes is not { } value)
        {
            return string.Empty;
        }

        if (value < 0)
        {
            return ByteCount.Format(value);
        }

        double scaled = value;
        int unit = 0;
        while (Math.Round(scaled, 1) >= 1000 && unit < Units.Length - 1)
        {
            scaled /= 1024;
            unit++;
        }

        return unit == 0
            ? string.Create(CultureInfo.InvariantCulture, $"{value} B")
            : string.Create(CultureInfo.InvariantCulture, $"{scaled:0.0} {Units[unit]}");
    }

    /// <summary>Bytes as people read them and exactly, e.g. <c>1.2 GB (1288490188 bytes)</c>, for list views.</summary>
    /// <param name="bytes">The byte count.</param>
    /// <returns>The text; empty for <see langword="null"/>.</returns>
    public static string ExactBytes(long? bytes) => bytes is { } value
        ? string.Create(CultureInfo.InvariantCulture, $"{ByteCount.Format(value)} ({value} bytes)")
        : string.Empty;

    /// <summary>A sha256 or sha512 digest cut to its algorithm and first 12 hexadecimal digits, e.g. <c>sha256:0123456789ab…</c>.</summary>
    /// <param name="digest">The digest; anything that is not a well-formed digest is returned whole (the view escapes it).</param>
    /// <returns>The text; empty for <see langword="null"/>.</returns>
    public static string ShortDigest(string? digest) => RegistryNames.ShortDigest(digest);

    /// <summary>A point in time in UTC to the minute, e.g. <c>2024-05-01 10:00</c>, for tables.</summary>
    /// <param name="time">A <see cref="DateTimeOffset"/>, a <see cref="DateTime"/>, or text (returned as it is).</param>
    /// <returns>The text; empty for <see langword="null"/>.</returns>
    public static string Utc(object? time) => time switch
    {
        PSObject wrapped => Utc(wrapped.BaseObject),
        DateTimeOffset offset => offset.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture),
        DateTime date => date.ToUniversalTime().ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture),
        null => string.Empty,
        _ => Convert.ToString(time, CultureInfo.InvariantCulture) ?? string.Empty,
    };

    /// <summary>The UTC day of a point in time, e.g. <c>2024-05-01</c>, for narrow tables.</summary>
    /// <param name="time">A <see cref="DateTimeOffset"/>, a <see cref="DateTime"/>, or text (returned as it is).</param>
    /// <returns>The text; empty for <see langword="null"/>.</returns>
    public static string Day(object? time) => time switch
    {
        PSObject wrapped => Day(wrapped.BaseObject),
        DateTimeOffset offset => offset.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        DateTime date => date.ToUniversalTime().ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        null => string.Empty,
        _ => Convert.ToString(time, CultureInfo.InvariantCulture) ?? string.Empty,
    };

    /// <summary>A point in time as ISO 8601 UTC to the second, e.g. <c>2024-05-01T10:00:00Z</c>, for list views.</summary>
    /// <param name="time">A <see cref="DateTimeOffset"/>, a <see cref="DateTime"/>, or text (returned as it is).</param>
    /// <returns>The text; empty for <see langword="null"/>.</returns>
    public static string Iso(object? time) => time switch
    {
        PSObject wrapped => Iso(wrapped.BaseObject),
        DateTimeOffset offset => offset.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
        DateTime date => date.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
        null => string.Empty,
        _ => Convert.ToString(time, CultureInfo.InvariantCulture) ?? string.Empty,
    };

    /// <summary>The items of a list joined with <c>", "</c> (a single value as its text), for one cell.</summary>
    /// <param name="values">A list, a single value or <see langword="null"/>.</param>
    /// <returns>The text; empty for <see langword="null"/>.</returns>
    public static string Join(object? values) => values switch
    {
        PSObject wrapped => Join(wrapped.BaseObject),
        null => string.Empty,
        string text => text,
        IEnumerable items => string.Join(", ", items.Cast<object?>().Select(item => Convert.ToString(item, CultureInfo.InvariantCulture))),
        _ => Convert.ToString(values, CultureInfo.InvariantCulture) ?? string.Empty,
    };

}
