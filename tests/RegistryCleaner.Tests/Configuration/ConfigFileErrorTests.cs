using RegistryCleaner.Configuration;
using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.Configuration;

/// <summary>Unclosed YAML flow collections are ConfigFileInvalid with file, line and column, like every other YAML error.</summary>
public sealed class ConfigFileErrorTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("rc-config-flow-").FullName;

    public void Dispose() => Directory.Delete(this.folder, recursive: true);

    [Theory]
    [InlineData("registry:\n  images: [environment, model\n  url: foo:5000\n", 2, "[")]
    [InlineData("registry:\n  images: [environment, model\n", 2, "[")]
    [InlineData("kubernetes:\n  pod_prefixes: {model-: 1, run-\n  namespaces: [a]\n", 2, "{")]
    public void An_unclosed_flow_sequence_or_mapping_names_the_file_line_and_column(string yaml, int line, string opener)
    {
        string path = Path.Combine(this.folder, "config.yaml");
        File.WriteAllText(path, yaml);

        ConfigurationException error = Assert.Throws<ConfigurationException>(
            () => RegistryCleanerConfiguration.Load(new ConfigLookup(path, this.folder, null, new Dictionary<string, string?>())));

        Assert.Equal(path, error.FilePath);
        Assert.NotNull(error.Line);
        Assert.NotNull(error.Column);
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains($"'{opener}'", error.Message, StringComparison.Ordinal);
        Assert.Contains($"line {line}, column ", error.Message, StringComparison.Ordinal);
    }

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
