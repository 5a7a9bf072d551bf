using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.Registry;

/// <summary>registry.kind as an admin meets it: Get-RegistryCleanerConfig shows it, and a wrong one stops a command.</summary>
public sealed class RegistryKindCmdletTests
{
    [Fact]
    public void Registry_kind_is_shown_with_its_default_and_a_wrong_one_stops_before_anything_is_asked()
    {
        string folder = Directory.CreateTempSubdirectory("registrycleaner-kind-").FullName;
        try
        {
            using var session = new PowerShellSession(folder);
            PowerShellResult shown = session.Run("Get-RegistryCleanerConfig -Key registry.kind");
            System.Management.Automation.PSObject entry = Assert.Single(shown.Output);
            Assert.Equal("auto", entry.Properties["Value"].Value?.ToString());
            Assert.Equal("Default", entry.Properties["Source"].Value?.ToString());

            File.WriteAllText(Path.Combine(folder, "kind.yaml"), "registry:\n  kind: quay\n");
            PowerShellResult refused = session.Run("Get-RegistryImage -ConfigPath ./kind.yaml -Registry 127.0.0.1:9 -Repository app");
            System.Management.Automation.ErrorRecord error = refused.Terminating is System.Management.Automation.IContainsErrorRecord stop ? stop.ErrorRecord : Assert.Single(refused.Errors);
            Assert.StartsWith("RegistryKindInvalid", error.FullyQualifiedErrorId, StringComparison.Ordinal);
            Assert.Contains("registry.kind 'quay' is not one of auto, distribution, harbor, ecr, acr, gar. Set registry.kind in config.yaml", error.Exception.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
