using RegistryCleaner.Configuration;

namespace RegistryCleaner.Tests.Configuration;

public sealed class ConfigurationTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("rc-config-").FullName;

    private static string RepositoryRoot
    {
        get
        {
            string? directory = AppContext.BaseDirectory;
            while (directory is not null && !File.Exists(Path.Combine(directory, "RegistryCleaner.PowerShell.sln")))
            {
                directory = Path.GetDirectoryName(directory);
            }

            return directory ?? throw new InvalidOperationException("Repository root not found.");
        }
    }

    public void Dispose() => Directory.Delete(this.folder, recursive: true);

    [Fact]
    public void Bundled_config_yaml_documents_every_key_with_exactly_the_built_in_default()
    {
        string bundled = Path.Combine(RepositoryRoot, "config.yaml");
        RegistryCleanerConfiguration config = this.Load(bundled: bundled);

        Assert.Empty(config.Warnings);
        Assert.All(config.Values, v => Assert.Equal(ConfigSource.Default, v.Source));
        string text = File.ReadAllText(bundled);
        foreach (ConfigKey key in ConfigSchema.Keys)
        {
            string leaf = key.Name[(key.Name.IndexOf('.', StringComparison.Ordinal) + 1)..];
            Assert.Contains(leaf + ":", text, StringComparison.Ordinal);
            Assert.Equal(key.Default, config[key.Name].Value);
        }
    }

    [Fact]
    public void Defaults_apply_when_no_file_exists()
    {
        RegistryCleanerConfiguration config = this.Load();
        Assert.Null(config.FilePath);
        Assert.Equal("docker-registry:5000", config.GetString(ConfigSchema.RegistryUrl));
        Assert.Equal(16, config.GetInt32(ConfigSchema.MaxWorkers));
        Assert.Equal(["dominodatalab/environment", "dominodatalab/model"], config.DefaultRepositories());
    }

    [Fact]
    public void Environment_overrides_file_which_overrides_default()
    {
        string path = this.Write("config.yaml", "registry:\n  url: file-registry:5000\n  repository: filerepo\nanalysis:\n  max_workers: 3\n");
        RegistryCleanerConfiguration config = this.Load(
            explicitPath: path,
            environment: new() { ["REGISTRY_URL"] = "env-registry:5000", ["REGISTRY_PASSWORD"] = "s3cret" });

        Assert.Equal(("env-registry:5000", ConfigSource.Environment), (config.GetString(ConfigSchema.RegistryUrl), config[ConfigSchema.RegistryUrl].Source));
        Assert.Equal(("filerepo", ConfigSource.File), (config.GetString(ConfigSchema.RegistryRepository), config[ConfigSchema.RegistryRepository].Source));
        Assert.Equal((3, ConfigSource.File), (config.GetInt32(ConfigSchema.MaxWorkers), config[ConfigSchema.MaxWorkers].Source));
        Assert.Equal((60, ConfigSource.Default), (config.GetInt32(ConfigSchema.Timeout), config[ConfigSchema.Timeout].Source));
        Assert.Equal("s3cret", config.GetString(ConfigSchema.RegistryPassword));
    }

    [Fact]
    public void Empty_environment_variables_are_ignored()
    {
        RegistryCleanerConfiguration config = this.Load(environment: new() { ["REGISTRY_URL"] = string.Empty });
        Assert.Equal(ConfigSource.Default, config[ConfigSchema.RegistryUrl].Source);
    }

    [Fact]
    public void Lookup_order_is_explicit_then_variable_then_current_folder_then_bundled()
    {
        string bundled = this.Write("bundled.yaml", "registry:\n  url: bundled:1\n");
        string local = this.Write("config.yaml", "registry:\n  url: local:1\n");
        string named = this.Write("named.yaml", "registry:\n  url: named:1\n");
        string explicitFile = this.Write("explicit.yaml", "registry:\n  url: explicit:1\n");
        var variable = new Dictionary<string, string?> { [ConfigLookup.PathVariable] = named };

        Assert.Equal("explicit:1", this.Load(explicitPath: explicitFile, bundled: bundled, environment: variable).GetString(ConfigSchema.RegistryUrl));
        Assert.Equal("named:1", this.Load(bundled: bundled, environment: variable).GetString(ConfigSchema.RegistryUrl));
        Assert.Equal(local, this.Load(bundled: bundled).FilePath);
        File.Delete(local);
        RegistryCleanerConfiguration fromBundle = this.Load(bundled: bundled);
        Assert.Equal("bundled:1", fromBundle.GetString(ConfigSchema.RegistryUrl));
        Assert.Equal(ConfigSource.Default, fromBundle[ConfigSchema.RegistryUrl].Source);
    }

    [Fact]
    public void A_missing_explicit_file_is_an_error_naming_it()
    {
        ConfigurationException error = Assert.Throws<ConfigurationException>(() => this.Load(explicitPath: Path.Combine(this.folder, "nope.yaml")));
        Assert.Contains("nope.yaml", error.Message, StringComparison.Ordinal);
        Assert.Contains("does not exist", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_file_named_by_the_variable_is_an_error_naming_the_variable()
    {
        ConfigurationException error = Assert.Throws<ConfigurationException>(
            () => this.Load(environment: new() { [ConfigLookup.PathVariable] = Path.Combine(this.folder, "gone.yaml") }));
        Assert.Contains(ConfigLookup.PathVariable, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_yaml_names_file_line_and_column()
    {
        string path = this.Write("bad.yaml", "registry:\n  url: \"unterminated\n  repository: x\n");
        ConfigurationException error = Assert.Throws<ConfigurationException>(() => this.Load(explicitPath: path));
        Assert.Equal(path, error.FilePath);
        Assert.NotNull(error.Line);
        Assert.NotNull(error.Column);
        Assert.Contains($"'{path}'", error.Message, StringComparison.Ordinal);
        Assert.Contains($"line {error.Line}, column {error.Column}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_key_warns_with_the_closest_known_key()
    {
        string path = this.Write("typo.yaml", "analysis:\n  max_worker: 4\nregistri:\n  url: x\n");
        RegistryCleanerConfiguration config = this.Load(explicitPath: path);
        Assert.Equal(2, config.Warnings.Count);
        Assert.Contains("'analysis.max_worker'", config.Warnings[0], StringComparison.Ordinal);
        Assert.Contains("'analysis.max_workers'", config.Warnings[0], StringComparison.Ordinal);
        Assert.Contains("line 2", config.Warnings[0], StringComparison.Ordinal);
        Assert.Contains("'registri.url'", config.Warnings[1], StringComparison.Ordinal);
        Assert.Contains("'registry.url'", config.Warnings[1], StringComparison.Ordinal);
        Assert.Equal(16, config.GetInt32(ConfigSchema.MaxWorkers));
    }

    [Theory]
    [InlineData("analysis:\n  max_workers: many\n", "analysis.max_workers", "whole number", "'many'")]
    [InlineData("security:\n  dry_run_by_default: maybe\n", "security.dry_run_by_default", "true or false", "'maybe'")]
    [InlineData("registry:\n  url: [a, b]\n", "registry.url", "text value", "a list")]
    [InlineData("kubernetes:\n  pod_prefixes: {a: b}\n", "kubernetes.pod_prefixes", "list of text values", "")]
    [InlineData("registry: docker-registry:5000\n", "registry", "must be a mapping", "")]
    public void Wrong_type_names_key_and_expected_type(string yaml, string key, string expected, string found)
    {
        string path = this.Write("typed.yaml", yaml);
        ConfigurationException error = Assert.Throws<ConfigurationException>(() => this.Load(explicitPath: path));
        Assert.Contains($"'{key}'", error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.Contains(found, error.Message, StringComparison.Ordinal);
        Assert.NotNull(error.Line);
    }

    [Fact]
    public void Lists_accept_sequences_and_comma_separated_text()
    {
        string path = this.Write("lists.yaml", "kubernetes:\n  pod_prefixes: run-, model-\n  namespaces:\n    - a\n    - b\n");
        RegistryCleanerConfiguration config = this.Load(explicitPath: path);
        Assert.Equal(["run-", "model-"], config.GetList(ConfigSchema.PodPrefixes));
        Assert.Equal(["a", "b"], config.GetList(ConfigSchema.Namespaces));
    }

    [Fact]
    public void Null_values_and_empty_sections_keep_the_default()
    {
        string path = this.Write("nulls.yaml", "registry:\n  url:\nmongo:\n");
        RegistryCleanerConfiguration config = this.Load(explicitPath: path);
        Assert.Equal("docker-registry:5000", config.GetString(ConfigSchema.RegistryUrl));
        Assert.Equal(ConfigSource.Default, config[ConfigSchema.RegistryUrl].Source);
    }

    [Fact]
    public void An_empty_file_is_all_defaults()
    {
        string path = this.Write("empty.yaml", "# nothing\n");
        Assert.All(this.Load(explicitPath: path).Values, v => Assert.Equal(ConfigSource.Default, v.Source));
    }

    [Fact]
    public void Python_tool_config_loads_without_warnings()
    {
        const string Seed = """
            registry:
              url: "docker-registry:5000"
              repository: "dominodatalab"
            kubernetes:
              platform_namespace: "domino-platform"
              compute_namespace: "domino-compute"
              pod_prefixes: ["model-", "run-"]
            analysis:
              max_workers: 4
              timeout: 300
              output_dir: "reports"
            reports:
              workload_report: "workload-report.json"
              image_analysis: "final-report.json"
              deletion_analysis: "deletion-analysis.json"
              tags_per_layer: "tags-per-layer.json"
              layers_and_sizes: "layers-and-sizes.json"
              filtered_layers: "filtered-layers.json"
              tag_sums: "tag-sums.json"
              images_report: "images-report"
              archived_tags: "archived-tags.json"
            security:
              dry_run_by_default: true
              require_confirmation: true
            """;
        RegistryCleanerConfiguration config = this.Load(explicitPath: this.Write("seed.yaml", Seed));
        Assert.Empty(config.Warnings);
        Assert.Equal(4, config.GetInt32(ConfigSchema.MaxWorkers));
        Assert.True(config.GetBoolean(ConfigSchema.DryRunByDefault));
    }

    private string Write(string name, string content)
    {
        string path = Path.Combine(this.folder, name);
        File.WriteAllText(path, content);
        return path;
    }

    private RegistryCleanerConfiguration Load(string? explicitPath = null, string? bundled = null, Dictionary<string, string?>? environment = null) =>
        RegistryCleanerConfiguration.Load(new ConfigLookup(explicitPath, this.folder, bundled, environment ?? []));
}
