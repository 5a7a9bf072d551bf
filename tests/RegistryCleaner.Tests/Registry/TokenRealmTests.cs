using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Http;
using RegistryCleaner.Registry;
using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.Registry;

/// <summary>An HTTPS registry (the real one, with <c>auth.token</c>) whose token service is plain http.</summary>
public sealed class TlsRegistryWithHttpRealm : IDisposable
{
    public TlsRegistryWithHttpRealm()
    {
        this.Issuer = new TokenIssuer();
        this.Server = new RegistryServer(new RegistryServerOptions { Auth = RegistryAuthMode.Token, Issuer = this.Issuer, Tls = true });
    }

    public TokenIssuer Issuer { get; }

    public RegistryServer Server { get; }

    public void Dispose()
    {
        this.Server.Dispose();
        this.Issuer.Dispose();
    }
}

/// <summary>A plain-http registry on 127.0.0.1 whose token service is on another host, 127.0.0.2.</summary>
public sealed class RegistryWithForeignRealm : IDisposable
{
    public RegistryWithForeignRealm()
    {
        this.Issuer = new TokenIssuer(address: IPAddress.Parse("127.0.0.2"));
        this.Server = new RegistryServer(new RegistryServerOptions { Auth = RegistryAuthMode.Token, Issuer = this.Issuer });
    }

    public TokenIssuer Issuer { get; }

    public RegistryServer Server { get; }

    public void Dispose()
    {
        this.Server.Dispose();
        this.Issuer.Dispose();
    }
}

public class TokenRealmSiteTests
{
    [Theory]
    [InlineData("registry-1.docker.io", "auth.docker.io")]
    [InlineData("registry.gitlab.example.com", "gitlab.example.com")]
    [InlineData("registry.example.co.uk", "auth.example.co.uk")]
    [InlineData("registry.example.com.au", "example.com.au")]
    [InlineData("Registry.Example.com.", "AUTH.example.com")]
    [InlineData("docker-registry", "docker-registry")]
    [InlineData("127.0.0.1", "127.0.0.1")]
    [InlineData("::1", "[::1]")]
    [InlineData("127.0.0.1", "::ffff:127.0.0.1")]
    [InlineData("docker-registry.domino-platform.svc.cluster.local", "auth.domino-platform.svc.cluster.local")]
    [InlineData("ghcr.io", "ghcr.io")]
    public void Same_host_or_same_registrable_domain_is_one_site(string registry, string realm) =>
        Assert.True(TokenRealmPolicy.IsSameSite(registry, realm));

    [Theory]
    [InlineData("registry-1.docker.io", "auth.docker.com")]
    [InlineData("registry.example.co.uk", "evil.co.uk")]
    [InlineData("registry.example.com.au", "other.com.au")]
    [InlineData("registry.example.com", "example.com.evil.net")]
    [InlineData("docker-registry", "token-service")]
    [InlineData("127.0.0.1", "127.0.0.2")]
    [InlineData("127.0.0.1", "localhost")]
    [InlineData("10.0.0.5", "registry.example.com")]
    [InlineData("docker-registry.domino-platform.svc.cluster.local", "auth.other-namespace.svc.cluster.local")]
    [InlineData("registry.example.com", "")]
    public void Another_host_of_another_domain_or_another_address_is_another_site(string registry, string realm) =>
        Assert.False(TokenRealmPolicy.IsSameSite(registry, realm));

    [Theory]
    [InlineData("registry-1.docker.io", "docker.io")]
    [InlineData("docker.io", "docker.io")]
    [InlineData("a.b.example.co.uk", "example.co.uk")]
    [InlineData("example.co.uk", "example.co.uk")]
    [InlineData("registry.example.io", "example.io")]
    [InlineData("x.y.svc.cluster.local", "y.svc.cluster.local")]
    [InlineData("localhost", "localhost")]
    [InlineData("192.168.1.10", "192.168.1.10")]
    public void Registrable_domain_follows_the_documented_rule(string host, string domain) =>
        Assert.Equal(domain, TokenRealmPolicy.RegistrableDomain(host));

