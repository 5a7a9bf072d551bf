using RegistryCleaner.Planning;
using RegistryCleaner.Registry;

namespace RegistryCleaner.Tests.Planning;

/// <summary>Size and ReclaimableBytes from sizes a registry declares: foreign layers, duplicates, absurd values.</summary>
public class SizeAccountingTests
{
    private const string Env = "dominodatalab/environment";

    [Fact]
    public void A_layer_with_urls_counts_in_Size_but_never_in_ReclaimableBytes()
    {
        RegistryBuilder registry = new RegistryBuilder().Blob("L1", 1000)
            .Foreign("win-base", 5_000_000_000, "application/vnd.docker.image.rootfs.diff.tar.gzip", "https://mcr.microsoft.com/v2/windows/blobs/x")
            .Image(Env, "sha256:a", ["win-base", "L1"]).Tag(Env, "t1", "sha256:a");

        DeletionCandidate candidate = Assert.Single(registry.Plan().Candidates);

        Assert.Equal(RegistryBuilder.ConfigSize + 1000 + 5_000_000_000, candidate.Size);
        Assert.Equal(registry.Exclusive("L1"), candidate.ReclaimableBytes);
    }

    [Theory]
    [InlineData(MediaTypes.DockerForeignLayer)]
    [InlineData("application/vnd.oci.image.layer.nondistributable.v1.tar+gzip")]
    [InlineData("application/vnd.oci.image.layer.nondistributable.v1.tar")]
    [InlineData("application/vnd.oci.image.layer.nondistributable.v1.tar+zstd")]
    public void A_nondistributable_layer_is_never_reclaimable(string mediaType)
    {
        RegistryBuilder registry = new RegistryBuilder()
            .Foreign("foreign", 7_000, mediaType)
            .Image(Env, "sha256:a", ["foreign", "L1"]).Tag(Env, "old", "sha256:a")
            .Image(Env, "sha256:b", ["foreign", "L2"]).Tag(Env, "older", "sha256:b");

        DeletionPlan plan = registry.Plan();

        Assert.All(plan.Candidates, c => Assert.Equal(RegistryBuilder.ConfigSize + 7_000 + 100, c.Size));
        Assert.Equal(registry.Exclusive("L1") + registry.Exclusive("L2"), plan.TotalReclaimableBytes);
    }

    [Fact]
    public void Foreign_layers_are_recognised_by_one_predicate()
    {
        Assert.True(new BlobDescriptor("d", 1, MediaTypes.DockerForeignLayer).IsForeign);
        Assert.True(new BlobDescriptor("d", 1, "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip").IsForeign);
        Assert.True(new BlobDescriptor("d", 1, "application/vnd.oci.image.layer.v1.tar+gzip") { Urls = ["https://example.com/blob"] }.IsForeign);
        Assert.False(new BlobDescriptor("d", 1, "application/vnd.oci.image.layer.v1.tar+gzip").IsForeign);
        Assert.False(new BlobDescriptor("d", 1, "application/vnd.oci.image.layer.v1.tar+gzip") { Urls = [] }.IsForeign);
        Assert.False(MediaTypes.IsNondistributable("application/vnd.docker.image.rootfs.diff.tar.gzip"));
    }

    [Fact]
    public void A_layer_listed_five_times_counts_once_in_Size_as_in_ReclaimableBytes()
    {
        RegistryBuilder registry = new RegistryBuilder().Blob("L1", 1000).Blob("L2", 2000)
            .Image(Env, "sha256:a", ["L1", "L1", "L1", "L1", "L1", "L2"]).Tag(Env, "t1", "sha256:a");

        DeletionCandidate candidate = Assert.Single(registry.Plan().Candidates);

        Assert.Equal(RegistryBuilder.ConfigSize + 3000, candidate.Size);
        Assert.Equal(registry.Exclusive("L1", "L2"), candidate.ReclaimableBytes);
    }

    [Fact]
    public void Sums_over_images_saturate_instead_of_wrapping_or_throwing()
    {
        // Each image's own sizes add up (the parser refuses one that does not); together they exceed a long.
        const long Huge = long.MaxValue / 2;
        RegistryBuilder registry = new RegistryBuilder().Blob("H1", Huge).Blob("H2", Huge).Blob("H3", Huge)
            .Image(Env, "sha256:a", ["H1"]).Tag(Env, "a", "sha256:a")
            .Image(Env, "sha256:b", ["H2"]).Tag(Env, "b", "sha256:b")
            .Image(Env, "sha256:c", ["H3"]).Tag(Env, "c", "sha256:c")
            .Index(Env, "sha256:i", "sha256:a", "sha256:b", "sha256:c").Tag(Env, "multi", "sha256:i");

        DeletionPlan plan = registry.Plan();

        Assert.Equal(long.MaxValue, plan.TotalReclaimableBytes);
        Assert.All(plan.Candidates, c => Assert.True(c.Size >= 0 && c.ReclaimableBytes >= 0, $"{c.Tag}: {c.Size}, {c.ReclaimableBytes}"));
        Assert.Equal(long.MaxValue, plan.Candidates.Single(c => c.Tag == "multi").Size);
    }

    [Theory]
    [InlineData(1L, 2L, 3L)]
    [InlineData(long.MaxValue, 1L, long.MaxValue)]
    [InlineData(long.MaxValue, long.MaxValue, long.MaxValue)]
    [InlineData(long.MaxValue - 1, 1L, long.MaxValue)]
    [InlineData(5L, -7L, 0L)]
    public void ByteTotal_saturates(long a, long b, long expected) => Assert.Equal(expected, ByteTotal.Add(a, b));
}
