using System.Text;
using System.Text.Json;

namespace RegistryCleaner.Registry;

/// <summary>
/// One entry of a registry's error body (<c>{"errors":[{"code":"…","message":"…","detail":…}]}</c>, the distribution
/// spec's error format, which ECR, ACR, GAR and Harbor answer too), kept as data so callers decide by the code.
/// </summary>
/// <param name="Code">The error code, e.g. <c>MANIFEST_UNKNOWN</c>, <c>DENIED</c>, <c>GOOGLE_MANIFEST_DANGLING_TAG</c>; empty when absent.</param>
/// <param name="Message">The registry's message, when it sent one.</param>
/// <param name="Detail">The detail as the registry sent it (a string, or the JSON text of another value), when present.</param>
public sealed record RegistryError(string Code, string? Message, string? Detail)
{
    /// <summary>Tells whether any of <paramref name="errors"/> has <paramref name="code"/> (compared without case).</summary>
    /// <param name="errors">The errors of one answer.</param>
    /// <param name="code">The code.</param>
    /// <returns>Whether the code is there.</returns>
    public static bool Has(IReadOnlyList<RegistryError> errors, string code)
    {
        ArgumentNullException.ThrowIfNull(errors);
        return errors.Any(e => string.Equals(e.Code, code, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>
    /// Reads the error entries of an answer's body, already bounded by the transport; a body that is not the error
    /// format gives none.
    /// </summary>
    internal static async Task<IReadOnlyList<RegistryError>> ReadAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        // Bounded: a blob stream's error body is not read ahead like the others.
        byte[] body = await BoundedContent.ReadPrefixAsync(response.Content, BoundedContent.MaxErrorBytes, cancellationToken).ConfigureAwait(false);
        return Parse(body);
    }

    /// <summary>Parses an error body; anything that is not the error format gives none.</summary>
    internal static IReadOnlyList<RegistryError> Parse(ReadOnlySpan<byte> body)
    {
        if (body.IsEmpty)
        {
            return [];
        }

        try
        {
            using JsonDocument document = JsonDocument.Parse(body.ToArray());
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("errors", out JsonElement errors) || errors.ValueKind != JsonValueKind.Array)
            {
                return [];
            }

            var list = new List<RegistryError>();
            foreach (JsonElement error in errors.EnumerateArray())
            {
                if (error.ValueKind != JsonValueKind.Object)
                {
                    continue;
                }

                list.Add(new RegistryError(Text(error, "code") ?? string.Empty, Text(error, "message"), Text(error, "detail")));
            }

            return list;
        }
        catch (JsonException)
        {
            // A non-JSON error body (a proxy's page) adds nothing useful.
            return [];
        }
    }

    /// <summary>The errors as the messages have always shown them: ": CODE message; CODE message", or empty.</summary>
    internal static string Describe(IReadOnlyList<RegistryError> errors)
    {
        var text = new StringBuilder();
        foreach (RegistryError error in errors)
        {
            text.Append(text.Length == 0 ? ": " : "; ").Append(error.Code).Append(' ').Append(error.Message);
        }

        return text.ToString();
    }

    private static string? Text(JsonElement error, string name) =>
        !error.TryGetProperty(name, out JsonElement value) ? null
        : value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Null or JsonValueKind.Undefined => null,
            _ => value.GetRawText(),
        };
}
