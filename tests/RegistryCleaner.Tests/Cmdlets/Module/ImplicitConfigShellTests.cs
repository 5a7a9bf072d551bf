using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.Http;
using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.Configuration;

/// <summary>
/// A config.yaml planted in the folder an admin works in, as they meet it: the built module in a fresh pwsh. A file
/// someone else could have written sends the password nowhere and runs no kubeconfig command; the admin's own file
/// works; -ConfigPath is the admin's choice.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ImplicitConfigShellTests : IAsyncDisposable
{
    private const string Password = "planted-config-test-secret-7";
    private const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode WritableByOthers = (UnixFileMode)0b110_110_110;
    private const UnixFileMode Readable = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    private readonly string folder = Directory.CreateTempSubdirectory("rc-planted-config-").FullName;
    private readonly ConcurrentQueue<(string Path, string Authorization)> requests = new();
    private readonly StubHttpServer registry;

    public ImplicitConfigShellTests()
    {
        // A registry that wants Basic credentials and, given any, lists one empty repository.
        this.registry = StubHttpServer.Start(async context =>
        {
            string authorization = context.Request.Headers.Authorization.ToString();
            this.requests.Enqueue((context.Request.Path.Value ?? string.Empty, authorization));
            if (authorization.Length == 0)
            {
                context.Response.StatusCode = 401;
                context.Response.Headers.WWWAuthenticate = "Basic realm=\"planted\"";
                return;
            }

            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(context.Request.Path.Value switch
            {
                "/v2/_catalog" => """{"repositories":["team/app"]}""",
                "/v2/team/app/tags/list" => """{"name":"team/app","tags":[]}""",
                _ => "{}",
            });
        });
    }

    private static string ExpectedBasic => "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("domino-registry:" + Password));

    public async ValueTask DisposeAsync()
    {
        await this.registry.DisposeAsync();
        Directory.Delete(this.folder, recursive: true);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_planted_config_others_could_write_gets_no_password_on_a_command_or_a_TAB_press(bool ownedByAnotherUser)
    {
        if (ownedByAnotherUser && !ConfigFileTrustTests.IsRoot)
        {
            return; // Only root can give a file away; the tests run as root in CI.
        }

        string path = this.PlantRegistryConfig(ownedByAnotherUser ? Readable : WritableByOthers);
        if (ownedByAnotherUser)
        {
            ConfigFileTrustTests.GiveAway(path);
        }

        UserSession session = this.Shell().Run("""
            Get-RegistryImage
            "completions: [$((TabExpansion2 -inputScript 'Get-RegistryImage -Repository ' -cursorColumn 30).CompletionMatches.CompletionText -join ',')]"
            """);

        Assert.Empty(this.requests);
        Assert.Equal(["ConfigFileUnsafe"], session.ErrorIds);
        UserError error = session.Errors[0];
        Assert.Equal("SecurityError", error.Category);
        Assert.Equal(path, error.Target);
        Assert.Contains($"Config file '{path}' (found in the current folder) was not read", error.Message, StringComparison.Ordinal);
        Assert.Contains(ownedByAnotherUser ? "it is owned by uid 65534, not by you (uid 0) or root" : "it is writable by group or others (mode 0666)", error.Message, StringComparison.Ordinal);
        Assert.Contains($"chmod go-w '{path}'", error.Message, StringComparison.Ordinal);
        Assert.Contains($"pass -ConfigPath '{path}' explicitly", error.Message, StringComparison.Ordinal);
        Assert.Contains("completions: []", session.Text, StringComparison.Ordinal);
        Assert.DoesNotContain(Password, session.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void The_same_config_owned_by_the_user_and_private_is_read()
    {
        this.PlantRegistryConfig(Private);

        UserSession session = this.Shell().Run("""
            Get-RegistryImage
            "completions: [$((TabExpansion2 -inputScript 'Get-RegistryImage -Repository ' -cursorColumn 30).CompletionMatches.CompletionText -join ',')]"
            """);

        Assert.True(session.ErrorIds.Count == 0, session.ToString());
        Assert.Contains(this.requests, r => r.Path == "/v2/team/app/tags/list" && r.Authorization == ExpectedBasic);
        Assert.Contains(this.requests, r => r.Path == "/v2/_catalog" && r.Authorization == ExpectedBasic);
        Assert.Contains("completions: [team/app]", session.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void ConfigPath_to_a_file_others_could_write_is_the_users_choice()
    {
        this.PlantRegistryConfig(WritableByOthers);

        UserSession session = this.Shell().Run("Get-RegistryImage -ConfigPath ./config.yaml");

        Assert.True(session.ErrorIds.Count == 0, session.ToString());
        Assert.Contains(this.requests, r => r.Path == "/v2/team/app/tags/list" && r.Authorization == ExpectedBasic);
    }

    [Fact]
    public void A_planted_config_naming_a_kubeconfig_with_an_exec_plugin_runs_nothing_from_a_bare_Get_WorkloadImage()
    {
        string marker = Path.Combine(this.folder, "exec-plugin-ran");
        string kubeconfig = Path.Combine(this.folder, "planted-kubeconfig.yaml");
        string plugin = Path.Combine(this.folder, "plugin.sh");
        File.WriteAllText(plugin, $$$"""
            touch '{{{marker}}}'
            echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"t"}}'
            """);
        File.WriteAllText(kubeconfig, $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: planted
              cluster:
                server: https://127.0.0.1:1
            contexts:
            - name: planted
              context:
                cluster: planted
                user: planted
            current-context: planted
            users:
            - name: planted
              user:
                exec:
                  apiVersion: client.authentication.k8s.io/v1
                  command: /bin/sh
                  args: ["{plugin}"]
                  interactiveMode: Never
            """);
        this.Plant($"kubernetes:\n  kubeconfig: \"{kubeconfig}\"\n", WritableByOthers);

        UserSession bare = this.Shell().Run("Get-WorkloadImage");

        Assert.Equal(["ConfigFileUnsafe"], bare.ErrorIds);
        Assert.False(File.Exists(marker), "The planted kubeconfig's exec plugin ran.");

        // The control: the same file given explicitly is read, and its kubeconfig's plugin runs as kubectl would run it.
        UserSession explicitly = this.Shell().Run("Get-WorkloadImage -ConfigPath ./config.yaml -TimeoutSec 5");
        Assert.True(File.Exists(marker), $"The exec plugin did not run even from -ConfigPath: the test proves nothing.\n{explicitly}");
    }

    private UserShell Shell()
    {
        var shell = new UserShell(this.folder);
        shell.Environment["REGISTRY_PASSWORD"] = Password;
        return shell;
    }

    private string PlantRegistryConfig(UnixFileMode mode) =>
        this.Plant($"registry:\n  url: \"{this.registry.BaseAddress.ToString().TrimEnd('/')}\"\n  repository: team\n  images: [app]\n", mode);

    private string Plant(string yaml, UnixFileMode mode)
    {
        string path = Path.Combine(this.folder, "config.yaml");
        File.WriteAllText(path, yaml);
        File.SetUnixFileMode(path, mode);
        return path;
    }
}
