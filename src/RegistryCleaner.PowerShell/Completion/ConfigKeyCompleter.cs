using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using RegistryCleaner.Configuration;

namespace RegistryCleaner.PowerShell.Completion;

/// <summary>
/// Completes <c>Get-RegistryCleanerConfig -Key</c> with the keys the schema knows, their descriptions as tooltips. It
/// reads no file: the keys are the same whatever the configuration says.
/// </summary>
public sealed class ConfigKeyCompleter : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(
        string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        string typed = (wordToComplete ?? string.Empty).Trim('\'', '"');
        var pattern = new WildcardPattern(typed + "*", WildcardOptions.IgnoreCase);
        return ConfigSchema.Keys
            .Where(k => pattern.IsMatch(k.Name))
            .OrderBy(k => k.Name, StringComparer.Ordinal)
            .Select(k => new CompletionResult(k.Name, k.Name, CompletionResultType.ParameterValue, k.Description))
            .ToArray();
    }
}
