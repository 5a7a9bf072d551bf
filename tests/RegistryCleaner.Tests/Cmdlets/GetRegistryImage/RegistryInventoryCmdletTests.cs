using Microsoft.AspNetCore.Http;
using System.Diagnostics;
using System.Management.Automation;
using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.PowerShell;

/// <summary>
/// Get-RegistryImage and Get-RegistryLayer hosted in-process against the real registry: what only a host can observe
/// (progress records, stopping the pipeline, objects arriving before the read ends).
/// </summary>
[Collection(PopulatedRegistryCollection.Name)]
public class RegistryInventoryCmdletTests(PopulatedRegistry registry)
{
    [Fact]
    public void Progress_is_written_and_completed()
    {
        using var shell = System.Management.Automation.PowerShell.Create(Session());
        shell.AddCommand("Get-RegistryImage").AddParameter("Registry", registry.Server.Registry).AddParameter("Repository", PopulatedRegistry.Many).AddParameter("ThrottleLimit", 2);
        var output = shell.Invoke();

        Assert.Equal(PopulatedRegistry.ManyTagCount, output.Count);
        Assert.NotEmpty(shell.Streams.Progress);
        Assert.Equal(ProgressRecordType.Completed, shell.Streams.Progress[^1].RecordType);
        Assert.All(output, o => Assert.Equal("RegistryCleaner.RegistryImage", o.TypeNames[0]));
    }

    [Fact]
    public void Stop_after_the_first_object_ends_the_read_promptly()
    {
        using var shell = System.Management.Automation.PowerShell.Create(Session());
        shell.AddCommand("Get-RegistryImage").AddParameter("Registry", registry.Server.Registry).AddParameter("Repository", PopulatedRegistry.Many).AddParameter("ThrottleLimit", 1);
        var output = new PSDataCollection<PSObject>();
        using var first = new ManualResetEventSlim();
        output.DataAdded += (_, _) => first.Set();
        IAsyncResult running = shell.BeginInvoke<PSObject, PSObject>(null, output);

        // The first object arrives while most tags are still unread: output streams.
        Assert.True(first.Wait(TimeSpan.FromSeconds(30)), "no object within 30 s");
        var clock = Stopwatch.StartNew();
        shell.Stop();
        clock.Stop();

        Assert.True(running.IsCompleted);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"Stop took {clock.Elapsed}");
        Assert.True(output.Count < PopulatedRegistry.ManyTagCount, $"{output.Count} objects: the read was not stopped");
        Assert.Equal(PSInvocationState.Stopped, shell.InvocationStateInfo.State);

