using System.Globalization;
using RegistryCleaner.Registry;

namespace RegistryCleaner.Planning;

/// <content>
/// Referrers: a referrer follows its subject and stays by itself only through its own use; a digest that keeps
/// some of its tags is untagged where the registry deletes tags alone; and the reasons that name what stays and goes.
/// </content>
public static partial class DeletionPlanner
{
    private sealed partial class PlanBuilder
    {
        private readonly List<ProtectedImage> sharedManifestTags = [];
        private Dictionary<string, string>? repositoryOfDigest;

        /// <summary>
        /// A schema tag whose subject is in the repository follows it: never a candidate of its own, kept only by a
        /// workload that names it. One whose subject is gone is an ordinary tag, unless the subject is in use or still
        /// in another repository (cosign can keep signatures elsewhere), which keep it. An ordinary tag on a referrer
        /// (an SBOM tagged <c>sbom-latest</c>) keeps it only when a workload uses it or -Exclude names it: narrowing
        /// (piped targets, -Include, -ObjectId, -OlderThan, -KeepLatest) picks subjects, and a referrer follows its
        /// subject, so it never stays behind because its own tag was not picked.
        /// </summary>
        private void ApplyReferrerRules(HashSet<string> scope)
        {
            foreach (RepositoryState repository in this.repositories.Values)
            {
                foreach (TagState tag in repository.Tags)
                {
                    if (tag.AttachedTo is null && repository.Attached.Count > 0 && repository.Attached.Contains(tag.Digest))
                    {
                        tag.KeepReason = this.UsageReason(tag)
                            ?? (Array.Find(this.exclude, p => p.IsMatch(tag.Tag!)) is { } excluded ? $"excluded by -Exclude '{excluded.Pattern}'" : null);
                        continue;
                    }

                    if (tag.SchemaSubject is not { } subject)
                    {
                        continue;
                    }

                    string what = ReferrerTagSchema.Describe(tag.SchemaKind);
                    if (tag.AttachedTo is not null)
                    {
                        // Rule 1 holds whether or not the tag was piped or is in scope.
                        tag.InScope = scope.Contains(repository.Name) && (this.options.Targets is null || tag.Targeted);
                        tag.KeepReason = this.UsageReason(tag);
                        continue;
                    }

                    if (!tag.InScope || tag.KeepReason is not null)
                    {
                        continue;
                    }

                    if (this.usage.DigestUse(subject) is { } use)
                    {
                        tag.KeepReason = $"{what} of {subject}, which {use}";
                    }
                    else if (this.RepositoryOf(subject, repository.Name) is { } other)
                    {
                        tag.KeepReason = $"{what} of {subject}, which is in repository {other}; kept while the registry holds it";
                    }
                    else
                    {
                        tag.OrphanReason = $"{what} of {subject}, which is not in the registry";
                    }
                }
            }
        }

        private string? UsageReason(TagState tag)
        {
            if (tag.Tag is not null && this.usage.TagUse(tag.Repository.Name, tag.Tag) is { } tagUse)
            {
                return tagUse;
            }

            return this.usage.DigestUse(tag.Digest) is { } digestUse ? $"digest {tag.Digest} {digestUse}" : null;
        }

        private string? RepositoryOf(string digest, string except)
        {
            if (this.repositoryOfDigest is null)
            {
                this.repositoryOfDigest = new(StringComparer.Ordinal);
                foreach (RepositoryState repository in this.repositories.Values)
                {
                    foreach (string manifest in repository.Manifests.Keys)
                    {
                        this.repositoryOfDigest.TryAdd(manifest, repository.Name);
                    }
                }
            }

            if (!this.repositoryOfDigest.TryGetValue(digest, out string? first))
            {
                return null;
            }

            return first != except ? first : this.repositories.Values.FirstOrDefault(r => r.Name != except && r.Manifests.ContainsKey(digest))?.Name;
        }

        /// <summary>
        /// Whether a manifest stays by itself, before index children and referrers are followed: in use by digest; a
        /// tagged manifest not deleted; an untagged manifest nothing references (garbage collection without
        /// --delete-untagged keeps it). A referrer stays by itself only through a tag of its own that a workload uses
        /// or -Exclude names (<see cref="ApplyReferrerRules"/>); otherwise it follows its subject.
        /// </summary>
        private bool IsKeepRoot(RepositoryState repository, string digest, HashSet<string> hasParent)
        {
            if (repository.Roots.Contains(digest))
            {
                return false;
            }

            if (this.usage.DigestUse(digest) is not null)
            {
                return true;
            }

            bool tagged = repository.TagsByDigest.TryGetValue(digest, out DigestGroup? tags);
            if (repository.Attached.Contains(digest))
            {
                return tagged && tags!.Exists(static t => t.KeepReason is not null);
            }

            return tagged || !hasParent.Contains(digest);
        }

