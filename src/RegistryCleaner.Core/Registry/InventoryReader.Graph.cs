namespace RegistryCleaner.Registry;

/// <summary>The index trees, referrers and untagged subjects an <see cref="InventoryReader"/> reads.</summary>
public sealed partial class InventoryReader
{
    /// <summary>
    /// Reads every manifest under an index at any depth, each once, parents first. An index that contains itself, or
    /// nesting deeper than <see cref="ManifestGraphException.MaxIndexDepth"/>, is an error for the tag.
    /// </summary>
    private async Task<IReadOnlyList<ManifestRecord>> DescendantsAsync(string repository, string tag, ManifestRecord index, CancellationToken cancellationToken)
    {
        var found = new List<ManifestRecord>();
        var heights = new Dictionary<string, int>(StringComparer.Ordinal);
        var path = new HashSet<string>(StringComparer.Ordinal) { index.Digest };
        await this.WalkAsync(repository, tag, index, 1, path, heights, found, cancellationToken).ConfigureAwait(false);
        return found;
    }

    // Returns how many index levels the walked index spans (1 for an index of images).
    private async Task<int> WalkAsync(
        string repository, string tag, ManifestRecord index, int depth, HashSet<string> path, Dictionary<string, int> heights, List<ManifestRecord> found, CancellationToken cancellationToken)
    {
        int limit = ManifestGraphException.MaxIndexDepth;
        if (depth > limit)
        {
            throw new ManifestGraphException(this.client.Endpoint.DisplayName, $"{repository}:{tag}: its indexes nest deeper than {limit} levels (at {index.Digest}), so nothing under it can be judged.");
        }

        var pending = new Task<ManifestRecord>[index.Children.Count];
        for (int i = 0; i < pending.Length; i++)
        {
            pending[i] = this.manifests.GetOrAdd(
                (repository, index.Children[i].Digest),
                static (key, state) => state.Reader.FetchManifestAsync(key.Repository, key.Digest, state.Token),
                (Reader: this, Token: cancellationToken));
        }

        ManifestRecord[] children = await Task.WhenAll(pending).ConfigureAwait(false);
        int tallest = 0;
        foreach (ManifestRecord child in children)
        {
            if (path.Contains(child.Digest))
            {
                throw new ManifestGraphException(this.client.Endpoint.DisplayName, $"{repository}:{tag}: index {index.Digest} contains {child.Digest}, which contains it again (a cycle), so nothing under it can be judged.");
            }

            if (heights.TryGetValue(child.Digest, out int height))
            {
                // Reached again by another path: only its depth on this path needs checking.
                if (depth + height > limit)
                {
                    throw new ManifestGraphException(this.client.Endpoint.DisplayName, $"{repository}:{tag}: its indexes nest deeper than {limit} levels (at {child.Digest}), so nothing under it can be judged.");
                }
            }
            else
            {
                found.Add(child);
                height = 0;
                if (child.Children.Count > 0)
                {
                    path.Add(child.Digest);
                    height = await this.WalkAsync(repository, tag, child, depth + 1, path, heights, found, cancellationToken).ConfigureAwait(false);
                    path.Remove(child.Digest);
                }

                heights[child.Digest] = height;
            }

            tallest = Math.Max(tallest, height);
        }

        return tallest + 1;
    }

