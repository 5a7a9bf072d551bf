using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using RegistryCleaner.Registry;
using RegistryCleaner.Tests.Faults;
using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.Registry;

/// <summary>
/// The registry credential sources, against the real registry with htpasswd, in a fresh pwsh whose home, PATH and
/// environment the test sets: a right credential from each source works, a wrong one is refused naming its source,
/// each source shadows the later ones, a credential helper written for the test (<c>docker-credential-test</c> on PATH)
/// gets the host on standard input and nothing else, a failing helper's output never shows, and the pull secret comes
/// from the Kubernetes stand-in (200, 403, 404).
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class CredentialSourceTests : IAsyncLifetime
{
    private const string User = "alice";
    private const string Right = "R1ght-Pa55-cred";
    private const string Wrong = "Wr0ng-Pa55-cred";
    private const string HelperLeak = "H3lper-Leak-s3cret";
    private FaultRegistry registry = null!;
    private KubernetesApiStandIn kubernetes = null!;
    private string folder = null!;
    private string host = null!;

    public async Task InitializeAsync()
    {
        this.registry = await FaultRegistry.CreateAsync(new RegistryServerOptions { Auth = RegistryAuthMode.Htpasswd, Username = User, Password = Right });
        this.kubernetes = await KubernetesApiStandIn.StartAsync();
        this.folder = Directory.CreateTempSubdirectory("registrycleaner-creds-").FullName;
        this.host = this.registry.Server.BaseAddress.Authority;
        this.kubernetes.AddPullSecret("domino-platform", "right", this.host, User, Right, asAuth: true);
        this.kubernetes.AddPullSecret("domino-platform", "wrong", this.host, User, Wrong);
        this.kubernetes.AddPullSecret("domino-platform", "elsewhere", "other.example:5000", User, Right);
        this.kubernetes.ForbidSecret("domino-platform", "forbidden");
        this.kubernetes.WriteKubeConfig(Path.Combine(this.folder, "kubeconfig"));
    }

    public async Task DisposeAsync()
    {
        await this.kubernetes.DisposeAsync();
        await this.registry.DisposeAsync();
        Directory.Delete(this.folder, recursive: true);
    }

    [Fact]
    public void A_right_credential_from_each_source_works_a_wrong_one_is_refused_naming_its_source_and_each_source_shadows_the_later_ones()
    {
        string bin = this.Helpers(failing: false);
        this.DockerConfig("auths-right", new { auths = new Dictionary<string, object> { [this.host] = new { auth = Basic(Right) } } });
        this.DockerConfig("auths-wrong", new { auths = new Dictionary<string, object> { [$"http://{this.host}/"] = new { username = User, password = Wrong } } });
        this.DockerConfig("helpers", new { auths = new Dictionary<string, object> { [this.host] = new { } }, credHelpers = new Dictionary<string, string> { [this.host] = "test", ["other.example"] = "store" } });
        this.DockerConfig("store", new { auths = new Dictionary<string, object>(), credsStore = "store" });
        this.DockerConfig("all", new { auths = new Dictionary<string, object> { [this.host] = new { username = User, password = Wrong } }, credHelpers = new Dictionary<string, string> { [this.host] = "test" }, credsStore = "store" });
        this.DockerConfig("helpers-and-store", new { credHelpers = new Dictionary<string, string> { [this.host] = "test" }, credsStore = "store" });
        this.Write("podman-right.json", JsonSerializer.Serialize(new { auths = new Dictionary<string, object> { [this.host] = new { auth = Basic(Right) } } }));
        this.Write("podman-wrong.json", JsonSerializer.Serialize(new { auths = new Dictionary<string, object> { [this.host] = new { auth = Basic(Wrong) }, [$"{this.host}/app"] = new { auth = Basic(Right) } } }));
        this.Write(Path.Combine("runtime", "containers", "auth.json"), JsonSerializer.Serialize(new { auths = new Dictionary<string, object> { [this.host] = new { auth = Basic(Right) } } }));
        this.Write("config-right.yaml", $"registry:\n  username: {User}\n  password: {Right}\n");
        this.Write("config-wrong.yaml", $"registry:\n  username: {User}\n  password: {Wrong}\n  credential_secret: domino-platform/wrong\n");
        this.Write("config-secret-right.yaml", "registry:\n  credential_secret: domino-platform/right\n");
        this.Write("config-secret-wrong.yaml", "registry:\n  credential_secret: domino-platform/wrong\n");
        this.Write("config-secret-forbidden.yaml", "registry:\n  credential_secret: domino-platform/forbidden\n");
        this.Write("config-secret-elsewhere.yaml", "registry:\n  credential_secret: domino-platform/elsewhere\n");
        this.Write("config-empty.yaml", "registry:\n  url: docker-registry:5000\n");

        string d = this.folder;
        UserSession session = this.Shell(bin).Run($$"""
            $reg = '{{this.registry.Server.Registry}}'
            $right = [pscredential]::new('{{User}}', (ConvertTo-SecureString '{{Right}}' -AsPlainText -Force))
            $wrong = [pscredential]::new('{{User}}', (ConvertTo-SecureString '{{Wrong}}' -AsPlainText -Force))
            $results = [System.Collections.Generic.List[object]]::new()
            function Reset {
                foreach ($name in 'REGISTRY_USERNAME', 'REGISTRY_PASSWORD', 'DOCKER_CONFIG', 'REGISTRY_AUTH_FILE', 'XDG_RUNTIME_DIR') { Remove-Item "env:$name" -ErrorAction Ignore }
                $env:DOCKER_CONFIG = '{{d}}/none'
            }
            function Probe([string] $label, [hashtable] $extra = @{}) {
                if (-not $extra.ContainsKey('ConfigPath')) { $extra.ConfigPath = '{{d}}/config-empty.yaml' }
                $problems = @()
                $records = [System.Collections.Generic.List[object]]::new()
                try {
                    Get-RegistryImage -Registry $reg -Repository app/web -Verbose @extra -ErrorAction SilentlyContinue -ErrorVariable problems 4>&1 | ForEach-Object { $records.Add($_) }
                } catch {
                    $problems += $_
                }
                $results.Add([pscustomobject]@{
                    Label = $label
                    Tags = @($records | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] }).Count
                    Verbose = @($records | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object Message) -join "`n"
                    Errors = @($problems | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] } | ForEach-Object { "$($_.FullyQualifiedErrorId.Split(',')[0]): $($_.Exception.Message)" }) -join "`n"
                })
            }
            function Helper([string] $secret) { Set-Content -LiteralPath '{{bin}}/secret.txt' -Value $secret -NoNewline }

            # A right credential from each source, alone.
            Reset; Probe 'right -Credential' @{ Credential = $right }
            Reset; $env:REGISTRY_USERNAME = '{{User}}'; $env:REGISTRY_PASSWORD = '{{Right}}'; Probe 'right environment'
            Reset; Probe 'right config file' @{ ConfigPath = '{{d}}/config-right.yaml' }
            Reset; Probe 'right -CredentialSecret' @{ CredentialSecret = 'domino-platform/right' }
            Reset; Probe 'right registry.credential_secret' @{ ConfigPath = '{{d}}/config-secret-right.yaml' }
            Reset; $env:DOCKER_CONFIG = '{{d}}/auths-right'; Probe 'right auths'
            Reset; Helper '{{Right}}'; $env:DOCKER_CONFIG = '{{d}}/helpers'; Probe 'right credHelpers'
            Reset; $env:DOCKER_CONFIG = '{{d}}/store'; Probe 'right credsStore'
            Reset; $env:REGISTRY_AUTH_FILE = '{{d}}/podman-right.json'; Probe 'right REGISTRY_AUTH_FILE'
            Reset; $env:XDG_RUNTIME_DIR = '{{d}}/runtime'; Probe 'right XDG_RUNTIME_DIR'
            Reset; $env:REGISTRY_URL = $reg; $env:DOCKER_CONFIG = '{{d}}/helpers'
            $results.Add([pscustomobject]@{ Label = 'config row'; Tags = 0; Verbose = ''; Errors = "$((Get-RegistryCleanerConfig registry.credential_source -ConfigPath '{{d}}/config-empty.yaml').Value)" })
            Remove-Item env:REGISTRY_URL

            # Every source set, all wrong: each refusal names the first source left, so each shadows the later ones.
            Reset; Helper '{{Wrong}}'
            $env:REGISTRY_USERNAME = '{{User}}'; $env:REGISTRY_PASSWORD = '{{Wrong}}'; $env:DOCKER_CONFIG = '{{d}}/all'; $env:REGISTRY_AUTH_FILE = '{{d}}/podman-wrong.json'
            Probe 'wrong -Credential' @{ Credential = $wrong; ConfigPath = '{{d}}/config-wrong.yaml' }
            Probe 'wrong environment' @{ ConfigPath = '{{d}}/config-wrong.yaml' }
            Remove-Item env:REGISTRY_PASSWORD
            Probe 'wrong config file' @{ ConfigPath = '{{d}}/config-wrong.yaml' }
            Probe 'wrong registry.credential_secret' @{ ConfigPath = '{{d}}/config-secret-wrong.yaml' }
            Probe 'wrong auths'
            $env:DOCKER_CONFIG = '{{d}}/helpers-and-store'; Probe 'wrong credHelpers'
            $env:DOCKER_CONFIG = '{{d}}/store'; Probe 'wrong credsStore'
            $env:DOCKER_CONFIG = '{{d}}/none'; Probe 'wrong auth.json'
            Remove-Item env:REGISTRY_AUTH_FILE; Probe 'anonymous'

            # Pull secrets that cannot be read: configured, a verbose note and the next source; named, an error.
            Reset; $env:DOCKER_CONFIG = '{{d}}/auths-right'
            Probe 'configured forbidden' @{ ConfigPath = '{{d}}/config-secret-forbidden.yaml' }
            Probe 'configured elsewhere' @{ ConfigPath = '{{d}}/config-secret-elsewhere.yaml' }
            Probe 'named forbidden' @{ CredentialSecret = 'domino-platform/forbidden' }
            Probe 'named missing' @{ CredentialSecret = 'domino-platform/missing' }
            Probe 'named elsewhere' @{ CredentialSecret = 'domino-platform/elsewhere' }
            $results | ConvertTo-Json -Depth 3 | Set-Content -LiteralPath '{{d}}/results.json'
            """);

        Assert.True(File.Exists(Path.Combine(d, "results.json")), session.ToString());
        Dictionary<string, Probe> probes = JsonSerializer.Deserialize<Probe[]>(File.ReadAllText(Path.Combine(d, "results.json")))!.ToDictionary(p => p.Label);
        string everything = session.Output + File.ReadAllText(Path.Combine(d, "results.json"));
        Assert.DoesNotContain(Right, everything, StringComparison.Ordinal);
        Assert.DoesNotContain(Wrong, everything, StringComparison.Ordinal);
        Assert.DoesNotContain(Basic(Right), everything, StringComparison.Ordinal);

        (string Label, string Source)[] rights =
        [
            ("right -Credential", "-Credential"),
            ("right environment", "environment (REGISTRY_PASSWORD)"),
            ("right config file", $"config file ({d}/config-right.yaml)"),
            ("right -CredentialSecret", "Kubernetes secret 'domino-platform/right'"),
            ("right registry.credential_secret", "Kubernetes secret 'domino-platform/right'"),
            ("right auths", $"config.json auths ({d}/auths-right/config.json)"),
            ("right credHelpers", "credHelpers 'test'"),
            ("right credsStore", "credsStore 'store'"),
            ("right REGISTRY_AUTH_FILE", $"auth.json auths ({d}/podman-right.json)"),
            ("right XDG_RUNTIME_DIR", $"auth.json auths ({d}/runtime/containers/auth.json)"),
        ];
        foreach ((string label, string source) in rights)
        {
            Probe probe = probes[label];
            Assert.True(probe.Tags == 3 && probe.Errors.Length == 0, $"{label}: {probe}");
            Assert.Contains($"credentials from {source}.", probe.Verbose, StringComparison.Ordinal);
        }

        Assert.Equal("credHelpers 'test'", probes["config row"].Errors);

        (string Label, string Source)[] wrongs =
        [
            ("wrong -Credential", "-Credential"),
            ("wrong environment", "environment (REGISTRY_PASSWORD)"),
            ("wrong config file", $"config file ({d}/config-wrong.yaml)"),
            ("wrong registry.credential_secret", "Kubernetes secret 'domino-platform/wrong'"),
            ("wrong auths", $"config.json auths ({d}/all/config.json)"),
            ("wrong credHelpers", "credHelpers 'test'"),
            ("wrong credsStore", "credsStore 'store'"),
            ("wrong auth.json", $"auth.json auths ({d}/podman-wrong.json)"),
        ];
        foreach ((string label, string source) in wrongs)
        {
            Probe probe = probes[label];
            Assert.True(probe.Tags == 0, $"{label}: {probe}");
            Assert.Contains("RegistryCredentialsRefused: ", probe.Errors, StringComparison.Ordinal);
            Assert.Contains($"the credentials from {source} were refused", probe.Errors, StringComparison.Ordinal);
            Assert.Contains($"credentials from {source}.", probe.Verbose, StringComparison.Ordinal);
        }

        Assert.Contains("RegistryCredentialsRefused: ", probes["anonymous"].Errors, StringComparison.Ordinal);
        Assert.Contains("requires credentials (401)", probes["anonymous"].Errors, StringComparison.Ordinal);
        Assert.Contains("no credentials found", probes["anonymous"].Verbose, StringComparison.Ordinal);

        // The helper got the registry host on standard input, nothing else, and only "get" as its argument.
        string[] inputs = File.ReadAllText(Path.Combine(bin, "stdin.log")).Split("\n--\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.NotEmpty(inputs);
        Assert.All(inputs, input => Assert.Equal(this.host, input));
        Assert.All(File.ReadAllLines(Path.Combine(bin, "args.log")), line => Assert.Equal("get", line));

        // A configured pull secret that cannot be read (or has nothing for this registry) is a note, and the next source works.
        Assert.True(probes["configured forbidden"].Tags == 3 && probes["configured forbidden"].Errors.Length == 0, probes["configured forbidden"].ToString());
        Assert.Contains("403", probes["configured forbidden"].Verbose, StringComparison.Ordinal);
        Assert.Contains("credentials from config.json auths", probes["configured forbidden"].Verbose, StringComparison.Ordinal);
        Assert.True(probes["configured elsewhere"].Tags == 3, probes["configured elsewhere"].ToString());
        Assert.Contains("has no credentials for", probes["configured elsewhere"].Verbose, StringComparison.Ordinal);

        // A secret named with -CredentialSecret that cannot be used is an error, and nothing else is tried.
        foreach ((string label, string why) in (ReadOnlySpan<(string, string)>)[("named forbidden", "403"), ("named missing", "404"), ("named elsewhere", "has no credentials for")])
        {
            Probe probe = probes[label];
            Assert.True(probe.Tags == 0, $"{label}: {probe}");
            Assert.Contains("RegistryCredentialSecretUnreadable: ", probe.Errors, StringComparison.Ordinal);
            Assert.Contains(why, probe.Errors, StringComparison.Ordinal);
        }

        Assert.Contains("GET /api/v1/namespaces/domino-platform/secrets/right", this.kubernetes.Requests);
    }

    [Fact]
    public void A_failing_helper_is_an_error_naming_it_whose_output_never_shows_and_a_helper_without_credentials_falls_through()
    {
        string bin = this.Helpers(failing: true);
        this.DockerConfig("failing", new { credHelpers = new Dictionary<string, string> { [this.host] = "test" } });
        this.DockerConfig("not-found", new { credsStore = "store" });
        this.DockerConfig("missing-helper", new { credsStore = "nosuchhelper" });
        this.Write("podman-right.json", JsonSerializer.Serialize(new { auths = new Dictionary<string, object> { [this.host] = new { auth = Basic(Right) } } }));
        this.Write("config-empty.yaml", "registry:\n  url: docker-registry:5000\n");

        UserSession session = this.Shell(bin).Run($$"""
            $env:DOCKER_CONFIG = '{{this.folder}}/failing'
            Get-RegistryImage -Registry {{this.registry.Server.Registry}} -Repository app/web -ConfigPath '{{this.folder}}/config-empty.yaml' -Verbose -Debug *>&1 | Out-String -Width 300
            $env:REGISTRY_URL = '{{this.registry.Server.Registry}}'
            Get-RegistryCleanerConfig registry.credential_source -ConfigPath '{{this.folder}}/config-empty.yaml' | Format-List | Out-String -Width 300
            Remove-Item env:REGISTRY_URL
            $env:REGISTRY_AUTH_FILE = '{{this.folder}}/podman-right.json'
            $env:DOCKER_CONFIG = '{{this.folder}}/not-found'
            'found=' + @(Get-RegistryImage -Registry {{this.registry.Server.Registry}} -Repository app/web -ConfigPath '{{this.folder}}/config-empty.yaml' -Verbose 4>&1 | ForEach-Object { if ($_ -is [System.Management.Automation.VerboseRecord]) { 'VERBOSE: ' + $_.Message } else { 'TAG ' + $_.Tag } }) -join ' | '
            $env:DOCKER_CONFIG = '{{this.folder}}/missing-helper'
            'missing=' + @(Get-RegistryImage -Registry {{this.registry.Server.Registry}} -Repository app/web -ConfigPath '{{this.folder}}/config-empty.yaml' -Verbose 4>&1 | ForEach-Object { if ($_ -is [System.Management.Automation.VerboseRecord]) { 'VERBOSE: ' + $_.Message } else { 'TAG ' + $_.Tag } }) -join ' | '
            """);

        string everything = session.Output + string.Join("\n", session.Errors.Select(static e => e.Message + e.Target));
        Assert.DoesNotContain(HelperLeak, everything, StringComparison.Ordinal);
        Assert.DoesNotContain(Right, everything, StringComparison.Ordinal);
        Assert.Contains("RegistryCredentialHelperFailed", session.ErrorIds);
        UserError failed = session.Errors.First(static e => e.ErrorId.StartsWith("RegistryCredentialHelperFailed", StringComparison.Ordinal));
        Assert.Contains("docker-credential-test failed (exit code 3)", failed.Message, StringComparison.Ordinal);
        Assert.Contains("none: The credential helper docker-credential-test failed", session.Text, StringComparison.Ordinal);

        // "credentials not found in native keychain" means none: the next source (Podman's auth.json) is used.
        Assert.Contains("credsStore 'store' in", session.Text, StringComparison.Ordinal);
        Assert.Contains("credentials from auth.json auths", session.Text, StringComparison.Ordinal);
        Assert.True(session.Count("TAG v") >= 6, session.ToString());
        Assert.Contains("docker-credential-nosuchhelper is not on PATH; skipped", session.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void A_helper_token_that_expired_mid_run_is_asked_for_once_more_and_one_still_refused_says_so()
    {
        // The helper rotates as ECR's does every 12 hours: it answers secret.txt, then next.txt takes its place.
        string bin = this.Helpers(failing: false);
        this.Script(Path.Combine(bin, "docker-credential-test"), $$"""
            #!/bin/sh
            input=$(cat)
            printf '%s\n--\n' "$input" >> '{{bin}}/stdin.log'
            printf '{"ServerURL":"%s","Username":"{{User}}","Secret":"%s"}\n' "$input" "$(cat '{{bin}}/secret.txt')"
            if [ -f '{{bin}}/next.txt' ]; then mv '{{bin}}/next.txt' '{{bin}}/secret.txt'; fi
            """);
        File.WriteAllText(Path.Combine(bin, "secret.txt"), Wrong);
        File.WriteAllText(Path.Combine(bin, "next.txt"), Right);
        this.DockerConfig("rotating", new { credHelpers = new Dictionary<string, string> { [this.host] = "test" } });
        this.Write("config-empty.yaml", "registry:\n  url: docker-registry:5000\n");

        UserSession session = this.Shell(bin).Run($$"""
            $env:DOCKER_CONFIG = '{{this.folder}}/rotating'
            'found=' + @(Get-RegistryImage -Registry {{this.registry.Server.Registry}} -Repository app/web -ConfigPath '{{this.folder}}/config-empty.yaml' | ForEach-Object { 'TAG ' + $_.Tag }) -join ' | '
            Set-Content -LiteralPath '{{bin}}/secret.txt' -Value '{{Wrong}}' -NoNewline
            Get-RegistryImage -Registry {{this.registry.Server.Registry}} -Repository app/web -ConfigPath '{{this.folder}}/config-empty.yaml'
            """);

        Assert.Contains("found=TAG v1 TAG v2 TAG v3", session.Text, StringComparison.Ordinal);
        Assert.Equal(4, Regex.Matches(File.ReadAllText(Path.Combine(bin, "stdin.log")), "^--$", RegexOptions.Multiline).Count);
        UserError refused = Assert.Single(session.Errors);
        Assert.StartsWith("RegistryCredentialsRefused", refused.ErrorId, StringComparison.Ordinal);
        Assert.Contains("the credentials from credHelpers 'test' were refused (401, user 'alice')", refused.Message, StringComparison.Ordinal);
        Assert.Contains("Asked credHelpers 'test' once more for a fresh credential: it gave the same one", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Wrong, session.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(Right, session.Output, StringComparison.Ordinal);
    }

    private static string Basic(string password) => Convert.ToBase64String(Encoding.UTF8.GetBytes($"{User}:{password}"));

    private UserShell Shell(string bin)
    {
        string home = Path.Combine(this.folder, "home");
        Directory.CreateDirectory(home);
        var shell = new UserShell(this.folder);
        shell.Environment["HOME"] = home;
        shell.Environment["PATH"] = bin + Path.PathSeparator + Environment.GetEnvironmentVariable("PATH");
        shell.Environment["KUBECONFIG"] = Path.Combine(this.folder, "kubeconfig");
        shell.Environment["DOCKER_CONFIG"] = Path.Combine(this.folder, "none");
        shell.Environment["XDG_RUNTIME_DIR"] = null;
        shell.Environment["REGISTRY_AUTH_FILE"] = null;
        return shell;
    }

    // docker-credential-test (credHelpers) and docker-credential-store (credsStore): the protocol's get, answering this
    // registry with the password in secret.txt and any other server with "not found"; each records its standard input
    // and arguments. The failing test's helper writes a secret to both streams and fails; its store finds nothing.
    private string Helpers(bool failing)
    {
        string bin = Path.Combine(this.folder, "bin");
        Directory.CreateDirectory(bin);
        string answer = $$"""
            #!/bin/sh
            input=$(cat)
            printf '%s\n--\n' "$input" >> '{{bin}}/stdin.log'
            printf '%s\n' "$@" >> '{{bin}}/args.log'
            if [ "$input" = '{{this.host}}' ]; then
              printf '{"ServerURL":"%s","Username":"{{User}}","Secret":"%s"}\n' "$input" "$(cat '{{bin}}/secret.txt')"
            else
              echo 'credentials not found in native keychain'
              exit 1
            fi
            """;
        string fail = $"""
            #!/bin/sh
            input=$(cat)
            echo 'fatal: token {HelperLeak} rejected' >&2
            echo 'error: {HelperLeak}'
            exit 3
            """;
        string notFound = """
            #!/bin/sh
            cat > /dev/null
            echo 'credentials not found in native keychain'
            exit 1
            """;
        this.Script(Path.Combine(bin, "docker-credential-test"), failing ? fail : answer);
        this.Script(Path.Combine(bin, "docker-credential-store"), failing ? notFound : answer);
        File.WriteAllText(Path.Combine(bin, "secret.txt"), Right);
        return bin;
    }

    private void Script(string path, string text)
    {
        File.WriteAllText(path, text.Replace("\r\n", "\n", StringComparison.Ordinal) + "\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    private void DockerConfig(string name, object config) =>
        this.Write(Path.Combine(name, "config.json"), JsonSerializer.Serialize(config));

    private void Write(string relative, string text)
    {
        string path = Path.Combine(this.folder, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    private sealed record Probe(string Label, int Tags, string Verbose, string Errors);
}
