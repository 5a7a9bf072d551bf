using System.Net;

namespace RegistryCleaner.Registry;

/// <content>
/// Deleting: a manifest by digest (with every tag on it), a tag alone where the registry allows it, and the probe
/// that tells which, classifying each refusal by the registry's status and error code.
/// </content>
public sealed partial class RegistryClient
{
    /// <summary>
    /// Deletes a manifest by digest. The registry removes the manifest <b>and every tag pointing at it</b>. Never
    /// retried: a request that got no answer returns <see cref="ManifestDeleteOutcome.NoAnswer"/> for the caller to re-check.
    /// </summary>
    /// <param name="repository">The repository.</param>
    /// <param name="digest">The manifest digest (a tag is refused: registries delete by digest only).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>What happened.</returns>
    /// <exception cref="RegistryAuthenticationException">The credentials were refused or lack delete permission.</exception>
    public async Task<ManifestDeleteResult> DeleteManifestAsync(string repository, string digest, CancellationToken cancellationToken)
    {
        ValidateRepository(repository);
        if (!IsDigest(digest))
        {
            throw new ArgumentException($"'{digest}' is not a digest: manifests are deleted by digest (algorithm:hex).", nameof(digest));
        }

        string target = $"{this.Name}/{repository}@{digest}";
        HttpResponseMessage response;
        try
        {
            response = await this.SendAsync(HttpMethod.Delete, $"v2/{repository}/manifests/{digest}", DeleteScope(repository), null, retry: false, cancellationToken).ConfigureAwait(false);
        }
        catch (RegistryUnreachableException ex)
        {
            return new ManifestDeleteResult(ManifestDeleteOutcome.NoAnswer, null, $"The delete of {target} got no answer ({ex.Message}); check with HEAD whether it still exists.");
        }
        catch (RegistryAuthenticationException ex) when (ex.Errors.Any(DeleteRefusals.IsLock))
        {
            // A lock is about this image, not the credentials: one error for it, and the run goes on.
            this.Observe(ex.Errors);
            return new ManifestDeleteResult(ManifestDeleteOutcome.Refused, ex.StatusCode, DeleteRefusals.Locked(this.Name, this.Endpoint.BaseUri.Host, $"{repository}@{digest}", (int)(ex.StatusCode ?? 0), ex.Errors))
            {
                Errors = ex.Errors,
            };
        }
        catch (RegistryAuthenticationException ex) when (this.KindFromAnswers() == RegistryKind.Acr)
        {
            this.Observe(ex.Errors);
            throw new RegistryAuthenticationException(this.Name, ex.Message + DeleteRefusals.AcrDeleteRole(this.Endpoint.BaseUri.Host), ex.StatusCode ?? HttpStatusCode.Forbidden)
            {
                Errors = ex.Errors,
            };
        }

        using (response)
        {
            if (response.IsSuccessStatusCode && response.StatusCode is HttpStatusCode.Accepted or HttpStatusCode.OK or HttpStatusCode.NoContent)
            {
                return new ManifestDeleteResult(ManifestDeleteOutcome.Deleted, response.StatusCode, $"Deleted {target}.");
            }

            IReadOnlyList<RegistryError> errors = await RegistryError.ReadAsync(response, cancellationToken).ConfigureAwait(false);
            this.Observe(errors);
            string detail = RegistryError.Describe(errors);
            int status = (int)response.StatusCode;
            ManifestDeleteResult Result(ManifestDeleteOutcome outcome, string message) => new(outcome, response.StatusCode, message) { Errors = errors };
            if (errors.Any(DeleteRefusals.IsLock))
            {
                return Result(ManifestDeleteOutcome.Refused, DeleteRefusals.Locked(this.Name, this.Endpoint.BaseUri.Host, $"{repository}@{digest}", status, errors));
            }

            if (DeleteRefusals.IsDanglingTag(errors))
            {
                return Result(ManifestDeleteOutcome.TagsFirst, $"Registry {this.Name} refused to delete {target} by digest while tags point at it ({status}{detail}).");
            }

            if (status is >= 400 and < 500 && DeleteRefusals.IsReferencedByIndex(errors))
            {
                return Result(ManifestDeleteOutcome.ReferencedByIndex, $"Registry {this.Name} refused to delete {target} because an image index still references it ({status}{detail}).");
            }

            return response.StatusCode switch
            {
                HttpStatusCode.NotFound => Result(ManifestDeleteOutcome.NotFound, $"{target} does not exist (already deleted)."),
                HttpStatusCode.MethodNotAllowed => Result(
                    ManifestDeleteOutcome.Unsupported,
                    $"Registry {this.Name} has deletion disabled (405 UNSUPPORTED): set storage.delete.enabled: true in its config.yml (or REGISTRY_STORAGE_DELETE_ENABLED=true) and restart it; for a registry StatefulSet (Domino's docker-registry), Enable-RegistryDeletion does that."),
                _ => Result(ManifestDeleteOutcome.Failed, $"The delete of {target} failed with {status} {response.ReasonPhrase}{detail}."),
            };
        }
    }

