using System.Management.Automation;
using RegistryCleaner.Registry;

namespace RegistryCleaner.PowerShell.Commands;

/// <summary>
/// Lists the distinct blobs (layers and image configurations) of a registry, each counted once, with the tags that need them.
/// </summary>
[Cmdlet(VerbsCommon.Get, "RegistryLayer", DefaultParameterSetName = AllSet)]
[OutputType(OutputTypeNames.RegistryLayer, OutputTypeNames.TagBytes)]
public sealed class GetRegistryLayerCommand : RegistryInventoryCmdlet
{
    /// <summary>Emits one RegistryCleaner.TagBytes per tag (Size, UniqueBytes, SharedBytes) instead of one RegistryCleaner.RegistryLayer per blob.</summary>
    [Parameter]
    public SwitchParameter UniqueBytes { get; set; }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        RegistryInventory inventory = this.ReadInventory(static (_, _, _) => { });
        if (this.UniqueBytes.IsPresent)
        {
            IReadOnlyDictionary<TagRecord, long> unique = InventoryViews.UniqueBytesByTag(inventory);
            foreach (RegistryImage image in InventoryViews.Images(inventory))
            {
                long bytes = unique.GetValueOrDefault(new TagRecord(image.Repository, image.Tag, image.Digest));
                this.WriteTyped(
                    new TagBytes(image.Registry, image.Repository, image.Tag, image.Digest, image.ObjectId, image.Size, bytes, image.Size - bytes),
                    OutputTypeNames.TagBytes);
            }

            return;
        }

        foreach (RegistryLayer layer in InventoryViews.Layers(inventory))
        {
            this.WriteTyped(layer, OutputTypeNames.RegistryLayer);
        }
    }
}