        /// <summary>Rule 2 where the registry deletes tags alone: the candidate tag is untagged, the manifest stays.</summary>
        private void UntagOrKeep(TagState tag, TagState kept, string why)
        {
            string shared = $"the same manifest is also tagged '{kept.Tag}', which is kept ({why})";
            if (this.options.TagDeletionSupported)
            {
                tag.UntagReason = $"{shared}: only this tag is deleted (the registry deletes tags alone), the manifest stays, so no bytes are freed";
                this.sharedManifestTags.Add(new ProtectedImage(tag.Repository.Name, tag.Tag, tag.Digest, tag.UntagReason));
            }
            else
            {
                tag.KeepReason = $"{shared}; deleting by digest would remove that tag too";
                this.sharedManifestTags.Add(new ProtectedImage(tag.Repository.Name, tag.Tag, tag.Digest, tag.KeepReason));
            }
        }

        private static string ReferrerKeptReason(RepositoryState repository, string digest)
        {
            if (!repository.Kept.TryGetValue(digest, out string? parent) || parent is null)
            {
                return "kept";
            }

            if (!repository.KeptAsReferrer.Contains(digest))
            {
                return KeptChildReason(repository, digest);
            }

            string subject = repository.TagsByDigest.TryGetValue(parent, out DigestGroup? subjectTags) && subjectTags.Exists(static t => t.AttachedTo is null)
                ? $"{parent} ('{subjectTags.Where(static t => t.AttachedTo is null).Select(static t => t.Tag).Min(StringComparer.Ordinal)}')"
                : parent;
            string what = repository.Manifests[digest].ArtifactType is { } type ? $"referrer ({type})" : "referrer";
            return $"{what} of the kept manifest {subject}; it stays while its subject stays";
        }

        /// <summary>Names what a deleted candidate takes with it, for its Reason: signature tags and other referrers.</summary>
        private static string DescribeReferrers(IReadOnlyList<ChildDeletion> children)
        {
            List<string> names = [];
            int untagged = 0;
            foreach (ChildDeletion child in children)
            {
                // A tagged manifest deleted as a child is a referrer listed in a deleted referrers index: its tags go too.
                if (child.Tags.Count > 0)
                {
                    names.AddRange(child.Tags);
                }
                else if (child.Relation == ManifestRelation.Referrer)
                {
                    untagged++;
                }
            }

            if (names.Count == 0 && untagged == 0)
            {
                return string.Empty;
            }

            List<string> parts = [.. names.Order(StringComparer.Ordinal)];
            if (untagged > 0)
            {
                string types = string.Join(", ", children.Where(static c => c.Relation == ManifestRelation.Referrer && c.Tags.Count == 0 && c.ArtifactType is not null)
                    .Select(static c => c.ArtifactType!).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal));
                parts.Add(string.Create(CultureInfo.InvariantCulture, $"{untagged} untagged referrer{(untagged == 1 ? string.Empty : "s")}{(types.Length > 0 ? " (" + types + ")" : string.Empty)}"));
            }

            return "; its referrers go with it: " + string.Join(", ", parts);
        }

        /// <summary>
        /// Names the referrers of a deleted manifest (the candidate's or one it takes) that stay anyway, because a
        /// workload uses them or -Exclude names their tag (rule 1 beats rule 9): their bytes are not counted.
        /// </summary>
        private string DescribeStayingReferrers(RepositoryState repository, string digest, List<ChildDeletion> children)
        {
            if (repository.Referrers.Count == 0)
            {
                return string.Empty;
            }

            string text = string.Empty;
            foreach (string deleted in children.Select(static c => c.Digest).Prepend(digest))
            {
                foreach (string referrer in ReferrersOf(repository, deleted))
                {
                    if (repository.Deleted.Contains(referrer))
                    {
                        continue;
                    }

                    IReadOnlyList<string> tags = TagNames(repository, referrer);
                    string why = repository.TagsByDigest.TryGetValue(referrer, out DigestGroup? group) && group.Find(static t => t.KeepReason is not null) is { } keeping
                        ? keeping.KeepReason!
                        : this.usage.DigestUse(referrer) is { } use ? $"digest {referrer} {use}" : ReferrerKeptReason(repository, referrer);
                    text += $"; its referrer {(tags.Count > 0 ? string.Join(", ", tags) : referrer)} stays ({why}), so its bytes are not counted";
                }
            }

            return text;
        }

        private static IReadOnlyList<string> TagNames(RepositoryState repository, string digest) =>
            repository.TagsByDigest.TryGetValue(digest, out DigestGroup? tags) ? [.. tags.Select(static t => t.Tag!).Order(StringComparer.Ordinal)] : [];
    }
}
