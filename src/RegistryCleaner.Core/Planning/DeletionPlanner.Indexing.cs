using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using RegistryCleaner.Registry;

namespace RegistryCleaner.Planning;

/// <content>
/// Indexing: the inventory as per-repository tables of manifests and tags, and which tags the scope and
/// the targets put in play.
/// </content>
public static partial class DeletionPlanner
{
    private sealed partial class PlanBuilder
    {
        private RepositoryState Repository(string name)
        {
            if (!this.repositories.TryGetValue(name, out RepositoryState? state))
            {
                state = new RepositoryState(name, 0, 0);
                this.repositories.Add(name, state);
            }

            return state;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Index()
        {
            // Counting first sizes every per-repository table once; growing them would re-hash repeatedly.
            Dictionary<string, (int Manifests, int Tags)> counts = new(StringComparer.Ordinal);
            foreach (ManifestRecord manifest in this.inventory.Manifests)
            {
                ref (int Manifests, int Tags) count = ref CollectionsMarshal.GetValueRefOrAddDefault(counts, manifest.Repository, out _);
                count.Manifests++;
            }

            foreach (TagRecord tag in this.inventory.Tags)
            {
                ref (int Manifests, int Tags) count = ref CollectionsMarshal.GetValueRefOrAddDefault(counts, tag.Repository, out _);
                count.Tags++;
            }

            foreach ((string name, (int manifests, int tags)) in counts)
            {
                this.repositories.Add(name, new RepositoryState(name, manifests, tags));
            }

            foreach (string name in this.inventory.Repositories)
            {
                this.Repository(name);
            }

            foreach (ManifestRecord manifest in this.inventory.Manifests)
            {
                this.Repository(manifest.Repository).Manifests[manifest.Digest] = manifest;
            }

            foreach (TagRecord record in this.inventory.Tags)
            {
                RepositoryState repository = this.Repository(record.Repository);
                TagState tag = new(repository, record.Tag, record.Digest);
                if (!repository.TagsByName.TryAdd(record.Tag, tag))
                {
                    // A tag listed twice is one tag: planning it twice would list one DELETE twice.
                    continue;
                }

                repository.Tags.Add(tag);
                if (!repository.TagsByDigest.TryGetValue(record.Digest, out DigestGroup? sameDigest))
                {
                    sameDigest = [];
                    repository.TagsByDigest.Add(record.Digest, sameDigest);
                }

                sameDigest.Add(tag);
            }
        }

        /// <summary>Marks tags in scope; returns targets that name an untagged manifest by digest.</summary>
        private List<TagState> ApplyScope(HashSet<string> scope)
        {
            List<TagState> untagged = [];
            if (this.options.Targets is { } targets)
            {
                foreach (PlanTarget target in targets)
                {
                    this.MarkTarget(target, untagged);
                }
            }

            foreach (RepositoryState repository in this.repositories.Values)
            {
                bool repositoryInScope = scope.Contains(repository.Name);
                foreach (TagState tag in repository.Tags)
                {
                    tag.InScope = repositoryInScope
                        && (this.options.Targets is null || tag.Targeted)
                        && this.TagInScope(tag.Tag!);
                }
            }

            foreach (TagState target in untagged)
            {
                target.InScope = scope.Contains(target.Repository.Name) && this.include.Length == 0 && this.objectIds.Length == 0;
                if (!target.InScope)
                {
                    target.KeepReason = "out of scope: an untagged manifest matches no -Include or -ObjectId filter";
                }
            }

            return untagged;
        }

        private void MarkTarget(PlanTarget target, List<TagState> untagged)
        {
            if (!this.repositories.TryGetValue(target.Repository, out RepositoryState? repository))
            {
                this.notFound.Add(new ProtectedImage(target.Repository, target.Tag, target.Digest, "repository not in the inventory"));
                return;
            }

            if (target.Tag is not null)
            {
                if (!repository.TagsByName.TryGetValue(target.Tag, out TagState? tag))
                {
                    this.notFound.Add(new ProtectedImage(target.Repository, target.Tag, target.Digest, "tag not found in the inventory"));
                }
                else if (target.Digest is not null && !string.Equals(target.Digest, tag.Digest, StringComparison.OrdinalIgnoreCase))
                {
                    this.notFound.Add(new ProtectedImage(
                        target.Repository, target.Tag, target.Digest, $"tag moved: it now points at {tag.Digest}, not at the requested digest"));
                }
                else
                {
                    tag.Targeted = true;
                }

                return;
            }

            string? digest = target.Digest;
            if (digest is null || !repository.Manifests.TryGetValue(digest, out ManifestRecord? manifest))
            {
                string key = digest ?? string.Empty;
                if (repository.TagsByDigest.TryGetValue(key, out DigestGroup? tagged))
                {
                    tagged.ForEach(t => t.Targeted = true);
                }
                else
                {
                    this.notFound.Add(new ProtectedImage(target.Repository, null, digest, "manifest not found in the inventory"));
                }

                return;
            }

            if (repository.TagsByDigest.TryGetValue(manifest.Digest, out DigestGroup? tags))
            {
                // Deleting by digest removes every tag of it: target them all, so each gets its protections.
                tags.ForEach(t => t.Targeted = true);
            }
            else if (this.untaggedTargetKeys.Add((repository.Name, manifest.Digest)))
            {
                untagged.Add(new TagState(repository, null, manifest.Digest) { Targeted = true });
            }
        }

        private bool TagInScope(string tag) =>
            (this.include.Length == 0 || Array.Exists(this.include, p => p.IsMatch(tag)))
            && !Array.Exists(this.exclude, p => p.IsMatch(tag))
            && (this.objectIds.Length == 0 || Array.Exists(this.objectIds, id => Domino.ObjectId.TagBelongsTo(tag, id)));
    }
}
