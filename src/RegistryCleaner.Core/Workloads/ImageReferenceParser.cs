using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;
using RegistryCleaner.Registry;

namespace RegistryCleaner.Workloads;

/// <summary>
/// Parses image references by the Docker reference grammar (<c>[host[:port]/]path[:tag][@digest]</c>) and the
/// <c>imageID</c> forms that container runtimes report in pod statuses.
/// </summary>
/// <remarks>
/// The first path component is a host when it contains <c>.</c> or <c>:</c>, is <c>localhost</c>, or is a bracketed
/// IPv6 address; otherwise the registry is <c>docker.io</c>, where single-component names gain <c>library/</c>.
/// <c>index.docker.io</c> normalises to <c>docker.io</c> and hosts to lower case (host names are case-insensitive), so
/// one registry written two ways compares equal. Repository paths must be lower case, as registries require.
/// </remarks>
public static partial class ImageReferenceParser
{
    /// <summary>The registry that names without a host refer to.</summary>
    public const string DockerHub = "docker.io";

    private const string DefaultTag = "latest";
    private const int MaxNameLength = 255;

    /// <summary>Parses an image reference as a workload writes it.</summary>
    /// <param name="reference">The reference, e.g. <c>docker-registry:5000/dominodatalab/environment:659c7bce85f6381e675bb205-12</c>.</param>
    /// <returns>The normalised reference; <see cref="ImageReference.Original"/> keeps the text as written.</returns>
    /// <exception cref="FormatException">The value is not a valid reference; the message names it and says why.</exception>
    public static ImageReference Parse(string reference)
    {
        ArgumentNullException.ThrowIfNull(reference);
        return TryParseCore(reference, out ImageReference? result, out string? error)
            ? result
            : throw new FormatException($"'{reference}' is not a valid image reference: {error}.");
    }

    /// <summary>Parses an image reference, reporting failure instead of throwing.</summary>
    /// <param name="reference">The reference as written.</param>
    /// <param name="result">The normalised reference when the value is valid.</param>
    /// <returns><see langword="true"/> when the value is a valid reference.</returns>
    public static bool TryParse(string? reference, [NotNullWhen(true)] out ImageReference? result)
    {
        if (reference is null)
        {
            result = null;
            return false;
        }

        return TryParseCore(reference, out result, out _);
    }

    /// <summary>
    /// Parses a container status <c>imageID</c>: <c>docker-pullable://host/repo@sha256:…</c>, <c>host/repo@sha256:…</c>
    /// or a bare <c>sha256:…</c> (also with a <c>docker://</c> prefix).
    /// </summary>
    /// <param name="imageId">The value of <c>status.containerStatuses[].imageID</c>.</param>
    /// <returns>The digest, with registry and repository when the value names them.</returns>
    /// <exception cref="FormatException">The value holds no valid digest.</exception>
    public static RunningImage ParseImageId(string imageId)
    {
        ArgumentNullException.ThrowIfNull(imageId);
        return TryParseImageId(imageId, out RunningImage? result)
            ? result
            : throw new FormatException($"'{imageId}' is not a container image ID: expected [scheme://][host/repository@]algorithm:hex.");
    }

    /// <summary>Parses a container status <c>imageID</c>, reporting failure instead of throwing.</summary>
    /// <param name="imageId">The value of <c>imageID</c>; empty for containers not started yet.</param>
    /// <param name="result">The digest, with registry and repository when the value names a valid reference.</param>
    /// <returns><see langword="true"/> when a digest could be read.</returns>
    public static bool TryParseImageId(string? imageId, [NotNullWhen(true)] out RunningImage? result)
    {
        result = null;
        if (string.IsNullOrEmpty(imageId))
        {
            return false;
        }

        string value = imageId;
        int scheme = value.IndexOf("://", StringComparison.Ordinal);
        if (scheme >= 0)
        {
            value = value[(scheme + 3)..];
        }

        int at = value.LastIndexOf('@');
        if (at < 0)
        {
            if (ValidateDigest(value) is not null)
            {
                return false;
            }

            result = new RunningImage(null, null, value);
            return true;
        }

        string digest = value[(at + 1)..];
        if (ValidateDigest(digest) is not null)
        {
            return false;
        }

        // A digest with an unreadable name still runs: keep it, without a repository, so it protects everywhere.
        result = TryParseCore(value, out ImageReference? reference, out _)
            ? new RunningImage(reference.Registry, reference.Repository, digest)
            : new RunningImage(null, null, digest);
        return true;
    }

