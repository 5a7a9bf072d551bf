using System.Globalization;
using System.Runtime.CompilerServices;
using RegistryCleaner.Registry;

namespace RegistryCleaner.Planning;

/// <content>
/// Rules: why an in-scope tag is kept (rule 1, KeepLatest, OlderThan) and which digests are deleted (rule 2).
/// </content>
public static partial class DeletionPlanner
{
    private sealed partial class PlanBuilder
    {
        /// <summary>Rule 1, KeepLatest and OlderThan for one in-scope tag; null when it is a candidate so far.</summary>
        private string? KeepReason(TagState tag)
        {
            if (!tag.Repository.Manifests.TryGetValue(tag.Digest, out ManifestRecord? manifest))
            {
                return $"manifest {tag.Digest} is not in the inventory";
            }

            if (tag.Tag is not null && this.usage.TagUse(tag.Repository.Name, tag.Tag) is { } tagUse)
            {
                return tagUse;
            }

            if (this.usage.DigestUse(tag.Digest) is { } digestUse)
            {
                return $"digest {tag.Digest} {digestUse}";
            }

            if (tag.KeepLatestReason is { } latest)
            {
                return latest;
            }

            if (this.cutoff is { } cutoff)
            {
                DateTimeOffset? created = Created(tag.Repository, manifest);
                if (created is null)
                {
                    return "creation time unknown, so it is not known to be older than " + FormatAge(this.options.OlderThan!.Value);
                }

                if (created >= cutoff)
                {
                    return string.Create(
                        CultureInfo.InvariantCulture,
                        $"created {created:u}, not older than {FormatAge(this.options.OlderThan!.Value)}");
                }
            }

            return null;
        }

        /// <summary>Marks the newest tags of each ObjectId (tags without one form one group) to keep.</summary>
        private void RankLatest(RepositoryState repository)
        {
            int keep = this.options.KeepLatest;
            // Signature and referrer tags are not images: they take no slot among the newest; nor does an ordinary tag
            // on a referrer (an SBOM's 'sbom-latest'), which follows its subject.
            foreach (IGrouping<string, TagState> group in repository.Tags
                .Where(t => !ReferrerTagSchema.IsSchemaTag(t.Tag) && !(repository.Attached.Count > 0 && repository.Attached.Contains(t.Digest)))
                .GroupBy(t => Domino.ObjectId.FromTag(t.Tag) ?? string.Empty, StringComparer.Ordinal))
            {
                string owner = group.Key.Length > 0 ? group.Key : "the tags without an ObjectId";
                var parsed = group.Select(t => (Tag: t, Version: DominoTagVersion.Parse(t.Tag!))).ToList();
                DominoTagKind kind = parsed[0].Version.Kind;
                List<TagState> newestFirst;
                if (kind != DominoTagKind.Other && parsed.TrueForAll(p => p.Version.Kind == kind))
                {
                    newestFirst = [.. parsed
                        .OrderByDescending(p => p.Version)
                        .ThenByDescending(p => p.Tag.Tag, StringComparer.Ordinal)
                        .Select(p => p.Tag)];
                }
                else
                {
                    newestFirst = [];
                    foreach (TagState tag in group)
                    {
                        if (this.CreatedOf(tag) is null)
                        {
                            // Unknown age cannot be ranked; keeping it is the safe side and does not use up one of the N slots.
                            tag.KeepLatestReason = $"creation time unknown, so it cannot be ranked among the {keep} newest of {owner}";
                        }
                        else
                        {
                            newestFirst.Add(tag);
                        }
                    }

                    newestFirst = [.. newestFirst
                        .OrderByDescending(this.CreatedOf)
                        .ThenByDescending(t => t.Tag, StringComparer.Ordinal)];
                }

                for (int i = 0; i < Math.Min(keep, newestFirst.Count); i++)
                {
                    newestFirst[i].KeepLatestReason = string.Create(
                        CultureInfo.InvariantCulture, $"among the {keep} newest of {owner} (#{i + 1})");
                }
            }
        }

        private DateTimeOffset? CreatedOf(TagState tag) =>
            tag.Repository.Manifests.TryGetValue(tag.Digest, out ManifestRecord? manifest) ? Created(tag.Repository, manifest) : null;

        /// <summary>Rule 2: a DELETE by digest removes every tag of it, so a digest is deleted only when all its tags are candidates.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void ChooseRoots(RepositoryState repository, List<TagState> untaggedTargets)
        {
            foreach ((string digest, DigestGroup tags) in repository.TagsByDigest)
            {
                if (repository.Attached.Count > 0 && repository.Attached.Contains(digest))
                {
                    // A referrer is deleted with its subject, never as a DELETE of its own.
                    continue;
                }

                TagState? kept = null;
                bool anyCandidate = false;
                foreach (TagState tag in tags)
                {
                    if (tag.IsCandidate)
                    {
                        anyCandidate = true;
                    }
                    else if (kept is null || string.CompareOrdinal(tag.Tag, kept.Tag) < 0)
                    {
                        kept = tag;
                    }
                }

                if (!anyCandidate)
                {
                    continue;
                }

                if (kept is null)
                {
                    repository.Roots.Add(digest);
                    continue;
                }

                string why = kept.InScope ? kept.KeepReason! : "out of scope";
                foreach (TagState tag in tags.Where(t => t.IsCandidate))
                {
                    this.UntagOrKeep(tag, kept, why);
                }
            }

            foreach (TagState target in untaggedTargets)
            {
                if (target.Repository == repository && target.IsCandidate)
                {
                    repository.Roots.Add(target.Digest);
                }
            }
        }

        /// <summary>The image's creation time; an index without one takes its newest child's, when every child's is known.</summary>
        private static DateTimeOffset? Created(RepositoryState repository, ManifestRecord manifest)
        {
            if (manifest.Created is not null || !manifest.IsIndex || manifest.Children.Count == 0)
            {
                return manifest.Created;
            }

            // An index of indexes takes its newest leaf's; any child missing from the inventory makes it unknown.
            List<ManifestRecord> leaves = Leaves(repository, manifest);
            if (leaves.Count == 0 || !AllChildrenKnown(repository, manifest))
            {
                return null;
            }

            DateTimeOffset? newest = null;
            foreach (ManifestRecord image in leaves)
            {
                if (image.Created is not { } created)
                {
                    return null;
                }

                newest = newest is null || created > newest ? created : newest;
            }

            return newest;
        }

        private static bool AllChildrenKnown(RepositoryState repository, ManifestRecord index)
        {
            foreach (ChildDescriptor child in index.Children)
            {
                if (!repository.Manifests.TryGetValue(child.Digest, out ManifestRecord? manifest) || (manifest.IsIndex && !AllChildrenKnown(repository, manifest)))
                {
                    return false;
                }
            }

            return true;
        }

        private static string FormatAge(TimeSpan age) =>
            age.TotalDays >= 1 && age.Ticks % TimeSpan.TicksPerDay == 0
                ? string.Create(CultureInfo.InvariantCulture, $"{age.TotalDays:0} days")
                : age.ToString("c", CultureInfo.InvariantCulture);
    }
}
