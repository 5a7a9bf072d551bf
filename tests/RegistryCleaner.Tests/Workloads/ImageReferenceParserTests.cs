using RegistryCleaner.Workloads;

namespace RegistryCleaner.Tests.Workloads;

public sealed class ImageReferenceParserTests
{
    private const string D = "sha256:3b2e4f6a8c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f";

    // reference, registry, repository, tag (null = none), digest (null = none)
    public static TheoryData<string, string, string, string?, string?> Valid => new()
    {
        { "nginx", "docker.io", "library/nginx", "latest", null },
        { "nginx:1.27", "docker.io", "library/nginx", "1.27", null },
        { "nginx:latest", "docker.io", "library/nginx", "latest", null },
        { "library/nginx", "docker.io", "library/nginx", "latest", null },
        { "bitnami/redis:7.2", "docker.io", "bitnami/redis", "7.2", null },
        { "docker.io/nginx", "docker.io", "library/nginx", "latest", null },
        { "docker.io/library/nginx:1.0", "docker.io", "library/nginx", "1.0", null },
        { "index.docker.io/nginx", "docker.io", "library/nginx", "latest", null },
        { "index.docker.io/bitnami/redis:7", "docker.io", "bitnami/redis", "7", null },
        { "docker.io/a/b/c:1", "docker.io", "a/b/c", "1", null },
        { "a/b/c", "docker.io", "a/b/c", "latest", null },
        { "localhost/foo", "localhost", "foo", "latest", null },
        { "localhost:5000/foo", "localhost:5000", "foo", "latest", null },
        { "localhost:5000/foo:bar", "localhost:5000", "foo", "bar", null },
        { "localhost:5000", "docker.io", "library/localhost", "5000", null },
        { "docker-registry:5000/dominodatalab/environment:659c7bce85f6381e675bb205-12", "docker-registry:5000", "dominodatalab/environment", "659c7bce85f6381e675bb205-12", null },
        { "docker-registry:5000/dominodatalab/model:659d755348824d102d3ec6df-v1-202419163323_HfGeD8Ia", "docker-registry:5000", "dominodatalab/model", "659d755348824d102d3ec6df-v1-202419163323_HfGeD8Ia", null },
        { "docker-registry.domino-platform.svc.cluster.local:5000/dominodatalab/environment:x", "docker-registry.domino-platform.svc.cluster.local:5000", "dominodatalab/environment", "x", null },
        { "10.0.0.12:5000/dominodatalab/environment:1", "10.0.0.12:5000", "dominodatalab/environment", "1", null },
        { "10.0.0.12/repo", "10.0.0.12", "repo", "latest", null },
        { "127.0.0.1:32000/repo:tag", "127.0.0.1:32000", "repo", "tag", null },
        { "[::1]:5000/foo:bar", "[::1]:5000", "foo", "bar", null },
        { "[fe80::1]/foo", "[fe80::1]", "foo", "latest", null },
        { "quay.io/prometheus/node-exporter:v1.8.2", "quay.io", "prometheus/node-exporter", "v1.8.2", null },
        { "registry.k8s.io/pause:3.9", "registry.k8s.io", "pause", "3.9", null },
        { "gcr.io/google-containers/busybox", "gcr.io", "google-containers/busybox", "latest", null },
        { "ghcr.io/org/repo/sub/image:1", "ghcr.io", "org/repo/sub/image", "1", null },
        { "Registry.Example.COM/foo", "registry.example.com", "foo", "latest", null },
        { "my-registry.example.com:443/team/app:2024.01.01", "my-registry.example.com:443", "team/app", "2024.01.01", null },
        { "nginx@" + D, "docker.io", "library/nginx", null, D },
        { "docker-registry:5000/dominodatalab/environment@" + D, "docker-registry:5000", "dominodatalab/environment", null, D },
        { "docker-registry:5000/dominodatalab/environment:abc@" + D, "docker-registry:5000", "dominodatalab/environment", "abc", D },
        { "nginx:1.27@" + D, "docker.io", "library/nginx", "1.27", D },
        { "localhost:5000/foo@" + D, "localhost:5000", "foo", null, D },
        { "foo@sha512:" + new string('a', 128), "docker.io", "library/foo", null, "sha512:" + new string('a', 128) },
        { "foo@sha384+b64:" + new string('0', 96), "docker.io", "library/foo", null, "sha384+b64:" + new string('0', 96) },
        { "a_b/c__d/e-f/g--h/i.j", "docker.io", "a_b/c__d/e-f/g--h/i.j", "latest", null },
        { "foo:TAG_Upper", "docker.io", "library/foo", "TAG_Upper", null },
        { "foo:_underscore", "docker.io", "library/foo", "_underscore", null },
        { "foo:" + new string('t', 128), "docker.io", "library/foo", new string('t', 128), null },
        { "host.with-dash.io:1/x", "host.with-dash.io:1", "x", "latest", null },
        { "a.b/c", "a.b", "c", "latest", null },
        { "0/foo", "docker.io", "0/foo", "latest", null },
    };

