using System.Management.Automation;
using RegistryCleaner.Backup;
using RegistryCleaner.Registry;
using RegistryCleaner.Tests.Deletion;
using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.Backup;

/// <summary>
/// Remove-UnusedImage -BackupPath and Restore-RegistryImage -BackupPath end to end: delete with a backup, run the real
/// garbage-collect, restore, and every image pulls whole (skopeo, an independent client, pulls each one).
/// </summary>
public sealed class BackupRoundTripTests : IAsyncLifetime
{
    private DeletionScenario scenario = null!;
    private KubernetesApiStandIn cluster = null!;
    private PowerShellSession session = null!;

    private string KubeConfig => Path.Combine(this.scenario.Folder, "kubeconfig");

    private string Backup => Path.Combine(this.scenario.Folder, "backup");

    private string Common => $"-Registry '{this.scenario.Registry.Registry}' -Repository 'dominodatalab/*' -KubeConfig '{this.KubeConfig}' -MongoUsage:$false";

    public async Task InitializeAsync()
    {
        this.scenario = await DeletionScenario.CreateAsync();
        this.cluster = await KubernetesApiStandIn.StartAsync();
        this.cluster.Add(this.scenario.Workloads);
        this.cluster.WriteKubeConfig(this.KubeConfig);
        this.session = new PowerShellSession(this.scenario.Folder);
    }

    public async Task DisposeAsync()
    {
        this.session.Dispose();
        await this.cluster.DisposeAsync();
        this.scenario.Dispose();
    }

    [Fact]
    public void WhatIf_shows_the_space_the_backup_needs_and_creates_nothing()
    {
        PowerShellResult result = this.session.Run($"Remove-UnusedImage {this.Common} -BackupPath '{this.Backup}' -WhatIf");

        Assert.Null(result.Terminating);
        string estimate = Assert.Single(result.Information, i => i.Contains("the backup to", StringComparison.Ordinal));
        long distinct = this.scenario.UnusedTags.Select(t => this.scenario.Images[t]).SelectMany(i => i.Blobs).DistinctBy(b => b.Digest).Sum(b => b.Size);
        long manifests = this.scenario.UnusedTags.Select(t => this.scenario.Images[t]).DistinctBy(i => i.Digest).Sum(i => i.Manifest.Length + i.Children.Sum(c => c.Manifest.Length));
        long copies = this.scenario.UnusedTags.Select(t => this.scenario.Images[t]).DistinctBy(i => i.Digest).Where(i => i.MediaType == MediaTypes.DockerManifest).Sum(i => i.Manifest.Length);
        Assert.Contains($"({distinct + manifests + copies} bytes)", estimate, StringComparison.Ordinal);
        Assert.Contains("are free there", estimate, StringComparison.Ordinal);
        Assert.False(Directory.Exists(this.Backup));
    }

    [Fact]
    public async Task Images_deleted_with_a_backup_come_back_after_garbage_collection_and_pull_whole()
    {
        PowerShellResult deleted = this.session.Run($"Remove-UnusedImage {this.Common} -BackupPath '{this.Backup}' -JournalPath deletions.jsonl -Confirm:$false");
        Assert.Null(deleted.Terminating);
        Assert.All(deleted.Output, o => Assert.Equal("Deleted", o.Properties["Status"].Value.ToString()));
        IReadOnlyList<BackedUpImage> backedUp = BackedUpImage.FromLayout(OciImageLayout.Open(this.Backup, create: false));
        Assert.Equal(this.scenario.UnusedTags.Order(), backedUp.SelectMany(i => i.Tags.Select(t => $"{i.Repository}:{t}")).Order());
        this.scenario.Registry.RunGarbageCollect();

        PowerShellResult restored = this.session.Run($"Restore-RegistryImage -BackupPath '{this.Backup}' -Registry '{this.scenario.Registry.Registry}' -Confirm:$false");

        Assert.Null(restored.Terminating);
        Assert.Empty(restored.Errors);
        Assert.Equal(this.scenario.UnusedTags.Order(), restored.Output.Select(o => $"{o.Properties["Repository"].Value}:{o.Properties["Tag"].Value}").Order());
        Assert.All(restored.Output, o => Assert.Equal("Restored", o.Properties["Status"].Value.ToString()));
        Assert.Contains(restored.Output, o => ((string)o.Properties["Reason"].Value).Contains("uploaded from the backup", StringComparison.Ordinal));

        using var client = new RegistryClient(RegistryEndpoint.Parse(this.scenario.Registry.Registry));
        Directory.CreateDirectory(Path.Combine(this.scenario.Folder, "pulled"));
        foreach (string name in this.scenario.UnusedTags)
        {
            string[] parts = name.Split(':');
            Assert.Equal(this.scenario.Images[name].Digest, await client.HeadManifestAsync(parts[0], parts[1], CancellationToken.None));
            Skopeo.Copy($"docker://{this.scenario.Registry.BaseAddress.Authority}/{name}", $"dir:{Path.Combine(this.scenario.Folder, "pulled", parts[1])}");
        }

        PowerShellResult check = this.session.Run($"Test-RegistryImage -Registry '{this.scenario.Registry.Registry}' -Repository *");
        Assert.True((bool)Assert.Single(check.Output).Properties["Healthy"].Value);

        // The backup is a standard layout: skopeo reads an image straight from it too.
        string twin = $"{DeletionScenario.Model}:twin-a";
        Skopeo.Copy($"oci:{this.Backup}:{twin}", $"docker://{this.scenario.Registry.BaseAddress.Authority}/copied/twin:a");
    }

