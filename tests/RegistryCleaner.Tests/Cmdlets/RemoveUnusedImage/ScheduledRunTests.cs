using System.Text.RegularExpressions;
using RegistryCleaner.Deletion;
using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.Deletion;

/// <summary>
/// The README's scheduled script, run as a scheduler runs it (<c>pwsh -NoProfile -NonInteractive -File</c>, the built
/// module on PSModulePath) against a real registry behind the fault proxy that fails the DELETE of one image: three
/// nightly runs exit 2 (some deleted), 1 (nothing deleted) and 0 (all done), and each leaves its CSV and journal.
/// </summary>
public sealed partial class ScheduledRunTests : IAsyncLifetime
{
    private const string A = "659c7bce85f6381e675bb2a1";
    private const string B = "659c7bce85f6381e675bb2b2";
    private const string Repository = "acme/apps";
    private readonly Dictionary<string, string> digests = new(StringComparer.Ordinal);
    private RegistryServer registry = null!;
    private FaultProxy proxy = null!;
    private KubernetesApiStandIn cluster = null!;
    private string folder = null!;

    public async Task InitializeAsync()
    {
        this.folder = Directory.CreateTempSubdirectory("registrycleaner-scheduled-").FullName;
        this.registry = new RegistryServer(new RegistryServerOptions());
        using (var pusher = new ImagePusher(this.registry.BaseAddress))
        {
            int seed = 300;
            foreach ((string id, int revisions) in new[] { (A, 7), (B, 6) })
            {
                for (int revision = 1; revision <= revisions; revision++)
                {
                    PushedImage image = await pusher.PushImageAsync(
                        Repository,
                        $"{id}-{revision}",
                        [ImagePusher.Layer(seed++, 1500)],
                        created: new DateTimeOffset(2024, 1, revision, 0, 0, 0, TimeSpan.Zero));
                    this.digests[$"{id}-{revision}"] = image.Digest;
                }
            }
        }

        this.proxy = FaultProxy.Start(this.registry.BaseAddress);
        this.cluster = await KubernetesApiStandIn.StartAsync();
        this.cluster.Add(KubernetesSampleCluster.Pod("domino-compute", "run-1", "Running", $"{KubernetesSampleCluster.DominoRegistry}/{Repository}:{B}-6"));
        string kubeconfig = Path.Combine(this.folder, "kubeconfig");
        this.cluster.WriteKubeConfig(kubeconfig);
        File.WriteAllText(Path.Combine(this.folder, "config.yaml"), $"""
            registry:
              url: {this.proxy.BaseAddress}
              repository: acme
              images: [apps]
            kubernetes:
              kubeconfig: {kubeconfig}
            """);
    }

    public async Task DisposeAsync()
    {
        await this.cluster.DisposeAsync();
        await this.proxy.DisposeAsync();
        this.registry.Dispose();
        Directory.Delete(this.folder, recursive: true);
    }

