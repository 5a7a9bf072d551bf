using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace RegistryCleaner.Configuration;

/// <summary>One resolved configuration value and where it came from.</summary>
/// <param name="Key">The key.</param>
/// <param name="Value">The value: <see cref="string"/>, <see cref="int"/>, <see cref="bool"/>, a string array, or <see langword="null"/>.</param>
/// <param name="Source">Where the value came from.</param>
public sealed record ConfigValue(ConfigKey Key, object? Value, ConfigSource Source);

/// <summary>Where to look for configuration: the inputs of <see cref="RegistryCleanerConfiguration.Load"/>.</summary>
/// <param name="ExplicitPath">A path given with <c>-ConfigPath</c>; must exist.</param>
/// <param name="CurrentDirectory">The current folder, searched for <c>config.yaml</c>.</param>
/// <param name="BundledPath">The module's bundled default <c>config.yaml</c>, used when nothing else is found.</param>
/// <param name="Environment">The environment variables to read.</param>
public sealed record ConfigLookup(
    string? ExplicitPath,
    string CurrentDirectory,
    string? BundledPath,
    IReadOnlyDictionary<string, string?> Environment)
{
    /// <summary>The environment variable that names a config file.</summary>
    public const string PathVariable = "REGISTRY_CLEANER_CONFIG";

    /// <summary>Reads the process's environment variables into a dictionary.</summary>
    /// <returns>The current environment.</returns>
    public static IReadOnlyDictionary<string, string?> ProcessEnvironment()
    {
        var result = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry entry in System.Environment.GetEnvironmentVariables())
        {
            result[(string)entry.Key] = entry.Value as string;
        }

        return result;
    }
}

/// <summary>
/// RegistryCleaner's configuration: the built-in defaults, overridden by a <c>config.yaml</c>, overridden by
/// environment variables. Cmdlet parameters override all of these at the call site.
/// </summary>
public sealed class RegistryCleanerConfiguration
{
    private readonly Dictionary<string, ConfigValue> values;

    private RegistryCleanerConfiguration(string? filePath, Dictionary<string, ConfigValue> values, IReadOnlyList<string> warnings)
    {
        this.FilePath = filePath;
        this.values = values;
        this.Warnings = warnings;
    }

    /// <summary>Gets the config file that was read, or <see langword="null"/> when none was found.</summary>
    public string? FilePath { get; }

    /// <summary>Gets the problems worth a warning: unknown keys, with the closest known key.</summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>Gets every key's resolved value, in documentation order.</summary>
    public IEnumerable<ConfigValue> Values => ConfigSchema.Keys.Select(k => this.values[k.Name]);

    /// <summary>The built-in defaults alone, with no file and no environment.</summary>
    /// <returns>A configuration of defaults.</returns>
    public static RegistryCleanerConfiguration Defaults() =>
        new(null, ConfigSchema.Keys.ToDictionary(k => k.Name, k => new ConfigValue(k, k.Default, ConfigSource.Default), StringComparer.Ordinal), []);

    /// <summary>
    /// Finds and reads the config file (<see cref="ConfigLookup.ExplicitPath"/>, then <c>REGISTRY_CLEANER_CONFIG</c>,
    /// then <c>config.yaml</c> in the current folder, then the bundled default) and applies environment variables.
    /// </summary>
    /// <param name="lookup">Where to look.</param>
    /// <returns>The resolved configuration.</returns>
    /// <exception cref="ConfigurationException">The file is missing, is not valid YAML, or holds a value of the wrong type.</exception>
    /// <exception cref="ConfigFileUnsafeException">A file found implicitly (variable or current folder) may have been written by someone else.</exception>
    public static RegistryCleanerConfiguration Load(ConfigLookup lookup)
    {
        ArgumentNullException.ThrowIfNull(lookup);
        (string? path, bool bundled, string? foundImplicitly) = FindFile(lookup);
        var resolved = ConfigSchema.Keys.ToDictionary(k => k.Name, k => new ConfigValue(k, k.Default, ConfigSource.Default), StringComparer.Ordinal);
        var warnings = new List<string>();
        if (path is not null)
        {
            ConfigSource source = bundled ? ConfigSource.Default : ConfigSource.File;
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            if (foundImplicitly is not null && ConfigFileTrust.Problem(file.SafeFileHandle) is { } problem)
            {
                throw ConfigFileUnsafeException.For(path, foundImplicitly, problem.Reason, problem.ForeignOwner, ConfigFileTrust.EffectiveUserId());
            }

            foreach ((ConfigKey key, object? value) in ReadFile(path, file, warnings))
            {
                resolved[key.Name] = new ConfigValue(key, value, source);
            }
        }

        foreach (ConfigKey key in ConfigSchema.Keys)
        {
            if (key.EnvironmentVariable is not null
                && lookup.Environment.TryGetValue(key.EnvironmentVariable, out string? text)
                && !string.IsNullOrEmpty(text))
            {
                resolved[key.Name] = new ConfigValue(key, FromEnvironment(key, text), ConfigSource.Environment);
            }
        }

        return new RegistryCleanerConfiguration(path, resolved, warnings);
    }

