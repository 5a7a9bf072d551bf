using System.Diagnostics.CodeAnalysis;

namespace RegistryCleaner.Registry;

/// <summary>What a tag of the referrers tag schema holds for its subject.</summary>
public enum ReferrerTagKind
{
    /// <summary><c>sha256-&lt;hex&gt;</c>: an image index listing the subject's referrers (OCI distribution 1.1 fallback).</summary>
    ReferrersIndex,

    /// <summary><c>sha256-&lt;hex&gt;.sig</c>: a cosign signature.</summary>
    Signature,

    /// <summary><c>sha256-&lt;hex&gt;.att</c>: a cosign attestation.</summary>
    Attestation,

    /// <summary><c>sha256-&lt;hex&gt;.sbom</c>: a cosign SBOM.</summary>
    Sbom,
}

/// <summary>
/// The referrers tag schema: registries without the referrers API keep what refers to a manifest under tags named
/// after its digest (<c>sha256-&lt;hex&gt;</c> for the referrers index of OCI distribution 1.1, and cosign's
/// <c>.sig</c>, <c>.att</c> and <c>.sbom</c>). Such a tag belongs to that manifest, its subject.
/// </summary>
public static class ReferrerTagSchema
{
    private const string Prefix = "sha256-";
    private const int HexLength = 64;

    /// <summary>Returns the subject digest a tag of the schema belongs to.</summary>
    /// <param name="tag">The tag.</param>
    /// <param name="subject">The subject digest, <c>sha256:&lt;hex&gt;</c>.</param>
    /// <param name="kind">What the tag holds.</param>
    /// <returns>Whether the tag is one of the schema.</returns>
    public static bool TryParse(string? tag, [NotNullWhen(true)] out string? subject, out ReferrerTagKind kind)
    {
        subject = null;
        kind = ReferrerTagKind.ReferrersIndex;
        if (tag is null || tag.Length < Prefix.Length + HexLength || !tag.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        ReadOnlySpan<char> hex = tag.AsSpan(Prefix.Length, HexLength);
        foreach (char c in hex)
        {
            if (c is not ((>= '0' and <= '9') or (>= 'a' and <= 'f')))
            {
                return false;
            }
        }

        ReadOnlySpan<char> suffix = tag.AsSpan(Prefix.Length + HexLength);
        switch (suffix)
        {
            case "":
                kind = ReferrerTagKind.ReferrersIndex;
                break;
            case ".sig":
                kind = ReferrerTagKind.Signature;
                break;
            case ".att":
                kind = ReferrerTagKind.Attestation;
                break;
            case ".sbom":
                kind = ReferrerTagKind.Sbom;
                break;
            default:
                return false;
        }

        subject = "sha256:" + hex.ToString();
        return true;
    }

    /// <summary>Returns whether a tag is one of the schema (a referrer's tag, not an image's).</summary>
    /// <param name="tag">The tag.</param>
    /// <returns><see langword="true"/> for a schema tag.</returns>
    public static bool IsSchemaTag(string? tag) => TryParse(tag, out _, out _);

    /// <summary>Describes what a schema tag holds, for reasons: "signature", "attestation", "SBOM", "referrers index".</summary>
    /// <param name="kind">The kind.</param>
    /// <returns>The words.</returns>
    public static string Describe(ReferrerTagKind kind) => kind switch
    {
        ReferrerTagKind.Signature => "signature",
        ReferrerTagKind.Attestation => "attestation",
        ReferrerTagKind.Sbom => "SBOM",
        _ => "referrers index",
    };
}

/// <summary>One entry of a referrers list (<c>GET /v2/&lt;name&gt;/referrers/&lt;digest&gt;</c>).</summary>
/// <param name="Digest">The referrer's manifest digest.</param>
/// <param name="MediaType">The referrer's manifest media type.</param>
/// <param name="Size">The referrer's manifest size.</param>
/// <param name="ArtifactType">The artifact type the registry reports, when it reports one.</param>
public sealed record ReferrerDescriptor(string Digest, string MediaType, long Size, string? ArtifactType);

/// <summary>
/// A tag's index tree cannot be walked safely: an index that (through its children) contains itself, or nesting
/// deeper than <see cref="MaxIndexDepth"/>. Nothing under such a tag can be judged, so it is an error for that tag and
/// the planner refuses the inventory.
/// </summary>
public sealed class ManifestGraphException : RegistryException
{
    /// <summary>The deepest index nesting accepted: an index of indexes of images is 2; real registries stay below 4.</summary>
    public const int MaxIndexDepth = 8;

    /// <summary>Initializes the exception.</summary>
    /// <param name="registry">The registry.</param>
    /// <param name="message">What is wrong, naming the tag.</param>
    public ManifestGraphException(string registry, string message)
        : base(registry, message, null)
    {
    }

    /// <summary>Initializes the exception.</summary>
    public ManifestGraphException()
    {
    }

    /// <summary>Initializes the exception.</summary>
    /// <param name="message">What is wrong.</param>
    public ManifestGraphException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes the exception.</summary>
    /// <param name="message">What is wrong.</param>
    /// <param name="innerException">The cause.</param>
    public ManifestGraphException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
