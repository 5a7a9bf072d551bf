using RegistryCleaner.Domino;
using RegistryCleaner.Registry;
using RegistryCleaner.Tests.Infrastructure;
using static RegistryCleaner.Tests.Infrastructure.PopulatedRegistry;

namespace RegistryCleaner.Tests.Registry;

/// <summary>Get-RegistryLayer's tally while the tags stream in: the same blobs as the layer view of a kept inventory.</summary>
[Collection(PopulatedRegistryCollection.Name)]
public class StreamingLayerTests(PopulatedRegistry registry)
{
    private static string Describe(RegistryLayer layer) =>
        $"{layer.Digest} {layer.Size} {layer.MediaType} {layer.Kind} [{string.Join(",", layer.Repositories)}] [{string.Join(",", layer.Tags)}] {layer.TagCount} [{string.Join(",", layer.ObjectIds)}]";

    private static string Digest(char c) => "sha256:" + new string(c, 64);

    [Fact]
    public async Task A_tally_of_a_streaming_read_equals_the_layer_view_of_a_kept_read()
    {
        using RegistryClient client = registry.CreateClient();
        var kept = new InventoryReader(client, new InventoryReaderOptions { Repositories = [EnvRepo, ModelRepo] });
        RegistryInventory inventory = await kept.ReadAllAsync(CancellationToken.None);
        Assert.Empty(kept.Errors);
        var tally = new InventoryViews.LayerTally();
        var streaming = new InventoryReader(client, new InventoryReaderOptions { Repositories = [EnvRepo, ModelRepo], KeepInventory = false });
        int read = 0;
        await foreach (TagReadResult result in streaming.ReadAsync())
        {
            Assert.Null(result.Error);
            tally.Add(result);
            read++;
        }

        Assert.Equal(inventory.Tags.Count, read);
        string[] expected = [.. InventoryViews.Layers(inventory).Select(Describe)];
        Assert.True(expected.Length > 3);
        Assert.Contains(inventory.Manifests, static m => m.IsIndex);
        Assert.Equal(expected, tally.Layers().Select(Describe));
    }

    [Fact]
    public void A_blob_two_manifests_name_with_different_media_types_shows_the_first_manifest_s_whatever_the_order()
    {
        // One layer, pushed once as Docker and once as OCI: the view shows the descriptor of the manifest first in
        // (repository, digest) order, and so must a tally fed the tags in any order.
        var docker = new BlobDescriptor(Digest('1'), 10, "application/vnd.docker.image.rootfs.diff.tar.gzip");
        var oci = new BlobDescriptor(Digest('1'), 10, "application/vnd.oci.image.layer.v1.tar+gzip");
        ManifestRecord Image(string repository, char digest, char config, BlobDescriptor layer) =>
            new(repository, Digest(digest), MediaTypes.DockerManifest, 100, new BlobDescriptor(Digest(config), 5, "application/vnd.docker.container.image.v1+json"), [layer], [], null);
        ManifestRecord first = Image("a", 'a', 'c', oci);
        ManifestRecord second = Image("a", 'b', 'd', docker);
        ManifestRecord other = Image("b", '0', 'e', docker);
        var inventory = new RegistryInventory(
            "registry.test",
            ["a", "b"],
            [new TagRecord("a", "x", second.Digest), new TagRecord("a", "y", first.Digest), new TagRecord("b", "z", other.Digest)],
            [first, second, other],
            Complete: true);
        string[] expected = [.. InventoryViews.Layers(inventory).Select(Describe)];
        Assert.Equal(oci.MediaType, InventoryViews.Layers(inventory).Single(l => l.Digest == Digest('1')).MediaType);

        var tally = new InventoryViews.LayerTally();
        tally.Add(new TagReadResult("a", "x", second, [], null));
        tally.Add(new TagReadResult("a", "y", first, [], null));
        tally.Add(new TagReadResult("b", "z", other, [], null));
        Assert.Equal(expected, tally.Layers().Select(Describe));
    }

