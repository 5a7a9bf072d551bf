using System.Management.Automation;
using RegistryCleaner.Registry;

namespace RegistryCleaner.PowerShell;

/// <summary>Which name of the distribution grammar a parameter holds.</summary>
public enum RegistryNameKind
{
    /// <summary>A repository, e.g. <c>dominodatalab/environment</c> (a leading or trailing <c>/</c> is ignored, as the cmdlets trim it).</summary>
    Repository,

    /// <summary>A tag.</summary>
    Tag,
}

/// <summary>
/// Refuses a literal -Repository or -Tag that is not a name by the distribution grammar (a typo in case, a path with
/// <c>..</c> or <c>%2F</c>) with a parameter error that says why, before anything is sent. Values with wildcards are
/// patterns matched against the registry's names, not names, and pass. A null (an untagged image or a digest-only
/// workload reference piped by property name) is no name and passes too: each cmdlet decides what a missing tag means.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class ValidateRegistryNameAttribute : ValidateArgumentsAttribute
{
    /// <summary>Initializes the attribute.</summary>
    /// <param name="kind">Which name the parameter holds.</param>
    public ValidateRegistryNameAttribute(RegistryNameKind kind) => this.Kind = kind;

    /// <summary>Gets which name the parameter holds.</summary>
    public RegistryNameKind Kind { get; }

    /// <inheritdoc />
    protected override void Validate(object arguments, EngineIntrinsics engineIntrinsics)
    {
        object? value = arguments is PSObject wrapped ? wrapped.BaseObject : arguments;
        if (value is System.Collections.IEnumerable list and not string)
        {
            foreach (object? element in list)
            {
                this.ValidateElement(element);
            }
        }
        else
        {
            this.ValidateElement(value);
        }
    }

    private void ValidateElement(object? element)
    {
        if ((element is PSObject wrapped ? wrapped.BaseObject : element) is not string value || WildcardPattern.ContainsWildcardCharacters(value))
        {
            return;
        }

        string? error = this.Kind == RegistryNameKind.Repository
            ? RegistryNames.RepositoryError(value.Trim('/'))
            : RegistryNames.TagError(value);
        if (error is not null)
        {
            throw new ValidationMetadataException(char.ToUpperInvariant(error[0]) + error[1..] + ".");
        }
    }
}