    /// <summary>Gets a resolved value by key.</summary>
    /// <param name="key">A known dotted key.</param>
    /// <returns>The value and its source.</returns>
    public ConfigValue this[string key] =>
        this.values.TryGetValue(key, out ConfigValue? value)
            ? value
            : throw new ArgumentException($"'{key}' is not a configuration key.", nameof(key));

    /// <summary>Gets a text (or secret) value.</summary>
    /// <param name="key">The key.</param>
    /// <returns>The value, or <see langword="null"/> when unset.</returns>
    public string? GetString(string key) => this[key].Value as string;

    /// <summary>Gets a whole-number value.</summary>
    /// <param name="key">The key.</param>
    /// <returns>The value.</returns>
    public int GetInt32(string key) => this[key].Value is int i ? i : throw new InvalidOperationException($"'{key}' is not an integer key.");

    /// <summary>Gets a Boolean value.</summary>
    /// <param name="key">The key.</param>
    /// <returns>The value.</returns>
    public bool GetBoolean(string key) => this[key].Value is bool b ? b : throw new InvalidOperationException($"'{key}' is not a Boolean key.");

    /// <summary>Gets a list value.</summary>
    /// <param name="key">The key.</param>
    /// <returns>The values (empty when unset).</returns>
    public IReadOnlyList<string> GetList(string key) => this[key].Value as string[] ?? [];

    /// <summary>The repositories the cmdlets work on by default: <c>registry.repository</c>/each of <c>registry.images</c>.</summary>
    /// <returns>Repository paths such as <c>dominodatalab/environment</c>.</returns>
    public IReadOnlyList<string> DefaultRepositories()
    {
        string prefix = (this.GetString(ConfigSchema.RegistryRepository) ?? string.Empty).Trim('/');
        return this.GetList(ConfigSchema.RegistryImages)
            .Select(image => prefix.Length == 0 ? image.Trim('/') : prefix + "/" + image.Trim('/'))
            .ToArray();
    }

    /// <summary>
    /// The repositories whose images Domino's records pin: <c>registry.repository</c> followed by <c>/environment</c>
    /// and <c>/model</c>, whatever <c>registry.images</c> says.
    /// </summary>
    /// <returns>Repository paths such as <c>dominodatalab/environment</c>.</returns>
    public IReadOnlyList<string> DominoRepositories()
    {
        string prefix = (this.GetString(ConfigSchema.RegistryRepository) ?? string.Empty).Trim('/');
        return [.. new[] { "environment", "model" }.Select(image => prefix.Length == 0 ? image : prefix + "/" + image)];
    }

    // FoundImplicitly says how a file the user did not name was found ("found in the current folder"); null otherwise.
    private static (string? Path, bool Bundled, string? FoundImplicitly) FindFile(ConfigLookup lookup)
    {
        if (!string.IsNullOrWhiteSpace(lookup.ExplicitPath))
        {
            string full = Path.GetFullPath(lookup.ExplicitPath, lookup.CurrentDirectory);
            return File.Exists(full)
                ? (full, false, null)
                : throw new ConfigurationException($"Config file '{full}' (from -ConfigPath) does not exist. Check the path, or omit -ConfigPath to use the default lookup.", full);
        }

        if (lookup.Environment.TryGetValue(ConfigLookup.PathVariable, out string? fromEnvironment) && !string.IsNullOrWhiteSpace(fromEnvironment))
        {
            string full = Path.GetFullPath(fromEnvironment, lookup.CurrentDirectory);
            return File.Exists(full)
                ? (full, false, $"named by the {ConfigLookup.PathVariable} environment variable")
                : throw new ConfigurationException($"Config file '{full}' (from the {ConfigLookup.PathVariable} environment variable) does not exist. Fix or unset {ConfigLookup.PathVariable}.", full);
        }

        string local = Path.Combine(lookup.CurrentDirectory, "config.yaml");
        if (File.Exists(local))
        {
            return (local, false, "found in the current folder");
        }

        return lookup.BundledPath is not null && File.Exists(lookup.BundledPath) ? (lookup.BundledPath, true, null) : (null, false, null);
    }

