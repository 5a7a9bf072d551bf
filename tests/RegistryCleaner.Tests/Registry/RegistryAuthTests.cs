using System.Net.Http.Headers;
using System.Text;
using RegistryCleaner.Registry;
using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.Registry;

public sealed class HtpasswdRegistry : RegistryServer
{
    public HtpasswdRegistry()
        : base(new RegistryServerOptions { Auth = RegistryAuthMode.Htpasswd })
    {
    }
}

public sealed class TlsRegistry : RegistryServer
{
    public TlsRegistry()
        : base(new RegistryServerOptions { Tls = true })
    {
    }
}

/// <summary>A registry with <c>auth.token</c> and the token issuer it trusts.</summary>
public sealed class TokenRegistry : IDisposable
{
    public TokenRegistry()
    {
        this.Issuer = new TokenIssuer();
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

public class BasicAuthTests(HtpasswdRegistry registry) : IClassFixture<HtpasswdRegistry>
{
    private RegistryEndpoint Endpoint => RegistryEndpoint.Parse(registry.Registry);

    [Fact]
    public async Task Right_password_reads_and_writes()
    {
        var basic = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{registry.Options.Username}:{registry.Options.Password}")));
        using var pusher = new ImagePusher(registry.BaseAddress, basic);
        PushedImage image = await pusher.PushImageAsync("team/app", "v1", [ImagePusher.Layer(21, 100)]);

        using var client = new RegistryClient(this.Endpoint, new RegistryClientOptions { Credential = new RegistryCredential(registry.Options.Username, registry.Options.Password) });
        await client.PingAsync(CancellationToken.None);
        Assert.Equal(["v1"], await client.ListTagsAsync("team/app", 1000, CancellationToken.None));
        Assert.Equal(image.Digest, (await client.GetManifestAsync("team/app", "v1", CancellationToken.None)).Digest);
    }

    [Fact]
    public async Task Wrong_password_is_refused_with_the_registry_named_and_the_password_hidden()
    {
        const string wrong = "Wrong-Secret-123";
        using var client = new RegistryClient(this.Endpoint, new RegistryClientOptions { Credential = new RegistryCredential("alice", wrong) });
        RegistryAuthenticationException error = await Assert.ThrowsAsync<RegistryAuthenticationException>(() => client.PingAsync(CancellationToken.None));
        Assert.Contains(this.Endpoint.DisplayName, error.Message, StringComparison.Ordinal);
        Assert.Contains("refused", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(wrong, error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToBase64String(Encoding.UTF8.GetBytes("alice:" + wrong)), error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task No_credential_says_credentials_are_required()
    {
        using var client = new RegistryClient(this.Endpoint);
        RegistryAuthenticationException error = await Assert.ThrowsAsync<RegistryAuthenticationException>(() => client.GetCatalogAsync(1000, CancellationToken.None));
        Assert.Contains("requires credentials", error.Message, StringComparison.Ordinal);
    }
}

public class TlsTests(TlsRegistry registry) : IClassFixture<TlsRegistry>
{
    [Fact]
    public async Task Self_signed_certificate_is_refused_by_default()
    {
        // host:port without a scheme means HTTPS.
        using var client = new RegistryClient(RegistryEndpoint.Parse(registry.BaseAddress.Authority));
        RegistryCertificateException error = await Assert.ThrowsAsync<RegistryCertificateException>(() => client.PingAsync(CancellationToken.None));
        Assert.Contains(registry.BaseAddress.Authority, error.Message, StringComparison.Ordinal);
        Assert.Contains("SkipCertificateCheck", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SkipCertificateCheck_accepts_it()
    {
        using var client = new RegistryClient(RegistryEndpoint.Parse(registry.BaseAddress.Authority), new RegistryClientOptions { SkipCertificateCheck = true });
        await client.PingAsync(CancellationToken.None);
        Assert.Empty(await client.GetCatalogAsync(1000, CancellationToken.None));
    }
}

public class BearerTokenTests(TokenRegistry registry) : IClassFixture<TokenRegistry>
{
    [Fact]
    public async Task Bearer_flow_reads_lists_and_deletes_with_cached_tokens()
    {
        string push = registry.Issuer.IssueToken("repository:team/bearer:pull,push");
        using var pusher = new ImagePusher(registry.Server.BaseAddress, new AuthenticationHeaderValue("Bearer", push));
        PushedImage one = await pusher.PushImageAsync("team/bearer", "one", [ImagePusher.Layer(31, 100)]);
        PushedImage two = await pusher.PushImageAsync("team/bearer", "two", [ImagePusher.Layer(32, 100)]);

        var credential = new RegistryCredential(registry.Issuer.Username, registry.Issuer.Password);
        using var client = new RegistryClient(RegistryEndpoint.Parse(registry.Server.Registry), new RegistryClientOptions { Credential = credential });
        int before = registry.Issuer.TokensIssued;
        RegistryInventory inventory = await new InventoryReader(client).ReadAllAsync(CancellationToken.None);
        Assert.Contains("team/bearer", inventory.Repositories);
        Assert.Equal(one.Digest, inventory.Tags.Single(static t => t.Tag == "one").Digest);

        // One token for the catalog and one per repository scope, not one per request.
        int issued = registry.Issuer.TokensIssued - before;
        Assert.InRange(issued, 2, 4);

        ManifestDeleteResult deleted = await client.DeleteManifestAsync("team/bearer", two.Digest, CancellationToken.None);
        Assert.Equal(ManifestDeleteOutcome.Deleted, deleted.Outcome);
        Assert.Null(await client.HeadManifestAsync("team/bearer", "two", CancellationToken.None));
    }

    [Fact]
    public async Task A_token_service_naming_a_lifetime_shorter_than_the_renewal_margin_gets_one_token_request_per_request_not_a_loop()
    {
        string push = registry.Issuer.IssueToken("repository:team/shortlived:pull,push");
        using var pusher = new ImagePusher(registry.Server.BaseAddress, new AuthenticationHeaderValue("Bearer", push));
        PushedImage image = await pusher.PushImageAsync("team/shortlived", "v1", [ImagePusher.Layer(41, 100)]);
        var credential = new RegistryCredential(registry.Issuer.Username, registry.Issuer.Password);
        using var client = new RegistryClient(RegistryEndpoint.Parse(registry.Server.Registry), new RegistryClientOptions { Credential = credential });
        registry.Issuer.ExpiresIn = 1;
        try
        {
            int before = registry.Issuer.TokensIssued;
            for (int i = 0; i < 5; i++)
            {
                Assert.Equal(image.Digest, await client.HeadManifestAsync("team/shortlived", "v1", CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30)));
                await Task.Delay(TimeSpan.FromMilliseconds(600));
            }

            // Each read finds its token due for renewal (after half of 1 s) and asks once: a token that names less than
            // the renewal margin is still used, not thrown away and asked for again without end.
            Assert.Equal(5, registry.Issuer.TokensIssued - before);
        }
        finally
        {
            registry.Issuer.ExpiresIn = 300;
        }
    }

    [Fact]
    public async Task A_token_without_the_delete_action_is_a_permission_error()
    {
        string push = registry.Issuer.IssueToken("repository:team/nodelete:pull,push");
        using var pusher = new ImagePusher(registry.Server.BaseAddress, new AuthenticationHeaderValue("Bearer", push));
        PushedImage image = await pusher.PushImageAsync("team/nodelete", "v1", [ImagePusher.Layer(33, 100)]);
        using var client = new RegistryClient(
            RegistryEndpoint.Parse(registry.Server.Registry),
            new RegistryClientOptions { Credential = new RegistryCredential(registry.Issuer.Username, registry.Issuer.Password) });
        registry.Issuer.DeniedActions = ["delete"];
        try
        {
            RegistryAuthenticationException error = await Assert.ThrowsAsync<RegistryAuthenticationException>(
                () => client.DeleteManifestAsync("team/nodelete", image.Digest, CancellationToken.None));
            Assert.Contains("lacks permission", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            registry.Issuer.DeniedActions = [];
        }

        Assert.Equal(image.Digest, await client.HeadManifestAsync("team/nodelete", "v1", CancellationToken.None));
    }

    [Fact]
    public async Task Identity_token_is_used_as_a_refresh_token()
    {
        using var client = new RegistryClient(
            RegistryEndpoint.Parse(registry.Server.Registry),
            new RegistryClientOptions { Credential = RegistryCredential.FromIdentityToken("<token>", registry.Issuer.RefreshToken) });
        await client.GetCatalogAsync(1000, CancellationToken.None);
    }

    [Fact]
    public async Task Wrong_password_at_the_token_service_is_refused()
    {
        using var client = new RegistryClient(
            RegistryEndpoint.Parse(registry.Server.Registry),
            new RegistryClientOptions { Credential = new RegistryCredential(registry.Issuer.Username, "not-the-password") });
        RegistryAuthenticationException error = await Assert.ThrowsAsync<RegistryAuthenticationException>(() => client.GetCatalogAsync(1000, CancellationToken.None));
        Assert.Contains(client.Endpoint.DisplayName, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("not-the-password", error.ToString(), StringComparison.Ordinal);
    }
}
