using RegistryCleaner.Deletion;
using RegistryCleaner.Planning;
using RegistryCleaner.Registry;
using RegistryCleaner.Tests.Infrastructure;
using RegistryCleaner.Tests.Registry;

namespace RegistryCleaner.Tests.Graph;

/// <summary>
/// What goes with a deleted manifest, on a real registry: each index child and referrer is re-checked right before its
/// own DELETE like the manifest itself, and one that must stay keeps everything under it.
/// </summary>
public sealed class ChildDeletionTests(DeleteEnabledRegistry registry) : IClassFixture<DeleteEnabledRegistry>, IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("registrycleaner-children-").FullName;

    public void Dispose() => Directory.Delete(this.folder, recursive: true);

    [Fact]
    public async Task A_referrer_whose_signature_tag_moved_since_the_plan_is_skipped_and_the_new_signature_stays()
    {
        const string Repo = "children/signed";
        using var pusher = new ImagePusher(registry.BaseAddress);
        using var artifacts = new ArtifactPusher(registry.BaseAddress);
        using var client = new RegistryClient(RegistryEndpoint.Parse(registry.Registry));
        PushedImage image = await pusher.PushImageAsync(Repo, "v1", [ImagePusher.Layer(801, 300)], oci: true);
        string signature = await artifacts.SignAsync(Repo, image.Digest);
        string tag = "sha256-" + image.Digest["sha256:".Length..] + ".sig";
        var child = new ChildDeletion(Repo, signature, MediaTypes.OciManifest, image.Digest, 10) { Relation = ManifestRelation.Referrer, Tags = [tag] };

        // Signed again after the plan: the tag now names another manifest.
        PushedImage resigned = await pusher.PushImageAsync(Repo, tag, [ImagePusher.Layer(802, 100)], oci: true);
        ManifestDeletion result = await new ImageDeleter(client, new DeletionJournal(Path.Combine(this.folder, "moved.jsonl")))
            .DeleteAsync([DeletionEngineTestsCandidate(client, Repo, "v1", image.Digest, [child])], CancellationToken.None);

        Assert.Equal(DeletionStatus.Deleted, Assert.Single(result.Images).Status);
        ChildDeletionResult skipped = Assert.Single(result.Children);
        Assert.Equal(DeletionStatus.Skipped, skipped.Status);
        Assert.Contains($"tag {tag} moved", skipped.Reason, StringComparison.Ordinal);
        Assert.Equal(resigned.Digest, await client.HeadManifestAsync(Repo, tag, CancellationToken.None));
        Assert.NotNull(await client.HeadManifestAsync(Repo, signature, CancellationToken.None));
        Assert.Empty(result.TagsPutBack);
    }

    [Fact]
    public async Task A_child_index_tagged_since_the_plan_stays_and_keeps_its_own_children()
    {
        const string Repo = "children/nested";
        using var pusher = new ImagePusher(registry.BaseAddress);
        using var artifacts = new ArtifactPusher(registry.BaseAddress);
        using var client = new RegistryClient(RegistryEndpoint.Parse(registry.Registry));
        PushedImage leaf = await pusher.PushImageAsync(Repo, null, [ImagePusher.Layer(811, 300)], oci: true);
        StoredManifest middle = await artifacts.IndexAsync(Repo, null, new StoredManifest(leaf.Digest, leaf.MediaType, leaf.Manifest.Length));
        StoredManifest outer = await artifacts.IndexAsync(Repo, "old", middle);
        ChildDeletion[] children =
        [
            new(Repo, middle.Digest, MediaTypes.OciIndex, outer.Digest, 10),
            new(Repo, leaf.Digest, leaf.MediaType, middle.Digest, 500),
        ];
        // Someone tags the middle index after the plan.
        await pusher.PutManifestAsync(Repo, "pinned", (await client.GetManifestAsync(Repo, middle.Digest, CancellationToken.None)).Content.ToArray(), MediaTypes.OciIndex);

        ManifestDeletion result = await new ImageDeleter(client, new DeletionJournal(Path.Combine(this.folder, "nested.jsonl")))
            .DeleteAsync([DeletionEngineTestsCandidate(client, Repo, "old", outer.Digest, children)], CancellationToken.None);

        Assert.Equal(DeletionStatus.Deleted, Assert.Single(result.Images).Status);
        Assert.Equal([DeletionStatus.Skipped, DeletionStatus.Skipped], result.Children.Select(c => c.Status));
        Assert.Contains("tag pinned now points at", result.Children[0].Reason, StringComparison.Ordinal);
        Assert.Contains("still needs it", result.Children[1].Reason, StringComparison.Ordinal);
        Assert.Null(await client.HeadManifestAsync(Repo, outer.Digest, CancellationToken.None));
        Assert.Equal(middle.Digest, await client.HeadManifestAsync(Repo, "pinned", CancellationToken.None));
        Assert.NotNull(await client.HeadManifestAsync(Repo, leaf.Digest, CancellationToken.None));
    }

    private static DeletionCandidate DeletionEngineTestsCandidate(RegistryClient client, string repository, string tag, string digest, IReadOnlyList<ChildDeletion> children) =>
        new(client.Endpoint.DisplayName, repository, tag, digest, MediaTypes.OciIndex, 0, 100, null, null, "unused", [], children);
}
