using System.Security.Cryptography;
using System.Text.Json;
using RegistryCleaner.Registry;
using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.Graph;

/// <summary>
/// A fresh real registry holding the whole graph, pushed from <see cref="GraphImages"/> with skopeo and through the API:
/// <list type="bullet">
/// <item>environment:a-1 (in use) and b-1 (unused), each signed cosign-style and with an SBOM (a subject artifact);</item>
/// <item>environment:rolling (in use), overwritten: its old image (env-b2) is untagged and shares b-1's own layer;</item>
/// <item>environment:nested-live (in use): an index of a buildah manifest list and a podman image, none of them tagged;</item>
/// <item>environment:nested-old (unused): an index of a manifest list of two platform images, none of them tagged;</item>
/// <item>team/model:model-1 (unused), built with podman on env-a; other/app:v1 (out of scope) holds the base layer.</item>
/// </list>
/// On a registry with the referrers API (<see cref="Oci11"/>) the SBOMs are not listed in a referrers index tag.
/// </summary>
public sealed class GraphScenario : IAsyncDisposable
{
    // Not Domino's repositories: the graph is the registry's, and Domino's records (read by default there) are another matter.
    public const string Env = "team/environment";
    public const string Model = "team/model";
    public const string Other = "other/app";

    private GraphScenario(GraphImages images, RegistryServer registry, bool oci11)
    {
        this.Images = images;
        this.Registry = registry;
        this.Oci11 = oci11;
        this.Folder = Directory.CreateTempSubdirectory("registrycleaner-graph-").FullName;
        this.Proxy = FaultProxy.Start(registry.BaseAddress, oci11 ? registry.StoragePath : null);
    }

    public GraphImages Images { get; }

    public RegistryServer Registry { get; }

    /// <summary>Gets the proxy in front of the registry; with <see cref="Oci11"/> it speaks the referrers API and tag deletion.</summary>
    public FaultProxy Proxy { get; }

    public bool Oci11 { get; }

    /// <summary>Gets a temporary folder for journals and pulled layouts.</summary>
    public string Folder { get; }

    /// <summary>Gets what was stored, by name: tags, and a-sig, a-sbom, b-sig, b-sbom, rolling-old, multi1, env-c, multi2.</summary>
    public Dictionary<string, StoredManifest> Stored { get; } = new(StringComparer.Ordinal);

    /// <summary>Gets the registry's authority, as skopeo and image references name it.</summary>
    public string Authority => this.Registry.BaseAddress.Authority;

    /// <summary>Gets the -InUse argument: a-1, rolling and nested-live are in use.</summary>
    public string InUse => this.InUseOf("a-1", "rolling", "nested-live");

    /// <summary>Gets an -InUse argument naming these environment tags.</summary>
    public string InUseOf(params string[] tags) =>
        $"@({string.Join(", ", tags.Select(t => $"'{this.Authority}/{Env}:{t}'"))} | ForEach-Object {{ [pscustomobject]@{{ Image = $_ }} }})";

    public static async Task<GraphScenario> CreateAsync(GraphImages images, bool oci11 = false, bool overwrite = true)
    {
        var scenario = new GraphScenario(images, new RegistryServer(new RegistryServerOptions()), oci11);
        try
        {
            await scenario.SeedAsync(overwrite);
            return scenario;
        }
        catch
        {
            await scenario.DisposeAsync();
            throw;
        }
    }

    /// <summary>Gets the referrers-schema tag of a stored manifest (<c>sha256-&lt;hex&gt;</c>) plus a suffix.</summary>
    public string SchemaTag(string name, string suffix = "") => "sha256-" + this.Stored[name].Digest["sha256:".Length..] + suffix;

