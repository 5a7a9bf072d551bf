using System.Net.Http.Headers;

namespace RegistryCleaner.Registry;

/// <summary>What software serves a registry, as far as deleting and reclaiming space differ between them.</summary>
public enum RegistryKind
{
    /// <summary>Self-hosted CNCF distribution (<c>registry:2</c>, Domino's <c>docker-registry</c>): space comes back after its garbage collection.</summary>
    Distribution,

    /// <summary>Harbor: space comes back after Harbor's own garbage collection job.</summary>
    Harbor,

    /// <summary>Amazon ECR: reclaims space itself; refuses to delete a manifest an image index references.</summary>
    Ecr,

    /// <summary>Azure Container Registry: reclaims space itself; refuses locked images and needs the AcrDelete role.</summary>
    Acr,

    /// <summary>Google Artifact Registry: reclaims space itself; refuses a digest delete while tags point at it.</summary>
    Gar,
}

/// <summary>
/// Tells the <see cref="RegistryKind"/> of a registry from what it says (its authentication challenge, its error
/// codes, a known API endpoint) and, only when nothing it said decides, from its host name; and says what the admin
/// must do after a deletion for each kind.
/// </summary>
public static class RegistryKinds
{
    /// <summary>The values <c>registry.kind</c> accepts.</summary>
    public static readonly IReadOnlyList<string> SettingValues = ["auto", "distribution", "harbor", "ecr", "acr", "gar"];

    /// <summary>Parses a <c>registry.kind</c> value.</summary>
    /// <param name="value">The value; <see langword="null"/>, empty or <c>auto</c> mean detect.</param>
    /// <returns>The kind, or <see langword="null"/> to detect it.</returns>
    /// <exception cref="FormatException">The value is not one of <see cref="SettingValues"/>.</exception>
    public static RegistryKind? ParseSetting(string? value)
    {
        string text = (value ?? string.Empty).Trim().ToLowerInvariant();
        return text switch
        {
            "" or "auto" => null,
            "distribution" => RegistryKind.Distribution,
            "harbor" => RegistryKind.Harbor,
            "ecr" => RegistryKind.Ecr,
            "acr" => RegistryKind.Acr,
            "gar" => RegistryKind.Gar,
            _ => throw new FormatException(
                $"registry.kind {RegistryNames.Quote(value ?? string.Empty)} is not one of {string.Join(", ", SettingValues)}."),
        };
    }

    /// <summary>Gets the setting's spelling of a kind (<c>ecr</c>).</summary>
    /// <param name="kind">The kind.</param>
    /// <returns>The lower-case name.</returns>
    public static string SettingName(RegistryKind kind) => kind.ToString().ToLowerInvariant();

    /// <summary>Gets the product name of a kind, for messages.</summary>
    /// <param name="kind">The kind.</param>
    /// <returns>"Amazon ECR" and so on.</returns>
    public static string DisplayName(RegistryKind kind) => kind switch
    {
        RegistryKind.Harbor => "Harbor",
        RegistryKind.Ecr => "Amazon ECR",
        RegistryKind.Acr => "Azure Container Registry",
        RegistryKind.Gar => "Google Artifact Registry",
        _ => "a self-hosted distribution registry",
    };

    /// <summary>Tells whether space comes back only after a garbage collection the admin runs.</summary>
    /// <param name="kind">The kind.</param>
    /// <returns><see langword="true"/> for distribution and Harbor.</returns>
    public static bool NeedsGarbageCollection(RegistryKind kind) => kind is RegistryKind.Distribution or RegistryKind.Harbor;

    /// <summary>The sentence that tells the admin what to do after images were deleted from a registry of this kind.</summary>
    /// <param name="kind">The kind.</param>
    /// <param name="registry">The registry's display name.</param>
    /// <returns>One sentence, ending with a period.</returns>
    public static string NextStep(RegistryKind kind, string registry) => kind switch
    {
        RegistryKind.Harbor =>
            $"Next: run Harbor's own garbage collection (Administration > Clean Up > GC Now, or its scheduled job) to free the space in {registry}; Invoke-RegistryGarbageCollection does not apply to Harbor.",
        RegistryKind.Ecr or RegistryKind.Acr or RegistryKind.Gar =>
            $"Next: nothing to run; {DisplayName(kind)} ({registry}) reclaims the space of deleted images itself, without a garbage collection.",
        _ => $"Next: run the registry's garbage-collect with Invoke-RegistryGarbageCollection to free the space in {registry}.",
    };

