using RegistryCleaner.Registry;
using RegistryCleaner.Tests.Faults;

namespace RegistryCleaner.Tests.Registry;

/// <summary>The engine's credential pieces without a shell: helper protocol details, key matching, Docker Hub aliases.</summary>
[Collection(ProcessEnvironmentCollection.Name)]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class CredentialStoreUnitTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("registrycleaner-credstore-").FullName;

    [Theory]
    [InlineData("registry-1.docker.io", "https://index.docker.io/v1/")]
    [InlineData("docker.io", "index.docker.io")]
    [InlineData("index.docker.io", "registry.hub.docker.com")]
    [InlineData("registry.example.com:5000", "https://registry.example.com:5000/v2/")]
    [InlineData("registry.example.com:5000", "registry.example.com:5000")]
    public void Keys_match_as_Docker_matches_them(string registry, string key)
    {
        string json = "{\"auths\":{\"" + key + "\":{\"username\":\"u\",\"password\":\"p\"}}}";
        Assert.NotNull(RegistryCredentialResolver.FromDockerConfig(json, RegistryEndpoint.Parse(registry), "test"));
    }

    [Theory]
    [InlineData("registry.example.com", "registry.example.com:5000")]
    [InlineData("registry.example.com:5000", "registry.example.com:5000/team")]
    [InlineData("registry.example.com:5000", "other.example.com:5000")]
    public void Keys_of_another_host_port_or_of_one_namespace_do_not_match(string registry, string key)
    {
        string json = "{\"auths\":{\"" + key + "\":{\"username\":\"u\",\"password\":\"p\"}}}";
        Assert.Null(RegistryCredentialResolver.FromDockerConfig(json, RegistryEndpoint.Parse(registry), "test"));
    }

    [Fact]
    public async Task A_helper_answering_token_gives_an_identity_token_Docker_Hub_gets_its_server_URL_and_a_slow_helper_is_stopped()
    {
        string bin = Path.Combine(this.folder, "bin");
        Directory.CreateDirectory(bin);
        string log = Path.Combine(this.folder, "stdin.log");
        Script(Path.Combine(bin, "docker-credential-tokenstore"), $$"""
            #!/bin/sh
            input=$(cat)
            printf '%s' "$input" > '{{log}}'
            printf '{"ServerURL":"%s","Username":"<token>","Secret":"refresh-abc"}' "$input"
            """);
        Script(Path.Combine(bin, "docker-credential-slow"), "#!/bin/sh\nsleep 30\n");
        File.WriteAllText(Path.Combine(this.folder, "config.json"), """{"credsStore":"tokenstore","credHelpers":{"slow.example":"slow"}}""");
        File.SetUnixFileMode(Path.Combine(this.folder, "config.json"), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        string? path = Environment.GetEnvironmentVariable("PATH");
        Environment.SetEnvironmentVariable("PATH", bin + Path.PathSeparator + path);
        try
        {
            var lookup = new CredentialStoreLookup
            {
                Environment = name => name == "DOCKER_CONFIG" ? this.folder : null,
                HomeDirectory = this.folder,
                HelperTimeout = TimeSpan.FromSeconds(2),
            };
            RegistryCredential? hub = await RegistryCredentialStores.ResolveAsync(RegistryEndpoint.Parse("registry-1.docker.io"), lookup, CancellationToken.None);
            Assert.NotNull(hub);
            Assert.Equal("refresh-abc", hub.IdentityToken);
            Assert.Null(hub.Password);
            Assert.Equal("credsStore 'tokenstore'", hub.Source);
            Assert.Equal("https://index.docker.io/v1/", File.ReadAllText(log));

            var started = System.Diagnostics.Stopwatch.StartNew();
            CredentialHelperException slow = await Assert.ThrowsAsync<CredentialHelperException>(() => RegistryCredentialStores.ResolveAsync(RegistryEndpoint.Parse("slow.example"), lookup, CancellationToken.None));
            Assert.True(started.Elapsed < TimeSpan.FromSeconds(20), started.Elapsed.ToString());
            Assert.Contains("docker-credential-slow did not answer within 2 s", slow.Message, StringComparison.Ordinal);

            // A config.json others can write names no helper that is run.
            File.SetUnixFileMode(Path.Combine(this.folder, "config.json"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherWrite);
            File.Delete(log);
            CredentialHelperException unsafeFile = await Assert.ThrowsAsync<CredentialHelperException>(() => RegistryCredentialStores.ResolveAsync(RegistryEndpoint.Parse("docker.io"), lookup, CancellationToken.None));
            Assert.Contains("writable by group or others", unsafeFile.Message, StringComparison.Ordinal);
            Assert.False(File.Exists(log));
        }
        finally
        {
            Environment.SetEnvironmentVariable("PATH", path);
        }
    }

    public void Dispose() => Directory.Delete(this.folder, recursive: true);

    private static void Script(string path, string text)
    {
        File.WriteAllText(path, text.Replace("\r\n", "\n", StringComparison.Ordinal) + "\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }
}