    [Fact]
    public void The_documented_script_exits_2_then_1_then_0_and_always_leaves_its_CSV_and_journal()
    {
        string logs = Path.Combine(this.folder, "logs");
        string script = Path.Combine(this.folder, "run.ps1");
        File.WriteAllText(script, ReadmeScheduledScript()
            .Replace("/etc/registry-cleaner/config.yaml", Path.Combine(this.folder, "config.yaml"), StringComparison.Ordinal)
            .Replace("/var/log/registry-cleaner", logs, StringComparison.Ordinal));
        var shell = new UserShell(this.folder);
        shell.Environment["PSModulePath"] = Path.Combine(UserShell.RepositoryRoot, "out") + Path.PathSeparator + Environment.GetEnvironmentVariable("PSModulePath");
        Fault failing = this.proxy.Add("DELETE", $"^/v2/{Repository}/manifests/{Regex.Escape(this.digests[$"{A}-1"])}$", FaultKind.InternalServerError, times: -1);

        // Night 1: A-1's DELETE fails, the others of the plan go: partial.
        Night night = this.RunNight(shell, script, logs);
        Assert.True(night.ExitCode == 2, night.Output);
        Assert.Equal(new Dictionary<string, string> { [$"{A}-1"] = "Failed", [$"{A}-2"] = "Deleted", [$"{B}-1"] = "Deleted" }, night.Rows);
        Assert.Equal(new[] { this.digests[$"{A}-1"], this.digests[$"{A}-2"], this.digests[$"{B}-1"] }.Order(StringComparer.Ordinal), night.Attempted.Order(StringComparer.Ordinal));
        Assert.True(night.Log.Contains("unknown error", StringComparison.Ordinal), night.Log);
        Assert.True(night.Log.Contains("Deleted 2 images", StringComparison.Ordinal) && night.Log.Contains("failed 1.", StringComparison.Ordinal), night.Log);

        // Night 2: only A-1 is left to delete, and it fails again: nothing deleted.
        night = this.RunNight(shell, script, logs);
        Assert.True(night.ExitCode == 1, night.Output);
        Assert.Equal(new Dictionary<string, string> { [$"{A}-1"] = "Failed" }, night.Rows);
        Assert.Equal([this.digests[$"{A}-1"]], night.Attempted);

        // Night 3: the registry is healthy again: all done.
        failing.Disable();
        night = this.RunNight(shell, script, logs);
        Assert.True(night.ExitCode == 0, night.Output);
        Assert.Equal(new Dictionary<string, string> { [$"{A}-1"] = "Deleted" }, night.Rows);
        Assert.Equal([this.digests[$"{A}-1"]], night.Attempted);
    }

    [Fact]
    public async Task An_error_that_leaves_the_row_Deleted_still_makes_the_run_partial_and_a_stop_before_deleting_exits_1()
    {
        string logs = Path.Combine(this.folder, "logs");
        string script = Path.Combine(this.folder, "run.ps1");
        File.WriteAllText(script, ReadmeScheduledScript()
            .Replace("/etc/registry-cleaner/config.yaml", Path.Combine(this.folder, "config.yaml"), StringComparison.Ordinal)
            .Replace("/var/log/registry-cleaner", logs, StringComparison.Ordinal));
        var shell = new UserShell(this.folder);
        shell.Environment["PSModulePath"] = Path.Combine(UserShell.RepositoryRoot, "out") + Path.PathSeparator + Environment.GetEnvironmentVariable("PSModulePath");

        // A-1 and B-1 are past -KeepLatest 5 and -OlderThan 30; A-1 is signed, and the signature's DELETE fails. The
        // image itself goes (its row says Deleted), but its signature stays behind: an error, so the night is partial.
        string signature;
        using (var artifacts = new Graph.ArtifactPusher(this.registry.BaseAddress))
        {
            signature = await artifacts.SignAsync(Repository, this.digests[$"{A}-1"]);
        }

        Fault failing = this.proxy.Add("DELETE", $"^/v2/{Repository}/manifests/{Regex.Escape(signature)}$", FaultKind.InternalServerError, times: -1);
        Night night = this.RunNight(shell, script, logs);
        Assert.True(night.ExitCode == 2, night.Output);
        Assert.Equal("Deleted", night.Rows[$"{A}-1"]);
        Assert.DoesNotContain("Failed", night.Rows.Values);
        Assert.True(night.Log.Contains(signature, StringComparison.Ordinal), night.Log);
        failing.Disable();

        // The cluster refuses to list pods: usage is unreadable, the run stops before deleting anything.
        this.cluster.Forbid("pods");
        night = this.RunNight(shell, script, logs);
        Assert.True(night.ExitCode == 1, night.Output);
        Assert.Empty(night.Rows);
        Assert.Empty(night.Attempted);
        Assert.True(night.Log.Contains("WorkloadUsageUnreadable", StringComparison.Ordinal) || night.Log.Contains("forbidden", StringComparison.OrdinalIgnoreCase), night.Log);
    }