    /// <summary>
    /// Decides the kind from what the registry said, then from its host name; <see langword="null"/> when neither tells.
    /// </summary>
    /// <param name="challenge">The registry's last <c>WWW-Authenticate</c> challenge, if any.</param>
    /// <param name="errorCodes">Error codes (and messages) the registry answered with.</param>
    /// <param name="harbor">Whether Harbor's API answered (<c>/api/v2.0/systeminfo</c> with a <c>harbor_version</c>).</param>
    /// <param name="host">The registry host name, the last hint.</param>
    /// <returns>The kind, or <see langword="null"/>.</returns>
    public static RegistryKind? Decide(AuthenticationHeaderValue? challenge, IEnumerable<RegistryError> errorCodes, bool harbor, string host)
    {
        ArgumentNullException.ThrowIfNull(errorCodes);
        if (harbor)
        {
            return RegistryKind.Harbor;
        }

        if (FromChallenge(challenge) is { } byChallenge)
        {
            return byChallenge;
        }

        foreach (RegistryError error in errorCodes)
        {
            if (error.Code.StartsWith("GOOGLE_", StringComparison.OrdinalIgnoreCase))
            {
                return RegistryKind.Gar;
            }

            if (string.Equals(error.Code, DeleteRefusals.EcrReferencedCode, StringComparison.OrdinalIgnoreCase))
            {
                return RegistryKind.Ecr;
            }

            if (DeleteRefusals.IsLock(error))
            {
                return RegistryKind.Acr;
            }
        }

        return FromHost(host);
    }

    /// <summary>The kind a challenge names: ECR's Basic service, ACR's <c>/oauth2/token</c> realm, Google's token realm.</summary>
    internal static RegistryKind? FromChallenge(AuthenticationHeaderValue? challenge)
    {
        string parameter = challenge?.Parameter ?? string.Empty;
        if (parameter.Contains("service=\"ecr.amazonaws.com\"", StringComparison.OrdinalIgnoreCase))
        {
            return RegistryKind.Ecr;
        }

        if (challenge is not null && string.Equals(challenge.Scheme, "Bearer", StringComparison.OrdinalIgnoreCase)
            && BearerChallenge.Parse(parameter, new Uri("https://registry.invalid/")) is { } bearer)
        {
            string path = bearer.Realm.AbsolutePath.TrimEnd('/');
            if (path.EndsWith("/oauth2/token", StringComparison.OrdinalIgnoreCase))
            {
                return RegistryKind.Acr;
            }

            if (path.EndsWith("/service/token", StringComparison.OrdinalIgnoreCase))
            {
                return RegistryKind.Harbor;
            }

            if (IsGoogleHost(bearer.Realm.Host))
            {
                return RegistryKind.Gar;
            }
        }

        return null;
    }

    /// <summary>The last hint: the cloud registries' host names.</summary>
    internal static RegistryKind? FromHost(string host)
    {
        string name = (host ?? string.Empty).ToLowerInvariant();
        int colon = name.LastIndexOf(':');
        if (colon > 0 && !name.Contains(']', StringComparison.Ordinal))
        {
            name = name[..colon];
        }

        if (name.Contains(".dkr.ecr.", StringComparison.Ordinal) && (name.EndsWith(".amazonaws.com", StringComparison.Ordinal) || name.EndsWith(".amazonaws.com.cn", StringComparison.Ordinal)))
        {
            return RegistryKind.Ecr;
        }

        if (name.EndsWith(".azurecr.io", StringComparison.Ordinal) || name.EndsWith(".azurecr.cn", StringComparison.Ordinal) || name.EndsWith(".azurecr.us", StringComparison.Ordinal))
        {
            return RegistryKind.Acr;
        }

        return IsGoogleHost(name) ? RegistryKind.Gar : null;
    }

    private static bool IsGoogleHost(string host) =>
        host.EndsWith("-docker.pkg.dev", StringComparison.OrdinalIgnoreCase) || host.Equals("gcr.io", StringComparison.OrdinalIgnoreCase)
        || host.EndsWith(".gcr.io", StringComparison.OrdinalIgnoreCase);
}
