using System.Management.Automation;
using RegistryCleaner.Domino;
using RegistryCleaner.Planning;
using RegistryCleaner.PowerShell;
using RegistryCleaner.Registry;
using RegistryCleaner.Workloads;

namespace RegistryCleaner.Tests.PowerShell;

/// <summary>
/// The one table from engine exceptions to error records: where the same exception means different things, the
/// operation decides; the IDs, categories and targets are the ones the cmdlets have always written.
/// </summary>
public class EngineErrorMapTests
{
    private static readonly EngineErrorContext Planning = new()
    {
        Target = "docker-registry:5000",
        KubeConfig = "~/.kube/prod",
        StorageRoot = "/var/lib/registry",
    };

    [Theory]
    [InlineData(403, "WorkloadAccessDenied", ErrorCategory.PermissionDenied)]
    [InlineData(401, "WorkloadAccessDenied", ErrorCategory.PermissionDenied)]
    [InlineData(500, "WorkloadListFailed", ErrorCategory.ConnectionError)]
    [InlineData(null, "WorkloadListFailed", ErrorCategory.ConnectionError)]
    public void Listing_workloads_reports_a_refusal_as_the_access_problem_it_is(int? status, string id, ErrorCategory category)
    {
        WorkloadAccessException refused = Refused(status, "prod-east", "domino-compute");

        ErrorRecord record = EngineErrorMap.Find(refused, EngineOperation.WorkloadListing, new EngineErrorContext())!;

        Assert.Equal(id, record.FullyQualifiedErrorId);
        Assert.Equal(category, record.CategoryInfo.Category);
        Assert.Equal("prod-east/domino-compute/pods", record.TargetObject);
        Assert.Same(refused, record.Exception);
    }

    [Fact]
    public void A_cluster_wide_listing_is_named_without_a_namespace() =>
        Assert.Equal("prod-east/pods", EngineErrorMap.Find(Refused(403, "prod-east", null), EngineOperation.WorkloadListing, new EngineErrorContext())!.TargetObject);

    [Theory]
    [InlineData(403, ErrorCategory.PermissionDenied)]
    [InlineData(503, ErrorCategory.ResourceUnavailable)]
    public void Planning_reports_the_same_refusal_as_usage_that_cannot_be_read(int status, ErrorCategory category)
    {
        WorkloadAccessException refused = Refused(status, "prod-east", "domino-compute");

        ErrorRecord record = EngineErrorMap.Find(refused, EngineOperation.Planning, Planning)!;

        Assert.Equal("WorkloadUsageUnreadable", record.FullyQualifiedErrorId);
        Assert.Equal(category, record.CategoryInfo.Category);
        Assert.Equal("prod-east", record.TargetObject);
        Assert.StartsWith("Image usage could not be read, so nothing is planned or deleted: ", record.Exception.Message, StringComparison.Ordinal);
        Assert.Same(refused, record.Exception.InnerException);
    }

    [Fact]
    public void A_missing_namespace_is_named_with_its_context_when_listing_and_alone_when_planning()
    {
        var missing = new WorkloadNamespaceNotFoundException("Namespace 'typo' does not exist.", "prod-east", "typo");

        ErrorRecord listing = EngineErrorMap.Find(missing, EngineOperation.WorkloadListing, new EngineErrorContext())!;
        ErrorRecord planning = EngineErrorMap.Find(missing, EngineOperation.Planning, Planning)!;

        Assert.Equal(("WorkloadNamespaceNotFound", ErrorCategory.ObjectNotFound, (object)"prod-east/typo"), (listing.FullyQualifiedErrorId, listing.CategoryInfo.Category, listing.TargetObject));
        Assert.Equal(("WorkloadNamespaceNotFound", ErrorCategory.ObjectNotFound, (object)"typo"), (planning.FullyQualifiedErrorId, planning.CategoryInfo.Category, planning.TargetObject));
    }