    public static TheoryData<string> Invalid => new()
    {
        "",
        "Nginx",
        "UPPER/case",
        "docker-registry:5000/DominoDataLab/environment:1",
        "foo:",
        "foo:-tag",
        "foo:.tag",
        "foo:" + new string('t', 129),
        "foo:tag with space",
        "foo@sha256:abc",
        "foo@sha256:" + new string('A', 64),
        "foo@" + new string('a', 64),
        "foo@md5",
        "/foo",
        "foo/",
        "foo//bar",
        "-foo",
        "foo-",
        "foo..bar",
        "foo___bar",
        "host:port/foo",
        "localhost:/foo",
        "local_host.io/foo",
        "-host.io/foo",
        "host.io:123456/foo",
        ":tag",
        "@" + D,
        "a/" + new string('b', 300),
        "foo bar",
    };

    [Theory]
    [MemberData(nameof(Valid))]
    public void Parse_normalises_valid_references(string value, string registry, string repository, string? tag, string? digest)
    {
        ImageReference parsed = ImageReferenceParser.Parse(value);

        Assert.Equal(new ImageReference(value, registry, repository, tag, digest), parsed);
        Assert.True(ImageReferenceParser.TryParse(value, out ImageReference? again));
        Assert.Equal(parsed, again);
    }

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Parse_rejects_invalid_references_naming_the_value(string value)
    {
        FormatException error = Assert.Throws<FormatException>(() => ImageReferenceParser.Parse(value));

        Assert.Contains($"'{value}'", error.Message, StringComparison.Ordinal);
        Assert.False(ImageReferenceParser.TryParse(value, out _));
    }

    [Fact]
    public void Uppercase_repository_is_reported_as_such()
    {
        FormatException error = Assert.Throws<FormatException>(() => ImageReferenceParser.Parse("registry:5000/Team/App:1"));

        Assert.Contains("must be lower case", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TryParse_of_null_is_false()
    {
        Assert.False(ImageReferenceParser.TryParse(null, out _));
    }

    // imageID, registry, repository (null = bare digest)
    public static TheoryData<string, string?, string?> ImageIds => new()
    {
        { "docker-pullable://docker-registry:5000/dominodatalab/environment@" + D, "docker-registry:5000", "dominodatalab/environment" },
        { "docker-pullable://nginx@" + D, "docker.io", "library/nginx" },
        { "docker.io/library/nginx@" + D, "docker.io", "library/nginx" },
        { "docker-registry.domino-platform.svc:5000/dominodatalab/model@" + D, "docker-registry.domino-platform.svc:5000", "dominodatalab/model" },
        { "10.0.0.12:5000/dominodatalab/environment@" + D, "10.0.0.12:5000", "dominodatalab/environment" },
        { D, null, null },
        { "docker://" + D, null, null },
        { "Bad/Name@" + D, null, null },
    };

    [Theory]
    [MemberData(nameof(ImageIds))]
    public void ParseImageId_reads_every_runtime_form(string imageId, string? registry, string? repository)
    {
        Assert.Equal(new RunningImage(registry, repository, D), ImageReferenceParser.ParseImageId(imageId));
    }

    [Theory]
    [InlineData("")]
    [InlineData("docker-pullable://nginx")]
    [InlineData("sha256:short")]
    public void ParseImageId_without_a_digest_fails(string imageId)
    {
        Assert.False(ImageReferenceParser.TryParseImageId(imageId, out _));
    }

    [Theory]
    [InlineData("docker-registry:5000/dominodatalab/environment", "dominodatalab/environment")]
    [InlineData("10.0.0.1:5000/dominodatalab/environment", "dominodatalab/environment")]
    [InlineData("[::1]:5000/dominodatalab/environment", "dominodatalab/environment")]
    [InlineData("docker-registry.domino-platform.svc.cluster.local:5000/dominodatalab/environment", "dominodatalab/environment")]
    [InlineData("localhost/dominodatalab/environment", "dominodatalab/environment")]
    [InlineData("dominodatalab/environment", "dominodatalab/environment")]
    [InlineData("docker-registry/dominodatalab/environment", "docker-registry/dominodatalab/environment")]
    [InlineData("environment", "environment")]
    [InlineData("[::1]:5000/repo", "repo")]
    [InlineData("[::1]/repo", "repo")]
    [InlineData("[fd00::5]:5000/dominodatalab/model", "dominodatalab/model")]
    [InlineData("localhost:5000/library/ubuntu", "library/ubuntu")]
    [InlineData("localhost:5000/repo", "repo")]
    [InlineData("host.domain/repo", "repo")]
    [InlineData("registry.example.com:443/team/app", "team/app")]
    [InlineData("library/ubuntu", "library/ubuntu")]
    [InlineData("ubuntu", "ubuntu")]
    public void A_registry_host_is_a_first_component_with_a_dot_a_colon_or_localhost(string name, string path)
    {
        Assert.Equal(path, ImageReferenceParser.WithoutRegistryHost(name));
        Assert.Equal(name != path, ImageReferenceParser.IsRegistryHost(name.Split('/')[0]));
    }

    [Theory]
    [InlineData("docker-registry/dominodatalab/environment", "dominodatalab/environment")]
    [InlineData("docker-registry/environment", "docker-registry/environment")]
    [InlineData("registry/dominodatalab/environment", "registry/dominodatalab/environment")]
    public void A_named_host_is_removed_only_in_front_of_two_more_components(string name, string path) =>
        Assert.Equal(path, ImageReferenceParser.WithoutRegistryHost(name, ["docker-registry"]));
}
