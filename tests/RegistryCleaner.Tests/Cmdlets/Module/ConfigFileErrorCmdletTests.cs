using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.Configuration;

/// <summary>A config.yaml with an unclosed YAML flow collection stops every cmdlet with ConfigFileInvalid, file, line and column.</summary>
public sealed class ConfigFileErrorCmdletTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("rc-config-flow-").FullName;

    public void Dispose() => Directory.Delete(this.folder, recursive: true);

    [Fact]
    public void Every_cmdlet_stops_with_ConfigFileInvalid_instead_of_an_object_state_error()
    {
        File.WriteAllText(Path.Combine(this.folder, "config.yaml"), "registry:\n  images: [environment, model\n  url: foo:5000\n");

        UserSession session = new UserShell(this.folder).Run("""
            Get-RegistryCleanerConfig
            Get-UnusedImage -InUse @()
            Remove-UnusedImage -InUse @() -WhatIf
            """);

        Assert.Equal(["ConfigFileInvalid", "ConfigFileInvalid", "ConfigFileInvalid"], session.ErrorIds);
        Assert.All(session.Errors, e => Assert.Equal("InvalidData", e.Category));
        Assert.All(session.Errors, e => Assert.Contains(Path.Combine(this.folder, "config.yaml"), e.Message, StringComparison.Ordinal));
        Assert.All(session.Errors, e => Assert.Contains("line 2, column 11", e.Message, StringComparison.Ordinal));
        Assert.DoesNotContain("current state of the object", session.Text, StringComparison.Ordinal);
    }
}
