using System.Text.Json;
using RegistryCleaner.Backup;
using RegistryCleaner.Registry;
using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.Backup;

/// <summary>The OCI image layout writer and reader against a real registry, with skopeo as the independent reader.</summary>
public sealed class OciImageLayoutTests : IAsyncLifetime
{
    private const string Repository = "dominodatalab/environment";
    private readonly string folder = Directory.CreateTempSubdirectory("registrycleaner-layout-").FullName;
    private RegistryServer registry = null!;
    private readonly Dictionary<string, PushedImage> images = new(StringComparer.Ordinal);

    private string Layout => Path.Combine(this.folder, "backup");

    public async Task InitializeAsync()
    {
        this.registry = new RegistryServer(new RegistryServerOptions());
        using var pusher = new ImagePusher(this.registry.BaseAddress);
        byte[] shared = Gzip(101, 4000);
        this.images["docker"] = await pusher.PushImageAsync(Repository, "659c7bce85f6381e675bb205-1", [shared, Gzip(102, 1500)]);
        this.images["oci"] = await pusher.PushImageAsync(Repository, "659c7bce85f6381e675bb205-2", [shared, Gzip(103, 1600)], oci: true);
        PushedImage amd64 = await pusher.PushImageAsync(Repository, null, [shared, Gzip(104, 1700)], platform: "linux/amd64");
        PushedImage arm64 = await pusher.PushImageAsync(Repository, null, [shared, Gzip(105, 1800)], platform: "linux/arm64");
        this.images["list"] = await pusher.PushIndexAsync(Repository, "multiarch", [amd64, arm64]);
        PushedImage ociAmd64 = await pusher.PushImageAsync(Repository, null, [Gzip(106, 900)], oci: true, platform: "linux/amd64");
        PushedImage ociArm64 = await pusher.PushImageAsync(Repository, null, [Gzip(107, 950)], oci: true, platform: "linux/arm64");
        this.images["index"] = await pusher.PushIndexAsync(Repository, "oci-multiarch", [ociAmd64, ociArm64], oci: true);
    }

