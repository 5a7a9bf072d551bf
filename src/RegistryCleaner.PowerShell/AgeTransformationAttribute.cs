using System.Globalization;
using System.Management.Automation;
using System.Text.RegularExpressions;

namespace RegistryCleaner.PowerShell;

/// <summary>
/// Reads an age (-OlderThan) as admins type it: a bare number (int, double or numeric text) is days, so
/// <c>-OlderThan 90</c> is 90 days and not the 90 ticks PowerShell's own conversion makes of it; TimeSpan text
/// (<c>'90.00:00:00'</c>, <c>'12:00:00'</c>) and TimeSpan values pass through. Anything under one minute is refused,
/// because it would make every image old enough.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed partial class AgeTransformationAttribute : ArgumentTransformationAttribute
{
    /// <summary>The shortest age accepted.</summary>
    public static readonly TimeSpan Minimum = TimeSpan.FromMinutes(1);

    /// <summary>The longest age accepted: no registry image is older, and the cutoff date must stay a date.</summary>
    public static readonly TimeSpan Maximum = TimeSpan.FromDays(36525);

    private const string Forms = "Give days as a number (90 is 90 days, 1.5 is 36 hours) or a TimeSpan ('90.00:00:00' for 90 days, '12:00:00' for 12 hours, (New-TimeSpan -Days 90)).";

    /// <inheritdoc />
    public override object? Transform(EngineIntrinsics engineIntrinsics, object inputData)
    {
        object? value = inputData is PSObject wrapped ? wrapped.BaseObject : inputData;
        if (value is null)
        {
            return null;
        }

        TimeSpan age = value switch
        {
            TimeSpan span => span,
            byte or sbyte or short or ushort or int or uint or long or ulong or float or double or decimal =>
                Days(Convert.ToDouble(value, CultureInfo.InvariantCulture), value),
            string text => Parse(text),
            _ => throw new ArgumentTransformationMetadataException($"{Describe(value)} is not an age. {Forms}"),
        };
        if (age > Maximum)
        {
            throw new ArgumentTransformationMetadataException(
                $"{Describe(value)} is {age.TotalDays.ToString("N0", CultureInfo.InvariantCulture)} days, but an age can be at most 100 years (36525 days). {Forms}");
        }

        return age >= Minimum
            ? age
            : throw new ArgumentTransformationMetadataException(
                $"{Describe(value)} is {age.ToString("c", CultureInfo.InvariantCulture)}, but an age must be at least one minute: under that every image would be old enough. {Forms}");
    }

    private static TimeSpan Parse(string text)
    {
        string trimmed = text.Trim();
        if (double.TryParse(trimmed, NumberStyles.Float, CultureInfo.InvariantCulture, out double days))
        {
            return Days(days, text);
        }

        // .NET (and PowerShell's [TimeSpan]) reads '36:00:00' as 36 days, not 36 hours: hours past 23 without a day
        // part are refused as ambiguous rather than guessed, since a wrong guess deletes 24 times more or less.
        Match clock = ClockWithoutDays().Match(trimmed);
        if (clock.Success && int.Parse(clock.Groups["hours"].Value, CultureInfo.InvariantCulture) > 23)
        {
            throw new ArgumentTransformationMetadataException(
                $"{Describe(text)} is ambiguous: TimeSpan text reads hours past 23 as days. Write days and hours ('1.12:00:00' is 36 hours) or days as a number (1.5). {Forms}");
        }

        return TimeSpan.TryParse(trimmed, CultureInfo.InvariantCulture, out TimeSpan span)
            ? span
            : throw new ArgumentTransformationMetadataException($"{Describe(text)} is not an age. {Forms}");
    }

    private static TimeSpan Days(double days, object given)
    {
        if (double.IsNaN(days) || double.IsInfinity(days) || Math.Abs(days) > TimeSpan.MaxValue.TotalDays)
        {
            throw new ArgumentTransformationMetadataException($"{Describe(given)} days is not an age. {Forms}");
        }

        return TimeSpan.FromDays(days);
    }

    [GeneratedRegex(@"^(?<hours>\d+):\d+(?::\d+(?:\.\d+)?)?$", RegexOptions.CultureInvariant)]
    private static partial Regex ClockWithoutDays();

    private static string Describe(object value) =>
        value is string text ? $"'{text}'" : Convert.ToString(value, CultureInfo.InvariantCulture) ?? value.GetType().Name;
}
