using System.Text;
using Microsoft.AspNetCore.Http;
using RegistryCleaner.Planning;
using RegistryCleaner.Registry;
using RegistryCleaner.Tests.Infrastructure;
using RegistryCleaner.Workloads;

namespace RegistryCleaner.Tests.Graph;

/// <summary>
/// Index trees a real registry will not hold (nobody nests ten levels), served by a stub: the reader walks to any depth
/// up to the limit, and anything deeper is an error for that tag that refuses the plan. A cycle needs digests that lie
/// (content addressing forbids it), and the client checks every manifest against its digest (sha512 too), so a cycle
/// is an error for its tag before the reader's own cycle check is reached.
/// </summary>
public class ManifestGraphReaderTests
{
    private const string ConfigJson = """{"created":"2024-01-01T00:00:00Z","os":"linux","architecture":"arm64"}""";
    private static readonly string ConfigDigest = ImagePusher.Digest(Encoding.UTF8.GetBytes(ConfigJson));
    private static readonly string Leaf =
        $$$"""{"schemaVersion":2,"mediaType":"{{{MediaTypes.OciManifest}}}","config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":{{{ConfigJson.Length}}},"digest":"{{{ConfigDigest}}}"},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","size":777,"digest":"sha256:{{{new string('1', 64)}}}"}]}""";

    private static readonly string LeafDigest = ImagePusher.Digest(Encoding.UTF8.GetBytes(Leaf));

    private static string Sha512(string name) => "sha512:" + Convert.ToHexString(System.Security.Cryptography.SHA512.HashData(Encoding.UTF8.GetBytes(name))).ToLowerInvariant();

    private static string Index(string child, string? name = null)
    {
        string annotations = name is null ? string.Empty : ",\"annotations\":{\"name\":\"" + name + "\"}";
        return $$$"""{"schemaVersion":2,"mediaType":"{{{MediaTypes.OciIndex}}}","manifests":[{"mediaType":"{{{MediaTypes.OciIndex}}}","size":100,"digest":"{{{child}}}"}]{{{annotations}}}}""";
    }

    private static string Add(Dictionary<string, string> manifests, string body)
    {
        string digest = ImagePusher.Digest(Encoding.UTF8.GetBytes(body));
        manifests[digest] = body;
        return digest;
    }

    [Fact]
    public async Task Indexes_are_read_to_the_depth_limit_and_a_cycle_or_deeper_nesting_is_an_error_that_refuses_the_plan()
    {
        var manifests = new Dictionary<string, string>(StringComparer.Ordinal) { [LeafDigest] = Leaf };

        // "deep-8": eight index levels over the leaf (the limit); "deep-9": nine.
        string top8 = LeafDigest;
        string top9 = LeafDigest;
        for (int level = 1; level <= ManifestGraphException.MaxIndexDepth + 1; level++)
        {
            // Each level is its own content (the annotation), addressed by its true digest.
            top9 = Add(manifests, Index(top9, $"nine-{level}"));
            if (level <= ManifestGraphException.MaxIndexDepth)
            {
                top8 = Add(manifests, Index(top8, $"eight-{level}"));
            }
        }

        manifests[Sha512("x")] = Index(Sha512("y"));
        manifests[Sha512("y")] = Index(Sha512("x"));
        var tags = new Dictionary<string, string> { ["deep-8"] = top8, ["deep-9"] = top9, ["loop"] = Sha512("x") };
        await using var stub = StubHttpServer.Start(async context =>
        {
            string path = context.Request.Path.Value!;
            const string Prefix = "/v2/app/manifests/";
            string? body = path switch
            {
                "/v2/" => "{}",
                "/v2/_catalog" => """{"repositories":["app"]}""",
                "/v2/app/tags/list" => """{"name":"app","tags":["deep-8","deep-9","loop"]}""",
                _ when path == "/v2/app/blobs/" + ConfigDigest => ConfigJson,
                _ when path.StartsWith(Prefix, StringComparison.Ordinal) => manifests.GetValueOrDefault(tags.GetValueOrDefault(path[Prefix.Length..]) ?? path[Prefix.Length..]),
                _ => null,
            };
            context.Response.StatusCode = body is null ? 404 : 200;
            context.Response.ContentType = body?.Contains("\"manifests\"", StringComparison.Ordinal) == true ? MediaTypes.OciIndex : MediaTypes.OciManifest;
            await context.Response.WriteAsync(body ?? """{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}""");
        });
        using var client = new RegistryClient(RegistryEndpoint.Parse(stub.BaseAddress.ToString()));
        var reader = new InventoryReader(client, new InventoryReaderOptions { ReadReferrers = true });
        var results = new List<TagReadResult>();
        await foreach (TagReadResult result in reader.ReadAsync(CancellationToken.None))
        {
            results.Add(result);
        }

        TagReadResult deep8 = results.Single(r => r.Tag == "deep-8");
        Assert.Null(deep8.Error);
        Assert.Equal(ManifestGraphException.MaxIndexDepth, deep8.Children.Count);
        Assert.Equal(LeafDigest, deep8.Children[^1].Digest);
        RegistryImage image = InventoryViews.Images(new RegistryInventory(
            client.Endpoint.DisplayName, ["app"], [new TagRecord("app", "deep-8", deep8.Digest!)], [deep8.Manifest!, .. deep8.Children], Complete: false))[0];
        Assert.Equal(ConfigJson.Length + 777, image.Size);
        Assert.Equal(["linux/arm64"], image.Platforms);

        Assert.Contains("deeper than 8 levels", results.Single(r => r.Tag == "deep-9").Error!.Message, StringComparison.Ordinal);
        Assert.Contains("hashes to", results.Single(r => r.Tag == "loop").Error!.Message, StringComparison.Ordinal);
        RegistryInventory inventory = reader.Inventory;
        Assert.Single(inventory.GraphErrors);
        Assert.False(inventory.Complete);
        var usage = new UsageSnapshot([], [], ["test"], DateTimeOffset.UnixEpoch, Complete: true);
        InventoryGraphException refused = Assert.Throws<InventoryGraphException>(
            () => DeletionPlanner.Plan(new PlanRequest(inventory, usage, new PlanOptions { AcceptIncompleteInventory = true })));
        Assert.Contains("app:deep-9", refused.Message, StringComparison.Ordinal);
    }
}