    public Task DisposeAsync()
    {
        this.registry.Dispose();
        Directory.Delete(this.folder, recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task A_backup_is_a_standard_layout_with_each_blob_once_and_skopeo_copies_every_image_back_into_a_registry()
    {
        using RegistryClient client = this.Client();
        var writer = new ImageBackupWriter(client, OciImageLayout.Open(this.Layout, create: true));
        foreach ((string _, PushedImage image) in this.images)
        {
            await writer.BackUpAsync(new BackupImage(Repository, image.Digest, [this.TagOf(image)]), CancellationToken.None);
        }

        using (JsonDocument marker = JsonDocument.Parse(File.ReadAllText(Path.Combine(this.Layout, "oci-layout"))))
        {
            Assert.Equal("1.0.0", marker.RootElement.GetProperty("imageLayoutVersion").GetString());
        }

        // Every blob of every image (layers shared by four images among them) is stored once, under its digest.
        string[] expected = this.images.Values.SelectMany(AllBlobs).Distinct().Order().ToArray();
        string[] stored = Directory.EnumerateFiles(Path.Combine(this.Layout, "blobs", "sha256")).Select(f => "sha256:" + Path.GetFileName(f)).ToArray();
        Assert.All(expected, digest => Assert.Contains(digest, stored));
        Assert.All(stored, file => Assert.Equal(Path.GetFileName(file)[7..], ImagePusher.Digest(File.ReadAllBytes(Path.Combine(this.Layout, "blobs", "sha256", file[7..])))[7..]));
        Assert.DoesNotContain(Directory.EnumerateFiles(this.Layout, "*.partial", SearchOption.AllDirectories), _ => true);

        foreach ((string kind, PushedImage image) in this.images)
        {
            string reference = $"{Repository}:{this.TagOf(image)}";
            string copy = $"docker://127.0.0.1:{this.registry.BaseAddress.Port}/copies/{kind}:{this.TagOf(image)}";
            Skopeo.Copy($"oci:{this.Layout}:{reference}", copy);

            // The copy carries the same configurations and layers (Docker images come back in their OCI form).
            using RegistryClient reader = this.Client();
            ManifestTree original = await ManifestTree.ReadAsync(reader, Repository, image.Digest, CancellationToken.None);
            ManifestContent copied = await reader.GetManifestAsync($"copies/{kind}", this.TagOf(image), CancellationToken.None);
            ManifestTree copiedTree = await ManifestTree.ReadAsync(reader, $"copies/{kind}", copied.Digest, CancellationToken.None);
            Assert.Equal(original.Blobs.Select(b => b.Digest).Order(), copiedTree.Blobs.Select(b => b.Digest).Order());
            Assert.Equal(original.Children.Count, copiedTree.Children.Count);
            if (kind == "oci")
            {
                Assert.Equal(image.Digest, copied.Digest);
            }
        }
    }

    [Fact]
    public async Task A_second_image_sharing_layers_stores_only_its_own_blobs_and_the_index_names_every_tag()
    {
        using RegistryClient client = this.Client();
        var writer = new ImageBackupWriter(client, OciImageLayout.Open(this.Layout, create: true));
        PushedImage first = this.images["docker"];
        PushedImage second = this.images["oci"];

        BackupEstimate estimate = await writer.EstimateAsync([new BackupImage(Repository, first.Digest, ["a"]), new BackupImage(Repository, second.Digest, ["b"])], CancellationToken.None);
        ImageBackupResult one = await writer.BackUpAsync(new BackupImage(Repository, first.Digest, [this.TagOf(first), "also"]), CancellationToken.None);
        ImageBackupResult two = await writer.BackUpAsync(new BackupImage(Repository, second.Digest, [this.TagOf(second)]), CancellationToken.None);

        Assert.Equal(4, one.BlobsWritten); // config, two layers, the manifest
        Assert.Equal(3, two.BlobsWritten); // config, its own layer, the manifest
        Assert.Equal(1, two.BlobsPresent); // the shared layer
        Assert.Equal(first.Blobs.Concat(second.Blobs).DistinctBy(b => b.Digest).Sum(b => b.Size) + first.Manifest.Length + second.Manifest.Length, one.BytesWritten + two.BytesWritten);
        Assert.Equal(7, estimate.Blobs - 1); // the estimate also counts the OCI copy of the Docker manifest
        Assert.True(estimate.AvailableBytes > 0);

        IReadOnlyList<BackedUpImage> listed = BackedUpImage.FromLayout(OciImageLayout.Open(this.Layout, create: false));
        Assert.Equal(2, listed.Count);
        Assert.Equal(["659c7bce85f6381e675bb205-1", "also"], listed.Single(i => i.Digest == first.Digest).Tags.Order());
        Assert.Equal(MediaTypes.DockerManifest, listed.Single(i => i.Digest == first.Digest).MediaType);
        Assert.All(listed, i => Assert.Equal(this.registry.BaseAddress.Authority, i.Registry));

        // The Docker image is also named by its OCI copy, for OCI tools; the restore uses the original.
        IReadOnlyList<OciLayoutEntry> index = OciImageLayout.Open(this.Layout, create: false).ReadIndex();
        Assert.Contains(index, e => e.RefName == $"{Repository}:also" && e.MediaType == MediaTypes.OciManifest && e.Annotations[BackupAnnotations.ConvertedFrom] == first.Digest);
        Assert.Contains(index, e => e.RefName == $"{Repository}:{this.TagOf(second)}" && e.Digest == second.Digest);

        // Backing the same image up again adds nothing.
        ImageBackupResult again = await writer.BackUpAsync(new BackupImage(Repository, first.Digest, [this.TagOf(first), "also"]), CancellationToken.None);
        Assert.Equal(0, again.BlobsWritten);
        Assert.Equal(index.Count, OciImageLayout.Open(this.Layout, create: false).ReadIndex().Count);
    }

    [Fact]
    public async Task Content_that_does_not_match_its_digest_is_never_stored()
    {
        OciImageLayout layout = OciImageLayout.Open(this.Layout, create: true);
        byte[] content = ImagePusher.Layer(7, 100);
        string digest = ImagePusher.Digest(content);

        OciLayoutException wrong = await Assert.ThrowsAsync<OciLayoutException>(() => layout.WriteBlobAsync(digest, ImagePusher.Layer(8, 100), CancellationToken.None));
        Assert.Contains("hashes to", wrong.Message, StringComparison.Ordinal);
        OciLayoutException shortened = await Assert.ThrowsAsync<OciLayoutException>(() => layout.WriteBlobAsync(digest, 99, (s, t) => s.WriteAsync(content, t).AsTask(), CancellationToken.None));
        Assert.Contains("not the 99 bytes", shortened.Message, StringComparison.Ordinal);
        Assert.Null(layout.BlobSize(digest));
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(this.Layout, "blobs"), "*", SearchOption.AllDirectories));

        Assert.True(await layout.WriteBlobAsync(digest, content, CancellationToken.None));
        Assert.False(await layout.WriteBlobAsync(digest, content, CancellationToken.None));
        Assert.Throws<ArgumentException>(() => layout.BlobPath("sha256:../../etc/passwd"));
    }

    [Fact]
    public void A_folder_with_other_files_is_not_taken_for_a_backup()
    {
        Directory.CreateDirectory(this.Layout);
        File.WriteAllText(Path.Combine(this.Layout, "notes.txt"), "mine");

        OciLayoutException error = Assert.Throws<OciLayoutException>(() => OciImageLayout.Open(this.Layout, create: true));
        Assert.Contains("not an OCI image layout", error.Message, StringComparison.Ordinal);
        Assert.Throws<DirectoryNotFoundException>(() => OciImageLayout.Open(Path.Combine(this.folder, "missing"), create: false));
    }

    // Real layers are gzip streams; skopeo passes those through unchanged (it would compress anything else).
    private static byte[] Gzip(int seed, int size)
    {
        using var output = new MemoryStream();
        using (var gzip = new System.IO.Compression.GZipStream(output, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(ImagePusher.Layer(seed, size));
        }

        return output.ToArray();
    }

    private static IEnumerable<string> AllBlobs(PushedImage image) =>
        image.Blobs.Select(b => b.Digest).Append(image.Digest).Concat(image.Children.Select(c => c.Digest));

    private RegistryClient Client() => new(RegistryEndpoint.Parse(this.registry.Registry));

    private string TagOf(PushedImage image) => this.images.Single(i => i.Value.Digest == image.Digest).Key switch
    {
        "docker" => "659c7bce85f6381e675bb205-1",
        "oci" => "659c7bce85f6381e675bb205-2",
        "list" => "multiarch",
        _ => "oci-multiarch",
    };
}
