namespace RegistryCleaner.Registry;

/// <summary>
/// Sums of byte counts that registries declare. Each manifest's own sizes are checked when it is parsed (a negative
/// size, or sizes that overflow a long, make it an error for its tag); sums across manifests (an index's images, a
/// plan's candidates) saturate at <see cref="long.MaxValue"/> instead of throwing or wrapping, so one absurd image
/// can never stop a command or show a negative number.
/// </summary>
public static class ByteTotal
{
    /// <summary>Adds two byte counts, saturating at <see cref="long.MaxValue"/> (and at 0 for a negative result).</summary>
    /// <param name="total">The running total.</param>
    /// <param name="bytes">The bytes to add.</param>
    /// <returns>The sum, never wrapped.</returns>
    public static long Add(long total, long bytes)
    {
        long sum = unchecked(total + bytes);

        // Overflow happened when both operands share a sign and the sum does not.
        if (((total ^ sum) & (bytes ^ sum)) < 0)
        {
            return total < 0 ? 0 : long.MaxValue;
        }

        return Math.Max(sum, 0);
    }

    /// <summary>Sums byte counts, saturating at <see cref="long.MaxValue"/>.</summary>
    /// <param name="values">The byte counts.</param>
    /// <returns>The sum, never wrapped.</returns>
    public static long Sum(IEnumerable<long> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        long total = 0;
        foreach (long value in values)
        {
            total = Add(total, value);
        }

        return total;
    }
}
