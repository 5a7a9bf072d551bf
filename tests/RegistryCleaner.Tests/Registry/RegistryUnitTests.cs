using System.Text;
using RegistryCleaner.Registry;

namespace RegistryCleaner.Tests.Registry;

public class RegistryEndpointTests
{
    [Theory]
    [InlineData("docker-registry:5000", "https://docker-registry:5000/", "docker-registry:5000")]
    [InlineData("registry.example.com", "https://registry.example.com/", "registry.example.com")]
    [InlineData("http://localhost:5000", "http://localhost:5000/", "localhost:5000")]
    [InlineData("http://localhost:5000/", "http://localhost:5000/", "localhost:5000")]
    [InlineData("https://10.0.0.1:443/", "https://10.0.0.1/", "10.0.0.1")]
    [InlineData(" HTTPS://Registry:5000 ", "https://registry:5000/", "registry:5000")]
    public void Parse_defaults_to_https_and_keeps_host_and_port(string value, string baseUri, string display)
    {
        RegistryEndpoint endpoint = RegistryEndpoint.Parse(value);
        Assert.Equal(new Uri(baseUri), endpoint.BaseUri);
        Assert.Equal(display, endpoint.DisplayName);
    }

    [Theory]
    [InlineData("")]
    [InlineData("ftp://host")]
    [InlineData("https://host:5000/v2/")]
    [InlineData("https://user:pw@host")]
    [InlineData("/v2/")]
    [InlineData("https://host/a@b")]
    public void Parse_rejects_what_is_not_a_registry(string value) =>
        Assert.Throws<FormatException>(() => RegistryEndpoint.Parse(value));