    [Theory]
    [InlineData(nameof(EngineOperation.WorkloadListing))]
    [InlineData(nameof(EngineOperation.Planning))]
    public void An_unusable_kubeconfig_is_recognised_by_its_type(string operation)
    {
        var invalid = new KubeConfigInvalidException("The kubeconfig '/k' has no context 'nowhere'.");

        ErrorRecord record = EngineErrorMap.Find(invalid, Enum.Parse<EngineOperation>(operation), new EngineErrorContext { KubeConfig = "/k" })!;

        Assert.Equal("KubeConfigInvalid", record.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidArgument, record.CategoryInfo.Category);
        Assert.Equal("/k", record.TargetObject);
    }

    [Theory]
    [InlineData(nameof(EngineOperation.WorkloadListing))]
    [InlineData(nameof(EngineOperation.Planning))]
    public void Another_invalid_operation_of_the_module_is_not_taken_for_a_kubeconfig_problem(string operation)
    {
        // Thrown by the module's own code, which is what the Source check took for a kubeconfig problem.
        InvalidOperationException other = Thrown<InvalidOperationException>(() => throw new InvalidOperationException("Collection was modified."));

        Assert.Null(EngineErrorMap.Find(other, Enum.Parse<EngineOperation>(operation), Planning));
    }

    [Fact]
    public void A_missing_kubeconfig_file_is_an_unusable_kubeconfig_when_listing()
    {
        var missing = new FileNotFoundException("The kubeconfig file '/k' does not exist.", "/k");

        ErrorRecord record = EngineErrorMap.Find(missing, EngineOperation.WorkloadListing, new EngineErrorContext())!;

        Assert.Equal(("KubeConfigInvalid", ErrorCategory.ObjectNotFound, (object)"/k"), (record.FullyQualifiedErrorId, record.CategoryInfo.Category, record.TargetObject));
    }

    [Fact]
    public void Storage_that_cannot_be_read_stops_planning_only_when_the_storage_is_read()
    {
        var denied = new UnauthorizedAccessException("Access to the path '/var/lib/registry/docker' is denied.");

        ErrorRecord record = EngineErrorMap.Find(denied, EngineOperation.Planning, Planning)!;

        Assert.Equal(("StoragePathUnreadable", ErrorCategory.ReadError, (object)"/var/lib/registry"), (record.FullyQualifiedErrorId, record.CategoryInfo.Category, record.TargetObject));
        Assert.Null(EngineErrorMap.Find(denied, EngineOperation.Planning, Planning with { StorageRoot = null }));
        Assert.Equal("StoragePathMismatch", EngineErrorMap.Find(new RegistryStorageMismatchException("another registry"), EngineOperation.Planning, Planning)!.FullyQualifiedErrorId);
    }

    [Fact]
    public void Planning_refusals_name_the_registry()
    {
        ErrorRecord inventory = EngineErrorMap.Find(new InventoryIncompleteException("3 tags could not be read."), EngineOperation.Planning, Planning)!;
        ErrorRecord usage = EngineErrorMap.Find(new UsageIncompleteException("usage is partial"), EngineOperation.Planning, Planning)!;
        ErrorRecord options = EngineErrorMap.Find(new ArgumentException("-KeepLatest must be positive."), EngineOperation.Planning, Planning)!;

        Assert.Equal(("RegistryInventoryIncomplete", ErrorCategory.ResourceUnavailable, (object)"docker-registry:5000"), (inventory.FullyQualifiedErrorId, inventory.CategoryInfo.Category, inventory.TargetObject));
        Assert.Equal(("WorkloadUsageIncomplete", ErrorCategory.ResourceUnavailable, (object?)null), (usage.FullyQualifiedErrorId, usage.CategoryInfo.Category, usage.TargetObject));
        Assert.Equal(("PlanOptionsInvalid", ErrorCategory.InvalidArgument), (options.FullyQualifiedErrorId, options.CategoryInfo.Category));
        Assert.Null(EngineErrorMap.Find(new ArgumentException("not planning"), EngineOperation.WorkloadListing, Planning));
    }

