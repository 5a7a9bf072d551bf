using System.Globalization;
using System.Runtime.CompilerServices;
using RegistryCleaner.Registry;

namespace RegistryCleaner.Planning;

/// <content>
/// Assembly: candidates, kept tags and totals in the plan's stable order.
/// </content>
public static partial class DeletionPlanner
{
    private sealed partial class PlanBuilder
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private DeletionPlan Assemble(HashSet<string> remaining, List<TagState> untaggedTargets)
        {
            List<TagState> all = [.. this.repositories.Values.SelectMany(r => r.Tags).Where(t => t.InScope), .. untaggedTargets];
            all.Sort(CompareTags);

            List<DeletionCandidate> candidates = new(all.Count);
            List<ChildDeletion> childDeletions = [];
            List<string> blobs = [];
            List<ChildDeletion> children = [];
            string reason = this.CandidateReason(targeted: false);
            string requestedReason = this.CandidateReason(targeted: true);
            List<ProtectedImage> kept = [.. this.notFound];
            long total = 0;
            long unverified = 0;

            foreach (TagState tag in all)
            {
                RepositoryState repository = tag.Repository;
                if (tag.Tag is not null && repository.Attached.Count > 0 && repository.Attached.Contains(tag.Digest))
                {
                    // A referrer's tags follow its subject: deleted with it (named on the subject's candidate), or kept.
                    if (!repository.Deleted.Contains(tag.Digest))
                    {
                        kept.Add(new ProtectedImage(repository.Name, tag.Tag, tag.Digest, tag.KeepReason ?? ReferrerKeptReason(repository, tag.Digest)));
                    }

                    continue;
                }

                if (tag.UntagReason is { } untag && tag.IsCandidate)
                {
                    candidates.Add(this.UntagCandidate(tag, untag));
                    continue;
                }

                if (!repository.Deleted.Contains(tag.Digest) || !tag.IsCandidate)
                {
                    string keptReason = tag.KeepReason
                        ?? (repository.Kept.TryGetValue(tag.Digest, out string? parent) && parent is not null
                            ? ReferrerKeptReason(repository, tag.Digest)
                            : "kept");
                    kept.Add(new ProtectedImage(repository.Name, tag.Tag, tag.Digest, keptReason));
                    continue;
                }

                ManifestRecord manifest = repository.Manifests[tag.Digest];
                long bytes = 0;
                blobs.Clear();
                children.Clear();
                DigestGroup? group = tag.Tag is null ? null : repository.TagsByDigest[tag.Digest];
                bool carrier = group is null || !group.Counted;
                if (carrier)
                {
                    if (group is not null)
                    {
                        group.Counted = true;
                    }

                    bytes = CountManifest(manifest, remaining, blobs);
                    bytes = ByteTotal.Add(bytes, CountChildren(repository, manifest, remaining, blobs, children));
                }

                childDeletions.AddRange(children);
                total = ByteTotal.Add(total, bytes);
                if (!this.inventory.IncludesUntaggedManifests)
                {
                    unverified = ByteTotal.Add(unverified, bytes - ManifestBlobBytes(repository, manifest, blobs, children));
                }

                string candidateReason = tag.Targeted ? requestedReason : reason;
                if (tag.OrphanReason is { } orphan)
                {
                    candidateReason += "; " + orphan;
                }

                if (children.Count > 0)
                {
                    candidateReason += DescribeReferrers(children);
                }

                if (carrier)
                {
                    candidateReason += this.DescribeStayingReferrers(repository, tag.Digest, children);
                }

                IReadOnlyList<string> otherTags = repository.TagsByDigest.TryGetValue(tag.Digest, out DigestGroup? same) && same.Count > 1
                    ? [.. same.Where(t => t != tag).Select(t => t.Tag!).Order(StringComparer.Ordinal)]
                    : [];
                candidates.Add(new DeletionCandidate(
                    this.inventory.Registry,
                    repository.Name,
                    tag.Tag,
                    tag.Digest,
                    manifest.MediaType,
                    Size(repository, manifest),
                    bytes,
                    Domino.ObjectId.FromTag(tag.Tag),
                    Created(repository, manifest),
                    candidateReason,
                    otherTags,
                    children.Count == 0 ? [] : children.ToArray())
                {
                    CountedBlobs = blobs.Count == 0 ? [] : blobs.ToArray(),
                    Subject = manifest.Subject ?? tag.SchemaSubject,
                    ArtifactType = manifest.ArtifactType,
                });
            }

            kept.Sort((a, b) => CompareKeys(a.Repository, a.Tag, a.Digest, b.Repository, b.Tag, b.Digest));
            this.sharedManifestTags.Sort((a, b) => CompareKeys(a.Repository, a.Tag, a.Digest, b.Repository, b.Tag, b.Digest));
            return new DeletionPlan(this.inventory.Registry, candidates, childDeletions, kept, total, !this.inventory.Complete)
            {
                IncludesUntaggedManifests = this.inventory.IncludesUntaggedManifests,
                UnverifiedBytes = unverified,
                SharedManifestTags = this.sharedManifestTags,
            };
        }