        // A stopping pipeline refuses every Write*, progress included; the host clears the bar when the pipeline ends.
    }

    [Fact]
    public void Select_First_1_stops_the_command_without_errors()
    {
        using var session = new PowerShellSession();
        PowerShellResult result = session.Run(
            "Get-RegistryImage -Registry $registry -Repository many/tags | Select-Object -First 1",
            new Dictionary<string, object?> { ["registry"] = registry.Server.Registry });

        Assert.Null(result.Terminating);
        Assert.Empty(result.Errors);
        Assert.Single(result.Output);
    }

    [Fact]
    public void Layers_are_counted_once_across_repositories_and_unique_bytes_add_up()
    {
        using var session = new PowerShellSession();
        var variables = new Dictionary<string, object?> { ["registry"] = registry.Server.Registry };
        PowerShellResult layers = session.Run("Get-RegistryLayer -Registry $registry -Repository dominodatalab/*", variables);
        PowerShellResult split = session.Run("Get-RegistryLayer -Registry $registry -Repository dominodatalab/* -UniqueBytes", variables);

        Assert.Null(layers.Terminating);
        var digests = layers.Output.Select(o => (string)o.Properties["Digest"].Value).ToArray();
        Assert.Equal(digests.Length, digests.Distinct(StringComparer.Ordinal).Count());
        long base1 = layers.Output.Where(o => (string)o.Properties["Digest"].Value == ImagePusher.Digest(PopulatedRegistry.Base1)).Select(o => (long)o.Properties["Size"].Value).Single();
        Assert.Equal(PopulatedRegistry.Base1.Length, base1);

        Assert.Null(split.Terminating);
        Assert.All(split.Output, o =>
        {
            Assert.Equal("RegistryCleaner.TagBytes", o.TypeNames[0]);
            Assert.Equal((long)o.Properties["Size"].Value, (long)o.Properties["UniqueBytes"].Value + (long)o.Properties["SharedBytes"].Value);
        });
        PSObject alias = split.Output.Single(o => (string)o.Properties["Tag"].Value == PopulatedRegistry.Env3Alias);
        Assert.Equal(0L, (long)alias.Properties["UniqueBytes"].Value);
    }

    private static System.Management.Automation.Runspaces.InitialSessionState Session()
    {
        var state = System.Management.Automation.Runspaces.InitialSessionState.CreateDefault2();
        foreach (Type type in typeof(RegistryCleaner.PowerShell.RegistryCleanerCmdlet).Assembly.GetTypes())
        {
            if (type.GetCustomAttributes(typeof(CmdletAttribute), false) is [CmdletAttribute attribute, ..] && !type.IsAbstract)
            {
                state.Commands.Add(new System.Management.Automation.Runspaces.SessionStateCmdletEntry($"{attribute.VerbName}-{attribute.NounName}", type, null));
            }
        }

        return state;
    }
}

/// <summary>Per-tag errors of the inventory cmdlets, against a stub that serves one malformed manifest.</summary>
public class RegistryInventoryCmdletErrorTests
{
    private const string ConfigJson = """{"created":"2024-01-01T00:00:00Z","architecture":"amd64","os":"linux"}""";

    [Fact]
    public async Task A_malformed_manifest_is_a_RegistryManifestInvalid_error_naming_the_tag_and_the_others_are_written()
    {
        string configDigest = ImagePusher.Digest(System.Text.Encoding.UTF8.GetBytes(ConfigJson));
        string goodManifest = $$"""{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":{{ConfigJson.Length}},"digest":"{{configDigest}}"},"layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":100,"digest":"sha256:{{new string('a', 64)}}"}]}""";
        await using var stub = StubHttpServer.Start(async context =>
        {
            string path = context.Request.Path.Value!;
            (int status, string body, string type) = path switch
            {
                "/v2/" => (200, "{}", "application/json"),
                "/v2/app/tags/list" => (200, """{"name":"app","tags":["good","bad"]}""", "application/json"),
                "/v2/app/manifests/good" => (200, goodManifest, "application/vnd.docker.distribution.manifest.v2+json"),
                "/v2/app/manifests/bad" => (200, "{\"schemaVersion\":2,\"config\":", "application/vnd.docker.distribution.manifest.v2+json"),
                _ when path == "/v2/app/blobs/" + configDigest => (200, ConfigJson, "application/octet-stream"),
                _ => (404, """{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}""", "application/json"),
            };
            context.Response.StatusCode = status;
            context.Response.ContentType = type;
            await context.Response.WriteAsync(body);
        });

        using var session = new PowerShellSession();
        PowerShellResult result = session.Run(
            "Get-RegistryImage -Registry $registry -Repository app",
            new Dictionary<string, object?> { ["registry"] = stub.BaseAddress.ToString() });

        Assert.Null(result.Terminating);
        PSObject good = Assert.Single(result.Output);
        Assert.Equal("good", good.Properties["Tag"].Value);
        Assert.Equal(ConfigJson.Length + 100L, good.Properties["Size"].Value);
        ErrorRecord error = Assert.Single(result.Errors);
        Assert.StartsWith("RegistryManifestInvalid", error.FullyQualifiedErrorId, StringComparison.Ordinal);
        Assert.Contains("app:bad", error.Exception.Message, StringComparison.Ordinal);
        Assert.Equal("app:bad", error.TargetObject);
    }
}