    /// <summary>
    /// Deletes one tag, leaving its manifest and every other tag (OCI distribution 1.1 <c>DELETE
    /// /v2/&lt;name&gt;/manifests/&lt;tag&gt;</c>). Only for a registry where <see cref="SupportsTagDeletionAsync"/> said
    /// yes. Never retried: a request that got no answer returns <see cref="ManifestDeleteOutcome.NoAnswer"/>.
    /// </summary>
    /// <param name="repository">The repository.</param>
    /// <param name="tag">The tag (a digest is refused: that would delete the manifest and all its tags).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>What happened; 400 and 405 are <see cref="ManifestDeleteOutcome.Unsupported"/>.</returns>
    /// <exception cref="RegistryAuthenticationException">The credentials were refused or lack delete permission.</exception>
    public async Task<ManifestDeleteResult> DeleteTagAsync(string repository, string tag, CancellationToken cancellationToken)
    {
        ValidateRepository(repository);
        ArgumentException.ThrowIfNullOrEmpty(tag);
        if (IsDigest(tag) || tag.Contains('/', StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{tag}' is not a tag: a DELETE by digest removes the manifest and every tag of it.", nameof(tag));
        }

        RegistryNames.ThrowIfNotTag(tag, nameof(tag));

        string target = $"{this.Name}/{repository}:{tag}";
        HttpResponseMessage response;
        try
        {
            response = await this.SendAsync(HttpMethod.Delete, $"v2/{repository}/manifests/{tag}", DeleteScope(repository), null, retry: false, cancellationToken).ConfigureAwait(false);
        }
        catch (RegistryUnreachableException ex)
        {
            return new ManifestDeleteResult(ManifestDeleteOutcome.NoAnswer, null, $"The delete of tag {target} got no answer ({ex.Message}); check with HEAD whether it still exists.");
        }
        catch (RegistryAuthenticationException ex) when (ex.Errors.Any(DeleteRefusals.IsLock))
        {
            this.Observe(ex.Errors);
            return new ManifestDeleteResult(ManifestDeleteOutcome.Refused, ex.StatusCode, DeleteRefusals.Locked(this.Name, this.Endpoint.BaseUri.Host, $"{repository}:{tag}", (int)(ex.StatusCode ?? 0), ex.Errors))
            {
                Errors = ex.Errors,
            };
        }

        using (response)
        {
            IReadOnlyList<RegistryError> errors = response.IsSuccessStatusCode ? [] : await RegistryError.ReadAsync(response, cancellationToken).ConfigureAwait(false);
            this.Observe(errors);
            string detail = RegistryError.Describe(errors);
            if (errors.Any(DeleteRefusals.IsLock))
            {
                return new ManifestDeleteResult(ManifestDeleteOutcome.Refused, response.StatusCode, DeleteRefusals.Locked(this.Name, this.Endpoint.BaseUri.Host, $"{repository}:{tag}", (int)response.StatusCode, errors)) { Errors = errors };
            }

            ManifestDeleteResult result = response.StatusCode switch
            {
                HttpStatusCode.Accepted or HttpStatusCode.OK or HttpStatusCode.NoContent =>
                    new ManifestDeleteResult(ManifestDeleteOutcome.Deleted, response.StatusCode, $"Deleted tag {target}; its manifest stays."),
                HttpStatusCode.NotFound =>
                    new ManifestDeleteResult(ManifestDeleteOutcome.NotFound, response.StatusCode, $"Tag {target} does not exist (already deleted)."),
                HttpStatusCode.BadRequest or HttpStatusCode.MethodNotAllowed =>
                    new ManifestDeleteResult(ManifestDeleteOutcome.Unsupported, response.StatusCode, $"Registry {this.Name} refused to delete tag {target} alone ({(int)response.StatusCode}{detail})."),
                _ => new ManifestDeleteResult(ManifestDeleteOutcome.Failed, response.StatusCode, $"The delete of tag {target} failed with {(int)response.StatusCode} {response.ReasonPhrase}{detail}."),
            };
            return result with { Errors = errors };
        }
    }

    /// <summary>
    /// Tells whether the registry deletes a tag alone, asking once per client (one client is one registry) and never
    /// changing anything: it deletes a tag that cannot exist. The tag is a fresh random name that is first checked
    /// absent with HEAD; no one pushes it, so there is nothing to delete. A registry that deletes tags looks the name up
    /// as a tag and answers 404 (distribution 3: <c>MANIFEST_UNKNOWN</c>) or 202; distribution 2.8 parses every DELETE
    /// reference as a digest and answers <c>400 DIGEST_INVALID</c>, and a registry with deletion disabled answers 405.
    /// Anything else (no delete permission, no answer, a server error) is "no": the caller must never guess yes.
    /// </summary>
    /// <param name="repository">An existing repository to ask in (the DELETE needs delete permission on it).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Whether tags can be deleted alone.</returns>
    public Task<bool> SupportsTagDeletionAsync(string repository, CancellationToken cancellationToken)
    {
        ValidateRepository(repository);
        // Concurrent callers share one answer; a failed or cancelled ask is asked again.
        Task<bool>? known = this.tagDeletion;
        if (known is not null && !known.IsFaulted && !known.IsCanceled)
        {
            return known;
        }

        Task<bool> asked = this.ProbeTagDeletionAsync(repository, cancellationToken);
        Task<bool>? raced = Interlocked.CompareExchange(ref this.tagDeletion, asked, known);
        return ReferenceEquals(raced, known) ? asked : raced!;
    }

    private async Task<bool> ProbeTagDeletionAsync(string repository, CancellationToken cancellationToken)
    {
        try
        {
            for (int attempt = 0; attempt < 3; attempt++)
            {
                string tag = "registrycleaner-probe-" + Guid.NewGuid().ToString("N");
                if (await this.HeadManifestAsync(repository, tag, cancellationToken).ConfigureAwait(false) is not null)
                {
                    // Someone has this name after all: never DELETE a tag that exists.
                    continue;
                }

                ManifestDeleteResult answer = await this.DeleteTagAsync(repository, tag, cancellationToken).ConfigureAwait(false);
                return answer.Outcome is ManifestDeleteOutcome.NotFound or ManifestDeleteOutcome.Deleted;
            }

            return false;
        }
        catch (RegistryException)
        {
            // No delete permission, no answer, a server error: not known to support it, so it does not.
            return false;
        }
    }
}
