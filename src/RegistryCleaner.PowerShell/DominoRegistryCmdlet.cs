using System.Management.Automation;

namespace RegistryCleaner.PowerShell;

/// <summary>
/// The base of the registry cmdlets that also read Domino's MongoDB records (Compare-DominoRegistry,
/// Find-ArchivedEnvTag, Remove-MongoEnvRevision and the unused-image cmdlets): the MongoDB connection parameters,
/// declared once, which <see cref="MongoConnectionParameters"/> turns into settings with their configuration defaults.
/// </summary>
public abstract class DominoRegistryCmdlet : RegistryCmdlet, IMongoConnectionParameters
{
    /// <summary>The MongoDB connection string for Domino's records.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? MongoUri { get; set; }

    /// <summary>MongoDB credentials for Domino's records.</summary>
    [Parameter]
    [Credential]
    public PSCredential? MongoCredential { get; set; }

    /// <summary>Domino's database.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Database { get; set; }
}