    /// <summary>
    /// Returns whether the first component of a name is a registry host by the distribution rule: it contains
    /// <c>.</c> or <c>:</c>, is <c>localhost</c>, or is a bracketed IPv6 address.
    /// </summary>
    /// <param name="component">The name's first path component, e.g. <c>docker-registry:5000</c>.</param>
    /// <returns><see langword="true"/> when it names a registry host.</returns>
    public static bool IsRegistryHost(string component)
    {
        ArgumentNullException.ThrowIfNull(component);
        return component.Contains('.', StringComparison.Ordinal) || component.Contains(':', StringComparison.Ordinal)
            || component == "localhost" || component.StartsWith('[');
    }

    /// <summary>
    /// Returns a repository name without its registry host: the first component when <see cref="IsRegistryHost"/> says
    /// it is a host, or when it is one of <paramref name="hostNames"/> (host names without a port or dot, such as a
    /// Kubernetes service) and at least two components follow it.
    /// </summary>
    /// <param name="name">The name, e.g. <c>docker-registry:5000/dominodatalab/environment</c>.</param>
    /// <param name="hostNames">Further first components that name the registry, compared ordinally.</param>
    /// <returns>The repository path, e.g. <c>dominodatalab/environment</c>; the name itself when it has no host.</returns>
    public static string WithoutRegistryHost(string name, IReadOnlyCollection<string>? hostNames = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        int slash = name.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0)
        {
            return name;
        }

        string first = name[..slash];
        string rest = name[(slash + 1)..];
        bool named = hostNames is not null && hostNames.Contains(first, StringComparer.Ordinal) && rest.Contains('/', StringComparison.Ordinal);
        return IsRegistryHost(first) || named ? rest : name;
    }

    private static bool TryParseCore(string reference, [NotNullWhen(true)] out ImageReference? result, [NotNullWhen(false)] out string? error)
    {
        result = null;
        if (reference.Length == 0)
        {
            error = "it is empty";
            return false;
        }

        string name = reference;
        string? digest = null;
        int at = reference.IndexOf('@');
        if (at >= 0)
        {
            digest = reference[(at + 1)..];
            name = reference[..at];
            error = ValidateDigest(digest);
            if (error is not null)
            {
                return false;
            }
        }

        string? tag = null;
        int lastSlash = name.LastIndexOf('/');
        int colon = name.IndexOf(':', lastSlash + 1);
        if (colon >= 0 && !(lastSlash < 0 && name.StartsWith('[')))
        {
            tag = name[(colon + 1)..];
            name = name[..colon];
            error = RegistryNames.TagError(tag);
            if (error is not null)
            {
                return false;
            }
        }

        if (name.Length == 0)
        {
            error = "it names no repository";
            return false;
        }

        if (name.Length > MaxNameLength)
        {
            error = $"the name is longer than {MaxNameLength} characters";
            return false;
        }

        string registry = DockerHub;
        string path = name;
        int firstSlash = name.IndexOf('/');
        if (firstSlash > 0)
        {
            string first = name[..firstSlash];
            if (IsRegistryHost(first))
            {
                if (!HostPattern().IsMatch(first))
                {
                    error = $"the registry host '{first}' is not a host name, IPv4 or [IPv6] address with an optional numeric port";
                    return false;
                }

                registry = first.ToLowerInvariant();
                path = name[(firstSlash + 1)..];
            }
        }

        if (registry == "index.docker.io")
        {
            registry = DockerHub;
        }

        foreach (string component in path.Split('/'))
        {
            if (PathComponentPattern().IsMatch(component))
            {
                continue;
            }

            error = component.Any(char.IsUpper) && PathComponentPattern().IsMatch(component.ToLowerInvariant())
                ? $"the repository '{path}' must be lower case"
                : $"the repository path component '{component}' must be lower-case letters and digits separated by '.', '_', '__' or '-'";
            return false;
        }

        if (registry == DockerHub && !path.Contains('/', StringComparison.Ordinal))
        {
            path = "library/" + path;
        }

        if (tag is null && digest is null)
        {
            tag = DefaultTag;
        }

        result = new ImageReference(reference, registry, path, tag, digest);
        error = null;
        return true;
    }

    /// <returns>Why the digest is invalid, or <see langword="null"/> when it is valid.</returns>
    private static string? ValidateDigest(string digest) => RegistryNames.DigestError(digest);

    // One grammar for names: the registry client, the planner's inputs and workload references share it.
    private static Regex PathComponentPattern() => RegistryNames.PathComponent();

    [GeneratedRegex(@"^(?:(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])(?:\.(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9]))*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?\z", RegexOptions.CultureInvariant)]
    private static partial Regex HostPattern();
}

/// <summary>The image a container actually runs, read from its status <c>imageID</c>.</summary>
/// <param name="Registry">The registry host the runtime pulled from, when the ID names one.</param>
/// <param name="Repository">The repository path, when the ID names one.</param>
/// <param name="Digest">The manifest digest, e.g. <c>sha256:…</c>.</param>
public sealed record RunningImage(string? Registry, string? Repository, string Digest);
