using System.Management.Automation;
using RegistryCleaner.Domino;
using RegistryCleaner.Planning;
using RegistryCleaner.Registry;
using RegistryCleaner.Workloads;

namespace RegistryCleaner.PowerShell;

/// <summary>What a command was doing when the engine failed: the same exception can mean different things.</summary>
internal enum EngineOperation
{
    /// <summary>Any operation: registry and MongoDB failures mean the same wherever they happen.</summary>
    Any,

    /// <summary>Listing workloads as the result (Get-WorkloadImage): a refusal is reported as the access problem it is.</summary>
    WorkloadListing,

    /// <summary>
    /// Planning unused images from usage, Domino's records and the inventory: what cannot be read stops the plan, so
    /// nothing is planned or deleted.
    /// </summary>
    Planning,

    /// <summary>Reading the Domino records that pin environment revisions (Remove-MongoEnvRevision): nothing is deleted.</summary>
    RevisionPins,
}

/// <summary>What the failing operation knows about the objects concerned, for the error records' targets.</summary>
internal sealed record EngineErrorContext
{
    /// <summary>Gets the object concerned when the exception names none (the registry, the MongoDB target).</summary>
    public object? Target { get; init; }

    /// <summary>Gets the kubeconfig as the operation names it.</summary>
    public string? KubeConfig { get; init; }

    /// <summary>Gets the registry storage's root folder, when the operation reads it.</summary>
    public string? StorageRoot { get; init; }

    /// <summary>Gets how the operation reads Domino's records, when it does.</summary>
    public DominoUsageRequest? Mongo { get; init; }
}