    /// <summary>Gets the size of one layer (by index) of an image of the layout, as its manifest declares it.</summary>
    public long LayerSize(string image, int index)
    {
        using JsonDocument layout = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(this.Images.Layout, "index.json")));
        string digest = layout.RootElement.GetProperty("manifests").EnumerateArray()
            .First(m => m.GetProperty("annotations").GetProperty("org.opencontainers.image.ref.name").GetString() == image)
            .GetProperty("digest").GetString()!;
        using JsonDocument manifest = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(this.Images.Layout, "blobs", "sha256", digest["sha256:".Length..])));
        JsonElement layers = manifest.RootElement.GetProperty("layers");
        return layers[index < 0 ? layers.GetArrayLength() + index : index].GetProperty("size").GetInt64();
    }

    /// <summary>Gets the bytes of the distinct configs and layers of images of the layout (an index stands for its platform images).</summary>
    public long ImageBytes(params string[] images)
    {
        var blobs = new Dictionary<string, long>(StringComparer.Ordinal);
        using JsonDocument layout = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(this.Images.Layout, "index.json")));
        foreach (string image in images)
        {
            string digest = layout.RootElement.GetProperty("manifests").EnumerateArray()
                .First(m => m.GetProperty("annotations").GetProperty("org.opencontainers.image.ref.name").GetString() == image)
                .GetProperty("digest").GetString()!;
            this.AddBlobs(digest, blobs);
        }

        return blobs.Values.Sum();
    }

    /// <summary>Runs the registry's garbage collection and returns the bytes it freed.</summary>
    public long GarbageCollect()
    {
        long before = this.Registry.BlobBytes();
        this.Registry.RunGarbageCollect();
        return before - this.Registry.BlobBytes();
    }

    /// <summary>Returns whether a manifest exists (asked directly, not through the proxy).</summary>
    public async Task<bool> ExistsAsync(string repository, string reference)
    {
        using var client = new RegistryClient(RegistryEndpoint.Parse(this.Registry.Registry));
        return await client.HeadManifestAsync(repository, reference, CancellationToken.None) is not null;
    }

    /// <summary>Returns every repository:tag the registry serves now.</summary>
    public async Task<SortedSet<string>> TagsAsync()
    {
        using var client = new RegistryClient(RegistryEndpoint.Parse(this.Registry.Registry));
        var tags = new SortedSet<string>(StringComparer.Ordinal);
        foreach (string repository in await client.GetCatalogAsync(1000, CancellationToken.None))
        {
            try
            {
                foreach (string tag in await client.ListTagsAsync(repository, 1000, CancellationToken.None))
                {
                    tags.Add($"{repository}:{tag}");
                }
            }
            catch (RepositoryNotFoundException)
            {
                // A repository whose last tag went has nothing to list.
            }
        }

        return tags;
    }

    /// <summary>
    /// Pulls every tag the registry still serves, whole, with skopeo into an OCI layout: an image or a single-level
    /// index by its tag (every platform, <c>--all</c>), and under an index of indexes each child by digest, since a
    /// pull of a nested index copies only what skopeo can read. A missing blob fails the pull.
    /// </summary>
    public async Task AssertEveryKeptTagPullsWholeAsync()
    {
        string layout = Path.Combine(this.Folder, "pulled-" + Guid.NewGuid().ToString("N"));
        using var client = new RegistryClient(RegistryEndpoint.Parse(this.Registry.Registry));
        int copies = 0;
        foreach (string name in await this.TagsAsync())
        {
            int colon = name.LastIndexOf(':');
            string repository = name[..colon];
            string tag = name[(colon + 1)..];
            foreach ((string reference, bool index) in await PullUnitsAsync(client, repository, tag))
            {
                string source = $"docker://{this.Authority}/{repository}{(reference.Contains(':', StringComparison.Ordinal) ? "@" : ":")}{reference}";
                ImageTools.Copy(source, $"oci:{layout}:pull{copies++}", all: index);
            }
        }

        Assert.True(copies > 0);
    }

    /// <summary>Hashes every file and names every folder of the registry's storage, to prove something changed nothing.</summary>
    public SortedDictionary<string, string> StorageHashes()
    {
        var hashes = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (string entry in Directory.EnumerateFileSystemEntries(this.Registry.StoragePath, "*", SearchOption.AllDirectories))
        {
            hashes[Path.GetRelativePath(this.Registry.StoragePath, entry)] = File.Exists(entry) ? Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(entry))) : "folder";
        }

        return hashes;
    }

    public async ValueTask DisposeAsync()
    {
        await this.Proxy.DisposeAsync();
        this.Registry.Dispose();
        try
        {
            Directory.Delete(this.Folder, recursive: true);
        }
        catch (IOException)
        {
            // A straggling handle must not fail the run.
        }
    }

    private void AddBlobs(string digest, Dictionary<string, long> blobs)
    {
        using JsonDocument manifest = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(this.Images.Layout, "blobs", "sha256", digest["sha256:".Length..])));
        if (manifest.RootElement.TryGetProperty("manifests", out JsonElement children))
        {
            foreach (JsonElement child in children.EnumerateArray())
            {
                this.AddBlobs(child.GetProperty("digest").GetString()!, blobs);
            }

            return;
        }

        foreach (JsonElement blob in manifest.RootElement.GetProperty("layers").EnumerateArray().Append(manifest.RootElement.GetProperty("config")))
        {
            blobs.TryAdd(blob.GetProperty("digest").GetString()!, blob.GetProperty("size").GetInt64());
        }
    }

    private static async Task<List<(string Reference, bool Index)>> PullUnitsAsync(RegistryClient client, string repository, string reference)
    {
        ManifestContent content = await client.GetManifestAsync(repository, reference, CancellationToken.None);
        ManifestRecord manifest = ManifestParser.Parse(client.Endpoint.DisplayName, repository, content.Digest, content.MediaType, content.Content);
        if (!manifest.IsIndex)
        {
            return [(reference, false)];
        }

        var children = new List<ManifestRecord>();
        foreach (ChildDescriptor child in manifest.Children)
        {
            ManifestContent childContent = await client.GetManifestAsync(repository, child.Digest, CancellationToken.None);
            children.Add(ManifestParser.Parse(client.Endpoint.DisplayName, repository, child.Digest, childContent.MediaType, childContent.Content));
        }

        if (!children.Exists(static c => c.IsIndex))
        {
            return [(reference, true)];
        }

        var units = new List<(string, bool)>();
        foreach (ManifestRecord child in children)
        {
            units.AddRange(await PullUnitsAsync(client, repository, child.Digest));
        }

        return units;
    }

    private async Task SeedAsync(bool overwrite)
    {
        GraphImages images = this.Images;
        images.CopyTo(GraphImages.EnvA, this.Authority, Env, "a-1");
        images.CopyTo(GraphImages.EnvB, this.Authority, Env, "b-1");
        images.CopyTo(GraphImages.ModelM, this.Authority, Model, "model-1");
        images.CopyTo(GraphImages.Base, this.Authority, Other, "v1");
        using var artifacts = new ArtifactPusher(this.Registry.BaseAddress);
        if (overwrite)
        {
            // rolling first holds env-b2; pushing the umoci image over it leaves env-b2 untagged.
            images.CopyTo(GraphImages.EnvB2, this.Authority, Env, "rolling");
            this.Stored["rolling-old"] = await artifacts.StatAsync(Env, "rolling");
        }

        images.CopyTo(GraphImages.Umoci, this.Authority, Env, "rolling");
        foreach (string tag in new[] { "a-1", "b-1", "rolling" })
        {
            this.Stored[tag] = await artifacts.StatAsync(Env, tag);
        }

        this.Stored["model-1"] = await artifacts.StatAsync(Model, "model-1");
        this.Stored["multi1"] = await artifacts.PushUntaggedAsync(images.Layout, GraphImages.Multi1, Env);
        this.Stored["env-c"] = await artifacts.PushUntaggedAsync(images.Layout, GraphImages.EnvC, Env);
        this.Stored["nested-live"] = await artifacts.IndexAsync(Env, "nested-live", this.Stored["multi1"], this.Stored["env-c"]);
        this.Stored["multi2"] = await artifacts.PushUntaggedAsync(images.Layout, GraphImages.Multi2, Env);
        this.Stored["nested-old"] = await artifacts.IndexAsync(Env, "nested-old", this.Stored["multi2"]);

        foreach ((string image, string prefix, int seed) in new[] { ("a-1", "a", 21), ("b-1", "b", 22) })
        {
            this.Stored[prefix + "-sig"] = await artifacts.StatAsync(Env, await artifacts.SignAsync(Env, this.Stored[image].Digest));
            this.Stored[prefix + "-sbom"] = await artifacts.AttachAsync(Env, this.Stored[image], ArtifactPusher.Spdx, seed, tagSchema: !this.Oci11);
        }
    }
}
