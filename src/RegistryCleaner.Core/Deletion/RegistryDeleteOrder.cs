using RegistryCleaner.Registry;

namespace RegistryCleaner.Deletion;

/// <summary>
/// Puts a manifest DELETE that a registry refused for its order into the order it accepts, from the registry's own
/// answer (<see cref="DeleteRefusals"/>), retrying once:
/// <list type="bullet">
/// <item>tags before the digest (Google Artifact Registry): only the planned tags, each re-checked right before, and
/// none while another tag points at the manifest; when the registry still refuses, they are put back;</item>
/// <item>an index before its children (ECR, Artifact Registry): a child refused for that reason is sent once more
/// when its index is confirmed gone; otherwise it stays, reported as kept by an index.</item>
/// </list>
/// Every other answer passes through unchanged. Tags go back through the deleter's one put-back, which journals each
/// and tells the repository's tag watch.
/// </summary>
public sealed class RegistryDeleteOrder
{
    private readonly RegistryClient client;
    private readonly TagPutBackAction putBack;

    /// <summary>Initializes the order for one registry.</summary>
    /// <param name="client">The registry client the deleter uses.</param>
    /// <param name="putBack">Puts tags back from the journaled manifest (the deleter's, which journals each).</param>
    public RegistryDeleteOrder(RegistryClient client, TagPutBackAction putBack)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(putBack);
        this.client = client;
        this.putBack = putBack;
    }

    /// <summary>Gets how long to wait before sending a child's DELETE again after its index was confirmed gone.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    private string Registry => this.client.Endpoint.DisplayName;

    /// <summary>Follows a refused DELETE in the order the registry asked for; other answers pass through.</summary>
    /// <param name="answer">The registry's answer to the DELETE by digest.</param>
    /// <param name="repository">The repository.</param>
    /// <param name="digest">The manifest digest.</param>
    /// <param name="parent">The index the manifest is deleted with, if it is a child.</param>
    /// <param name="plannedTags">The tags the plan deletes with the manifest (re-checked right before the DELETE).</param>
    /// <param name="listedBefore">Whether a tag is listed and known to point at another manifest (so needs no HEAD).</param>
    /// <param name="content">The manifest as journaled (to put tags back).</param>
    /// <param name="send">Sends the DELETE by digest again.</param>
    /// <returns>The final answer.</returns>
    public async Task<ManifestDeleteResult> FollowAsync(
        ManifestDeleteResult answer,
        string repository,
        string digest,
        string? parent,
        IReadOnlyList<string> plannedTags,
        Func<string, bool> listedBefore,
        ManifestContent content,
        Func<Task<ManifestDeleteResult>> send)
    {
        ArgumentNullException.ThrowIfNull(answer);
        ArgumentNullException.ThrowIfNull(send);
        try
        {
            return answer.Outcome switch
            {
                ManifestDeleteOutcome.TagsFirst => await this.TagsFirstAsync(answer, repository, digest, plannedTags, listedBefore, content, send).ConfigureAwait(false),
                ManifestDeleteOutcome.ReferencedByIndex => await this.AfterIndexAsync(answer, repository, digest, parent, send).ConfigureAwait(false),
                _ => answer,
            };
        }
        catch (RegistryAuthenticationException)
        {
            throw;
        }
        catch (RegistryException ex)
        {
            return new ManifestDeleteResult(ManifestDeleteOutcome.Failed, ex.StatusCode, $"{answer.Message} Following the order the registry asked for failed: {ex.Message}") { Errors = ex.Errors };
        }
    }

    private static ManifestDeleteResult Kept(ManifestDeleteResult answer, string message) =>
        new(ManifestDeleteOutcome.Kept, answer.StatusCode, message) { Errors = answer.Errors };

    private async Task<ManifestDeleteResult> TagsFirstAsync(
        ManifestDeleteResult answer, string repository, string digest, IReadOnlyList<string> plannedTags, Func<string, bool> listedBefore, ManifestContent content, Func<Task<ManifestDeleteResult>> send)
    {
        string name = $"{this.Registry}/{repository}@{digest}";
        if (plannedTags.Count == 0)
        {
            return Kept(answer, $"{answer.Message} The plan deletes no tag of it, so a tag the plan does not include points at it: not deleted.");
        }

        // Each planned tag once more, right before it goes: it must still point at this manifest.
        foreach (string tag in plannedTags)
        {
            string? now = await this.client.HeadManifestAsync(repository, tag, CancellationToken.None).ConfigureAwait(false);
            if (now is not null && !string.Equals(now, digest, StringComparison.Ordinal))
            {
                return Kept(answer, $"{answer.Message} Tag {tag} moved to {now} since the last check, so no tag was deleted: not deleted.");
            }
        }

        // A tag created since the listing before the DELETE may point at it too; only then would deleting ours be wrong.
        var planned = new HashSet<string>(plannedTags, StringComparer.Ordinal);
        foreach (string tag in await this.client.ListTagsAsync(repository, 1000, CancellationToken.None).ConfigureAwait(false))
        {
            if (!planned.Contains(tag) && !listedBefore(tag) && string.Equals(await this.client.HeadManifestAsync(repository, tag, CancellationToken.None).ConfigureAwait(false), digest, StringComparison.Ordinal))
            {
                return Kept(answer, $"{answer.Message} Tag {tag}, which the plan does not include, points at it now, so no tag was deleted: not deleted.");
            }
        }

        var removed = new List<string>();
        foreach (string tag in plannedTags)
        {
            ManifestDeleteResult untag = await this.client.DeleteTagAsync(repository, tag, CancellationToken.None).ConfigureAwait(false);
            if (untag.Outcome is not (ManifestDeleteOutcome.Deleted or ManifestDeleteOutcome.NotFound))
            {
                string back = await this.PutBackAsync(repository, digest, removed, content).ConfigureAwait(false);
                return new ManifestDeleteResult(ManifestDeleteOutcome.Failed, untag.StatusCode, $"{answer.Message} Deleting its tags first failed at {tag}: {untag.Message}{back}") { Errors = untag.Errors };
            }

            removed.Add(tag);
        }

        ManifestDeleteResult again;
        try
        {
            again = await send().ConfigureAwait(false);
        }
        catch (RegistryException ex) when (ex is not RegistryAuthenticationException)
        {
            // The retry's answer is lost or an error: the manifest may still be there without its tags; they go back.
            string back = await this.PutBackAsync(repository, digest, removed, content).ConfigureAwait(false);
            return new ManifestDeleteResult(ManifestDeleteOutcome.Failed, ex.StatusCode, $"{answer.Message} Its tags {string.Join(", ", removed)} were deleted first, then the DELETE of the digest failed: {ex.Message}{back}") { Errors = ex.Errors };
        }

        if (again.Outcome == ManifestDeleteOutcome.Deleted)
        {
            return again with { Message = $"Deleted {name} after deleting its tags {string.Join(", ", removed)} first, since the registry refuses a digest while tags point at it ({answer.StatusCode:D} {DeleteRefusals.GarDanglingTagCode})." };
        }

        if (again.Outcome == ManifestDeleteOutcome.TagsFirst)
        {
            // Another tag arrived between our check and the DELETE: the manifest stays, and so do the tags we planned.
            string back = await this.PutBackAsync(repository, digest, removed, content).ConfigureAwait(false);
            return Kept(again, $"{again.Message} It still does after its planned tags {string.Join(", ", removed)} were deleted, so a tag the plan does not include points at it: not deleted.{back}");
        }

        // Any other answer (an error, a lost answer, a refusal): nothing may stay half done, so the tags go back. A PUT
        // of the journaled manifest under its tag also brings the manifest back if the DELETE did take place.
        string restored = await this.PutBackAsync(repository, digest, removed, content).ConfigureAwait(false);
        return again with { Message = $"{again.Message} Its tags {string.Join(", ", removed)} had been deleted first.{restored}" };
    }

    private async Task<string> PutBackAsync(string repository, string digest, IReadOnlyList<string> tags, ManifestContent content)
    {
        if (tags.Count == 0)
        {
            return string.Empty;
        }

        IReadOnlyList<TagPutBack> results = await this.putBack(
            repository, digest, content, tags, $"was deleted before {digest}, as the registry asks, and that DELETE did not go through").ConfigureAwait(false);
        TagPutBack[] failed = [.. results.Where(static r => !r.Restored)];
        return failed.Length == 0
            ? $" Its tags {string.Join(", ", tags)} were put back."
            : $" Putting its tags back failed: {string.Join(" ", failed.Select(static r => r.Message))}";
    }

    private async Task<ManifestDeleteResult> AfterIndexAsync(ManifestDeleteResult answer, string repository, string digest, string? parent, Func<Task<ManifestDeleteResult>> send)
    {
        const string Stays = "it stays, with everything it references, until that index is deleted.";
        if (parent is null)
        {
            return Kept(answer, $"{answer.Message} An index the plan does not delete references it: {Stays}");
        }

        if (await this.client.HeadManifestAsync(repository, parent, CancellationToken.None).ConfigureAwait(false) is not null)
        {
            return Kept(answer, $"{answer.Message} Its index {parent} was not deleted: {Stays}");
        }

        // The index is gone; a registry that answers from a replica may not know yet. Once more, after a moment.
        if (this.RetryDelay > TimeSpan.Zero)
        {
            await Task.Delay(this.RetryDelay).ConfigureAwait(false);
        }

        ManifestDeleteResult again = await send().ConfigureAwait(false);
        return again.Outcome switch
        {
            ManifestDeleteOutcome.Deleted => again with { Message = $"Deleted {this.Registry}/{repository}@{digest} on the second attempt, once its index {parent} was gone (the first was refused: an index still referenced it)." },
            ManifestDeleteOutcome.ReferencedByIndex => Kept(again, $"{again.Message} Its index {parent} is gone and it was asked once more, so another index references it: {Stays}"),
            _ => again,
        };
    }
}

/// <summary>Puts tags back onto a manifest from its journaled bytes, journals each and returns what happened to each.</summary>
/// <param name="repository">The repository.</param>
/// <param name="digest">The manifest the tags go back onto.</param>
/// <param name="content">The manifest as journaled.</param>
/// <param name="tags">The tags.</param>
/// <param name="cause">Why each tag had gone, completing "Tag x …" (for the messages).</param>
/// <returns>One result per tag.</returns>
public delegate Task<IReadOnlyList<TagPutBack>> TagPutBackAction(string repository, string digest, ManifestContent content, IReadOnlyList<string> tags, string cause);
