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
        RegistryCleanerConfiguration? configuration = CompletionInputs.LoadConfiguration(fakeBoundParameters);
        if (configuration is not null)
        {
            names.AddRange(configuration.DefaultRepositories());
        }

        names.AddRange(CompletionRegistry.Ask(fakeBoundParameters, configuration, static (client, token) => client.GetCatalogAsync(1000, token)) ?? []);
        return CompletionInputs.Complete(names, wordToComplete, "Repository");
    }
}

/// <summary>
/// Completes <c>-Tag</c> with the tags of the repositories typed so far in -Repository (names, not wildcards), else
/// of the configured default repositories, read from the registry the command would read, as
/// <see cref="RepositoryCompleter"/> does. It gives up after a few seconds, never throws, and never suggests file
/// names: no suggestions is the answer to any problem.
/// </summary>
public sealed class TagCompleter : IArgumentCompleter
{
    /// <summary>At most this many repositories are listed for one completion.</summary>
    private const int MaxRepositories = 4;

    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(
        string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        RegistryCleanerConfiguration? configuration = CompletionInputs.LoadConfiguration(fakeBoundParameters);
        string[] typed = CompletionInputs.Strings(fakeBoundParameters?["Repository"]);
        IReadOnlyList<string> repositories = typed.Length > 0 ? typed : configuration?.DefaultRepositories() ?? [];
        string[] names = repositories
            .Where(r => !WildcardPattern.ContainsWildcardCharacters(r) && RegistryNames.IsRepository(r))
            .Distinct(StringComparer.Ordinal)
            .Take(MaxRepositories)
            .ToArray();
        if (names.Length == 0)
        {
            return [];
        }

        IReadOnlyList<string> tags = CompletionRegistry.Ask(fakeBoundParameters, configuration, async (client, token) =>
        {
            var found = new List<string>();
            foreach (string repository in names)
            {
                try
                {
                    found.AddRange(await client.ListTagsAsync(repository, 1000, token).ConfigureAwait(false));
                }
                catch (RepositoryNotFoundException)
                {
                    // A repository typed but not (yet) in the registry has no tags to offer.
                }
            }

            return (IReadOnlyList<string>)found;
        }) ?? [];
        return CompletionInputs.Complete(tags, wordToComplete, "Tag");
    }
}

/// <summary>How completers ask the registry: briefly, with the credentials the command would use, never throwing.</summary>
internal static class CompletionRegistry
{
    /// <summary>
    /// Connects to the registry the command would read (-Registry, -Credential, -SkipCertificateCheck as typed, else
    /// the configuration, which <see cref="CompletionInputs.LoadConfiguration"/> has already refused when it is an
    /// implicit file someone else could have written) and asks it, within <see cref="RepositoryCompleter.Timeout"/>.
    /// </summary>
    /// <typeparam name="T">What the question returns.</typeparam>
    /// <param name="bound">The parameters typed so far.</param>
    /// <param name="configuration">The configuration, or <see langword="null"/> when there is none to trust.</param>
    /// <param name="ask">The question.</param>
    /// <returns>The answer, or <see langword="null"/> on any problem (no registry, refused, timed out).</returns>
    public static T? Ask<T>(IDictionary? bound, RegistryCleanerConfiguration? configuration, Func<RegistryClient, CancellationToken, Task<T>> ask)
        where T : class
    {
        try
        {
            string? registry = Unwrap(bound?["Registry"]) as string ?? configuration?.GetString(ConfigSchema.RegistryUrl);
            if (string.IsNullOrWhiteSpace(registry))
            {
                return null;
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
                Timeout = RepositoryCompleter.Timeout,
                MaxConcurrency = 1,
            });
            using var cancel = new CancellationTokenSource(RepositoryCompleter.Timeout);
            return Task.Run(() => ask(client, cancel.Token), cancel.Token).GetAwaiter().GetResult();
        }
        catch (Exception ex) when (ex is RegistryException or OperationCanceledException or HttpRequestException or IOException
            or InvalidOperationException or ArgumentException or FormatException or UnauthorizedAccessException or WebException
            or System.Security.Authentication.AuthenticationException or AggregateException)
        {
            return null;
        }
    }

    private static object? Unwrap(object? value) => value is PSObject wrapped ? wrapped.BaseObject : value;
}
