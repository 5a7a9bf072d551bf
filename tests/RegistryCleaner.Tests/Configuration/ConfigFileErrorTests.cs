using RegistryCleaner.Configuration;

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
}
