using RegistryCleaner.Backup;
using RegistryCleaner.Tests.Graph;
using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.Backup;

/// <summary>
/// Backups of real images with signatures, SBOMs and indexes of indexes (the graph scenario, distribution 2.8 with the
/// referrers tag schema): everything a DELETE takes goes into the backup, and comes back after garbage collection.
/// </summary>
[Collection(GraphImagesCollection.Name)]
public sealed class ReferrerBackupTests(GraphImages images)
{
    [Fact]
    public async Task Signatures_SBOMs_and_nested_indexes_deleted_with_their_images_come_back_from_the_backup_after_garbage_collection()
    {
        await using GraphScenario scenario = await GraphScenario.CreateAsync(images);
        using var session = new PowerShellSession(scenario.Folder);
        string backup = Path.Combine(scenario.Folder, "backup");
        SortedSet<string> before = await scenario.TagsAsync();

        PowerShellResult removed = session.Run($"Remove-UnusedImage -Registry '{scenario.Registry.Registry}' -Repository 'team/*' -InUse {scenario.InUse} -BackupPath '{backup}' -JournalPath j.jsonl -Confirm:$false");

        Assert.Null(removed.Terminating);
        Assert.Empty(removed.Errors);
        Assert.All(removed.Output, o => Assert.Equal("Deleted", o.Properties["Status"].Value.ToString()));
        OciImageLayout layout = OciImageLayout.Open(backup, create: false);
        IReadOnlyList<BackedUpImage> backedUp = BackedUpImage.FromLayout(layout);
        Assert.Contains(backedUp, i => i.Tags.Contains(scenario.SchemaTag("b-1", ".sig")));
        Assert.Contains(backedUp, i => i.Tags.Contains(scenario.SchemaTag("b-1")));
        Assert.NotNull(layout.BlobSize(scenario.Stored["b-sbom"].Digest)); // a child of the referrers index
        Assert.NotNull(layout.BlobSize(scenario.Stored["multi2"].Digest)); // the inner index of nested-old
        Assert.True(scenario.GarbageCollect() > 0);
        Assert.False(await scenario.ExistsAsync(GraphScenario.Env, scenario.Stored["multi2"].Digest));

        PowerShellResult restored = session.Run($"Restore-RegistryImage -BackupPath '{backup}' -Registry '{scenario.Registry.Registry}' -Confirm:$false");

        Assert.Null(restored.Terminating);
        Assert.Empty(restored.Errors);
        Assert.All(restored.Output, o => Assert.Equal("Restored", o.Properties["Status"].Value.ToString()));
        Assert.Equal(before, await scenario.TagsAsync());
        Assert.True(await scenario.ExistsAsync(GraphScenario.Env, scenario.Stored["b-sbom"].Digest));
        Assert.True(await scenario.ExistsAsync(GraphScenario.Env, scenario.Stored["multi2"].Digest));
        await scenario.AssertEveryKeptTagPullsWholeAsync();
    }
}
