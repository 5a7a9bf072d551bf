using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace RegistryCleaner.Tests.Infrastructure;

/// <summary>
/// A bearer-token service for distribution's <c>auth.token</c>: issues ES256 JWTs whose <c>kid</c> is the libtrust
/// key ID of a certificate the registry trusts through <c>rootcertbundle</c> (what registry 2.8's token verifier
/// looks up), granting whatever scope is asked to the right user (basic auth) or refresh token (POST form).
/// </summary>
public sealed class TokenIssuer : IDisposable
{
    private readonly ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly StubHttpServer server;
    private readonly string keyId;
    private int requests;
    private int seen;
    private int withCredentials;

    public TokenIssuer(string username = "bob", string password = "token-password", string refreshToken = "refresh-token-for-bob", System.Net.IPAddress? address = null)
    {
        this.Username = username;
        this.Password = password;
        this.RefreshToken = refreshToken;
        var request = new CertificateRequest("CN=registrycleaner-test-token-issuer", this.key, HashAlgorithmName.SHA256);
        using X509Certificate2 certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7));
        this.CertificatePem = certificate.ExportCertificatePem();
        this.keyId = LibtrustKeyId(this.key.ExportSubjectPublicKeyInfo());
        this.server = StubHttpServer.Start(this.HandleAsync, address);
    }

    public string Username { get; }

    public string Password { get; }

    public string RefreshToken { get; }

    public string Service => "registrycleaner-test";

    public string Issuer => "registrycleaner-test-issuer";

    public Uri Realm => new(this.server.BaseAddress, "token");

    /// <summary>Gets the PEM of the signing certificate, for the registry's <c>rootcertbundle</c>.</summary>
    public string CertificatePem { get; }

    /// <summary>Gets or sets actions the service never grants (to test permission errors).</summary>
    public IReadOnlyCollection<string> DeniedActions { get; set; } = [];

    /// <summary>
    /// Gets or sets the lifetime the service names for each token (<c>expires_in</c>, seconds). The token itself stays
    /// valid 300 s; a short lifetime makes the client ask again soon, as after a long run against a real service.
    /// </summary>
    public int ExpiresIn { get; set; } = 300;

    /// <summary>Gets how many token requests were answered with a token.</summary>
    public int TokensIssued => Volatile.Read(ref this.requests);

    /// <summary>Gets how many requests of any kind reached the service.</summary>
    public int RequestsSeen => Volatile.Read(ref this.seen);

    /// <summary>Gets how many requests carried credentials: an Authorization header or a refresh token form.</summary>
    public int RequestsWithCredentials => Volatile.Read(ref this.withCredentials);

    /// <summary>Mints a token directly (for pushing test images).</summary>
    public string IssueToken(params string[] scopes)
    {
        var access = new List<object>();
        foreach (string scope in scopes)
        {
            string[] parts = scope.Split(':');
            if (parts.Length < 3)
            {
                continue;
            }

            string name = string.Join(':', parts[1..^1]);
            string[] actions = parts[^1].Split(',');
            if (parts[0] == "repository" && actions.Contains("*"))
            {
                actions = ["pull", "push", "delete", "*"];
            }

            access.Add(new { type = parts[0], name, actions = actions.Except(this.DeniedActions).ToArray() });
        }

        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var header = new { typ = "JWT", alg = "ES256", kid = this.keyId };
        var claims = new
        {
            iss = this.Issuer,
            sub = this.Username,
            aud = this.Service,
            exp = now + 300,
            nbf = now - 30,
            iat = now - 30,
            jti = Guid.NewGuid().ToString("N"),
            access,
        };
        string signingInput = Base64Url(JsonSerializer.SerializeToUtf8Bytes(header)) + "." + Base64Url(JsonSerializer.SerializeToUtf8Bytes(claims));

        // JWS ES256 wants r||s (IEEE P1363), which is .NET's default signature format.
        byte[] signature = this.key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256);
        return signingInput + "." + Base64Url(signature);
    }

    public void Dispose()
    {
        this.server.Dispose();
        this.key.Dispose();
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    // libtrust: base32(sha256(DER SubjectPublicKeyInfo)[:30]) without padding, in groups of four joined by ':'.
    private static string LibtrustKeyId(byte[] subjectPublicKeyInfo)
    {
        byte[] hash = SHA256.HashData(subjectPublicKeyInfo)[..30];
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        var base32 = new StringBuilder();
        int buffer = 0;
        int bits = 0;
        foreach (byte b in hash)
        {
            buffer = (buffer << 8) | b;
            bits += 8;
            while (bits >= 5)
            {
                base32.Append(alphabet[(buffer >> (bits - 5)) & 31]);
                bits -= 5;
            }
        }

        if (bits > 0)
        {
            base32.Append(alphabet[(buffer << (5 - bits)) & 31]);
        }

        string s = base32.ToString();
        return string.Join(':', Enumerable.Range(0, s.Length / 4).Select(i => s.Substring(i * 4, 4)));
    }

    private async Task HandleAsync(HttpContext context)
    {
        Interlocked.Increment(ref this.seen);
        if (context.Request.Headers.Authorization.Count > 0 || HttpMethods.IsPost(context.Request.Method))
        {
            Interlocked.Increment(ref this.withCredentials);
        }

        if (context.Request.Path != "/token")
        {
            context.Response.StatusCode = 404;
            return;
        }

        bool authorized;
        IEnumerable<string> scopes;
        if (HttpMethods.IsPost(context.Request.Method))
        {
            IFormCollection form = await context.Request.ReadFormAsync().ConfigureAwait(false);
            authorized = form["grant_type"] == "refresh_token" && form["refresh_token"] == this.RefreshToken;
            scopes = form["scope"].Where(static s => s is not null).SelectMany(static s => s!.Split(' '));
        }
        else
        {
            string header = context.Request.Headers.Authorization.ToString();
            string expected = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{this.Username}:{this.Password}"));
            authorized = header == expected;
            scopes = context.Request.Query["scope"].Where(static s => s is not null).SelectMany(static s => s!.Split(' '));
        }

        if (!authorized)
        {
            context.Response.StatusCode = 401;
            await context.Response.WriteAsJsonAsync(new { errors = new[] { new { code = "UNAUTHORIZED", message = "bad credentials" } } }).ConfigureAwait(false);
            return;
        }

        Interlocked.Increment(ref this.requests);
        string token = this.IssueToken(scopes.ToArray());

        // Docker's token spec answers token, OAuth2 answers access_token: answer one field per flow so clients must read both.
        if (HttpMethods.IsPost(context.Request.Method))
        {
            await context.Response.WriteAsJsonAsync(new { token, expires_in = this.ExpiresIn }).ConfigureAwait(false);
        }
        else
        {
            await context.Response.WriteAsJsonAsync(new { access_token = token, expires_in = this.ExpiresIn }).ConfigureAwait(false);
        }
    }
}
