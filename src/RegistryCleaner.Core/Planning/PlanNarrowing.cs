using RegistryCleaner.Registry;

namespace RegistryCleaner.Planning;

/// <summary>
/// Turns a typed <c>-Tag</c>/<c>-Digest</c> narrowing into the exact images it names in the repositories in scope, so
/// the planner treats them as named images: only they can be candidates, and every protection still applies. Pure.
/// </summary>
public static class PlanNarrowing
{
    /// <summary>Expands the narrowing over the inventory.</summary>
    /// <param name="inventory">The registry inventory.</param>
    /// <param name="repositories">The repositories in scope (exact names).</param>
    /// <param name="tagPatterns">
    /// Tag wildcards (<c>*</c>, <c>?</c>, case-insensitive); a tag is named when it matches one. Empty names every tag of
    /// the digests given.
    /// </param>
    /// <param name="digests">Manifest digests; when not empty, only tags pointing at one (or, without tag patterns, the manifests themselves).</param>
    /// <returns>The named images, and the exact tags and digests that name nothing in scope.</returns>
    public static NarrowedTargets Expand(RegistryInventory inventory, IReadOnlyCollection<string> repositories, IReadOnlyList<string> tagPatterns, IReadOnlyList<string> digests)
    {
        ArgumentNullException.ThrowIfNull(inventory);
        ArgumentNullException.ThrowIfNull(repositories);
        ArgumentNullException.ThrowIfNull(tagPatterns);
        ArgumentNullException.ThrowIfNull(digests);
        var scope = new HashSet<string>(repositories, StringComparer.Ordinal);
        var wanted = new HashSet<string>(digests.Select(d => d.Trim().ToLowerInvariant()), StringComparer.Ordinal);
        TagPattern[] patterns = [.. tagPatterns.Select(p => new TagPattern(p))];
        var matchedPatterns = new HashSet<string>(StringComparer.Ordinal);
        var matchedDigests = new HashSet<string>(StringComparer.Ordinal);
        var targets = new List<PlanTarget>();

        if (patterns.Length > 0)
        {
            foreach (TagRecord tag in inventory.Tags)
            {
                if (!scope.Contains(tag.Repository) || (wanted.Count > 0 && !wanted.Contains(tag.Digest.ToLowerInvariant())))
                {
                    continue;
                }

                bool named = false;
                foreach (TagPattern pattern in patterns)
                {
                    if (pattern.IsMatch(tag.Tag))
                    {
                        matchedPatterns.Add(pattern.Pattern);
                        named = true;
                    }
                }

                if (named)
                {
                    matchedDigests.Add(tag.Digest.ToLowerInvariant());
                    targets.Add(new PlanTarget(tag.Repository, tag.Tag, wanted.Count > 0 ? tag.Digest : null));
                }
            }
        }
        else
        {
            // A digest alone names its manifest in each repository that holds it: one DELETE removes every tag on it.
            foreach (ManifestRecord manifest in inventory.Manifests)
            {
                string digest = manifest.Digest.ToLowerInvariant();
                if (scope.Contains(manifest.Repository) && wanted.Contains(digest))
                {
                    matchedDigests.Add(digest);
                    targets.Add(new PlanTarget(manifest.Repository, null, manifest.Digest));
                }
            }
        }

        return new NarrowedTargets(
            targets.Distinct().ToArray(),
            [.. tagPatterns.Where(p => !IsWildcard(p) && !matchedPatterns.Contains(p)).Distinct(StringComparer.Ordinal)],
            [.. digests.Where(d => !matchedDigests.Contains(d.Trim().ToLowerInvariant())).Distinct(StringComparer.OrdinalIgnoreCase)]);
    }

    /// <summary>Returns whether a tag pattern holds a wildcard (<c>*</c> or <c>?</c>).</summary>
    /// <param name="pattern">The pattern.</param>
    /// <returns><see langword="true"/> for a wildcard.</returns>
    public static bool IsWildcard(string pattern) => pattern.AsSpan().IndexOfAny('*', '?') >= 0;
}

/// <summary>The images a narrowing names.</summary>
/// <param name="Targets">The named images (repository and tag, or repository and digest).</param>
/// <param name="UnmatchedTags">Exact tags (no wildcard) that no repository in scope has.</param>
/// <param name="UnmatchedDigests">Digests that no repository in scope holds (or no named tag points at).</param>
public sealed record NarrowedTargets(IReadOnlyList<PlanTarget> Targets, IReadOnlyList<string> UnmatchedTags, IReadOnlyList<string> UnmatchedDigests);
