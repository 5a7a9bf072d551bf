using System.Management.Automation;
using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.Maintenance;

/// <summary>Test-RegistryImage against a real registry whose storage the test damages behind its back.</summary>
public sealed class RegistryIntegrityTests : IAsyncLifetime
{
    private const string Repository = "dominodatalab/environment";
    private readonly string folder = Directory.CreateTempSubdirectory("registrycleaner-integrity-").FullName;
    private RegistryServer registry = null!;
    private PowerShellSession session = null!;
    private PushedImage first = null!;
    private PushedImage second = null!;
    private PushedImage index = null!;
    private byte[] shared = null!;

    public async Task InitializeAsync()
    {
        this.registry = new RegistryServer(new RegistryServerOptions());
        this.session = new PowerShellSession(this.folder);
        using var pusher = new ImagePusher(this.registry.BaseAddress);
        this.shared = ImagePusher.Layer(201, 3000);
        this.first = await pusher.PushImageAsync(Repository, "659c7bce85f6381e675bb205-1", [this.shared, ImagePusher.Layer(202, 1000)]);
        this.second = await pusher.PushImageAsync(Repository, "659c7bce85f6381e675bb205-2", [this.shared, ImagePusher.Layer(203, 1100)], oci: true);
        PushedImage amd64 = await pusher.PushImageAsync(Repository, null, [ImagePusher.Layer(204, 900)], oci: true);
        PushedImage arm64 = await pusher.PushImageAsync(Repository, null, [ImagePusher.Layer(205, 950)], oci: true, platform: "linux/arm64");
        this.index = await pusher.PushIndexAsync(Repository, "multiarch", [amd64, arm64], oci: true);
    }

