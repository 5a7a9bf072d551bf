using System.Management.Automation;
using System.Net;
using System.Text;
using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.Faults;

/// <summary>
/// Tests that set process environment variables (REGISTRY_PASSWORD, MONGODB_PASSWORD) the cmdlets read: run alone, so
/// no other test sees them.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessEnvironmentCollection
{
    public const string Name = "Process environment";
}

/// <summary>
/// Every cmdlet that takes credentials, with -Verbose -Debug, credentials from parameters or from the environment,
/// right or wrong: neither the registry nor the MongoDB password shows in any stream, output property, error (with
/// inner exceptions), journal or backup file.
/// </summary>
[Collection(ProcessEnvironmentCollection.Name)]
public sealed class SecretTests : IAsyncLifetime
{
    private const string RegistrySecret = "Pa55-Secret-xyz";
    private const string MongoSecret = "M0ngo-Secret-qrs";
    private const string WrongSecret = "Wr0ng-Secret-uvw";
    private const string User = "alice";
    private const string MongoUser = "admin";
    private static readonly string[] Variables = ["REGISTRY_USERNAME", "REGISTRY_PASSWORD", "MONGODB_USERNAME", "MONGODB_PASSWORD"];
    private FaultRegistry registry = null!;
    private MongoWireStandIn mongo = null!;

    public async Task InitializeAsync()
    {
        this.registry = await FaultRegistry.CreateAsync(new RegistryServerOptions { Auth = RegistryAuthMode.Htpasswd, Username = User, Password = RegistrySecret });
        this.mongo = new MongoWireStandIn("rs0", MongoUser, MongoSecret);
    }

