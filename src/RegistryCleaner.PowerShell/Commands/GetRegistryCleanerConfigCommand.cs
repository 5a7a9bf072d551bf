using System.Management.Automation;
using RegistryCleaner.Configuration;

namespace RegistryCleaner.PowerShell.Commands;

/// <summary>One configuration key as Get-RegistryCleanerConfig shows it.</summary>
/// <param name="Key">The dotted key, e.g. <c>registry.url</c>.</param>
/// <param name="Value">The value; secrets show as a mask when set.</param>
/// <param name="Source">Default, File or Environment.</param>
/// <param name="EnvironmentVariable">The environment variable that overrides the key, if any.</param>
/// <param name="Path">The config file the value came from, when its source is File.</param>
/// <param name="Description">What the key does.</param>
public sealed record ConfigEntry(string Key, object? Value, string Source, string? EnvironmentVariable, string? Path, string Description);

/// <summary>
/// <para type="synopsis">Shows RegistryCleaner's effective configuration: every key, its value and where the value came from.</para>
/// <para type="description">Reads the same configuration every RegistryCleaner cmdlet reads: the config file found by -ConfigPath, $env:REGISTRY_CLEANER_CONFIG, ./config.yaml or the module's bundled config.yaml, then environment variables (REGISTRY_URL, REPOSITORY, REGISTRY_USERNAME, REGISTRY_PASSWORD, PLATFORM_NAMESPACE, COMPUTE_NAMESPACE, MONGODB_URI, MONGODB_USERNAME, MONGODB_PASSWORD, KUBECONFIG). Secrets (registry.password, mongo.password, mongo.uri) show as ******** when set and are never written anywhere. Unknown keys in the file are reported as warnings naming the closest known key.</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "RegistryCleanerConfig")]
[OutputType(OutputTypeNames.ConfigEntry)]
public sealed class GetRegistryCleanerConfigCommand : RegistryCleanerCmdlet
{
    /// <summary>The mask shown for a secret that is set.</summary>
    public const string SecretMask = "********";

    /// <summary>
    /// <para type="description">Only these keys (wildcards allowed), e.g. registry.* or *timeout.</para>
    /// </summary>
    [Parameter(Position = 0)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(Completion.ConfigKeyCompleter))]
    public string[]? Key { get; set; }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        string[] keys = this.Key ?? ["*"];
        WildcardPattern[] patterns = keys.Select(k => new WildcardPattern(k, WildcardOptions.IgnoreCase)).ToArray();
        for (int i = 0; i < keys.Length; i++)
        {
            // A name that matches no key is a typo worth saying (as Get-Item does), naming the closest key; a wildcard
            // that matches nothing is an empty answer, as Get-ChildItem gives.
            if (!WildcardPattern.ContainsWildcardCharacters(keys[i]) && !this.Configuration.Values.Any(v => patterns[i].IsMatch(v.Key.Name)))
            {
                this.WriteError(new ErrorRecord(
                    new ItemNotFoundException($"'{keys[i]}' is not a configuration key. Did you mean '{ConfigSchema.Closest(keys[i])}'? Get-RegistryCleanerConfig without -Key lists every key."),
                    "ConfigKeyNotFound",
                    ErrorCategory.ObjectNotFound,
                    keys[i]));
            }
        }

        foreach (ConfigValue value in this.Configuration.Values)
        {
            if (!patterns.Any(p => p.IsMatch(value.Key.Name)))
            {
                continue;
            }

            object? shown = value.Key.Kind == ConfigValueKind.Secret && value.Value is not null ? SecretMask
                : value.Value is string[] list ? TextList.From(list) : value.Value;
            this.WriteTyped(
                new ConfigEntry(
                    value.Key.Name,
                    shown,
                    value.Source.ToString(),
                    value.Key.EnvironmentVariable,
                    value.Source == ConfigSource.File ? this.Configuration.FilePath : null,
                    value.Key.Description),
                OutputTypeNames.ConfigEntry);
        }
    }
}