    public Task DisposeAsync()
    {
        this.session.Dispose();
        this.registry.Dispose();
        Directory.Delete(this.folder, recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public void A_whole_registry_has_no_problem_rows_and_a_healthy_summary_that_counts_what_was_checked()
    {
        PowerShellResult result = this.session.Run($"Test-RegistryImage -Registry '{this.registry.Registry}' -Repository {Repository}");

        Assert.Null(result.Terminating);
        Assert.Empty(result.Errors);
        PSObject summary = Assert.Single(result.Output);
        Assert.Equal("RegistryCleaner.RegistryIntegrity", summary.TypeNames[0]);
        Assert.True((bool)summary.Properties["Healthy"].Value);
        Assert.Equal(3, (int)summary.Properties["Images"].Value);
        Assert.Equal(5, (int)summary.Properties["Manifests"].Value); // two images, the index and its two children
        Assert.Equal(9, (int)summary.Properties["Blobs"].Value);     // 5 layers (one shared) and 4 configurations
        Assert.Equal(0, (int)summary.Properties["Problems"].Value);
    }

    [Fact]
    public void A_blob_deleted_behind_the_registrys_back_is_reported_for_every_image_that_needs_it()
    {
        File.Delete(this.BlobData(ImagePusher.Digest(this.shared)));

        PowerShellResult result = this.session.Run($"Test-RegistryImage -Registry '{this.registry.Registry}' -Repository {Repository}");

        Assert.Null(result.Terminating);
        PSObject[] problems = result.Output.Where(o => o.TypeNames[0] == "RegistryCleaner.RegistryImageProblem").ToArray();
        Assert.Equal(2, problems.Length);
        Assert.All(problems, p =>
        {
            Assert.Equal(("Layer", "Missing", ImagePusher.Digest(this.shared), 3000L), ((string)p.Properties["Kind"].Value, (string)p.Properties["Problem"].Value, (string)p.Properties["Digest"].Value, (long?)p.Properties["ExpectedSize"].Value));
            Assert.Contains("404", (string)p.Properties["Reason"].Value, StringComparison.Ordinal);
        });
        Assert.Equal([this.first.Digest, this.second.Digest], problems.Select(p => (string)p.Properties["ImageDigest"].Value).Order());
        Assert.Equal(["659c7bce85f6381e675bb205-1", "659c7bce85f6381e675bb205-2"], problems.Select(p => (string)p.Properties["Tag"].Value).Order());
        PSObject summary = result.Output[^1];
        Assert.False((bool)summary.Properties["Healthy"].Value);
        Assert.Equal(2, (int)summary.Properties["BrokenImages"].Value);
    }

    [Fact]
    public async Task With_the_blob_descriptor_cache_on_a_blob_deleted_behind_the_registrys_back_is_still_reported_for_every_image_that_needs_it()
    {
        // distribution's default config.yml caches blob descriptors in memory: HEAD then answers 200 for a blob whose
        // data file is gone, until the registry restarts. The check must read storage, not the cache.
        using var cached = new RegistryServer(new RegistryServerOptions { BlobDescriptorCache = true });
        using var pusher = new ImagePusher(cached.BaseAddress);
        byte[] layer = ImagePusher.Layer(211, 70_000);
        PushedImage one = await pusher.PushImageAsync(Repository, "659c7bce85f6381e675bb205-7", [layer, ImagePusher.Layer(212, 500)]);
        PushedImage two = await pusher.PushImageAsync(Repository, "659c7bce85f6381e675bb205-8", [layer, ImagePusher.Layer(213, 600)], oci: true);
        string digest = ImagePusher.Digest(layer);
        using var http = new HttpClient { BaseAddress = cached.BaseAddress };
        using (var head = new HttpRequestMessage(HttpMethod.Head, $"v2/{Repository}/blobs/{digest}"))
        {
            Assert.Equal(System.Net.HttpStatusCode.OK, (await http.SendAsync(head)).StatusCode);
        }

        File.Delete(Path.Combine(cached.StoragePath, "docker", "registry", "v2", "blobs", "sha256", digest[7..9], digest[7..], "data"));
        using (var head = new HttpRequestMessage(HttpMethod.Head, $"v2/{Repository}/blobs/{digest}"))
        {
            // The premise: the cache still vouches for the blob.
            Assert.Equal(System.Net.HttpStatusCode.OK, (await http.SendAsync(head)).StatusCode);
        }

        PowerShellResult result = this.session.Run($"Test-RegistryImage -Registry '{cached.Registry}' -Repository {Repository}");

        Assert.Null(result.Terminating);
        Assert.Empty(result.Errors);
        PSObject[] problems = result.Output.Where(o => o.TypeNames[0] == "RegistryCleaner.RegistryImageProblem").ToArray();
        Assert.Equal(2, problems.Length);
        Assert.All(problems, p =>
        {
            Assert.Equal(("Layer", "Missing", digest, 70_000L), ((string)p.Properties["Kind"].Value, (string)p.Properties["Problem"].Value, (string)p.Properties["Digest"].Value, (long?)p.Properties["ExpectedSize"].Value));
            Assert.Contains("storage has no data", (string)p.Properties["Reason"].Value, StringComparison.Ordinal);
        });
        Assert.Equal(new[] { one.Digest, two.Digest }.Order(), problems.Select(p => (string)p.Properties["ImageDigest"].Value).Order());
        PSObject summary = result.Output[^1];
        Assert.False((bool)summary.Properties["Healthy"].Value);
        Assert.Equal(2, (int)summary.Properties["BrokenImages"].Value);
        Assert.Equal(5, (int)summary.Properties["Blobs"].Value); // 3 layers (one shared) and 2 configurations
    }

    [Fact]
    public async Task With_the_blob_descriptor_cache_on_a_whole_registry_is_healthy_and_a_truncated_layer_is_reported()
    {
        using var cached = new RegistryServer(new RegistryServerOptions { BlobDescriptorCache = true });
        using var pusher = new ImagePusher(cached.BaseAddress);
        PushedImage image = await pusher.PushImageAsync(Repository, "659c7bce85f6381e675bb205-9", [ImagePusher.Layer(221, 1), ImagePusher.Layer(222, 2000)]);

        PowerShellResult healthy = this.session.Run($"Test-RegistryImage -Registry '{cached.Registry}' -Repository {Repository}");
        PushedBlob layer = image.Layers[1];
        File.WriteAllBytes(Path.Combine(cached.StoragePath, "docker", "registry", "v2", "blobs", "sha256", layer.Digest[7..9], layer.Digest[7..], "data"), new byte[10]);
        PowerShellResult truncated = this.session.Run($"Test-RegistryImage -Registry '{cached.Registry}' -Repository {Repository}");

        Assert.True((bool)Assert.Single(healthy.Output).Properties["Healthy"].Value);
        PSObject problem = Assert.Single(truncated.Output, o => o.TypeNames[0] == "RegistryCleaner.RegistryImageProblem");
        Assert.Equal((layer.Digest, "Missing"), ((string)problem.Properties["Digest"].Value, (string)problem.Properties["Problem"].Value));
    }

    [Fact]
    public void A_missing_index_child_and_a_truncated_layer_are_told_apart()
    {
        PushedImage child = this.index.Children[0];
        File.Delete(this.BlobData(child.Digest));
        PushedBlob layer = this.first.Layers[1];
        File.WriteAllBytes(this.BlobData(layer.Digest), new byte[10]);

        PowerShellResult result = this.session.Run($"Test-RegistryImage -Registry '{this.registry.Registry}' -Repository {Repository}");

        PSObject missingChild = Assert.Single(result.Output, o => (string?)o.Properties["Kind"]?.Value == "Child");
        Assert.Equal(child.Digest, missingChild.Properties["Digest"].Value);
        Assert.Equal("multiarch", missingChild.Properties["Tag"].Value);
        Assert.Contains((string)missingChild.Properties["Problem"].Value, new[] { "Missing", "Unreadable" });
        PSObject truncated = Assert.Single(result.Output, o => (string?)o.Properties["Problem"]?.Value == "SizeMismatch");
        Assert.Equal((layer.Digest, 1000L, 10L), ((string)truncated.Properties["Digest"].Value, (long?)truncated.Properties["ExpectedSize"].Value, (long?)truncated.Properties["ActualSize"].Value));
    }

    [Fact]
    public void Piped_images_are_the_only_ones_checked_and_a_bad_digest_is_an_error_not_a_check()
    {
        File.Delete(this.BlobData(ImagePusher.Digest(this.shared)));

        PowerShellResult result = this.session.Run(
            $"Get-RegistryImage -Registry '{this.registry.Registry}' -Repository {Repository} | Where-Object Tag -eq multiarch | Test-RegistryImage -Registry '{this.registry.Registry}'");
        PowerShellResult typo = this.session.Run(
            $"[pscustomobject]@{{ Repository = '{Repository}'; Digest = 'sha256:abc' }} | Test-RegistryImage -Registry '{this.registry.Registry}'");

        PSObject summary = Assert.Single(result.Output);
        Assert.True((bool)summary.Properties["Healthy"].Value);
        Assert.Equal(1, (int)summary.Properties["Images"].Value);
        Assert.Equal("ImageDigestInvalid", Assert.Single(typo.Errors).FullyQualifiedErrorId.Split(',')[0]);
        Assert.Empty(typo.Output);
    }

    private string BlobData(string digest) =>
        Path.Combine(this.registry.StoragePath, "docker", "registry", "v2", "blobs", "sha256", digest[7..9], digest[7..], "data");
}