    [Fact]
    public void Under_ErrorAction_Stop_the_run_ends_at_the_first_failed_image_and_still_tells_what_was_done()
    {
        var shell = new UserShell(this.folder);
        this.proxy.Add("DELETE", $"^/v2/{Repository}/manifests/{Regex.Escape(this.digests[$"{B}-1"])}$", FaultKind.InternalServerError, times: -1);

        UserSession session = shell.Run("""
            Remove-UnusedImage -ConfigPath ./config.yaml -KeepLatest 5 -OlderThan 30 -JournalPath j.jsonl -Confirm:$false -ErrorAction Stop -OutVariable rows
            """);

        // The stop ends the session script at once; what the admin saw is the rows, the error and the summary.
        Assert.False(session.LastSucceeded, session.ToString());
        Assert.Contains("500 Internal Server Error", session.Text, StringComparison.Ordinal);
        Assert.Matches(@"Repository: acme/apps\s[\s\S]*\sFailed\s+659c7bce85f6381e675bb2b2-1\s", session.Text);
        string journal = Path.Combine(this.folder, "j.jsonl");
        Assert.True(session.Text.Contains("Deleted 2 images", StringComparison.Ordinal), session.ToString());
        Assert.Contains("failed 1.", session.Text, StringComparison.Ordinal);
        Assert.Contains($"Restore-RegistryImage -JournalPath '{journal}'", session.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void The_help_example_of_a_scheduled_run_is_the_README_script()
    {
        string help = File.ReadAllText(Path.Combine(UserShell.RepositoryRoot, "module", "help", "Remove-UnusedImage.md"));
        Match example = Regex.Match(help, @"### Example \d+: A scheduled, unattended run[^\n]*\n```powershell\n(?<code>.*?)\n```", RegexOptions.Singleline);
        Assert.True(example.Success, "Remove-UnusedImage help has no scheduled-run example.");
        Assert.Equal(ReadmeScheduledScript().Trim(), example.Groups["code"].Value.Trim());
    }

    private static string ReadmeScheduledScript()
    {
        string readme = File.ReadAllText(Path.Combine(UserShell.RepositoryRoot, "README.md"));
        Match block = Regex.Match(readme, @"### Scheduled, unattended runs\s*\n```powershell\n(?<code>.*?)\n```", RegexOptions.Singleline);
        Assert.True(block.Success, "The README has no scheduled-run script.");
        return block.Groups["code"].Value;
    }

    private Night RunNight(UserShell shell, string script, string logs)
    {
        // Each run names its files by the second it starts; a scheduler never starts two in one second.
        string[] before = Directory.Exists(logs) ? Directory.GetFiles(logs) : [];
        Thread.Sleep(1100);
        UserSession session = shell.RunFile(script);
        string[] added = [.. Directory.GetFiles(logs).Except(before)];
        string csv = Assert.Single(added, f => f.EndsWith(".csv", StringComparison.Ordinal));
        string? journal = added.SingleOrDefault(f => f.EndsWith(".jsonl", StringComparison.Ordinal));
        string log = Assert.Single(added, f => f.EndsWith(".log", StringComparison.Ordinal));
        Dictionary<string, string> rows = File.ReadAllLines(csv)
            .Skip(1)
            .Select(line => CsvFields().Matches(line).Select(m => m.Groups[1].Value).ToArray())
            .ToDictionary(fields => fields[2], fields => fields[4], StringComparer.Ordinal);
        if (rows.Count > 0)
        {
            string[] header = CsvFields().Matches(File.ReadLines(csv).First()).Select(m => m.Groups[1].Value).ToArray();
            Assert.Equal(["Registry", "Repository", "Tag", "Digest", "Status"], header[..5]);
        }

        string[] attempted = journal is null ? [] : [.. DeletionJournal.Read(journal).Where(r => r.Kind == JournalRecord.AttemptKind).Select(r => r.Digest)];
        return new Night(session.ExitCode, session.Output, rows, attempted, File.ReadAllText(log));
    }

    [GeneratedRegex("\"((?:[^\"]|\"\")*)\"")]
    private static partial Regex CsvFields();

    private sealed record Night(int ExitCode, string Output, Dictionary<string, string> Rows, string[] Attempted, string Log);
}
