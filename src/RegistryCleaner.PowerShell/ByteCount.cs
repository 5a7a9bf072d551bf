using System.Globalization;

namespace RegistryCleaner.PowerShell;

/// <summary>Byte counts as people read them in messages (the format views do the same for tables).</summary>
public static class ByteCount
{
    private static readonly string[] Units = ["B", "KB", "MB", "GB", "TB", "PB"];

    /// <summary>Formats bytes with binary units, e.g. <c>1.2 GB</c>.</summary>
    /// <param name="bytes">The byte count.</param>
    /// <returns>The text; a negative count is called invalid, not formatted.</returns>
    public static string Format(long bytes)
    {
        // Sizes are checked where they are read, so a negative count is a fault: never shown as if it were bytes.
        if (bytes < 0)
        {
            return string.Create(CultureInfo.InvariantCulture, $"an invalid byte count ({bytes})");
        }

        double value = bytes;
        int unit = 0;
        while (Math.Abs(value) >= 1024 && unit < Units.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        return unit == 0
            ? string.Create(CultureInfo.InvariantCulture, $"{bytes} B")
            : string.Create(CultureInfo.InvariantCulture, $"{value:0.0} {Units[unit]}");
    }
}