    [Fact]
    public void A_MongoDB_failure_means_what_the_operation_needed_the_records_for()
    {
        var unreachable = new DominoDatabaseException("No server answered within 10 s.", DominoDatabaseError.Unreachable);
        var request = new DominoUsageRequest(MongoUsageMode.Auto, "mongo.usage: auto", null, new DominoUsageOptions());

        ErrorRecord any = EngineErrorMap.Mongo(unreachable, "mongodb://db:27017");
        ErrorRecord planning = EngineErrorMap.Find(unreachable, EngineOperation.Planning, Planning with { Mongo = request })!;
        ErrorRecord pins = EngineErrorMap.Find(unreachable, EngineOperation.RevisionPins, new EngineErrorContext { Target = "mongodb://db:27017" })!;

        Assert.Equal(("MongoUnreachable", ErrorCategory.ConnectionError, (object)"mongodb://db:27017"), (any.FullyQualifiedErrorId, any.CategoryInfo.Category, any.TargetObject));
        Assert.Equal(("DominoUsageUnreadable", ErrorCategory.ResourceUnavailable), (planning.FullyQualifiedErrorId, planning.CategoryInfo.Category));
        Assert.Contains("so nothing is planned or deleted (mongo.usage: auto)", planning.Exception.Message, StringComparison.Ordinal);
        Assert.Equal(("DominoUsageUnreadable", ErrorCategory.ResourceUnavailable, (object)"mongodb://db:27017"), (pins.FullyQualifiedErrorId, pins.CategoryInfo.Category, pins.TargetObject));
        Assert.Contains("so no environment revision record is deleted", pins.Exception.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(DominoDatabaseError.AuthenticationFailed, "MongoCredentialsRefused", ErrorCategory.AuthenticationError)]
    [InlineData(DominoDatabaseError.InvalidSettings, "MongoSettingsInvalid", ErrorCategory.InvalidArgument)]
    [InlineData(DominoDatabaseError.UnexpectedData, "MongoQueryFailed", ErrorCategory.InvalidData)]
    [InlineData(DominoDatabaseError.CommandFailed, "MongoQueryFailed", ErrorCategory.InvalidOperation)]
    public void MongoDB_failures_keep_their_ids(DominoDatabaseError error, string id, ErrorCategory category)
    {
        ErrorRecord record = EngineErrorMap.Mongo(new DominoDatabaseException("failed", error), null);

        Assert.Equal((id, category), (record.FullyQualifiedErrorId, record.CategoryInfo.Category));
    }

    [Fact]
    public void Registry_failures_mean_the_same_in_every_operation()
    {
        var refused = new RegistryAuthenticationException("401 from docker-registry:5000");
        var missing = new RepositoryNotFoundException("docker-registry:5000", "typo");
        var other = new RegistryException("500 from docker-registry:5000");

        foreach (EngineOperation operation in Enum.GetValues<EngineOperation>())
        {
            var context = new EngineErrorContext { Target = "docker-registry:5000" };
            Assert.Equal(("RegistryCredentialsRefused", ErrorCategory.AuthenticationError), Describe(EngineErrorMap.Find(refused, operation, context)!));
            Assert.Equal(("RepositoryNotFound", ErrorCategory.ObjectNotFound), Describe(EngineErrorMap.Find(missing, operation, context)!));
            Assert.Equal(("RegistryRequestFailed", ErrorCategory.ProtocolError), Describe(EngineErrorMap.Find(other, operation, context)!));
        }

        Assert.Equal(("RegistryUnreachable", ErrorCategory.ConnectionError), Describe(EngineErrorMap.Registry(new RegistryUnreachableException("down"), "r")));
        Assert.Equal(("RegistryLimitExceeded", ErrorCategory.LimitsExceeded), Describe(EngineErrorMap.Registry(new RegistryLimitException("too big"), "r")));
        Assert.Equal(("RegistryRequestFailed", ErrorCategory.NotSpecified), Describe(EngineErrorMap.Registry(new TimeoutException("slow"), "r")));
        Assert.Equal("typo-target", EngineErrorMap.Registry(missing, "typo-target").TargetObject);
    }

    private static (string, ErrorCategory) Describe(ErrorRecord record) => (record.FullyQualifiedErrorId, record.CategoryInfo.Category);

    private static WorkloadAccessException Refused(int? status, string context, string? @namespace) =>
        new($"pods could not be listed ({status}).", context, "pods", @namespace, status, "list pods", null);

    private static T Thrown<T>(Func<T> thrower)
        where T : Exception
    {
        try
        {
            thrower();
        }
        catch (T ex)
        {
            return ex;
        }

        throw new InvalidOperationException("nothing was thrown");
    }
}
