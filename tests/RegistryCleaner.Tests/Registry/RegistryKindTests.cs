using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.AspNetCore.Http;
using RegistryCleaner.Registry;
using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.Registry;

/// <summary>
/// What software serves a registry, told from what it says (its challenge, its error codes, Harbor's API) before its
/// host name; what the admin does next for each; the registry's error codes kept as data; and a short-lived
/// credential (ECR's 12-hour token from a credential helper) asked for once more when the registry refuses it.
/// </summary>
public sealed class RegistryKindTests
{
    [Theory]
    [InlineData(null, null)]
    [InlineData("auto", null)]
    [InlineData(" ECR ", RegistryKind.Ecr)]
    [InlineData("acr", RegistryKind.Acr)]
    [InlineData("gar", RegistryKind.Gar)]
    [InlineData("harbor", RegistryKind.Harbor)]
    [InlineData("distribution", RegistryKind.Distribution)]
    public void Registry_kind_setting_parses_every_documented_value(string? value, RegistryKind? expected) =>
        Assert.Equal(expected, RegistryKinds.ParseSetting(value));

    [Fact]
    public void An_unknown_registry_kind_names_the_accepted_values()
    {
        FormatException error = Assert.Throws<FormatException>(() => RegistryKinds.ParseSetting("quay"));
        Assert.Contains("'quay' is not one of auto, distribution, harbor, ecr, acr, gar", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Basic", "realm=\"https://123456789012.dkr.ecr.eu-west-1.amazonaws.com/\",service=\"ecr.amazonaws.com\"", RegistryKind.Ecr)]
    [InlineData("Bearer", "realm=\"https://contoso.azurecr.io/oauth2/token\",service=\"contoso.azurecr.io\"", RegistryKind.Acr)]
    [InlineData("Bearer", "realm=\"https://harbor.example/service/token\",service=\"harbor-registry\"", RegistryKind.Harbor)]
    [InlineData("Bearer", "realm=\"https://europe-west1-docker.pkg.dev/v2/token\",service=\"europe-west1-docker.pkg.dev\"", RegistryKind.Gar)]
    public void The_challenge_names_the_registry_before_its_host_name(string scheme, string parameter, RegistryKind expected)
    {
        // The host says otherwise: what the registry says wins.
        Assert.Equal(expected, RegistryKinds.Decide(new AuthenticationHeaderValue(scheme, parameter), [], harbor: false, "registry.internal.example:5000"));
        Assert.Equal(expected, RegistryKinds.Decide(new AuthenticationHeaderValue(scheme, parameter), [], harbor: false, expected == RegistryKind.Gar ? "contoso.azurecr.io" : "us-docker.pkg.dev"));
    }

    [Fact]
    public void Error_codes_tell_the_registry_and_the_host_name_is_only_the_last_hint()
    {
        Assert.Equal(RegistryKind.Gar, RegistryKinds.Decide(null, [new RegistryError(DeleteRefusals.GarDanglingTagCode, "tags", null)], false, "127.0.0.1:5000"));
        Assert.Equal(RegistryKind.Ecr, RegistryKinds.Decide(null, [new RegistryError(DeleteRefusals.EcrReferencedCode, "referenced", null)], false, "127.0.0.1:5000"));
        Assert.Equal(RegistryKind.Acr, RegistryKinds.Decide(null, [new RegistryError("DENIED", "The operation is disallowed on this registry, repository or image.", null)], false, "127.0.0.1:5000"));
        Assert.Equal(RegistryKind.Harbor, RegistryKinds.Decide(null, [], harbor: true, "123456789012.dkr.ecr.us-east-1.amazonaws.com"));
        Assert.Equal(RegistryKind.Ecr, RegistryKinds.Decide(null, [], false, "123456789012.dkr.ecr.us-east-1.amazonaws.com"));
        Assert.Equal(RegistryKind.Acr, RegistryKinds.Decide(null, [], false, "contoso.azurecr.io"));
        Assert.Equal(RegistryKind.Gar, RegistryKinds.Decide(null, [], false, "us-docker.pkg.dev"));
        Assert.Null(RegistryKinds.Decide(null, [new RegistryError("MANIFEST_UNKNOWN", "manifest unknown", null)], false, "docker-registry:5000"));
    }