    private static List<(ConfigKey Key, object? Value)> ReadFile(string path, Stream file, List<string> warnings)
    {
        var stream = new YamlStream();
        using var reader = new StreamReader(file, leaveOpen: true);
        var scanner = new Scanner(reader);
        var parser = new FlowCollectionTracker(new Parser(scanner));
        try
        {
            stream.Load(parser);
        }
        catch (Exception ex) when (ex is YamlException or InvalidOperationException && parser.Open is { } open)
        {
            // An unclosed [ or { swallows the lines after it; where it opened is where the mistake is. (YamlDotNet
            // may even fail with a bare InvalidOperationException there, which names no position at all.)
            throw new ConfigurationException(
                $"Config file '{path}' is not valid YAML at line {open.Start.Line}, column {open.Start.Column}: the flow {(open.Sequence ? "sequence '['" : "mapping '{'")} opened there is not closed (a '{(open.Sequence ? ']' : '}')}' is missing) before line {scanner.CurrentPosition.Line}, column {scanner.CurrentPosition.Column}.",
                path,
                (int)open.Start.Line,
                (int)open.Start.Column,
                ex);
        }
        catch (InvalidOperationException ex)
        {
            throw new ConfigurationException(
                $"Config file '{path}' is not valid YAML at line {scanner.CurrentPosition.Line}, column {scanner.CurrentPosition.Column}: {ex.Message}",
                path,
                (int)scanner.CurrentPosition.Line,
                (int)scanner.CurrentPosition.Column,
                ex);
        }
        catch (YamlException ex)
        {
            // YamlDotNet's Start is where the enclosing construct began; End is where the parser found the problem.
            string context = ex.Start.Line != ex.End.Line ? $" (in the block that starts at line {ex.Start.Line})" : string.Empty;
            throw new ConfigurationException(
                $"Config file '{path}' is not valid YAML at line {ex.End.Line}, column {ex.End.Column}{context}: {InnermostMessage(ex)}",
                path,
                (int)ex.End.Line,
                (int)ex.End.Column,
                ex);
        }

        var result = new List<(ConfigKey, object?)>();
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is YamlScalarNode { Value: null or "" })
        {
            return result;
        }

        if (stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            YamlNode node = stream.Documents[0].RootNode;
            throw Positioned(path, node, "the top level must be a mapping of sections (registry:, kubernetes:, analysis:, …)");
        }

        foreach ((YamlNode sectionKey, YamlNode sectionNode) in root.Children)
        {
            string section = ((YamlScalarNode)sectionKey).Value ?? string.Empty;
            if (sectionNode is YamlScalarNode { Value: null or "" })
            {
                continue;
            }

            if (sectionNode is not YamlMappingNode mapping)
            {
                if (ConfigSchema.Keys.Any(k => k.Name.StartsWith(section + ".", StringComparison.Ordinal)))
                {
                    throw Positioned(path, sectionNode, $"section '{section}' must be a mapping of keys");
                }

                warnings.Add(UnknownKeyWarning(path, sectionKey, section));
                continue;
            }

            foreach ((YamlNode keyNode, YamlNode valueNode) in mapping.Children)
            {
                string name = section + "." + ((YamlScalarNode)keyNode).Value;
                ConfigKey? key = ConfigSchema.Find(name);
                if (key is null)
                {
                    warnings.Add(UnknownKeyWarning(path, keyNode, name));
                    continue;
                }

                if (valueNode is YamlScalarNode { Style: ScalarStyle.Plain, Value: null or "" or "~" or "null" })
                {
                    continue;
                }

                result.Add((key, Convert(path, key, valueNode)));
            }
        }

