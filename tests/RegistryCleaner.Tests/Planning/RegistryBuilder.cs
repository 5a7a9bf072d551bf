using RegistryCleaner.Planning;
using RegistryCleaner.Registry;
using RegistryCleaner.Workloads;

namespace RegistryCleaner.Tests.Planning;

/// <summary>Builds small inventories and usage snapshots for planner tests, with readable digests and sizes.</summary>
internal sealed class RegistryBuilder
{
    public const string Registry = "docker-registry:5000";
    public const long ManifestSize = 10;
    public const long ConfigSize = 5;

    private readonly Dictionary<string, long> blobSizes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, BlobDescriptor> foreign = new(StringComparer.Ordinal);
    private readonly List<TagRecord> tags = [];
    private readonly Dictionary<(string, string), ManifestRecord> manifests = [];
    private readonly List<string> repositories = [];

    public RegistryBuilder Blob(string digest, long size)
    {
        this.blobSizes[digest] = size;
        return this;
    }

    /// <summary>A foreign layer: one with download <paramref name="urls"/>, or of a nondistributable media type.</summary>
    public RegistryBuilder Foreign(string digest, long size, string mediaType, params string[] urls)
    {
        this.blobSizes[digest] = size;
        this.foreign[digest] = new BlobDescriptor(digest, size, mediaType) { Urls = urls.Length == 0 ? null : urls };
        return this;
    }

    public RegistryBuilder Image(string repository, string digest, string[] layers, DateTimeOffset? created = null)
    {
        this.AddRepository(repository);
        List<BlobDescriptor> descriptors = [.. layers.Select(l => this.foreign.GetValueOrDefault(l) ?? new BlobDescriptor(l, this.blobSizes.GetValueOrDefault(l, 100), "layer"))];
        this.manifests[(repository, digest)] = new ManifestRecord(
            repository, digest, MediaTypes.DockerManifest, ManifestSize, new BlobDescriptor("cfg-" + digest, ConfigSize, "config"), descriptors, [], created);
        return this;
    }

    public RegistryBuilder Index(string repository, string digest, params string[] children)
    {
        this.AddRepository(repository);
        List<ChildDescriptor> descriptors = [.. children.Select(c => new ChildDescriptor(c, ManifestSize, MediaTypes.DockerManifest, "linux/amd64"))];
        this.manifests[(repository, digest)] = new ManifestRecord(repository, digest, MediaTypes.OciIndex, ManifestSize, null, [], descriptors, null);
        return this;
    }

    /// <summary>An artifact (signature, SBOM) whose subject is <paramref name="subject"/>, when given (OCI 1.1 subject field).</summary>
    public RegistryBuilder Artifact(string repository, string digest, string? subject, string artifactType, string[] layers, DateTimeOffset? created = null)
    {
        this.AddRepository(repository);
        List<BlobDescriptor> descriptors = [.. layers.Select(l => new BlobDescriptor(l, this.blobSizes.GetValueOrDefault(l, 100), artifactType))];
        this.manifests[(repository, digest)] = new ManifestRecord(
            repository, digest, MediaTypes.OciManifest, ManifestSize, new BlobDescriptor("sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", 2, "application/vnd.oci.empty.v1+json"), descriptors, [], created)
        {
            Subject = subject,
            ArtifactType = artifactType,
        };
        return this;
    }

    /// <summary>The digest <c>sha256:</c> followed by 64 copies of <paramref name="c"/>, as real tags of the referrers schema need.</summary>
    public static string Digest(char c) => "sha256:" + new string(c, 64);

    /// <summary>The referrers-schema tag of a subject: <c>sha256-&lt;hex&gt;</c> plus a suffix such as <c>.sig</c>.</summary>
    public static string SchemaTag(string subject, string suffix = "") => "sha256-" + subject["sha256:".Length..] + suffix;

    public RegistryBuilder Tag(string repository, string tag, string digest)
    {
        this.AddRepository(repository);
        this.tags.Add(new TagRecord(repository, tag, digest));
        return this;
    }

    public RegistryInventory Inventory(bool complete = true, bool includesUntagged = false) =>
        new(Registry, [.. this.repositories], [.. this.tags], [.. this.manifests.Values], complete) { IncludesUntaggedManifests = includesUntagged };

    public DeletionPlan Plan(UsageSnapshot? usage = null, PlanOptions? options = null, bool includesUntagged = false) =>
        DeletionPlanner.Plan(new PlanRequest(this.Inventory(includesUntagged: includesUntagged), usage ?? Usage(), options ?? new PlanOptions()));

    /// <summary>Leaves a manifest out of the inventory (what the registry API cannot see: an untagged one).</summary>
    public RegistryBuilder Without(string repository, string digest)
    {
        this.manifests.Remove((repository, digest));
        return this;
    }

    /// <summary>The bytes one image frees when nothing else shares it: manifest, config and its layers.</summary>
    public long Exclusive(params string[] layers) => ManifestSize + ConfigSize + layers.Sum(l => this.blobSizes.GetValueOrDefault(l, 100));

    public static UsageSnapshot Usage(params ImageUsage[] images) => new(images, [], ["test"], DateTimeOffset.UnixEpoch, Complete: true);

    public static UsageSnapshot Running(params string[] digests) => new([], digests, ["test"], DateTimeOffset.UnixEpoch, Complete: true);

    /// <summary>A workload reference <c>host/path[:tag][@digest]</c> (tests always write the host).</summary>
    public static ImageUsage Use(string reference, string usedBy = "Pod/domino-compute/run-1", params string[] statusDigests)
    {
        string rest = reference;
        string? digest = null;
        int at = rest.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0)
        {
            digest = rest[(at + 1)..];
            rest = rest[..at];
        }

        int slash = rest.IndexOf('/', StringComparison.Ordinal);
        string host = rest[..slash];
        string path = rest[(slash + 1)..];
        string? tag = null;
        int colon = path.LastIndexOf(':');
        if (colon >= 0)
        {
            tag = path[(colon + 1)..];
            path = path[..colon];
        }
        else if (digest is null)
        {
            tag = "latest";
        }

        return new ImageUsage(new ImageReference(reference, host, path, tag, digest), statusDigests, [usedBy]);
    }

    private void AddRepository(string repository)
    {
        if (!this.repositories.Contains(repository))
        {
            this.repositories.Add(repository);
        }
    }
}
