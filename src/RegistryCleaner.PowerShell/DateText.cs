using System.Collections.Concurrent;
using System.Globalization;
using System.Management.Automation;
using System.Reflection;

namespace RegistryCleaner.PowerShell;

/// <summary>
/// Makes the dates of an emitted object read as ISO 8601 UTC (<c>2025-01-01T00:00:00.0000000Z</c>) wherever PowerShell
/// turns them into text (Export-Csv, ConvertTo-Csv, tables), whatever the culture, while they stay real dates.
/// </summary>
/// <remarks>
/// Export-Csv writes each property value's own <c>ToString()</c>, which for a <see cref="DateTimeOffset"/> follows the
/// current culture (<c>01.01.2025 00:00:00 +00:00</c> under de-DE), and it ignores ETS and type converters. A date
/// property is therefore shadowed on the emitted <see cref="PSObject"/> by a note property holding the same
/// <see cref="DateTimeOffset"/> wrapped in a <see cref="PSObject"/> whose <c>ToString</c> is overridden: comparisons
/// (<c>Where-Object Created -lt (Get-Date).AddDays(-90)</c>), sorting, its methods and properties and ConvertTo-Json
/// all see the date itself. The properties after the first date are shadowed too, so CSV columns keep their order.
/// </remarks>
public static class DateText
{
    private static readonly ConcurrentDictionary<Type, PropertyInfo[]> Shadowed = new();
    private static readonly PSCodeMethod ToStringMethod = new("ToString", typeof(DateText).GetMethod(nameof(ToIsoString))!);

    /// <summary>The date as ISO 8601 UTC; with arguments, as <see cref="DateTimeOffset.ToString(string, IFormatProvider)"/> would.</summary>
    /// <param name="instance">The wrapped date.</param>
    /// <param name="arguments">An optional format and format provider, as for the date's own ToString.</param>
    /// <returns>The text.</returns>
    public static string ToIsoString(PSObject instance, params object?[] arguments)
    {
        ArgumentNullException.ThrowIfNull(instance);
        arguments ??= [];
        DateTimeOffset date = instance.BaseObject switch
        {
            DateTimeOffset offset => offset,
            DateTime time => time.Kind == DateTimeKind.Unspecified ? new DateTimeOffset(DateTime.SpecifyKind(time, DateTimeKind.Utc)) : new DateTimeOffset(time),
            _ => throw new ArgumentException("Not a date.", nameof(instance)),
        };
        string? format = arguments.Length > 0 ? Unwrap(arguments[0]) as string : null;
        IFormatProvider? provider = arguments.Select(Unwrap).OfType<IFormatProvider>().FirstOrDefault();
        return arguments.Length == 0
            ? date.UtcDateTime.ToString("o", CultureInfo.InvariantCulture)
            : date.ToString(format, provider ?? CultureInfo.CurrentCulture);
    }

    /// <summary>Shadows the date properties of <paramref name="wrapped"/>'s object (and the properties after them).</summary>
    /// <param name="wrapped">The object about to be written.</param>
    internal static void Apply(PSObject wrapped)
    {
        object value = wrapped.BaseObject;
        PropertyInfo[] shadowed = Shadowed.GetOrAdd(value.GetType(), Plan);
        foreach (PropertyInfo property in shadowed)
        {
            if (wrapped.Properties[property.Name] is PSNoteProperty)
            {
                continue; // written before (an object passed through).
            }

            object? current = property.GetValue(value);
            wrapped.Properties.Add(new PSNoteProperty(property.Name, current is DateTimeOffset or DateTime ? Wrap(current) : current));
        }
    }

    private static PSObject Wrap(object date)
    {
        var shown = new PSObject(date);
        shown.Members.Add(ToStringMethod);
        return shown;
    }

    private static PropertyInfo[] Plan(Type type)
    {
        PropertyInfo[] properties = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(static p => p.CanRead && p.GetIndexParameters().Length == 0 && !p.IsDefined(typeof(HiddenAttribute)))
            .ToArray();
        int first = Array.FindIndex(properties, static p => (Nullable.GetUnderlyingType(p.PropertyType) ?? p.PropertyType) is var t && (t == typeof(DateTimeOffset) || t == typeof(DateTime)));
        return first < 0 ? [] : properties[first..];
    }

    private static object? Unwrap(object? value) => value is PSObject wrapped ? wrapped.BaseObject : value;
}
