using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;

namespace RegistryCleaner.Tests.Infrastructure;

/// <summary>Which cloud registry a <see cref="FaultProxy"/> answers as, in front of the real distribution registry.</summary>
public enum CloudPersona
{
    /// <summary>Forwards every DELETE (distribution itself).</summary>
    None,

    /// <summary>Google Artifact Registry: no digest DELETE while tags point at it; no DELETE of a manifest an index references.</summary>
    Gar,

    /// <summary>Amazon ECR: no DELETE of a manifest an index references.</summary>
    Ecr,

    /// <summary>Azure Container Registry: locked manifests (<see cref="FaultProxy.LockedDigests"/>) and a missing AcrDelete role (<see cref="FaultProxy.DeniesDelete"/>).</summary>
    Acr,

    /// <summary>Harbor: answers its <c>/api/v2.0/systeminfo</c>.</summary>
    Harbor,
}

/// <content>
/// Cloud registries in front of the real one: with the registry's storage (the <c>oci11Storage</c> of
/// <see cref="Start"/>) the proxy refuses a manifest DELETE exactly when the cloud registry would, judged from the
/// registry's own files (its tags, its indexes), and forwards it otherwise, so the real registry does the deleting.
/// Tests also program single answers (<see cref="Answer"/>) and actions run before a request (<see cref="AddHook"/>).
/// The status codes and bodies are those the registries document; see the cloud registry tests for the sources.
/// </content>
public sealed partial class FaultProxy
{
    /// <summary>Google Artifact Registry's refusal of a digest DELETE while tags point at the manifest.</summary>
    public const string GarDanglingTagBody = """{"errors":[{"code":"GOOGLE_MANIFEST_DANGLING_TAG","message":"Manifest is still referenced by one or more tags; delete the tags first."}]}""";

    /// <summary>ACR's refusal of a locked image (<c>deleteEnabled: false</c>).</summary>
    public const string AcrLockedBody = """{"errors":[{"code":"DENIED","message":"The operation is disallowed on this registry, repository or image."}]}""";

    /// <summary>ACR's refusal when the identity has no delete permission (no AcrDelete role).</summary>
    public const string AcrDeniedBody = """{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}""";

    private static readonly Regex DigestDelete = new("^/v2/(?<name>.+)/manifests/(?<digest>sha256:[0-9a-f]{64})$", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
    private readonly ConcurrentQueue<(Fault Match, int Status, string Body)> answers = new();
    private readonly ConcurrentQueue<(Fault Match, Func<Task> Action)> hooks = new();

    /// <summary>Gets or sets which registry the proxy answers as (needs the registry's storage).</summary>
    public CloudPersona Persona { get; set; }

    /// <summary>Gets the manifests ACR has locked (<see cref="CloudPersona.Acr"/>).</summary>
    public ConcurrentDictionary<string, bool> LockedDigests { get; } = new(StringComparer.Ordinal);

    /// <summary>Gets or sets whether ACR refuses every DELETE, as for an identity without the AcrDelete role.</summary>
    public bool DeniesDelete { get; set; }

    /// <summary>Programs an answer (status and JSON body) to matching requests; the registry never sees them.</summary>
    public Fault Answer(string method, string pathPattern, int status, string body, int times = 1)
    {
        var match = new Fault(method, new Regex(pathPattern, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1)), FaultKind.InternalServerError, times, TimeSpan.Zero);
        this.answers.Enqueue((match, status, body));
        return match;
    }

