using System.Management.Automation;
using RegistryCleaner.Configuration;
using RegistryCleaner.Registry;
using RegistryCleaner.Workloads;

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
/// Shows RegistryCleaner's effective configuration: every key, its value and where the value came from.
/// </summary>
[Cmdlet(VerbsCommon.Get, "RegistryCleanerConfig")]
[OutputType(OutputTypeNames.ConfigEntry)]
public sealed class GetRegistryCleanerConfigCommand : RegistryCleanerCmdlet
{
    /// <summary>The mask shown for a secret that is set.</summary>
    public const string SecretMask = "********";

    /// <summary>The row that names the registry credential source in use (not a key that can be set).</summary>
    public const string CredentialSourceKey = "registry.credential_source";

    /// <summary>Only these keys (wildcards allowed), e.g. registry.* or *timeout.</summary>
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
            if (!WildcardPattern.ContainsWildcardCharacters(keys[i]) && !patterns[i].IsMatch(CredentialSourceKey) && !this.Configuration.Values.Any(v => patterns[i].IsMatch(v.Key.Name)))
            {
                this.WriteError(new ErrorRecord(
                    new ItemNotFoundException($"'{keys[i]}' is not a configuration key. Did you mean '{ConfigSchema.Closest(keys[i])}'? Get-RegistryCleanerConfig without -Key lists every key."),
                    ErrorIds.ConfigKeyNotFound,
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
            this.WarnIfUnusable(value);
        }

        if (patterns.Any(p => p.IsMatch(CredentialSourceKey)))
        {
            this.WriteTyped(this.CredentialSourceEntry(), OutputTypeNames.ConfigEntry);
        }
    }

    // A value the file may hold but no command can use is said when it is shown, not only when a command stops on it.
    private void WarnIfUnusable(ConfigValue value)
    {
        if (value.Key.Name != ConfigSchema.RegistryKind)
        {
            return;
        }

        try
        {
            _ = RegistryKinds.ParseSetting(value.Value as string);
        }
        catch (FormatException ex)
        {
            this.WriteWarning($"{ex.Message} Every command that talks to the registry stops on it ({ErrorIds.RegistryKindInvalid}); set registry.kind to one of them, or to auto.");
        }
    }

    // Which source the registry cmdlets would take credentials from for registry.url, found the way they find it
    // (so a credential helper is asked and a configured pull secret read); the value names the source, never the secret.
    private ConfigEntry CredentialSourceEntry()
    {
        const string Description = "The registry credential source the registry cmdlets would use for registry.url without -Credential or -CredentialSecret: the first of REGISTRY_USERNAME/REGISTRY_PASSWORD, registry.username/password, registry.credential_secret, Docker config.json (auths, credHelpers, credsStore), Podman auth.json, else anonymous. Shown, never set.";
        string value;
        try
        {
            RegistryEndpoint endpoint = RegistryEndpoint.Parse(this.Configuration.GetString(ConfigSchema.RegistryUrl) ?? string.Empty);
            var notes = new List<string>();
            Action<string> note = text =>
            {
                lock (notes)
                {
                    notes.Add(text);
                }
            };
            RegistryCredential? credential = Task.Run(() => RegistryCredentialChain.ResolveAsync(
                this.Configuration,
                endpoint,
                new CredentialChainInput { Timeout = TimeSpan.FromSeconds(Math.Max(1, this.Configuration.GetInt32(ConfigSchema.Timeout))) },
                note,
                this.StopToken)).GetAwaiter().GetResult();
            foreach (string text in notes)
            {
                this.WriteVerbose(text);
            }

            value = credential?.Source ?? RegistryCredentialChain.Anonymous;
        }
        catch (Exception ex) when (ex is FormatException or InvalidDataException or CredentialHelperException or PullSecretUnreadableException or IOException or UnauthorizedAccessException)
        {
            // The messages name files and helpers, never what a helper wrote.
            value = $"none: {ex.Message}";
        }

        return new ConfigEntry(CredentialSourceKey, value, "Lookup", null, null, Description);
    }
}
