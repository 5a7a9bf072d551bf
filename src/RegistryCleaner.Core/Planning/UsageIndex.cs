using RegistryCleaner.Workloads;

namespace RegistryCleaner.Planning;

/// <summary>
/// The usage snapshot indexed for matching registry images: by repository path and tag (host-agnostic unless strict)
/// and by digest (content-addressed, so any host and any repository).
/// </summary>
internal sealed class UsageIndex
{
    private static readonly string[] DockerHubHosts = ["docker.io", "index.docker.io", "registry-1.docker.io"];

    private readonly Dictionary<string, Dictionary<string, string>> byRepositoryTag = new(StringComparer.OrdinalIgnoreCase);
    // Keys are lower case (registry digests always are), so lookups can hash ordinally.
    private readonly Dictionary<string, string> byDigest = new(StringComparer.Ordinal);

    public UsageIndex(UsageSnapshot usage, bool strictHost, IEnumerable<string> registryHosts)
    {
        HashSet<string> hosts = new(registryHosts.Select(NormalizeHost), StringComparer.OrdinalIgnoreCase);
        foreach (ImageUsage image in usage.Images)
        {
            ImageReference reference = image.Reference;
            string who = DescribeUsers(image.UsedBy);

            // Digests are content addresses: the same digest is the same image whatever host served it, and a pod that
            // runs it can be rescheduled onto this registry's copy, so digests protect even with strict host matching.
            if (reference.Digest is { } pinned)
            {
                this.AddDigest(pinned, $"in use by {who} ({reference.Original})");
            }

            foreach (string digest in image.Digests)
            {
                this.AddDigest(digest, $"running in {who} ({reference.Original})");
            }

            if (reference.Tag is null || (strictHost && !hosts.Contains(NormalizeHost(reference.Registry))))
            {
                continue;
            }

            string reason = $"in use by {who} ({reference.Original})";
            this.AddTag(reference.Repository, reference.Tag, reason);

            // "nginx" normalises to docker.io/library/nginx; a private registry may hold it as plain "nginx".
            if (DockerHubHosts.Contains(NormalizeHost(reference.Registry))
                && reference.Repository.StartsWith("library/", StringComparison.OrdinalIgnoreCase))
            {
                this.AddTag(reference.Repository["library/".Length..], reference.Tag, reason);
            }
        }

        foreach (string digest in usage.RunningDigests)
        {
            this.AddDigest(digest, "is running (a container status names it)");
        }
    }

    /// <summary>Returns why a tag is in use, or <see langword="null"/>.</summary>
    public string? TagUse(string repository, string tag) =>
        this.byRepositoryTag.TryGetValue(repository, out Dictionary<string, string>? tags)
        && tags.TryGetValue(tag, out string? reason) ? reason : null;

    /// <summary>Returns why a manifest digest is in use (in any repository), or <see langword="null"/>.</summary>
    public string? DigestUse(string digest) =>
        this.byDigest.Count == 0 ? null : this.byDigest.GetValueOrDefault(digest);

    /// <summary>Normalises a host as users and workloads write it: no scheme, no path, lower case, Docker Hub aliases folded.</summary>
    internal static string NormalizeHost(string host)
    {
        string text = host.Trim();
        int scheme = text.IndexOf("://", StringComparison.Ordinal);
        if (scheme >= 0)
        {
            text = text[(scheme + 3)..];
        }

        int slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            text = text[..slash];
        }

        text = text.ToLowerInvariant();
        return DockerHubHosts.Contains(text) ? "docker.io" : text;
    }

    // Container statuses write imageID as "docker-pullable://host/repo@sha256:…" or "sha256:…".
    private static string NormalizeDigest(string digest)
    {
        int at = digest.LastIndexOf('@');
        return (at >= 0 ? digest[(at + 1)..] : digest).Trim().ToLowerInvariant();
    }

    private static string DescribeUsers(IReadOnlyList<string> usedBy) => usedBy.Count switch
    {
        0 => "a workload",
        <= 3 => string.Join(", ", usedBy),
        _ => $"{string.Join(", ", usedBy.Take(3))} and {usedBy.Count - 3} more",
    };

    private void AddDigest(string digest, string reason)
    {
        string normalized = NormalizeDigest(digest);
        if (normalized.Length > 0)
        {
            this.byDigest.TryAdd(normalized, reason);
        }
    }

    private void AddTag(string repository, string tag, string reason)
    {
        if (!this.byRepositoryTag.TryGetValue(repository, out Dictionary<string, string>? tags))
        {
            tags = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            this.byRepositoryTag.Add(repository, tags);
        }

        tags.TryAdd(tag, reason);
    }
}