    [Fact]
    public void Each_kind_gets_its_own_next_step()
    {
        Assert.Equal(
            "Next: run the registry's garbage-collect with Invoke-RegistryGarbageCollection to free the space in docker-registry:5000.",
            RegistryKinds.NextStep(RegistryKind.Distribution, "docker-registry:5000"));
        Assert.StartsWith("Next: run Harbor's own garbage collection", RegistryKinds.NextStep(RegistryKind.Harbor, "harbor.example"), StringComparison.Ordinal);
        Assert.DoesNotContain("Invoke-RegistryGarbageCollection to free", RegistryKinds.NextStep(RegistryKind.Harbor, "harbor.example"), StringComparison.Ordinal);
        Assert.Equal("Next: nothing to run; Amazon ECR (r) reclaims the space of deleted images itself, without a garbage collection.", RegistryKinds.NextStep(RegistryKind.Ecr, "r"));
        Assert.Contains("Azure Container Registry (r) reclaims", RegistryKinds.NextStep(RegistryKind.Acr, "r"), StringComparison.Ordinal);
        Assert.Contains("Google Artifact Registry (r) reclaims", RegistryKinds.NextStep(RegistryKind.Gar, "r"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_refused_request_keeps_the_registry_error_codes_as_data()
    {
        await using StubHttpServer server = StubHttpServer.Start(async context =>
        {
            context.Response.StatusCode = 400;
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("""{"errors":[{"code":"MANIFEST_INVALID","message":"manifest invalid","detail":{"reason":"bad"}},{"code":"TAG_INVALID","message":"tag\u001b[31m invalid","detail":"plain"}]}""");
        });
        using var client = new RegistryClient(RegistryEndpoint.Parse(server.BaseAddress.ToString()), new RegistryClientOptions { MaxRetries = 0 });

        RegistryException error = await Assert.ThrowsAsync<RegistryException>(() => client.GetManifestAsync("app", "v1", CancellationToken.None));

        Assert.Equal(HttpStatusCode.BadRequest, error.StatusCode);
        Assert.Equal(
            [new RegistryError("MANIFEST_INVALID", "manifest invalid", """{"reason":"bad"}"""), new RegistryError("TAG_INVALID", "tag\u001b[31m invalid", "plain")],
            error.Errors);
        Assert.Contains(": MANIFEST_INVALID manifest invalid; TAG_INVALID tag", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_lock_answered_with_405_is_a_refusal_naming_the_lock_not_deletion_disabled()
    {
        // ACR answers a locked item with DENIED "The operation is disallowed…"; with 405 it must not read as
        // distribution's storage.delete.enabled, whose fix would be wrong.
        await using StubHttpServer server = StubHttpServer.Start(async context =>
        {
            context.Response.StatusCode = 405;
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(FaultProxy.AcrLockedBody);
        });
        using var local = new RegistryClient(RegistryEndpoint.Parse(server.BaseAddress.ToString()), new RegistryClientOptions { MaxRetries = 0 });
        const string Digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

        ManifestDeleteResult manifest = await local.DeleteManifestAsync("app", Digest, CancellationToken.None);
        ManifestDeleteResult tag = await local.DeleteTagAsync("app", "v1", CancellationToken.None);

        Assert.Equal(ManifestDeleteOutcome.Refused, manifest.Outcome);
        Assert.Equal("DENIED", Assert.Single(manifest.Errors).Code);
        Assert.Contains($"--image app@{Digest} --delete-enabled true", manifest.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("storage.delete.enabled", manifest.Message, StringComparison.Ordinal);
        Assert.Equal(DeleteRefusal.Locked, DeleteRefusals.Of(manifest.Outcome));
        Assert.Equal(ManifestDeleteOutcome.Refused, tag.Outcome);
        Assert.Contains("--image app:v1 --delete-enabled true", tag.Message, StringComparison.Ordinal);
        Assert.Equal(RegistryKind.Acr, local.Kind);
        Assert.Equal(DeleteRefusal.None, DeleteRefusals.Of(ManifestDeleteOutcome.Failed));
    }

    [Fact]
    public async Task A_refused_short_lived_credential_is_asked_for_once_more_from_its_helper()
    {
        int refreshed = 0;
        await using StubHttpServer server = StartBasicRegistry("AWS", "fresh-token");
        var options = new RegistryClientOptions
        {
            Credential = new RegistryCredential("AWS", "expired-token").WithSource("credHelpers 'ecr-login'"),
            RefreshCredential = _ =>
            {
                Interlocked.Increment(ref refreshed);
                return Task.FromResult<RegistryCredential?>(new RegistryCredential("AWS", "fresh-token").WithSource("credHelpers 'ecr-login'"));
            },
        };
        using var client = new RegistryClient(RegistryEndpoint.Parse(server.BaseAddress.ToString()), options);

        Assert.Equal(["v1"], await client.ListTagsAsync("app", 100, CancellationToken.None));
        Assert.Equal(["v1"], await client.ListTagsAsync("app", 100, CancellationToken.None));
        Assert.Equal(1, refreshed);
    }

    [Fact]
    public async Task A_helper_that_gives_the_same_or_another_refused_credential_is_said_so_and_not_asked_forever()
    {
        await using StubHttpServer server = StartBasicRegistry("AWS", "fresh-token");
        int asked = 0;
        var same = new RegistryClientOptions
        {
            Credential = new RegistryCredential("AWS", "expired-token").WithSource("credHelpers 'ecr-login'"),
            RefreshCredential = _ =>
            {
                Interlocked.Increment(ref asked);
                return Task.FromResult<RegistryCredential?>(new RegistryCredential("AWS", "expired-token"));
            },
        };
        using (var client = new RegistryClient(RegistryEndpoint.Parse(server.BaseAddress.ToString()), same))
        {
            RegistryAuthenticationException error = await Assert.ThrowsAsync<RegistryAuthenticationException>(() => client.ListTagsAsync("app", 100, CancellationToken.None));
            Assert.Contains("credentials from credHelpers 'ecr-login' were refused (401, user 'AWS')", error.Message, StringComparison.Ordinal);
            Assert.Contains("Asked credHelpers 'ecr-login' once more for a fresh credential: it gave the same one", error.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("expired-token", error.Message, StringComparison.Ordinal);
        }

        Assert.Equal(1, asked);
        var wrong = new RegistryClientOptions
        {
            Credential = same.Credential,
            RefreshCredential = _ => Task.FromResult<RegistryCredential?>(new RegistryCredential("AWS", "also-wrong").WithSource("credHelpers 'ecr-login'")),
        };
        using (var client = new RegistryClient(RegistryEndpoint.Parse(server.BaseAddress.ToString()), wrong))
        {
            RegistryAuthenticationException error = await Assert.ThrowsAsync<RegistryAuthenticationException>(() => client.ListTagsAsync("app", 100, CancellationToken.None));
            Assert.Contains("was refused too", error.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("also-wrong", error.Message, StringComparison.Ordinal);
        }
    }

    private static StubHttpServer StartBasicRegistry(string user, string password)
    {
        string expected = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}"));
        return StubHttpServer.Start(async context =>
        {
            if (context.Request.Headers.Authorization.ToString() != expected)
            {
                context.Response.StatusCode = 401;
                context.Response.Headers.WWWAuthenticate = "Basic realm=\"https://123456789012.dkr.ecr.eu-west-1.amazonaws.com/\",service=\"ecr.amazonaws.com\"";
                return;
            }

            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("""{"name":"app","tags":["v1"]}""");
        });
    }
}
