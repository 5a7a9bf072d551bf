using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Management.Automation.Runspaces;
using System.Net;
using RegistryCleaner.Configuration;
using RegistryCleaner.Registry;

namespace RegistryCleaner.PowerShell.Completion;

/// <summary>
/// Completes <c>-Repository</c> with the catalog of the registry the command would read (-Registry, -Credential,
/// -SkipCertificateCheck and -ConfigPath as typed so far, else the configuration), plus the configured default
/// repositories. It gives up after a few seconds and never throws: no suggestions is the answer to any problem.
/// </summary>
public sealed class RepositoryCompleter : IArgumentCompleter
{
    /// <summary>How long completion may wait for the registry.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(3);

    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(
        string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var names = new List<string>();
        RegistryCleanerConfiguration? configuration = LoadConfiguration(fakeBoundParameters);
        if (configuration is not null)
        {
            names.AddRange(configuration.DefaultRepositories());
        }

        names.AddRange(ReadCatalog(fakeBoundParameters, configuration));
        string typed = (wordToComplete ?? string.Empty).Trim('\'', '"');
        return names
            .Where(n => n.Length > 0 && n.StartsWith(typed, StringComparison.OrdinalIgnoreCase))
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.OrdinalIgnoreCase)
            .Select(n => CompletionText.Result(n, "Repository"))
            .ToArray();
    }

    private static IReadOnlyList<string> ReadCatalog(IDictionary? bound, RegistryCleanerConfiguration? configuration)
    {
        try
        {
            string? registry = bound?["Registry"] as string ?? configuration?.GetString(ConfigSchema.RegistryUrl);
            if (string.IsNullOrWhiteSpace(registry))
            {
                return [];
            }

            RegistryEndpoint endpoint = RegistryEndpoint.Parse(registry);
            RegistryCredential? credential = null;
            if (Unwrap(bound?["Credential"]) is PSCredential given)
            {
                credential = new RegistryCredential(given.UserName, given.GetNetworkCredential().Password);
            }
            else if (configuration?.GetString(ConfigSchema.RegistryPassword) is { Length: > 0 } password)
            {
                credential = new RegistryCredential(configuration.GetString(ConfigSchema.RegistryUsername) ?? RegistryCredentialResolver.DefaultUsername, password);
            }
            else
            {
                credential = RegistryCredentialResolver.Resolve(endpoint, null, name => Environment.GetEnvironmentVariable(name), null);
            }

            bool skip = Unwrap(bound?["SkipCertificateCheck"]) switch
            {
                SwitchParameter s => s.IsPresent,
                bool b => b,
                _ => configuration?.GetBoolean(ConfigSchema.RegistrySkipCertificateCheck) ?? false,
            };
            using var client = new RegistryClient(endpoint, new RegistryClientOptions
            {
                Credential = credential,
                SkipCertificateCheck = skip,
                TokenRealmHosts = configuration?.GetList(ConfigSchema.RegistryTokenRealmHosts) ?? [],
                Timeout = Timeout,
                MaxConcurrency = 1,
            });
            using var cancel = new CancellationTokenSource(Timeout);
            return Task.Run(() => client.GetCatalogAsync(1000, cancel.Token), cancel.Token).GetAwaiter().GetResult();
        }
        catch (Exception ex) when (ex is RegistryException or OperationCanceledException or HttpRequestException or IOException
            or InvalidOperationException or ArgumentException or FormatException or UnauthorizedAccessException or WebException
            or System.Security.Authentication.AuthenticationException or AggregateException)
        {
            return [];
        }
    }

    private static RegistryCleanerConfiguration? LoadConfiguration(IDictionary? bound)
    {
        try
        {
            string current = CompletionText.CurrentDirectory();
            string? configPath = bound?["ConfigPath"] as string;
            string moduleRoot = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(typeof(RepositoryCompleter).Assembly.Location) ?? ".", "..", ".."));
            var lookup = new ConfigLookup(
                string.IsNullOrWhiteSpace(configPath) ? null : Path.GetFullPath(configPath, current),
                current,
                Path.Combine(moduleRoot, "config.yaml"),
                ConfigLookup.ProcessEnvironment());
            return RegistryCleanerConfiguration.Load(lookup);
        }
        catch (Exception ex) when (ex is ConfigurationException or IOException or InvalidOperationException or ArgumentException or UnauthorizedAccessException)
        {
            // Also an implicit file someone else may have written (ConfigFileUnsafeException): nothing is completed
            // from it, and the registry it names never hears from a TAB press.
            return null;
        }
    }

    private static object? Unwrap(object? value) => value is PSObject wrapped ? wrapped.BaseObject : value;
}