    [Fact]
    public async Task With_the_journal_the_backup_gives_back_the_blobs_garbage_collection_removed()
    {
        this.session.Run($"Remove-UnusedImage {this.Common} -Include twin-* -BackupPath '{this.Backup}' -JournalPath twins.jsonl -Confirm:$false");
        this.scenario.Registry.RunGarbageCollect();

        PowerShellResult restored = this.session.Run($"Restore-RegistryImage -JournalPath twins.jsonl -BackupPath '{this.Backup}' -Registry '{this.scenario.Registry.Registry}' -Confirm:$false");

        Assert.Empty(restored.Errors);
        Assert.Equal(["twin-a", "twin-b"], restored.Output.Select(o => (string)o.Properties["Tag"].Value).Order());
        Assert.All(restored.Output, o => Assert.Equal("Restored", o.Properties["Status"].Value.ToString()));
        using var client = new RegistryClient(RegistryEndpoint.Parse(this.scenario.Registry.Registry));
        Assert.Equal(this.scenario.Images[$"{DeletionScenario.Model}:twin-a"].Digest, await client.HeadManifestAsync(DeletionScenario.Model, "twin-b", CancellationToken.None));
    }

    [Fact]
    public async Task An_image_whose_backup_fails_is_not_deleted_and_a_folder_that_is_not_a_backup_stops_the_run()
    {
        // A layer only the unused environment revision has, gone behind the registry's back: its backup cannot be read.
        PushedImage revision = this.scenario.Images[this.scenario.UnusedTags.Single(t => t.EndsWith("01-2", StringComparison.Ordinal))];
        PushedImage model = this.scenario.Images[this.scenario.UnusedTags.Single(t => t.StartsWith(DeletionScenario.Model + ":659d", StringComparison.Ordinal))];
        PushedBlob own = revision.Layers[1];
        Assert.Contains(model.Layers, l => l.Digest == own.Digest);
        File.Delete(Path.Combine(this.scenario.Registry.StoragePath, "docker", "registry", "v2", "blobs", "sha256", own.Digest[7..9], own.Digest[7..], "data"));

        PowerShellResult result = this.session.Run($"Remove-UnusedImage {this.Common} -BackupPath '{this.Backup}' -JournalPath partial.jsonl -Confirm:$false");

        Assert.Null(result.Terminating);
        PSObject[] failed = result.Output.Where(o => o.Properties["Status"].Value.ToString() == "Failed").ToArray();
        Assert.Equal(2, failed.Length); // the revision and the model built on it
        Assert.All(failed, f => Assert.StartsWith($"The backup to '{this.Backup}' failed, so it was not deleted", (string)f.Properties["Reason"].Value, StringComparison.Ordinal));
        Assert.Equal(2, result.Errors.Count(e => e.FullyQualifiedErrorId.StartsWith("RegistryImageBackupFailed", StringComparison.Ordinal)));
        using var client = new RegistryClient(RegistryEndpoint.Parse(this.scenario.Registry.Registry));
        Assert.NotNull(await client.HeadManifestAsync(DeletionScenario.Env, revision.Digest, CancellationToken.None));
        Assert.NotNull(await client.HeadManifestAsync(DeletionScenario.Model, model.Digest, CancellationToken.None));
        Assert.Contains(result.Output, o => o.Properties["Status"].Value.ToString() == "Deleted");

        string notes = Path.Combine(this.scenario.Folder, "notes");
        Directory.CreateDirectory(notes);
        File.WriteAllText(Path.Combine(notes, "todo.txt"), "mine");
        PowerShellResult refused = this.session.Run($"Remove-UnusedImage {this.Common} -BackupPath '{notes}' -JournalPath refused.jsonl -Confirm:$false");
        ErrorRecord error = RemoveUnusedImageTests.StoppingError(refused);
        Assert.Equal("BackupPathInvalid", error.FullyQualifiedErrorId.Split(',')[0]);
        Assert.Empty(refused.Output);
        Assert.False(File.Exists(Path.Combine(this.scenario.Folder, "refused.jsonl")));
    }
}
