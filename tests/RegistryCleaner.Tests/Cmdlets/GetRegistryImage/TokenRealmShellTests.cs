using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Http;
using RegistryCleaner.Registry;
using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.Registry;

/// <summary>The realm rule as an admin meets it: the error ID, and registry.token_realm_hosts from config.yaml.</summary>
public sealed class TokenRealmShellTests : IAsyncDisposable
{
    private const string Password = "realm-shell-test-secret-3";
    private readonly string folder = Directory.CreateTempSubdirectory("rc-token-realm-").FullName;
    private readonly ConcurrentQueue<string> realmAuthorizations = new();
    private readonly StubHttpServer realm;
    private readonly StubHttpServer registry;

    public TokenRealmShellTests()
    {
        this.realm = StubHttpServer.Start(
            async context =>
            {
                this.realmAuthorizations.Enqueue(context.Request.Headers.Authorization.ToString());
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync("""{"token":"granted","expires_in":300}""");
            },
            IPAddress.Parse("127.0.0.2"));
        this.registry = StubHttpServer.Start(async context =>
        {
            if (context.Request.Headers.Authorization.ToString() != "Bearer granted")
            {
                context.Response.StatusCode = 401;
                context.Response.Headers.WWWAuthenticate = $"Bearer realm=\"{this.realm.BaseAddress}token\",service=\"stub\"";
                return;
            }

            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("""{"name":"team/app","tags":[]}""");
        });
    }

    public async ValueTask DisposeAsync()
    {
        await this.registry.DisposeAsync();
        await this.realm.DisposeAsync();
        Directory.Delete(this.folder, recursive: true);
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void A_credential_from_a_credential_helper_goes_no_further_than_the_registry_s_own_site()
    {
        // docker-credential-test answers the registry's host with a password; its realm is on another address.
        string bin = Path.Combine(this.folder, "bin");
        string docker = Path.Combine(this.folder, "docker");
        Directory.CreateDirectory(bin);
        Directory.CreateDirectory(docker);
        string helper = Path.Combine(bin, "docker-credential-test");
        File.WriteAllText(helper, "#!/bin/sh\ninput=$(cat)\nprintf '{\"ServerURL\":\"%s\",\"Username\":\"alice\",\"Secret\":\"" + Password + "\"}' \"$input\"\n");
        File.SetUnixFileMode(helper, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.WriteAllText(Path.Combine(docker, "config.json"), "{\"credHelpers\":{\"" + this.registry.BaseAddress.Authority + "\":\"test\"}}");
        File.SetUnixFileMode(Path.Combine(docker, "config.json"), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var shell = new UserShell(this.folder);
        shell.Environment["PATH"] = bin + Path.PathSeparator + Environment.GetEnvironmentVariable("PATH");
        shell.Environment["DOCKER_CONFIG"] = docker;
        string registryUrl = this.registry.BaseAddress.ToString().TrimEnd('/');

        UserSession refused = shell.Run($"Get-RegistryImage -Registry {registryUrl} -Repository team/app -Verbose");

        Assert.Equal(["RegistryTokenRealmRefused"], refused.ErrorIds);
        Assert.Contains("credentials from credHelpers 'test'", refused.Text, StringComparison.Ordinal);
        Assert.Empty(this.realmAuthorizations);
        Assert.DoesNotContain(Password, refused.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void A_foreign_realm_stops_the_cmdlet_with_RegistryTokenRealmRefused_until_config_yaml_lists_its_host()
    {
        var shell = new UserShell(this.folder);
        shell.Environment["REGISTRY_PASSWORD"] = Password;
        string registryUrl = this.registry.BaseAddress.ToString().TrimEnd('/');

        UserSession refused = shell.Run($"Get-RegistryImage -Registry {registryUrl} -Repository team/app");

        Assert.Equal(["RegistryTokenRealmRefused"], refused.ErrorIds);
        Assert.Equal("SecurityError", refused.Errors[0].Category);
        Assert.Contains("registry.token_realm_hosts: [\"127.0.0.2\"]", refused.Errors[0].Message, StringComparison.Ordinal);
        Assert.Empty(this.realmAuthorizations);

        File.WriteAllText(Path.Combine(this.folder, "config.yaml"), "registry:\n  token_realm_hosts: [\"127.0.0.2\"]\n");
        UserSession allowed = shell.Run($"Get-RegistryImage -Registry {registryUrl} -Repository team/app");

        Assert.True(allowed.ErrorIds.Count == 0, allowed.ToString());
        string basic = "Basic " + Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("domino-registry:" + Password));
        Assert.Contains(basic, this.realmAuthorizations);
    }
}