    /// <summary>Runs <paramref name="action"/> when a matching request arrives, before it is answered.</summary>
    public Fault AddHook(string method, string pathPattern, Func<Task> action, int times = 1)
    {
        var match = new Fault(method, new Regex(pathPattern, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1)), FaultKind.Slow, times, TimeSpan.Zero);
        this.hooks.Enqueue((match, action));
        return match;
    }

    private async Task RunHooksAsync(HttpRequest request)
    {
        foreach ((Fault match, Func<Task> action) in this.hooks)
        {
            if (match.TryFire(request))
            {
                await action().ConfigureAwait(false);
            }
        }
    }

    private async Task<bool> TryAnswerAsCloudAsync(HttpContext context)
    {
        HttpRequest request = context.Request;
        foreach ((Fault match, int status, string body) in this.answers)
        {
            if (match.TryFire(request))
            {
                await WriteJsonAsync(context, status, "application/json", body).ConfigureAwait(false);
                return true;
            }
        }

        if (this.Persona == CloudPersona.None)
        {
            return false;
        }

        string path = request.Path.Value ?? string.Empty;
        if (this.Persona == CloudPersona.Harbor && HttpMethods.IsGet(request.Method) && path == "/api/v2.0/systeminfo")
        {
            await WriteJsonAsync(context, 200, "application/json", """{"harbor_version":"v2.11.1-6b7ecba1","registry_url":"harbor.example"}""").ConfigureAwait(false);
            return true;
        }

        Match delete = DigestDelete.Match(path);
        if (!HttpMethods.IsDelete(request.Method) || !delete.Success)
        {
            return false;
        }

        string repository = Path.Combine(this.oci11Storage ?? throw new InvalidOperationException("A cloud persona needs the registry's storage."), "docker", "registry", "v2", "repositories", delete.Groups["name"].Value);
        string digest = delete.Groups["digest"].Value;
        switch (this.Persona)
        {
            case CloudPersona.Acr when this.DeniesDelete:
                await WriteJsonAsync(context, 403, "application/json", AcrDeniedBody).ConfigureAwait(false);
                return true;
            case CloudPersona.Acr when this.LockedDigests.ContainsKey(digest):
                await WriteJsonAsync(context, 403, "application/json", AcrLockedBody).ConfigureAwait(false);
                return true;
            case CloudPersona.Gar when TagsOn(repository, digest).Count > 0:
                await WriteJsonAsync(context, 400, "application/json", GarDanglingTagBody).ConfigureAwait(false);
                return true;
        }

        if (this.Persona is CloudPersona.Gar or CloudPersona.Ecr && this.IndexReferencing(repository, digest) is { } index)
        {
            string body = this.Persona == CloudPersona.Ecr
                ? $$"""{"errors":[{"code":"ImageReferencedByManifestList","message":"Requested image referenced by manifest list: [{{index}}]"}]}"""
                : $$"""{"errors":[{"code":"FAILED_PRECONDITION","message":"Manifest {{digest}} is referenced by manifest {{index}}."}]}""";
            await WriteJsonAsync(context, 400, "application/json", body).ConfigureAwait(false);
            return true;
        }

        return false;
    }

    /// <summary>The tags whose current link names the digest, from the registry's files.</summary>
    private static List<string> TagsOn(string repository, string digest)
    {
        string tags = Path.Combine(repository, "_manifests", "tags");
        var found = new List<string>();
        foreach (string tag in Directory.Exists(tags) ? Directory.EnumerateDirectories(tags) : [])
        {
            string link = Path.Combine(tag, "current", "link");
            if (File.Exists(link) && File.ReadAllText(link).Trim() == digest)
            {
                found.Add(Path.GetFileName(tag));
            }
        }

        return found;
    }

    /// <summary>An index of the repository (a revision the registry still links) that lists the digest, if any.</summary>
    private string? IndexReferencing(string repository, string digest)
    {
        string revisions = Path.Combine(repository, "_manifests", "revisions", "sha256");
        string blobs = Path.Combine(this.oci11Storage!, "docker", "registry", "v2", "blobs", "sha256");
        foreach (string revision in Directory.Exists(revisions) ? Directory.EnumerateDirectories(revisions) : [])
        {
            string hex = Path.GetFileName(revision);
            string data = Path.Combine(blobs, hex[..2], hex, "data");
            if (!File.Exists(Path.Combine(revision, "link")) || !File.Exists(data))
            {
                continue;
            }

            if (JsonNode.Parse(File.ReadAllBytes(data)) is JsonObject manifest && manifest["manifests"] is JsonArray children
                && children.Any(c => (string?)c?["digest"] == digest))
            {
                return "sha256:" + hex;
            }
        }

        return null;
    }
}
