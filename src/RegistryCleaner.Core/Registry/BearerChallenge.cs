using System.Text;

namespace RegistryCleaner.Registry;

/// <summary>A registry's <c>WWW-Authenticate: Bearer</c> challenge: where to ask for a token, for which service and scope.</summary>
internal sealed record BearerChallenge(Uri Realm, string? Service, string? Scope)
{
    // realm="…",service="…",scope="…" with quoted values that may contain commas.
    public static BearerChallenge? Parse(string? parameter, Uri baseUri)
    {
        if (string.IsNullOrEmpty(parameter))
        {
            return null;
        }

        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        int i = 0;
        while (i < parameter.Length)
        {
            while (i < parameter.Length && (parameter[i] == ',' || char.IsWhiteSpace(parameter[i])))
            {
                i++;
            }

            int equals = parameter.IndexOf('=', i);
            if (equals < 0)
            {
                break;
            }

            string key = parameter[i..equals].Trim();
            i = equals + 1;
            string value;
            if (i < parameter.Length && parameter[i] == '"')
            {
                var text = new StringBuilder();
                i++;
                while (i < parameter.Length && parameter[i] != '"')
                {
                    if (parameter[i] == '\\' && i + 1 < parameter.Length)
                    {
                        i++;
                    }

                    text.Append(parameter[i]);
                    i++;
                }

                i++;
                value = text.ToString();
            }
            else
            {
                int comma = parameter.IndexOf(',', i);
                int end = comma < 0 ? parameter.Length : comma;
                value = parameter[i..end].Trim();
                i = end;
            }

            values[key] = value;
        }

        return values.TryGetValue("realm", out string? realm) && Uri.TryCreate(baseUri, realm, out Uri? realmUri)
            ? new BearerChallenge(realmUri, values.GetValueOrDefault("service"), values.GetValueOrDefault("scope"))
            : null;
    }
}
