using System.Management.Automation;
using RegistryCleaner.Configuration;
using RegistryCleaner.Domino;
using RegistryCleaner.Registry;

namespace RegistryCleaner.PowerShell.Commands;

/// <summary>
/// Lists the tags of a Docker/OCI registry with their digest, size, layers, platforms and creation time.
/// </summary>
[Cmdlet(VerbsCommon.Get, "RegistryImage", DefaultParameterSetName = AllSet)]
[OutputType(OutputTypeNames.RegistryImage)]
public sealed class GetRegistryImageCommand : RegistryInventoryCmdlet, IMongoConnectionParameters
{
    /// <summary>Reads Domino's records (environment revisions, model versions, environments, models, projects, users) first, so each image carries EnvironmentName, Project and Owner.</summary>
    [Parameter]
    public SwitchParameter MongoUsage { get; set; }

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

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        DominoImageCatalog? catalog = this.ReadDominoCatalog();
        this.ReadInventory((registry, result, queue) =>
        {
            RegistryImage image = ToImage(registry, result);
            if (catalog?.Describe(image.Repository, image.Tag) is { } owner)
            {
                image = image with { EnvironmentName = owner.EnvironmentName, Project = owner.Project, Owner = owner.Owner ?? owner.OwnerName };
            }

            queue.Output(image, OutputTypeNames.RegistryImage);
        },
        keepInventory: false);
    }

    /// <summary>Builds the image of one tag from its own manifests, so it can be emitted before the rest are read.</summary>
    /// <param name="registry">The registry display name.</param>
    /// <param name="result">A tag read successfully.</param>
    /// <returns>The image.</returns>
    internal static RegistryImage ToImage(string registry, TagReadResult result)
    {
        ManifestRecord manifest = result.Manifest ?? throw new ArgumentException("The tag was not read.", nameof(result));
        return InventoryViews.Image(registry, result.Repository, result.Tag, manifest, result.Children);
    }

    /// <summary>Reads Domino's catalog when -MongoUsage (or mongo.usage: true) asks for it; input is checked first.</summary>
    private DominoImageCatalog? ReadDominoCatalog()
    {
        bool wanted = this.MyInvocation.BoundParameters.ContainsKey(nameof(this.MongoUsage))
            ? this.MongoUsage.IsPresent
            : this.Configuration.GetString(ConfigSchema.MongoUsage) == "true";
        if (!wanted)
        {
            return null;
        }

        _ = this.ResolveObjectIds(this.ObjectId, this.ObjectIdPath);
        _ = this.ResolveEndpoint();
        return this.ReadDominoCatalog(this);
    }
}