    [Fact]
    public void A_tally_of_thousands_of_blobs_in_any_tag_order_equals_a_blob_by_blob_reckoning()
    {
        // Enough blobs for many pages and several regrowths of the digest table; sha512 blobs and manifests beside
        // sha256 ones; repositories where one name is a prefix of the other; a shared layer pushed as Docker and as
        // OCI. The expected blobs are reckoned here directly from the manifests, not by the tally.
        var random = new Random(7);
        string Sha256(string seed) => ManifestParser.ComputeDigest(System.Text.Encoding.UTF8.GetBytes(seed));
        string Sha512(string seed) => "sha512:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA512.HashData(System.Text.Encoding.UTF8.GetBytes(seed)));
        string[] mediaTypes = ["application/vnd.docker.image.rootfs.diff.tar.gzip", "application/vnd.oci.image.layer.v1.tar+gzip"];
        string[] shared = [.. Enumerable.Range(0, 300).Select(i => i % 50 == 0 ? Sha512($"layer {i}") : Sha256($"layer {i}"))];
        var results = new List<TagReadResult>();
        for (int i = 0; i < 1500; i++)
        {
            string repository = (i % 3) switch { 0 => "a", 1 => "a-b", _ => "a/b" };
            var config = new BlobDescriptor(Sha256($"config {i}"), 100 + i, "application/vnd.docker.container.image.v1+json");
            BlobDescriptor[] layers =
            [
                .. Enumerable.Range(0, 3).Select(_ => shared[random.Next(shared.Length)]).Distinct()
                    .Select(d => new BlobDescriptor(d, d.Length, mediaTypes[random.Next(2)])),
                new BlobDescriptor(Sha256($"own {i}"), i, mediaTypes[0]),
            ];
            string digest = i % 40 == 0 ? Sha512($"manifest {i}") : Sha256($"manifest {i}");
            var manifest = new ManifestRecord(repository, digest, MediaTypes.DockerManifest, 500, config, layers, [], null);
            string tag = i % 4 == 0 ? "latest-" + i : $"659c7bce85f6381e675b{i % 700:x4}-{i}";
            results.Add(new TagReadResult(repository, tag, manifest, [], null));
            if (i % 5 == 0)
            {
                results.Add(new TagReadResult(repository, tag + "-again", manifest, [], null));
            }
        }

        var blobs = results
            .SelectMany(static r => (r.Manifest!.Config is { } c ? r.Manifest.Layers.Prepend(c) : r.Manifest.Layers).Select(b => (Result: r, Blob: b)))
            .GroupBy(static x => x.Blob.Digest)
            .Select(static g =>
            {
                BlobDescriptor shown = g.OrderBy(static x => x.Result.Manifest!.Repository, StringComparer.Ordinal).ThenBy(static x => x.Result.Manifest!.Digest, StringComparer.Ordinal).First().Blob;
                string[] repositories = [.. g.Select(static x => x.Result.Repository).Distinct().Order(StringComparer.Ordinal)];
                string[] tags = [.. g.Select(static x => $"{x.Result.Repository}:{x.Result.Tag}").Distinct().Order(StringComparer.Ordinal)];
                string[] objectIds = [.. g.Select(static x => ObjectId.FromTag(x.Result.Tag)).OfType<string>().Distinct().Order(StringComparer.Ordinal)];
                string kind = g.Any(static x => ReferenceEquals(x.Result.Manifest!.Config, x.Blob)) ? "Config" : "Layer";
                return (Order: (repositories[0], tags[0], g.Key), Text: $"{g.Key} {shown.Size} {shown.MediaType} {kind} [{string.Join(",", repositories)}] [{string.Join(",", tags)}] {tags.Length} [{string.Join(",", objectIds)}]");
            });
        string[] expected = [.. blobs
            .OrderBy(static b => b.Order.Item1, StringComparer.Ordinal)
            .ThenBy(static b => b.Order.Item2, StringComparer.Ordinal)
            .ThenBy(static b => b.Order.Key, StringComparer.Ordinal)
            .Select(static b => b.Text)];
        Assert.True(expected.Length > 3000);

        foreach (int seed in new[] { 1, 2 })
        {
            var tally = new InventoryViews.LayerTally();
            var shuffle = new Random(seed);
            foreach (TagReadResult result in results.OrderBy(_ => shuffle.Next()).ToList())
            {
                tally.Add(result);
            }

            Assert.Equal(expected, tally.Layers().Select(Describe));
        }
    }

    [Fact]
    public void A_tag_that_was_not_read_adds_nothing()
    {
        var tally = new InventoryViews.LayerTally();
        tally.Add(new TagReadResult("a", "x", null, [], new RegistryException("registry.test", "a:x: gone", null)));
        Assert.Empty(tally.Layers());
    }
}

/// <summary>A digest kept as its 32 bytes.</summary>
public class DigestKeyTests
{
    [Fact]
    public void A_canonical_digest_reads_back_exactly_and_orders_as_its_string()
    {
        string[] digests = [.. Enumerable.Range(0, 200).Select(static i => ManifestDigest(i)).Append("sha256:" + new string('0', 64)).Append("sha256:" + new string('f', 64))];
        foreach (string digest in digests)
        {
            Assert.True(DigestKey.TryParse(digest, out DigestKey key));
            Assert.Equal(digest, key.ToString());
        }

        var keys = digests.Select(static d => (Digest: d, Key: Parse(d))).ToArray();
        foreach (var x in keys.Take(40))
        {
            foreach (var y in keys)
            {
                Assert.Equal(Math.Sign(string.CompareOrdinal(x.Digest, y.Digest)), Math.Sign(x.Key.CompareTo(y.Key)));
                Assert.Equal(x.Digest == y.Digest, x.Key.Equals(y.Key));
            }
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("sha256:abc")]
    [InlineData("sha512:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]
    [InlineData("sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef")]
    [InlineData("sha256:0123456789abcdeg0123456789abcdef0123456789abcdef0123456789abcdef")]
    [InlineData("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0")]
    public void Anything_but_a_canonical_sha256_digest_is_refused(string digest) =>
        Assert.False(DigestKey.TryParse(digest, out _));

    private static DigestKey Parse(string digest)
    {
        Assert.True(DigestKey.TryParse(digest, out DigestKey key));
        return key;
    }

    private static string ManifestDigest(int i) => ManifestParser.ComputeDigest(System.Text.Encoding.UTF8.GetBytes($"content {i}"));
}
