using System.Globalization;
using System.Management.Automation;
using RegistryCleaner.Domino;

namespace RegistryCleaner.PowerShell.Commands;

/// <summary>
/// Lists every image reference in Domino's MongoDB records: which run, workspace, project, scheduled job, organization, user, app or model version pins which image, for whom, and when it was last used.
/// </summary>
[Cmdlet(VerbsCommon.Get, "DominoImageUsage")]
[OutputType(OutputTypeNames.DominoImageUsage)]
public sealed class GetDominoImageUsageCommand : RemoteCmdlet, IMongoConnectionParameters
{
    /// <summary>Only references that concern these ObjectIds (24 hex characters): the image's tag belongs to the id (an environment or model), or the id is the record, its environment, revision, model or project.</summary>
    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    public string[]? ObjectId { get; set; }

    /// <summary>A file of ObjectIds to narrow to: the first column of each line; blank and # lines are skipped.</summary>
    [Parameter]
    [Alias("File")]
    [ValidateNotNullOrEmpty]
    public string? ObjectIdPath { get; set; }

    /// <summary>Only runs that started or ended in the last N days (or have not started yet, or have no completed time: still running) are listed, as Get-UnusedImage -UnusedSince counts them.</summary>
    [Parameter]
    [ValidateRange(1, 36500)]
    public int UnusedSince { get; set; }

    /// <summary>The MongoDB connection string.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? MongoUri { get; set; }

    /// <summary>The MongoDB user and password.</summary>
    [Parameter]
    [Credential]
    public PSCredential? MongoCredential { get; set; }

    /// <summary>The Domino database.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Database { get; set; }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        // Everything the user typed is checked before MongoDB is contacted.
        IReadOnlyList<string>? narrow = this.ResolveObjectIds(this.ObjectId, this.ObjectIdPath);
        var options = new DominoUsageOptions
        {
            RunsSince = this.MyInvocation.BoundParameters.ContainsKey(nameof(this.UnusedSince)) ? DateTimeOffset.UtcNow.AddDays(-this.UnusedSince) : null,
            EnvironmentRepository = this.Configuration.DominoRepositories()[0],
        };
        MongoConnectionSettings settings = MongoConnectionParameters.ToSettings(this, this.Configuration, this.EffectiveTimeout);
        using MongoConnection connection = MongoConnectionParameters.Open(this, settings);
        DominoUsageReport report;
        try
        {
            this.WriteVerbose("Reading the images Domino's records pin" + (options.RunsSince is { } since ? string.Create(CultureInfo.InvariantCulture, $" (runs since {since:yyyy-MM-dd})") : string.Empty) + ".");
            report = this.RunEngine((_, token) => connection.Domino.ReadImageUsageAsync(options, token));
        }
        catch (DominoDatabaseException ex)
        {
            this.ThrowTerminatingError(MongoConnectionParameters.ErrorRecord(ex, settings.Target));
            throw;
        }

        foreach (string note in report.Notes)
        {
            this.WriteVerbose("Domino: " + note);
        }

        int written = 0;
        foreach (DominoImageReference reference in report.References)
        {
            if (narrow is null || narrow.Any(reference.Concerns))
            {
                this.WriteTyped(reference, OutputTypeNames.DominoImageUsage);
                written++;
            }
        }

        this.WriteVerbose(string.Create(CultureInfo.InvariantCulture, $"{written} of {report.References.Count} image references written."));
    }
}