        return result;
    }

    private static string UnknownKeyWarning(string path, YamlNode node, string name) =>
        $"Config file '{path}' line {node.Start.Line}, column {node.Start.Column}: unknown key '{name}' is ignored. Did you mean '{ConfigSchema.Closest(name)}'?";

    private static object? Convert(string path, ConfigKey key, YamlNode node)
    {
        switch (key.Kind)
        {
            case ConfigValueKind.StringList:
                if (node is YamlSequenceNode sequence)
                {
                    return sequence.Children.Select(item => item is YamlScalarNode scalar
                        ? scalar.Value ?? string.Empty
                        : throw Positioned(path, item, $"'{key.Name}' must be a list of text values")).ToArray();
                }

                if (node is YamlScalarNode single)
                {
                    return SplitList(single.Value ?? string.Empty);
                }

                throw Positioned(path, node, $"'{key.Name}' must be a list of text values, e.g. [\"model-\", \"run-\"]");

            case ConfigValueKind.Integer:
                if (node is YamlScalarNode { Value: { } digits } && int.TryParse(digits, NumberStyles.Integer, CultureInfo.InvariantCulture, out int number))
                {
                    return key.Range is (int minimum, int maximum) && (number < minimum || number > maximum)
                        ? throw Positioned(path, node, string.Create(CultureInfo.InvariantCulture, $"'{key.Name}' must be from {minimum} to {maximum}; found {number}"))
                        : number;
                }

                throw Positioned(path, node, $"'{key.Name}' must be a whole number; found {Describe(node)}");

            case ConfigValueKind.Boolean:
                if (node is YamlScalarNode { Value: { } text } && TryParseBoolean(text, out bool flag))
                {
                    return flag;
                }

                throw Positioned(path, node, $"'{key.Name}' must be true or false; found {Describe(node)}");

            case ConfigValueKind.AutoOrBoolean:
                if (node is YamlScalarNode { Value: { } choice } && TryParseAutoOrBoolean(choice, out string? normalized))
                {
                    return normalized;
                }

                throw Positioned(path, node, $"'{key.Name}' must be auto, true or false; found {Describe(node)}");

            default:
                return node is YamlScalarNode { Value: { } value }
                    ? value
                    : throw Positioned(path, node, $"'{key.Name}' must be a text value; found {Describe(node)}");
        }
    }

    private static object FromEnvironment(ConfigKey key, string text) => key.Kind switch
    {
        ConfigValueKind.StringList => SplitList(text),
        ConfigValueKind.Integer => int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int number)
            ? key.Range is (int minimum, int maximum) && (number < minimum || number > maximum)
                ? throw new ConfigurationException(string.Create(CultureInfo.InvariantCulture, $"Environment variable {key.EnvironmentVariable} must be from {minimum} to {maximum} for '{key.Name}'; found {number}."), filePath: null)
                : number
            : throw new ConfigurationException($"Environment variable {key.EnvironmentVariable} must be a whole number for '{key.Name}'; found '{text}'.", filePath: null),
        ConfigValueKind.Boolean => TryParseBoolean(text, out bool flag)
            ? flag
            : throw new ConfigurationException($"Environment variable {key.EnvironmentVariable} must be true or false for '{key.Name}'; found '{text}'.", filePath: null),
        ConfigValueKind.AutoOrBoolean => TryParseAutoOrBoolean(text, out string? normalized)
            ? normalized
            : throw new ConfigurationException($"Environment variable {key.EnvironmentVariable} must be auto, true or false for '{key.Name}'; found '{text}'.", filePath: null),
        _ => text,
    };

    private static string[] SplitList(string text) =>
        text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static bool TryParseBoolean(string text, out bool value)
    {
        switch (text.Trim().ToLowerInvariant())
        {
            case "true" or "yes" or "on":
                value = true;
                return true;
            case "false" or "no" or "off":
                value = false;
                return true;
            default:
                value = false;
                return false;
        }
    }

    private static bool TryParseAutoOrBoolean(string text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? value)
    {
        if (string.Equals(text.Trim(), "auto", StringComparison.OrdinalIgnoreCase))
        {
            value = "auto";
            return true;
        }

        value = TryParseBoolean(text, out bool flag) ? (flag ? "true" : "false") : null;
        return value is not null;
    }

    private static string Describe(YamlNode node) => node switch
    {
        YamlScalarNode scalar => $"'{scalar.Value}'",
        YamlSequenceNode => "a list",
        _ => "a mapping",
    };

    private static ConfigurationException Positioned(string path, YamlNode node, string problem) =>
        new($"Config file '{path}' line {node.Start.Line}, column {node.Start.Column}: {problem}.", path, (int)node.Start.Line, (int)node.Start.Column);

    private static string InnermostMessage(Exception ex)
    {
        while (ex.InnerException is not null)
        {
            ex = ex.InnerException;
        }

        return ex.Message;
    }
}
