using System.Management.Automation;
using System.Net.Http.Headers;
using System.Text;
using RegistryCleaner.Tests.Infrastructure;
using RegistryCleaner.Tests.Registry;

namespace RegistryCleaner.Tests.Deletion;

public class DeletionSecretTests(HtpasswdRegistry registry) : IClassFixture<HtpasswdRegistry>
{
    [Fact]
    public async Task The_registry_password_appears_in_no_stream_and_no_journal()
    {
        string password = registry.Options.Password;
        var basic = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{registry.Options.Username}:{password}")));
        using (var pusher = new ImagePusher(registry.BaseAddress, basic))
        {
            await pusher.PushImageAsync("secret/app", "old", [ImagePusher.Layer(951, 100)]);
        }

        string folder = Directory.CreateTempSubdirectory("registrycleaner-secret-").FullName;
        try
        {
            using var session = new PowerShellSession(folder);
            var credential = new PSCredential(registry.Options.Username, new System.Net.NetworkCredential(string.Empty, password).SecurePassword);
            PowerShellResult result = session.Run(
                $"Remove-UnusedImage -Registry '{registry.Registry}' -Repository secret/app -InUse @() -Credential $credential -JournalPath j.jsonl -Confirm:$false -Verbose; Restore-RegistryImage j.jsonl -Registry '{registry.Registry}' -Credential $credential -Confirm:$false -Verbose",
                new Dictionary<string, object?> { ["credential"] = credential });

            Assert.Null(result.Terminating);
            Assert.Empty(result.Errors);
            Assert.Contains(result.Output, o => o.Properties["Status"].Value.ToString() == "Deleted");
            Assert.Contains(result.Output, o => o.Properties["Status"].Value.ToString() == "Restored");
            Assert.DoesNotContain(password, result.AllText, StringComparison.Ordinal);
            string journal = await File.ReadAllTextAsync(Path.Combine(folder, "j.jsonl"));
            Assert.DoesNotContain(password, journal, StringComparison.Ordinal);
            Assert.DoesNotContain(Convert.ToBase64String(Encoding.UTF8.GetBytes($"{registry.Options.Username}:{password}")), journal, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
