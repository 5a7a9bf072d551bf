using System.Collections.Concurrent;
using System.Text;
using RegistryCleaner.Registry;

namespace RegistryCleaner.Tests.Infrastructure;

/// <summary>
/// Writes images straight into a distribution registry's filesystem storage, in the layout the registry itself writes
/// on a push (<c>docker/registry/v2/blobs/sha256/&lt;2&gt;/&lt;hex&gt;/data</c>; per repository <c>_layers</c> links for
/// every blob, <c>_manifests/revisions</c> links for every manifest, <c>_manifests/tags/&lt;tag&gt;/current</c> and
/// <c>index</c> links for every tag), so a benchmark can lay out 100,000 tags in seconds instead of pushing them for
/// hours. The registry serves such a storage exactly as if the images had been pushed; the configuration and manifest
/// bytes are the ones <see cref="ImagePusher"/> pushes. <see cref="WriteImage"/> may run on several threads at once
/// (file creation is what takes the time); a blob shared by two images is written once.
/// </summary>
public sealed class StorageSeeder
{
    private readonly string v2;
    private readonly ConcurrentDictionary<string, bool> blobs = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Repository, string Digest), bool> layerLinks = new();

    /// <summary>Initializes a new instance of the <see cref="StorageSeeder"/> class.</summary>
    /// <param name="rootDirectory">The registry's <c>storage.filesystem.rootdirectory</c>.</param>
    public StorageSeeder(string rootDirectory)
    {
        this.v2 = Path.Combine(rootDirectory, "docker", "registry", "v2");
        Directory.CreateDirectory(Path.Combine(this.v2, "blobs", "sha256"));
        Directory.CreateDirectory(Path.Combine(this.v2, "repositories"));
    }

    /// <summary>Gets the number of distinct blobs written (layers, configurations and manifests).</summary>
    public int BlobCount => this.blobs.Count;

    /// <summary>Writes one image (Docker schema 2, linux/amd64) with its layers and tags it.</summary>
    /// <param name="repository">The repository.</param>
    /// <param name="tag">The tag.</param>
    /// <param name="layers">The layers' bytes; the same bytes in two images are one shared blob.</param>
    /// <param name="created">The configuration's creation time.</param>
    /// <returns>The image as <see cref="ImagePusher.PushImageAsync"/> would have returned it.</returns>
    public PushedImage WriteImage(string repository, string tag, IReadOnlyList<byte[]> layers, DateTimeOffset created)
    {
        var written = layers.Select(layer => this.WriteBlob(repository, layer, ImagePusher.LayerMediaType(oci: false))).ToArray();
        PushedBlob config = this.WriteBlob(repository, ImagePusher.ImageConfig("linux", "amd64", created, written), ImagePusher.ConfigMediaType(oci: false));
        byte[] manifest = ImagePusher.ImageManifest(MediaTypes.DockerManifest, config, written);
        string digest = this.WriteBlob(repository, manifest, MediaTypes.DockerManifest, layerLink: false).Digest;
        string hex = Hex(digest);
        string manifests = Path.Combine(this.RepositoryFolder(repository), "_manifests");
        WriteLink(Path.Combine(manifests, "revisions", "sha256", hex, "link"), digest);
        WriteLink(Path.Combine(manifests, "tags", tag, "current", "link"), digest);
        WriteLink(Path.Combine(manifests, "tags", tag, "index", "sha256", hex, "link"), digest);
        return new PushedImage(repository, digest, MediaTypes.DockerManifest, manifest, config, written, [], "linux/amd64", created);
    }

    private static string Hex(string digest) => digest["sha256:".Length..];

    private static void WriteLink(string path, string digest)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, digest, Encoding.ASCII);
    }

    private string RepositoryFolder(string repository) =>
        Path.Combine([this.v2, "repositories", .. repository.Split('/')]);

    private PushedBlob WriteBlob(string repository, byte[] content, string mediaType, bool layerLink = true)
    {
        string digest = ImagePusher.Digest(content);
        string hex = Hex(digest);
        if (this.blobs.TryAdd(digest, true))
        {
            string folder = Path.Combine(this.v2, "blobs", "sha256", hex[..2], hex);
            Directory.CreateDirectory(folder);
            File.WriteAllBytes(Path.Combine(folder, "data"), content);
        }

        // A pushed blob is linked into the repository that received it; a manifest only under _manifests/revisions.
        if (layerLink && this.layerLinks.TryAdd((repository, digest), true))
        {
            WriteLink(Path.Combine(this.RepositoryFolder(repository), "_layers", "sha256", hex, "link"), digest);
        }

        return new PushedBlob(digest, content.Length, mediaType);
    }
}
