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

        // The reader's working tables (one entry per manifest, configuration and blob) are garbage now: return them
        // before the per-blob tallies are built, so the two never add up in the process's peak.
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        if (this.UniqueBytes.IsPresent)
        {
            IReadOnlyDictionary<TagRecord, long> unique = InventoryViews.UniqueBytesByTag(inventory);
            foreach (RegistryImage image in InventoryViews.EnumerateImages(inventory))
            {
                long bytes = unique.GetValueOrDefault(new TagRecord(image.Repository, image.Tag, image.Digest));
                this.WriteTyped(
                    new TagBytes(image.Registry, image.Repository, image.Tag, image.Digest, image.ObjectId, image.Size, bytes, image.Size - bytes),
                    OutputTypeNames.TagBytes);
            }

            return;
        }

        foreach (RegistryLayer layer in InventoryViews.EnumerateLayers(inventory))
        {
            this.WriteTyped(layer, OutputTypeNames.RegistryLayer);
        }
    }
}
