using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.Registry;

/// <summary>What an admin sees in a fresh pwsh when a registry lies about names and sizes: errors per tag, never a crash or a negative size.</summary>
public sealed class HostileRegistryShellTests : IDisposable
{
    private const string Cluster = """
        {"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Pod",
          "metadata":{"name":"run-1","namespace":"domino-compute","uid":"1","creationTimestamp":"2024-06-01T00:00:00Z"},
          "spec":{"containers":[{"name":"run","image":"elsewhere.example/unrelated:v1"}]},"status":{"phase":"Running"}}]}
        """;

    private readonly string folder = Directory.CreateTempSubdirectory("registrycleaner-hostile-").FullName;

    public HostileRegistryShellTests()
    {
        File.WriteAllText(Path.Combine(this.folder, "cluster.json"), Cluster);
    }

    [Fact]
    public async Task Get_RegistryImage_and_Get_UnusedImage_report_each_lying_tag_and_list_the_rest_without_a_negative_size()
    {
        await using var registry = new HostileNameRegistry();
        var shell = new UserShell(this.folder);

        UserSession session = shell.Run($"""
            Get-RegistryImage -Registry {registry.Registry} -Repository * | Format-Table Repository, Tag, Size -AutoSize | Out-String -Width 300
            Get-UnusedImage -Registry {registry.Registry} -Repository app -InUse (Get-WorkloadImage -Path ./cluster.json) -MongoUsage:$false | Format-Table Tag, Size, ReclaimableBytes -AutoSize | Out-String -Width 300
            """);

        Assert.DoesNotContain("OverflowException", session.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Arithmetic operation resulted in an overflow", session.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("-909", session.Output, StringComparison.Ordinal);
        Assert.DoesNotMatch(@"-\d[\d.,]* (B|KB|MB|GB|TB|PB)\b", session.Output);
        Assert.Empty(registry.Escaped);

        // Each lie is an error naming its tag (for both commands), and the sound tags are listed.
        Assert.Contains(session.Errors, static e => e.ErrorId.StartsWith("RegistryManifestInvalid", StringComparison.Ordinal) && e.Message.Contains("app:huge", StringComparison.Ordinal));
        Assert.Contains(session.Errors, static e => e.ErrorId.StartsWith("RegistryManifestInvalid", StringComparison.Ordinal) && e.Message.Contains("negative size", StringComparison.Ordinal));
        Assert.Contains(session.Errors, static e => e.ErrorId.StartsWith("RegistryNameInvalid", StringComparison.Ordinal) && e.Message.Contains($"'{HostileNameRegistry.BadTag}'", StringComparison.Ordinal));
        Assert.Contains(session.Errors, static e => e.ErrorId.StartsWith("RegistryNameInvalid", StringComparison.Ordinal) && e.Message.Contains($"'{HostileNameRegistry.BadRepository}'", StringComparison.Ordinal));
        Assert.True(session.Count(" good ") >= 2, session.ToString());
        Assert.True(session.Count(" v2 ") >= 2, session.ToString());
    }

    [Fact]
    public void A_literal_repository_or_tag_that_is_not_a_name_is_a_parameter_error_before_anything_is_sent()
    {
        var shell = new UserShell(this.folder);

        UserSession session = shell.Run("""
            Get-RegistryImage -Registry http://127.0.0.1:9 -Repository 'x/%2E%2E/app'
            Get-RegistryImage -Registry http://127.0.0.1:9 -Repository app -Tag 'a/../../b%2F..'
            Get-UnusedImage -Registry http://127.0.0.1:9 -Repository 'Dominodatalab/Environment' -MongoUsage:$false
            """);

        Assert.True(3 == session.ErrorIds.Count(static id => id == "ParameterArgumentValidationError"), session.ToString());
        string messages = string.Join("\n", session.Errors.Select(static e => e.Message));
        Assert.Contains("The repository 'x/%2E%2E/app' has the path component '%2E%2E'", messages, StringComparison.Ordinal);
        Assert.Contains("The tag 'a/../../b%2F..' must be", messages, StringComparison.Ordinal);
        Assert.Contains("The repository 'Dominodatalab/Environment' must be lower case", messages, StringComparison.Ordinal);
        Assert.DoesNotContain(session.ErrorIds, static id => id == "RegistryUnreachable");
    }

    public void Dispose() => Directory.Delete(this.folder, recursive: true);
}