/// <summary>
/// The one table that turns engine exceptions into error records: a stable ID (<see cref="ErrorIds"/>), a category and
/// the object concerned. Rows of the failing operation are tried first, in order, then the rows of
/// <see cref="EngineOperation.Any"/>; the first row whose exception type matches and that builds a record wins.
/// </summary>
internal static class EngineErrorMap
{
    private static readonly Row[] Rows =
    [
        // Get-WorkloadImage: the listing is the result, so a refusal is named with where it happened.
        When<WorkloadNamespaceNotFoundException>(EngineOperation.WorkloadListing, (ex, _) =>
            new ErrorRecord(ex, ErrorIds.WorkloadNamespaceNotFound, ErrorCategory.ObjectNotFound, $"{ex.Context}/{ex.Namespace}")),
        When<WorkloadAccessException>(EngineOperation.WorkloadListing, (ex, _) => new ErrorRecord(
            ex,
            ex.StatusCode is 401 or 403 ? ErrorIds.WorkloadAccessDenied : ErrorIds.WorkloadListFailed,
            ex.StatusCode is 401 or 403 ? ErrorCategory.PermissionDenied : ErrorCategory.ConnectionError,
            string.IsNullOrEmpty(ex.Namespace) ? $"{ex.Context}/{ex.Resource}" : $"{ex.Context}/{ex.Namespace}/{ex.Resource}")),
        When<FileNotFoundException>(EngineOperation.WorkloadListing, (ex, _) =>
            new ErrorRecord(ex, ErrorIds.KubeConfigInvalid, ErrorCategory.ObjectNotFound, ex.FileName)),
        When<KubeConfigInvalidException>(EngineOperation.WorkloadListing, (ex, context) =>
            new ErrorRecord(ex, ErrorIds.KubeConfigInvalid, ErrorCategory.InvalidArgument, context.KubeConfig)),

        // Planning: usage, records or an inventory that cannot be read completely stop the plan.
        When<WorkloadNamespaceNotFoundException>(EngineOperation.Planning, (ex, _) =>
            new ErrorRecord(ex, ErrorIds.WorkloadNamespaceNotFound, ErrorCategory.ObjectNotFound, ex.Namespace)),
        When<WorkloadAccessException>(EngineOperation.Planning, (ex, _) => new ErrorRecord(
            new InvalidOperationException($"Image usage could not be read, so nothing is planned or deleted: {ex.Message}", ex),
            ErrorIds.WorkloadUsageUnreadable,
            ex.StatusCode is 401 or 403 ? ErrorCategory.PermissionDenied : ErrorCategory.ResourceUnavailable,
            ex.Context)),
        When<UsageIncompleteException>(EngineOperation.Planning, (ex, _) =>
            new ErrorRecord(ex, ErrorIds.WorkloadUsageIncomplete, ErrorCategory.ResourceUnavailable, null)),
        When<DominoDatabaseException>(EngineOperation.Planning, (ex, context) => new ErrorRecord(
            new InvalidOperationException(
                $"Domino's records could not be read from MongoDB, so nothing is planned or deleted ({context.Mongo?.ModeSource}): {ex.Message} They decide what stopped workspaces, scheduled jobs, project defaults and deployed models will run. Fix the connection (-MongoUri, -MongoCredential, MONGODB_URI, MONGODB_PASSWORD, mongo.*), or pass -MongoUsage:$false to plan from Kubernetes alone.",
                ex),
            ErrorIds.DominoUsageUnreadable,
            ErrorCategory.ResourceUnavailable,
            context.Mongo?.Settings?.Target)),
        When<InventoryIncompleteException>(EngineOperation.Planning, (ex, context) =>
            new ErrorRecord(ex, ErrorIds.RegistryInventoryIncomplete, ErrorCategory.ResourceUnavailable, context.Target)),
        When<InventoryGraphException>(EngineOperation.Planning, (ex, context) =>
            new ErrorRecord(ex, ErrorIds.RegistryManifestGraphInvalid, ErrorCategory.InvalidData, context.Target)),
        When<RegistryStorageMismatchException>(EngineOperation.Planning, (ex, context) =>
            new ErrorRecord(ex, ErrorIds.StoragePathMismatch, ErrorCategory.InvalidArgument, context.StorageRoot)),
        When<IOException>(EngineOperation.Planning, StorageUnreadable),
        When<UnauthorizedAccessException>(EngineOperation.Planning, StorageUnreadable),
        When<ArgumentException>(EngineOperation.Planning, (ex, _) =>
            new ErrorRecord(ex, ErrorIds.PlanOptionsInvalid, ErrorCategory.InvalidArgument, null)),
        When<KubeConfigInvalidException>(EngineOperation.Planning, (ex, context) =>
            new ErrorRecord(ex, ErrorIds.KubeConfigInvalid, ErrorCategory.InvalidArgument, context.KubeConfig)),

        // Remove-MongoEnvRevision: the records that pin revisions must be read whole before any is deleted.
        When<DominoDatabaseException>(EngineOperation.RevisionPins, (ex, context) => new ErrorRecord(
            new InvalidOperationException(
                $"Domino's records could not be read completely from MongoDB, so no environment revision record is deleted: {ex.Message} They name the revisions that runs, stopped workspaces and their sessions, scheduled jobs, project, organization and user defaults, apps and deployed models start with. Fix the connection or the user's read permissions (-MongoUri, -MongoCredential, MONGODB_URI, MONGODB_PASSWORD, mongo.*) and run the command again.",
                ex),
            ErrorIds.DominoUsageUnreadable,
            ErrorCategory.ResourceUnavailable,
            context.Target)),

        // Anywhere: the registry (most specific first) and MongoDB; the message already says what to do.
        When<RegistryAuthenticationException>(EngineOperation.Any, Registry(ErrorIds.RegistryCredentialsRefused, ErrorCategory.AuthenticationError)),
        When<RegistryCertificateException>(EngineOperation.Any, Registry(ErrorIds.RegistryCertificateInvalid, ErrorCategory.SecurityError)),
        When<TokenRealmRefusedException>(EngineOperation.Any, Registry(ErrorIds.RegistryTokenRealmRefused, ErrorCategory.SecurityError)),
        When<RegistryUnreachableException>(EngineOperation.Any, Registry(ErrorIds.RegistryUnreachable, ErrorCategory.ConnectionError)),
        When<RepositoryNotFoundException>(EngineOperation.Any, Registry(ErrorIds.RepositoryNotFound, ErrorCategory.ObjectNotFound)),
        When<ManifestFormatException>(EngineOperation.Any, Registry(ErrorIds.RegistryManifestInvalid, ErrorCategory.InvalidData)),
        When<RegistryLimitException>(EngineOperation.Any, Registry(ErrorIds.RegistryLimitExceeded, ErrorCategory.LimitsExceeded)),
        When<BlobContentException>(EngineOperation.Any, Registry(ErrorIds.RegistryBlobInvalid, ErrorCategory.InvalidData)),
        When<RegistryNameException>(EngineOperation.Any, Registry(ErrorIds.RegistryNameInvalid, ErrorCategory.InvalidData)),
        When<RegistryException>(EngineOperation.Any, Registry(ErrorIds.RegistryRequestFailed, ErrorCategory.ProtocolError)),
        When<DominoDatabaseException>(EngineOperation.Any, (ex, context) => ex.Error switch
        {
            DominoDatabaseError.Unreachable => new ErrorRecord(ex, ErrorIds.MongoUnreachable, ErrorCategory.ConnectionError, context.Target),
            DominoDatabaseError.AuthenticationFailed => new ErrorRecord(ex, ErrorIds.MongoCredentialsRefused, ErrorCategory.AuthenticationError, context.Target),
            DominoDatabaseError.InvalidSettings => new ErrorRecord(ex, ErrorIds.MongoSettingsInvalid, ErrorCategory.InvalidArgument, context.Target),
            DominoDatabaseError.UnexpectedData => new ErrorRecord(ex, ErrorIds.MongoQueryFailed, ErrorCategory.InvalidData, context.Target),
            _ => new ErrorRecord(ex, ErrorIds.MongoQueryFailed, ErrorCategory.InvalidOperation, context.Target),
        }),
    ];

