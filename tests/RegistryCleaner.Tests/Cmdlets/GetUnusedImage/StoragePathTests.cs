using RegistryCleaner.Tests.Faults;
using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.Graph;

/// <summary>-StoragePath typed wrong: a folder that is no registry's storage, or another registry's, stops the command before it plans.</summary>
public sealed class StoragePathTests
{
    [Fact]
    public async Task A_folder_that_is_not_this_registrys_storage_stops_the_command_with_a_clear_error()
    {
        await using FaultRegistry registry = await FaultRegistry.CreateAsync();
        using var session = new PowerShellSession(registry.Folder);
        string common = $"-Registry '{registry.Server.Registry}' -Repository 'app/*' -InUse @()";

        PowerShellResult typo = session.Run($"Get-UnusedImage {common} -StoragePath ./no-such-folder");
        System.Management.Automation.ErrorRecord missing = Deletion.RemoveUnusedImageTests.StoppingError(typo);
        Assert.Equal("StoragePathInvalid", missing.FullyQualifiedErrorId.Split(',')[0]);
        Assert.Contains("does not exist", missing.Exception.Message, StringComparison.Ordinal);
        Assert.Contains("rootdirectory", missing.Exception.Message, StringComparison.Ordinal);

        // The registry's config folder, one level too high: it holds the storage, it is not it.
        PowerShellResult parent = session.Run($"Get-UnusedImage {common} -StoragePath '{Path.GetDirectoryName(registry.Server.StoragePath)}'");
        System.Management.Automation.ErrorRecord notStorage = Deletion.RemoveUnusedImageTests.StoppingError(parent);
        Assert.Equal("StoragePathInvalid", notStorage.FullyQualifiedErrorId.Split(',')[0]);
        Assert.Contains("docker/registry/v2", notStorage.Exception.Message, StringComparison.Ordinal);

        // Another registry's storage: none of this registry's tags are in it.
        string other = Path.Combine(registry.Folder, "other-storage");
        Directory.CreateDirectory(Path.Combine(other, "docker", "registry", "v2", "repositories", "app", "web", "_manifests", "tags"));
        Directory.CreateDirectory(Path.Combine(other, "docker", "registry", "v2", "blobs"));
        PowerShellResult mismatch = session.Run($"Remove-UnusedImage {common} -StoragePath '{other}' -JournalPath j.jsonl -Confirm:$false");
        System.Management.Automation.ErrorRecord wrong = Deletion.RemoveUnusedImageTests.StoppingError(mismatch);
        Assert.Equal("StoragePathMismatch", wrong.FullyQualifiedErrorId.Split(',')[0]);
        Assert.Contains("is not the storage of registry", wrong.Exception.Message, StringComparison.Ordinal);
        Assert.Empty(mismatch.Output);
        Assert.False(File.Exists(Path.Combine(registry.Folder, "j.jsonl")));
        Assert.Equal(FaultRegistry.Tags.Order(StringComparer.Ordinal), await registry.RemainingTagsAsync());
    }
}
