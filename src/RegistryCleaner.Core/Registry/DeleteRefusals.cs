namespace RegistryCleaner.Registry;

/// <summary>Why a registry refused a DELETE, when it refused for a reason the result must carry (a script or the cmdlet maps it).</summary>
public enum DeleteRefusal
{
    /// <summary>No refusal of these kinds (deleted, not found, or failed otherwise).</summary>
    None = 0,

    /// <summary>The image or its repository is locked against deletion (Azure Container Registry, <c>deleteEnabled: false</c>).</summary>
    Locked = 1,

    /// <summary>An image index the plan does not delete still references the manifest (ECR, Artifact Registry): it stays.</summary>
    ReferencedByIndex = 2,
}

/// <summary>
/// How registries beyond distribution refuse a manifest <c>DELETE</c>, recognised by the registry's answer (status and
/// error code), never by its host name:
/// <list type="bullet">
/// <item>Google Artifact Registry refuses a delete by digest while tags point at the manifest
/// (<c>400 GOOGLE_MANIFEST_DANGLING_TAG</c>): its tags go first (<c>DELETE /v2/&lt;name&gt;/manifests/&lt;tag&gt;</c>
/// untags there), then the digest;</item>
/// <item>Amazon ECR refuses to delete a manifest an image index still references (its documented image failure code
/// <c>ImageReferencedByManifestList</c>), and Artifact Registry likewise ("is referenced by"): the index goes first;</item>
/// <item>Azure Container Registry refuses a locked image or repository (<c>deleteEnabled: false</c>; <c>DENIED</c>,
/// "The operation is disallowed on this registry, repository or image."), which only its owner can change.</item>
/// </list>
/// </summary>
public static class DeleteRefusals
{
    /// <summary>Artifact Registry's code for a digest delete while tags point at the manifest.</summary>
    public const string GarDanglingTagCode = "GOOGLE_MANIFEST_DANGLING_TAG";

    /// <summary>ECR's failure code for a manifest an image index (manifest list) still references.</summary>
    public const string EcrReferencedCode = "ImageReferencedByManifestList";

    // The fix every message about a lock names.
    private const string LockFix = "--delete-enabled true";

    /// <summary>Tells whether an error says the item is locked against deletion (ACR's <c>deleteEnabled: false</c>).</summary>
    /// <param name="error">One error entry.</param>
    /// <returns>Whether it is a lock refusal.</returns>
    public static bool IsLock(RegistryError error)
    {
        ArgumentNullException.ThrowIfNull(error);
        string message = error.Message ?? string.Empty;
        return (string.Equals(error.Code, "DENIED", StringComparison.OrdinalIgnoreCase) || string.Equals(error.Code, "UNSUPPORTED", StringComparison.OrdinalIgnoreCase))
            && (message.Contains("disallowed", StringComparison.OrdinalIgnoreCase) || message.Contains("locked", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>Tells whether the answer says tags must go before the digest (Artifact Registry).</summary>
    /// <param name="errors">The answer's errors.</param>
    /// <returns>Whether it is that refusal.</returns>
    public static bool IsDanglingTag(IReadOnlyList<RegistryError> errors) => RegistryError.Has(errors, GarDanglingTagCode);

    /// <summary>Tells whether the answer says an image index still references the manifest (ECR, Artifact Registry).</summary>
    /// <param name="errors">The answer's errors.</param>
    /// <returns>Whether it is that refusal.</returns>
    public static bool IsReferencedByIndex(IReadOnlyList<RegistryError> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        return RegistryError.Has(errors, EcrReferencedCode)
            || errors.Any(static e => (e.Message ?? string.Empty).Contains("is referenced by", StringComparison.OrdinalIgnoreCase)
                || (e.Message ?? string.Empty).Contains(EcrReferencedCode, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>The refusal a DELETE's answer stands for, as carried on the deletion's result.</summary>
    /// <param name="outcome">The answer's outcome.</param>
    /// <returns>The refusal, or <see cref="DeleteRefusal.None"/>.</returns>
    public static DeleteRefusal Of(ManifestDeleteOutcome outcome) => outcome switch
    {
        ManifestDeleteOutcome.Refused => DeleteRefusal.Locked,
        ManifestDeleteOutcome.ReferencedByIndex => DeleteRefusal.ReferencedByIndex,
        _ => DeleteRefusal.None,
    };

    /// <summary>The message for a delete a lock refused: the registry's reason, and the fix.</summary>
    /// <param name="registry">The registry's display name.</param>
    /// <param name="host">The registry's host.</param>
    /// <param name="image">The image as <c>az acr</c> names it: <c>repository@digest</c> or <c>repository:tag</c>.</param>
    /// <param name="status">The HTTP status of the refusal.</param>
    /// <param name="errors">The registry's errors.</param>
    /// <returns>The message.</returns>
    internal static string Locked(string registry, string host, string image, int status, IReadOnlyList<RegistryError> errors) =>
        $"Registry {registry} refused to delete {registry}/{image} ({status}{RegistryError.Describe(errors)}): the image or its repository is locked (deleteEnabled: false), which RegistryCleaner does not change. "
        + $"If it really should go, unlock it first (az acr repository update --name {RegistryLabel(host)} --image {image} {LockFix} --write-enabled true) and run again; otherwise leave it. Nothing was deleted, and it is not retried.";

    /// <summary>The sentence added to a refused delete permission on Azure Container Registry.</summary>
    internal static string AcrDeleteRole(string host) =>
        $" Deleting from Azure Container Registry needs the AcrDelete role (or a token whose scope map allows content/delete) for this identity: az role assignment create --role AcrDelete --assignee <identity> --scope $(az acr show --name {RegistryLabel(host)} --query id --output tsv). Nothing was deleted.";

    // myregistry.azurecr.io -> myregistry, the name az acr commands take.
    private static string RegistryLabel(string host)
    {
        string name = host;
        int dot = name.IndexOf('.', StringComparison.Ordinal);
        return dot > 0 ? name[..dot] : name;
    }
}
