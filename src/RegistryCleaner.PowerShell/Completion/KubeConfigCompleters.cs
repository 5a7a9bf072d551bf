using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Management.Automation.Runspaces;
using RegistryCleaner.Configuration;
using RegistryCleaner.Workloads;

namespace RegistryCleaner.PowerShell.Completion;

/// <summary>Completes <c>-Context</c> with the context names of the kubeconfig the command would read.</summary>
public sealed class KubeContextCompleter : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(
        string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        KubeConfigContexts? file = CompletionInputs.ReadKubeConfig(fakeBoundParameters);
        return file is null
            ? []
            : CompletionInputs.Complete(file.Contexts.Select(c => c.Name), wordToComplete, "Context");
    }
}

/// <summary>
/// Completes <c>-Namespace</c> with the namespaces the kubeconfig's contexts set, plus Domino's compute and platform
/// namespaces from the configuration.
/// </summary>
public sealed class KubeNamespaceCompleter : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(
        string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var names = new List<string>();
        if (CompletionInputs.ReadKubeConfig(fakeBoundParameters) is { } file)
        {
            names.AddRange(file.Contexts.Select(c => c.Namespace).OfType<string>());
        }

        if (CompletionInputs.LoadConfiguration(fakeBoundParameters) is { } config)
        {
            names.AddRange(new[] { config.GetString(ConfigSchema.ComputeNamespace), config.GetString(ConfigSchema.PlatformNamespace) }.OfType<string>());
            names.AddRange(config.GetList(ConfigSchema.Namespaces));
        }

        return CompletionInputs.Complete(names, wordToComplete, "Namespace");
    }
}

/// <summary>What completers share: where the kubeconfig and configuration are, and how results are shaped.</summary>
internal static class CompletionInputs
{
    /// <summary>Reads the kubeconfig named by a typed -KubeConfig, else KUBECONFIG, else ~/.kube/config; null on any problem.</summary>
    public static KubeConfigContexts? ReadKubeConfig(IDictionary? fakeBoundParameters)
    {
        try
        {
            string? given = fakeBoundParameters?["KubeConfig"] as string;
            string? path = KubeConfigLocator.Resolve(string.IsNullOrWhiteSpace(given) ? null : Rooted(given));
            return path is null ? null : KubeConfigContexts.Read(path);
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or ArgumentException or UnauthorizedAccessException or NotSupportedException)
        {
            // A completer never throws: no suggestions is the answer to an unreadable kubeconfig.
            return null;
        }
    }

    /// <summary>Loads the configuration the command would (-ConfigPath, current folder, bundled); null on any problem.</summary>
    public static RegistryCleanerConfiguration? LoadConfiguration(IDictionary? fakeBoundParameters)
    {
        try
        {
            string? configPath = fakeBoundParameters?["ConfigPath"] as string;
            var lookup = new ConfigLookup(
                string.IsNullOrWhiteSpace(configPath) ? null : Rooted(configPath),
                CompletionText.CurrentDirectory(),
                System.IO.Path.Combine(RegistryCleanerCmdlet.ModuleRoot, "config.yaml"),
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

    /// <summary>The strings of a value typed so far: one string, or each string of an array.</summary>
    public static string[] Strings(object? value) => (value is PSObject wrapped ? wrapped.BaseObject : value) switch
    {
        string text => [text],
        IEnumerable list => list.Cast<object?>().Select(v => v is PSObject p ? p.BaseObject : v).OfType<string>().ToArray(),
        _ => [],
    };

    /// <summary>Distinct, sorted values that start with what was typed, quoted when they need it.</summary>
    public static IEnumerable<CompletionResult> Complete(IEnumerable<string> values, string? wordToComplete, string what)
    {
        string typed = (wordToComplete ?? "").Trim('\'', '"');
        return values
            .Where(v => v.Length > 0 && v.StartsWith(typed, StringComparison.OrdinalIgnoreCase))
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.OrdinalIgnoreCase)
            .Select(v => CompletionText.Result(v, what))
            .ToArray();
    }

    private static string Rooted(string path) => System.IO.Path.IsPathRooted(path) ? path : System.IO.Path.Combine(CompletionText.CurrentDirectory(), path);
}