    /// <summary>
    /// Reads the referrers of each manifest from the referrers API, with their own index trees and referrers (a
    /// signature of an SBOM), each subject listed once per read.
    /// </summary>
    private async Task ReadReferrersAsync(string repository, string tag, IReadOnlyList<ManifestRecord> subjects, int depth, CancellationToken cancellationToken)
    {
        var next = new List<ManifestRecord>();
        foreach (ManifestRecord subject in subjects)
        {
            if (!this.referrersListed.TryAdd((repository, subject.Digest), 0))
            {
                continue;
            }

            IReadOnlyList<ReferrerDescriptor>? listed = await this.client.GetReferrersAsync(repository, subject.Digest, cancellationToken).ConfigureAwait(false);
            if (listed is null || listed.Count == 0)
            {
                continue;
            }

            if (depth > ManifestGraphException.MaxIndexDepth)
            {
                throw new ManifestGraphException(this.client.Endpoint.DisplayName, $"{repository}:{tag}: referrers refer to referrers deeper than {ManifestGraphException.MaxIndexDepth} levels (at {subject.Digest}), so nothing under it can be judged.");
            }

            foreach (ReferrerDescriptor referrer in listed.DistinctBy(r => r.Digest))
            {
                ManifestRecord manifest = await this.manifests.GetOrAdd(
                    (repository, referrer.Digest),
                    static (key, state) => state.Reader.FetchManifestAsync(key.Repository, key.Digest, state.Token),
                    (Reader: this, Token: cancellationToken)).ConfigureAwait(false);
                next.Add(manifest);
                if (manifest.Children.Count > 0)
                {
                    next.AddRange(await this.DescendantsAsync(repository, tag, manifest, cancellationToken).ConfigureAwait(false));
                }
            }
        }

        if (next.Count > 0)
        {
            await this.ReadReferrersAsync(repository, tag, next, depth + 1, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Reads the subjects that referrer tags (<c>sha256-&lt;hex&gt;.sig</c> and the like) and <c>subject</c> fields name
    /// when no tag reached them: an untagged subject still exists and keeps its referrers; one that is gone (404)
    /// leaves them without a subject.
    /// </summary>
    private async Task ReadUntaggedSubjectsAsync(int concurrency, CancellationToken cancellationToken)
    {
        var wanted = new HashSet<(string Repository, string Digest)>();
        foreach (TagRecord tag in this.tags)
        {
            if (ReferrerTagSchema.TryParse(tag.Tag, out string? subject, out _))
            {
                wanted.Add((tag.Repository, subject));
            }
        }

        foreach (Task<ManifestRecord> task in this.manifests.Values)
        {
            if (task.IsCompletedSuccessfully && task.Result.Subject is { } subject)
            {
                wanted.Add((task.Result.Repository, subject));
            }
        }

        wanted.RemoveWhere(this.manifests.ContainsKey);
        await Parallel.ForEachAsync(
            wanted,
            new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = cancellationToken },
            async (key, token) =>
            {
                try
                {
                    ManifestRecord subject = await this.manifests.GetOrAdd(
                        key,
                        static (k, state) => state.Reader.FetchManifestAsync(k.Repository, k.Digest, state.Token),
                        (Reader: this, Token: token)).ConfigureAwait(false);
                    IReadOnlyList<ManifestRecord> children = subject.Children.Count == 0
                        ? NoChildren
                        : await this.DescendantsAsync(key.Repository, key.Digest, subject, token).ConfigureAwait(false);
                    if (this.referrersApi)
                    {
                        await this.ReadReferrersAsync(key.Repository, key.Digest, [subject, .. children], 1, token).ConfigureAwait(false);
                    }
                }
                catch (RegistryException ex) when (ex.StatusCode == System.Net.HttpStatusCode.NotFound && ex is not RepositoryNotFoundException)
                {
                    // The subject is gone: its referrers have none.
                    this.manifests.TryRemove(key, out _);
                }
                catch (RegistryException ex) when (ex is not (RegistryAuthenticationException or RegistryUnreachableException or RegistryCertificateException))
                {
                    if (ex is ManifestGraphException)
                    {
                        this.graphErrors.Enqueue(ex.Message);
                    }

                    this.errors.Enqueue(new TagReadResult(
                        key.Repository,
                        key.Digest,
                        null,
                        NoChildren,
                        new RegistryException(ex.Registry, $"{key.Repository}@{key.Digest} (the subject of a referrer): {ex.Message}", ex.StatusCode, ex)));
                }
            }).ConfigureAwait(false);
    }
}