    [Fact]
    public void Credentials_go_to_the_same_site_or_an_allowed_host_and_anonymous_requests_anywhere()
    {
        var policy = new TokenRealmPolicy(RegistryEndpoint.Parse("registry-1.docker.io"), ["Auth.Elsewhere.example:8443", "https://sso.corp.example/"]);
        policy.Check(new Uri("https://auth.docker.io/token"), withCredentials: true);
        policy.Check(new Uri("https://registry-1.docker.io:8443/token"), withCredentials: true);
        policy.Check(new Uri("https://auth.elsewhere.example/token"), withCredentials: true);
        policy.Check(new Uri("https://sso.corp.example:9000/jwt"), withCredentials: true);
        policy.Check(new Uri("https://tokens.other.example/token"), withCredentials: false);

        TokenRealmRefusedException error = Assert.Throws<TokenRealmRefusedException>(() => policy.Check(new Uri("https://tokens.other.example/token?x=1"), withCredentials: true));
        Assert.Contains("registry.token_realm_hosts", error.Message, StringComparison.Ordinal);
        Assert.Contains("tokens.other.example", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("x=1", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_https_registry_never_asks_an_http_realm_even_an_allowed_one_or_anonymously()
    {
        var policy = new TokenRealmPolicy(RegistryEndpoint.Parse("registry.example.com"), ["auth.example.com"]);
        Assert.Throws<TokenRealmRefusedException>(() => policy.Check(new Uri("http://auth.example.com/token"), withCredentials: true));
        Assert.Throws<TokenRealmRefusedException>(() => policy.Check(new Uri("http://auth.example.com/token"), withCredentials: false));

        // A registry the user named http:// may use an http realm on its own site.
        new TokenRealmPolicy(RegistryEndpoint.Parse("http://127.0.0.1:5000"), null).Check(new Uri("http://127.0.0.1:5001/token"), withCredentials: true);
    }
}

public class TokenRealmTlsTests(TlsRegistryWithHttpRealm registry) : IClassFixture<TlsRegistryWithHttpRealm>
{
    [Fact]
    public async Task An_https_registry_naming_an_http_realm_is_refused_and_the_realm_never_hears_from_us()
    {
        var credentials = new[]
        {
            new RegistryCredential(registry.Issuer.Username, registry.Issuer.Password),
            RegistryCredential.FromIdentityToken("<token>", registry.Issuer.RefreshToken),
            null,
        };
        foreach (RegistryCredential? credential in credentials)
        {
            using var client = new RegistryClient(
                RegistryEndpoint.Parse(registry.Server.Registry),
                new RegistryClientOptions { Credential = credential, SkipCertificateCheck = true, TokenRealmHosts = ["127.0.0.1"] });
            TokenRealmRefusedException error = await Assert.ThrowsAsync<TokenRealmRefusedException>(() => client.GetCatalogAsync(1000, CancellationToken.None));
            Assert.Contains($"Registry {registry.Server.Registry} is HTTPS but named the token service {registry.Issuer.Realm} over plain http", error.Message, StringComparison.Ordinal);
            Assert.Contains("https://", error.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(registry.Issuer.Password, error.ToString(), StringComparison.Ordinal);

            // Asked twice, refused twice: the refusal is not a cached token.
            await Assert.ThrowsAsync<TokenRealmRefusedException>(() => client.ListTagsAsync("team/app", 1000, CancellationToken.None));
        }

        Assert.Equal(0, registry.Issuer.RequestsSeen);
        Assert.Equal(0, registry.Issuer.RequestsWithCredentials);
        Assert.Equal(0, registry.Issuer.TokensIssued);
    }
}

public class TokenRealmForeignHostTests(RegistryWithForeignRealm registry) : IClassFixture<RegistryWithForeignRealm>
{
    [Fact]
    public async Task A_realm_on_another_address_gets_no_credentials_and_the_error_names_the_setting()
    {
        int before = registry.Issuer.RequestsWithCredentials;
        foreach (RegistryCredential credential in new[]
        {
            new RegistryCredential(registry.Issuer.Username, registry.Issuer.Password),
            RegistryCredential.FromIdentityToken("<token>", registry.Issuer.RefreshToken),
        })
        {
            using var client = new RegistryClient(RegistryEndpoint.Parse(registry.Server.Registry), new RegistryClientOptions { Credential = credential });
            TokenRealmRefusedException error = await Assert.ThrowsAsync<TokenRealmRefusedException>(() => client.GetCatalogAsync(1000, CancellationToken.None));
            Assert.Contains("127.0.0.2", error.Message, StringComparison.Ordinal);
            Assert.Contains("not on the registry's own site", error.Message, StringComparison.Ordinal);
            Assert.Contains("registry.token_realm_hosts: [\"127.0.0.2\"]", error.Message, StringComparison.Ordinal);
        }

        Assert.Equal(before, registry.Issuer.RequestsWithCredentials);
    }

    [Fact]
    public async Task A_realm_host_allowed_by_configuration_gets_the_credentials()
    {
        using var client = new RegistryClient(
            RegistryEndpoint.Parse(registry.Server.Registry),
            new RegistryClientOptions { Credential = new RegistryCredential(registry.Issuer.Username, registry.Issuer.Password), TokenRealmHosts = ["127.0.0.2"] });
        int before = registry.Issuer.TokensIssued;
        Assert.NotNull(await client.GetCatalogAsync(1000, CancellationToken.None));
        Assert.True(registry.Issuer.TokensIssued > before);
    }

    [Fact]
    public async Task Without_credentials_a_foreign_realm_is_still_asked_anonymously()
    {
        using var client = new RegistryClient(RegistryEndpoint.Parse(registry.Server.Registry));
        int seen = registry.Issuer.RequestsSeen;
        int withCredentials = registry.Issuer.RequestsWithCredentials;

        // The issuer grants nothing anonymously: the registry's 401 says credentials are needed, not that the realm was refused.
        RegistryAuthenticationException error = await Assert.ThrowsAsync<RegistryAuthenticationException>(() => client.GetCatalogAsync(1000, CancellationToken.None));
        Assert.Contains("requires credentials", error.Message, StringComparison.Ordinal);
        Assert.True(registry.Issuer.RequestsSeen > seen);
        Assert.Equal(withCredentials, registry.Issuer.RequestsWithCredentials);
    }
}

/// <summary>Realms a real registry will not name on demand, from a stub registry and a stub token service.</summary>
public class TokenRealmStubTests
{
    [Theory]
    [InlineData("ftp://127.0.0.1/token")]
    [InlineData("file:///etc/passwd")]
    [InlineData("ldap://127.0.0.1/token")]
    public async Task A_realm_that_is_not_http_or_https_is_a_clear_registry_error(string realm)
    {
        await using var stub = StubHttpServer.Start(async context =>
        {
            context.Response.StatusCode = 401;
            context.Response.Headers.WWWAuthenticate = $"Bearer realm=\"{realm}\",service=\"stub\"";
            await context.Response.WriteAsync("""{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}""");
        });

        foreach (RegistryCredential? credential in new[] { new RegistryCredential("alice", "stub-secret"), null })
        {
            using var client = new RegistryClient(RegistryEndpoint.Parse(stub.BaseAddress.ToString()), new RegistryClientOptions { Credential = credential });
            RegistryException error = await Assert.ThrowsAsync<TokenRealmRefusedException>(() => client.GetCatalogAsync(1000, CancellationToken.None));
            Assert.Contains("which is not an http:// or https:// URL; no token was requested", error.Message, StringComparison.Ordinal);
            Assert.Contains(realm.Split('?')[0], error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task An_anonymous_token_from_a_foreign_realm_is_used_and_a_password_never_goes_there()
    {
        var authorizations = new ConcurrentQueue<string>();
        await using var realm = StubHttpServer.Start(
            async context =>
            {
                authorizations.Enqueue(context.Request.Headers.Authorization.ToString());
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync("""{"token":"anonymous-token","expires_in":300}""");
            },
            IPAddress.Parse("127.0.0.2"));
        await using var stub = StubHttpServer.Start(async context =>
        {
            if (context.Request.Headers.Authorization.ToString() != "Bearer anonymous-token")
            {
                context.Response.StatusCode = 401;
                context.Response.Headers.WWWAuthenticate = $"Bearer realm=\"{realm.BaseAddress}token\",service=\"stub\"";
                return;
            }

            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("""{"repositories":["public/app"]}""");
        });

        using (var anonymous = new RegistryClient(RegistryEndpoint.Parse(stub.BaseAddress.ToString())))
        {
            Assert.Equal(["public/app"], await anonymous.GetCatalogAsync(1000, CancellationToken.None));
        }

        Assert.NotEmpty(authorizations);
        Assert.All(authorizations, a => Assert.Equal(string.Empty, a));
        int asked = authorizations.Count;

        using var withPassword = new RegistryClient(
            RegistryEndpoint.Parse(stub.BaseAddress.ToString()),
            new RegistryClientOptions { Credential = new RegistryCredential("alice", "stub-secret") });
        await Assert.ThrowsAsync<TokenRealmRefusedException>(() => withPassword.GetCatalogAsync(1000, CancellationToken.None));
        Assert.Equal(asked, authorizations.Count);
    }
}