    /// <summary>Returns the error record for an engine failure in an operation, or <see langword="null"/> when the table has none (the exception then propagates as it is).</summary>
    /// <param name="exception">The failure.</param>
    /// <param name="operation">What the command was doing.</param>
    /// <param name="context">The objects concerned.</param>
    /// <returns>The error record, or <see langword="null"/>.</returns>
    public static ErrorRecord? Find(Exception exception, EngineOperation operation, EngineErrorContext context)
    {
        ArgumentNullException.ThrowIfNull(exception);
        ArgumentNullException.ThrowIfNull(context);
        IEnumerable<Row> rows = operation == EngineOperation.Any
            ? Rows.Where(row => row.Operation == EngineOperation.Any)
            : Rows.Where(row => row.Operation == operation).Concat(Rows.Where(row => row.Operation == EngineOperation.Any));
        foreach (Row row in rows)
        {
            if (row.Exception.IsInstanceOfType(exception) && row.Build(exception, context) is { } record)
            {
                return record;
            }
        }

        return null;
    }

    /// <summary>Returns the error record for a registry failure; any other failure is <see cref="ErrorIds.RegistryRequestFailed"/>.</summary>
    /// <param name="exception">The failure.</param>
    /// <param name="target">The object concerned (registry, repository or image).</param>
    /// <returns>The error record.</returns>
    public static ErrorRecord Registry(Exception exception, object? target) =>
        Find(exception, EngineOperation.Any, new EngineErrorContext { Target = target })
        ?? new ErrorRecord(exception, ErrorIds.RegistryRequestFailed, ErrorCategory.NotSpecified, target);

    /// <summary>
    /// Returns the error record for an image or child manifest whose deletion failed, from the kind of refusal the
    /// engine carried on the result: a lock is <see cref="ErrorIds.RegistryImageLocked"/> (only its owner can change
    /// it), anything else <see cref="ErrorIds.RegistryManifestDeleteFailed"/>.
    /// </summary>
    /// <param name="reason">The result's reason.</param>
    /// <param name="refusal">The result's kind of refusal.</param>
    /// <param name="target">The result.</param>
    /// <returns>The error record.</returns>
    public static ErrorRecord DeletionFailed(string reason, DeleteRefusal refusal, object target) => new(
        new InvalidOperationException(reason),
        refusal == DeleteRefusal.Locked ? ErrorIds.RegistryImageLocked : ErrorIds.RegistryManifestDeleteFailed,
        ErrorCategory.WriteError,
        target);

    /// <summary>Returns the error record for a MongoDB failure; the message never holds the password.</summary>
    /// <param name="exception">The failure.</param>
    /// <param name="target">The object concerned (the connection target or a revision).</param>
    /// <returns>The error record.</returns>
    public static ErrorRecord Mongo(DominoDatabaseException exception, object? target) =>
        Find(exception, EngineOperation.Any, new EngineErrorContext { Target = target })!;

    private static ErrorRecord? StorageUnreadable(Exception ex, EngineErrorContext context) => context.StorageRoot is { } root
        ? new ErrorRecord(
            new IOException($"The registry's storage {root} could not be read, so nothing is planned: {ex.Message} Run as a user who can read it (read-only access is enough).", ex),
            ErrorIds.StoragePathUnreadable,
            ErrorCategory.ReadError,
            root)
        : null;

    private static Func<Exception, EngineErrorContext, ErrorRecord?> Registry(string errorId, ErrorCategory category) =>
        (ex, context) => new ErrorRecord(ex, errorId, category, context.Target);

    private static Row When<T>(EngineOperation operation, Func<T, EngineErrorContext, ErrorRecord?> build)
        where T : Exception =>
        new(operation, typeof(T), (ex, context) => build((T)ex, context));

    private sealed record Row(EngineOperation Operation, Type Exception, Func<Exception, EngineErrorContext, ErrorRecord?> Build);
}
