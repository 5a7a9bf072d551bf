using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.PowerShell;

public class HostedSessionTests
{
    [Fact]
    public void Cmdlets_run_in_a_hosted_runspace_with_their_PSTypeNames()
    {
        using var session = new PowerShellSession();
        PowerShellResult result = session.Run("Get-RegistryCleanerConfig registry.url");
        Assert.Null(result.Terminating);
        Assert.Equal("RegistryCleaner.ConfigEntry", Assert.Single(result.Output).TypeNames[0]);
        Assert.Equal("registry.url", result.Output[0].Properties["Key"].Value);
    }
}