        private DeletionCandidate UntagCandidate(TagState tag, string untagReason)
        {
            RepositoryState repository = tag.Repository;
            ManifestRecord manifest = repository.Manifests[tag.Digest];
            string reason = (tag.Targeted ? this.CandidateReason(targeted: true) : this.CandidateReason(targeted: false)) + "; " + untagReason;
            return new DeletionCandidate(
                this.inventory.Registry,
                repository.Name,
                tag.Tag,
                tag.Digest,
                manifest.MediaType,
                Size(repository, manifest),
                0,
                Domino.ObjectId.FromTag(tag.Tag),
                Created(repository, manifest),
                reason,
                [],
                [])
            {
                Action = CandidateAction.Untag,
                Subject = manifest.Subject ?? tag.SchemaSubject,
                ArtifactType = manifest.ArtifactType,
            };
        }

        // One text per plan (Created is its own property), so 100,000 candidates share two strings.
        private string CandidateReason(bool targeted)
        {
            string reason = "not used by any workload";
            if (this.options.OlderThan is { } age)
            {
                reason += "; older than " + FormatAge(age) + " (created before " + FormatCutoff(this.cutoff!.Value) + ")";
            }

            if (this.options.KeepLatest > 0)
            {
                reason += string.Create(CultureInfo.InvariantCulture, $"; not among the {this.options.KeepLatest} newest");
            }

            return targeted ? reason + "; requested" : reason;
        }

        private static int CompareTags(TagState a, TagState b) =>
            CompareKeys(a.Repository.Name, a.Tag, a.Digest, b.Repository.Name, b.Tag, b.Digest);

        private static int CompareKeys(string repositoryA, string? tagA, string? digestA, string repositoryB, string? tagB, string? digestB)
        {
            int c = string.CompareOrdinal(repositoryA, repositoryB);
            if (c != 0)
            {
                return c;
            }

            // Untagged entries sort after tags.
            c = (tagA is null).CompareTo(tagB is null);
            if (c != 0)
            {
                return c;
            }

            c = string.CompareOrdinal(tagA, tagB);
            return c != 0 ? c : string.CompareOrdinal(digestA, digestB);
        }

        private static long Size(RepositoryState repository, ManifestRecord manifest)
        {
            // Each distinct blob once, as Get-RegistryImage counts it: a layer listed twice is stored once.
            Dictionary<string, long> distinct = new(StringComparer.Ordinal);
            foreach (ManifestRecord image in manifest.IsIndex ? Leaves(repository, manifest) : [manifest])
            {
                if (image.Config is { } config)
                {
                    distinct.TryAdd(config.Digest, config.Size);
                }

                foreach (BlobDescriptor layer in image.Layers)
                {
                    distinct.TryAdd(layer.Digest, layer.Size);
                }
            }

            return ByteTotal.Sum(distinct.Values);
        }
    }
}
