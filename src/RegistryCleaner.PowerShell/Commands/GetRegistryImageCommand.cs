using System.Management.Automation;
using RegistryCleaner.Registry;

namespace RegistryCleaner.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Lists the tags of a Docker/OCI registry with their digest, size, layers, platforms and creation time.</para>
/// <para type="description">Emits one RegistryCleaner.RegistryImage per tag as soon as its manifest has been read. Size counts each distinct blob of the image once (config and layers; for a multi-arch index, the blobs of all the images under it, at any depth). A referrer (signature, SBOM) shows its Subject and ArtifactType.</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "RegistryImage", DefaultParameterSetName = AllSet)]
[OutputType(OutputTypeNames.RegistryImage)]
public sealed class GetRegistryImageCommand : RegistryInventoryCmdlet
{
    /// <inheritdoc />
    protected override void EndProcessing() => this.ReadInventory((registry, result, queue) =>
        queue.Output(ToImage(registry, result), OutputTypeNames.RegistryImage));

    /// <summary>Builds the image of one tag from its own manifests, so it can be emitted before the rest are read.</summary>
    /// <param name="registry">The registry display name.</param>
    /// <param name="result">A tag read successfully.</param>
    /// <returns>The image.</returns>
    internal static RegistryImage ToImage(string registry, TagReadResult result)
    {
        ManifestRecord manifest = result.Manifest ?? throw new ArgumentException("The tag was not read.", nameof(result));
        var single = new RegistryInventory(
            registry,
            [result.Repository],
            [new TagRecord(result.Repository, result.Tag, manifest.Digest)],
            [manifest, .. result.Children],
            Complete: false);
        return InventoryViews.Images(single)[0];
    }
}