    public async Task DisposeAsync()
    {
        await this.mongo.DisposeAsync();
        await this.registry.DisposeAsync();
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void No_password_shows_in_any_stream_output_error_journal_or_backup(bool fromEnvironment, bool wrongPassword)
    {
        string folder = Path.Combine(this.registry.Folder, $"{fromEnvironment}-{wrongPassword}");
        Directory.CreateDirectory(folder);
        using var session = new PowerShellSession(folder);
        string reg = $"-Registry '{this.registry.Server.Registry}'";
        string mongoUri = $"-MongoUri 'mongodb://{this.mongo.Address}/?replicaSet=rs0'";
        if (wrongPassword)
        {
            // Restore needs a journal to get as far as the registry: written by a run with the right password.
            PowerShellResult setup = session.Run(
                $"Remove-UnusedImage {reg} -Repository 'app/*' -InUse @() -Confirm:$false -JournalPath j.jsonl -Credential $credential",
                new Dictionary<string, object?> { ["credential"] = Credential(User, RegistrySecret) });
            Assert.Empty(setup.Errors);
        }

        string registryPassword = wrongPassword ? WrongSecret : RegistrySecret;
        string mongoPassword = wrongPassword ? WrongSecret : MongoSecret;
        string cred = fromEnvironment ? string.Empty : " -Credential $credential";
        string mongoCred = fromEnvironment ? string.Empty : " -MongoCredential $mongoCredential";
        string[] commands =
        [
            $"Get-RegistryImage {reg} -Repository 'app/*'{cred}",
            $"Get-RegistryLayer {reg} -Repository 'app/*'{cred}",
            $"Get-UnusedImage {reg} -Repository 'app/*' -InUse @(){cred}",
            $"Remove-UnusedImage {reg} -Repository 'app/*' -InUse @() -WhatIf{cred}",
            .. wrongPassword ? [] : new[] { $"Remove-UnusedImage {reg} -Repository 'app/*' -InUse @() -Confirm:$false -JournalPath j.jsonl{cred}" },
            $"Restore-RegistryImage j.jsonl {reg} -Confirm:$false{cred}",
            $"Find-ArchivedEnvTag {reg} {mongoUri} -TimeoutSec 10{cred}{mongoCred}",
            $"Remove-MongoEnvRevision -Tag 659c7bce85f6381e675bb205-1 {reg} {mongoUri} -TimeoutSec 10 -WhatIf{cred}{mongoCred}",
        ];
        var saved = Variables.ToDictionary(v => v, Environment.GetEnvironmentVariable);
        try
        {
            if (fromEnvironment)
            {
                Environment.SetEnvironmentVariable("REGISTRY_USERNAME", User);
                Environment.SetEnvironmentVariable("REGISTRY_PASSWORD", registryPassword);
                Environment.SetEnvironmentVariable("MONGODB_USERNAME", MongoUser);
                Environment.SetEnvironmentVariable("MONGODB_PASSWORD", mongoPassword);
            }

            var variables = new Dictionary<string, object?>
            {
                ["credential"] = Credential(User, registryPassword),
                ["mongoCredential"] = Credential(MongoUser, mongoPassword),
            };
            foreach (string command in commands)
            {
                // Output is shown and also serialized, so every property of every object is searched, not only ToString.
                // -Debug alone turns every warning into a prompt, which a non-interactive host refuses: warnings are
                // written instead, so their text is searched too.
                PowerShellResult result = session.Run(
                    $"$o = @({command} -Verbose -Debug -WarningAction Continue); $o; if ($o.Count) {{ ConvertTo-Json -InputObject $o -Depth 5 -WarningAction Ignore }}",
                    variables);
                string text = Everything(result);
                Assert.DoesNotContain(RegistrySecret, text, StringComparison.Ordinal);
                Assert.DoesNotContain(MongoSecret, text, StringComparison.Ordinal);
                Assert.DoesNotContain(WrongSecret, text, StringComparison.Ordinal);
                Assert.DoesNotContain(Convert.ToBase64String(Encoding.UTF8.GetBytes($"{User}:{registryPassword}")), text, StringComparison.Ordinal);
                if (wrongPassword && !command.StartsWith("Remove-MongoEnvRevision", StringComparison.Ordinal))
                {
                    // The credentials were really used and refused (not skipped), so the refusal paths were searched too.
                    Assert.True(result.Errors.Count > 0 || result.Terminating is not null, $"{command} did not fail with a wrong password.");
                    if (command.StartsWith("Get-RegistryImage", StringComparison.Ordinal))
                    {
                        // The refusal names where the password came from, so the user fixes the right place.
                        Assert.Contains(fromEnvironment ? "the credentials from environment (REGISTRY_PASSWORD) were refused" : "the credentials from -Credential were refused", result.Errors[0].Exception.Message, StringComparison.Ordinal);
                    }
                }
                else if (!wrongPassword && command.Contains("Registry", StringComparison.Ordinal) && !command.StartsWith("Find-", StringComparison.Ordinal) && !command.StartsWith("Remove-Mongo", StringComparison.Ordinal))
                {
                    Assert.True(result.Errors.Count == 0 && result.Terminating is null, $"{command} failed: {text}");
                }
            }
        }
        finally
        {
            foreach ((string name, string? value) in saved)
            {
                Environment.SetEnvironmentVariable(name, value);
            }
        }

        foreach (string file in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories))
        {
            string content = File.ReadAllText(file);
            Assert.DoesNotContain(RegistrySecret, content, StringComparison.Ordinal);
            Assert.DoesNotContain(MongoSecret, content, StringComparison.Ordinal);
            Assert.DoesNotContain(WrongSecret, content, StringComparison.Ordinal);
        }
    }

    private static PSCredential Credential(string user, string password) => new(user, new NetworkCredential(string.Empty, password).SecurePassword);

    private static string Everything(PowerShellResult result) =>
        result.AllText + "\n"
        + string.Join('\n', result.Errors.Select(e => $"{e.ErrorDetails?.Message}\n{e.TargetObject}\n{e.CategoryInfo}\n{e.FullyQualifiedErrorId}\n{e.Exception}"))
        + string.Join('\n', result.Output.SelectMany(o => o.Properties.Select(p => $"{p.Name}={p.Value}")));
}