    [Theory]
    [InlineData("5000", "0.0.19.136")]
    [InlineData("http://5000", "0.0.19.136")]
    [InlineData("0x7f.1:5000", "127.0.0.1")]
    [InlineData("https://010.0.0.1", "8.0.0.1")]
    public void A_host_read_as_another_IPv4_address_than_written_is_refused_naming_both(string value, string readAs)
    {
        FormatException error = Assert.Throws<FormatException>(() => RegistryEndpoint.Parse(value));
        Assert.Contains($"'{value}' is not a registry", error.Message, StringComparison.Ordinal);
        Assert.Contains(readAs, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://admin:s3cret@host:5000", "'https://***@host:5000'")]
    [InlineData("admin:s3cret@host:5000", "'***@host:5000'")]
    [InlineData("http://admin:s3cret@host/v2/", "'http://***@host/v2/'")]
    [InlineData("https://admin:s3cret@weird@host", "'https://***@host'")]
    public void A_user_name_and_password_in_the_url_are_refused_without_being_echoed(string value, string shown)
    {
        FormatException error = Assert.Throws<FormatException>(() => RegistryEndpoint.Parse(value));
        Assert.DoesNotContain("s3cret", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("admin", error.Message, StringComparison.Ordinal);
        Assert.Contains(shown, error.Message, StringComparison.Ordinal);
        Assert.Contains("-Credential", error.Message, StringComparison.Ordinal);
    }
}

public class RegistryCredentialResolverTests : IDisposable
{
    private readonly string home = Directory.CreateTempSubdirectory("registrycleaner-home-").FullName;
    private readonly RegistryEndpoint endpoint = RegistryEndpoint.Parse("docker-registry:5000");

    [Fact]
    public void Explicit_credential_wins_over_environment()
    {
        var explicitCredential = new RegistryCredential("carol", "pw");
        RegistryCredential? resolved = RegistryCredentialResolver.Resolve(
            this.endpoint, explicitCredential, new Dictionary<string, string> { ["REGISTRY_PASSWORD"] = "env" }, this.home);
        Assert.Same(explicitCredential, resolved);
    }

    [Fact]
    public void Password_alone_uses_the_domino_registry_user()
    {
        RegistryCredential? resolved = RegistryCredentialResolver.Resolve(
            this.endpoint, null, new Dictionary<string, string> { ["REGISTRY_PASSWORD"] = "s3cret-env" }, this.home);
        Assert.NotNull(resolved);
        Assert.Equal("domino-registry", resolved.Username);
        Assert.Equal("s3cret-env", resolved.Password);
        Assert.DoesNotContain("s3cret-env", resolved.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Username_and_password_come_from_the_environment()
    {
        RegistryCredential? resolved = RegistryCredentialResolver.Resolve(
            this.endpoint, null, new Dictionary<string, string> { ["REGISTRY_USERNAME"] = "dave", ["REGISTRY_PASSWORD"] = "x" }, this.home);
        Assert.Equal("dave", resolved?.Username);
    }

    [Fact]
    public void Docker_config_auth_is_read_from_the_home_directory()
    {
        string auth = Convert.ToBase64String(Encoding.UTF8.GetBytes("erin:pa:ss"));
        Directory.CreateDirectory(Path.Combine(this.home, ".docker"));
        File.WriteAllText(
            Path.Combine(this.home, ".docker", "config.json"),
            "{\"auths\":{\"other:5000\":{\"auth\":\"eA==\"},\"https://docker-registry:5000/v2/\":{\"auth\":\"" + auth + "\"}}}");
        RegistryCredential? resolved = RegistryCredentialResolver.Resolve(this.endpoint, null, new Dictionary<string, string>(), this.home);
        Assert.NotNull(resolved);
        Assert.Equal("erin", resolved.Username);
        Assert.Equal("pa:ss", resolved.Password);
        Assert.DoesNotContain("pa:ss", resolved.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Docker_config_identity_token_from_DOCKER_CONFIG_becomes_a_refresh_token()
    {
        string directory = Path.Combine(this.home, "custom");
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "config.json"), """{"auths":{"docker-registry:5000":{"auth":"PHRva2VuPjo=","identitytoken":"refresh-123"}}}""");
        RegistryCredential? resolved = RegistryCredentialResolver.Resolve(
            this.endpoint, null, new Dictionary<string, string> { ["DOCKER_CONFIG"] = directory }, this.home);
        Assert.NotNull(resolved);
        Assert.Equal("refresh-123", resolved.IdentityToken);
        Assert.Null(resolved.Password);
    }

    [Fact]
    public void No_source_means_anonymous() =>
        Assert.Null(RegistryCredentialResolver.Resolve(this.endpoint, null, new Dictionary<string, string>(), this.home));

    public void Dispose() => Directory.Delete(this.home, recursive: true);
}

public class ManifestParserTests
{
    private const string Config = """{"mediaType":"application/vnd.docker.container.image.v1+json","size":7,"digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000"}""";

    [Theory]
    [InlineData(MediaTypes.DockerManifest)]
    [InlineData(MediaTypes.OciManifest)]
    public void Image_manifests_yield_config_and_layers(string mediaType)
    {
        string json = $$$"""{"schemaVersion":2,"mediaType":"{{{mediaType}}}","config":{{{Config}}},"layers":[{"mediaType":"l","size":10,"digest":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},{"mediaType":"l","size":20,"digest":"sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"}]}""";
        ManifestRecord record = ManifestParser.Parse("r", "repo", "sha256:m", null, Encoding.UTF8.GetBytes(json));
        Assert.Equal(mediaType, record.MediaType);
        Assert.Equal(7, record.Config?.Size);
        Assert.Equal(new[] { "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" }, record.Layers.Select(static l => l.Digest));
        Assert.False(record.IsIndex);
        Assert.Equal(json.Length, record.ManifestSize);
    }

    [Theory]
    [InlineData(MediaTypes.DockerManifestList)]
    [InlineData(MediaTypes.OciIndex)]
    public void Indexes_yield_children_with_platforms(string mediaType)
    {
        string json = $$$"""{"schemaVersion":2,"mediaType":"{{{mediaType}}}","manifests":[{"mediaType":"m","size":5,"digest":"sha256:eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee","platform":{"os":"linux","architecture":"arm64","variant":"v8"}},{"mediaType":"m","size":6,"digest":"sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"}]}""";
        ManifestRecord record = ManifestParser.Parse("r", "repo", "sha256:m", null, Encoding.UTF8.GetBytes(json));
        Assert.True(record.IsIndex);
        Assert.Null(record.Config);
        Assert.Equal("linux/arm64/v8", record.Children[0].Platform);
        Assert.Null(record.Children[1].Platform);
    }

    [Fact]
    public void Media_type_falls_back_to_content_type_and_artifact_configs_are_tolerated()
    {
        string json = """{"schemaVersion":2,"config":{"mediaType":"application/vnd.cncf.helm.config.v1+json","size":3,"digest":"sha256:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"},"layers":[]}""";
        ManifestRecord record = ManifestParser.Parse("r", "repo", "sha256:m", MediaTypes.OciManifest + "; charset=utf-8", Encoding.UTF8.GetBytes(json));
        Assert.Equal(MediaTypes.OciManifest, record.MediaType);
        Assert.Equal("application/vnd.cncf.helm.config.v1+json", record.Config?.MediaType);
    }

    [Theory]
    [InlineData("{not json")]
    [InlineData("""{"schemaVersion":1,"fsLayers":[]}""")]
    [InlineData("""{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","layers":[]}""")]
    [InlineData("""{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"digest":"sha256:c"},"layers":[]}""")]
    public void Malformed_manifests_throw_a_format_exception_naming_the_item(string json)
    {
        ManifestFormatException error = Assert.Throws<ManifestFormatException>(
            () => ManifestParser.Parse("reg:5000", "team/app", "sha256:m", null, Encoding.UTF8.GetBytes(json), "v1"));
        Assert.Contains("reg:5000/team/app:v1", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Config_created_and_platform_are_read()
    {
        (DateTimeOffset? created, string? platform) = ManifestParser.ParseConfig(
            Encoding.UTF8.GetBytes("""{"created":"2024-03-04T05:06:07.123456789Z","os":"linux","architecture":"amd64"}"""));
        Assert.Equal(new DateTimeOffset(2024, 3, 4, 5, 6, 7, TimeSpan.Zero), created!.Value.AddTicks(-(created.Value.Ticks % TimeSpan.TicksPerSecond)));
        Assert.Equal("linux/amd64", platform);
    }
}
