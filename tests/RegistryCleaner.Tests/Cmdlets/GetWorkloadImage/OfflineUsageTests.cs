using System.Text;
using k8s;
using k8s.Models;
using RegistryCleaner.Tests.Deletion;
using RegistryCleaner.Tests.Infrastructure;
using static RegistryCleaner.Tests.Infrastructure.KubernetesSampleCluster;

namespace RegistryCleaner.Tests.Workloads;

/// <summary>
/// Usage from kubectl snapshots and -InUse as admins use them (built module, fresh pwsh): every digest a container
/// status reports protects its manifest, one odd workload never blocks the set, and snapshots written by Windows
/// PowerShell are read.
/// </summary>
public sealed class OfflineUsageTests : IAsyncLifetime
{
    private UserScenario user = null!;
    private string revision = null!;
    private string model = null!;

    private string Common => $"-Registry '{this.user.Registry}' {UserScenario.KubernetesOnly}";

    public async Task InitializeAsync()
    {
        this.user = await UserScenario.CreateAsync();
        this.revision = this.user.Named("01-2");
        this.model = this.user.Scenario.UnusedTags.Single(t => t.StartsWith(DeletionScenario.Model + ":659d", StringComparison.Ordinal));

        // The tags moved on; the statuses say what runs: an imageID naming another repository (a mirror the node pulled
        // the same content from) and a bare ID.
        V1Pod running = Pod("domino-compute", "run-9", "Running", $"{DominoRegistry}/dominodatalab/environment:moved-on", $"{DominoRegistry}/dominodatalab/model:gone");
        running.Status.ContainerStatuses =
        [
            new V1ContainerStatus { Name = "c0", ImageID = $"docker-pullable://{DominoRegistry}/dominodatalab/mirror@{this.user.Scenario.Images[this.revision].Digest}" },
            new V1ContainerStatus { Name = "c1", ImageID = this.user.Scenario.Images[this.model].Digest },
        ];
        this.user.Scenario.Workloads.Add(running);
        WriteKubectlList(Path.Combine(this.user.Scenario.Folder, "cluster.json"), this.user.Scenario.Workloads);
    }

    public Task DisposeAsync()
    {
        this.user.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Every_running_digest_reaches_the_WorkloadImage_objects_and_protects_its_manifest_offline_and_live()
    {
        string[] expected = [.. this.user.Scenario.UnusedTags.Except([this.revision, this.model]).Order(StringComparer.Ordinal)];
        await using KubernetesApiStandIn cluster = await KubernetesApiStandIn.StartAsync();
        cluster.Add(this.user.Scenario.Workloads);
        cluster.WriteKubeConfig(Path.Combine(this.user.Scenario.Folder, "kubeconfig"));

        UserSession session = this.user.Run($$"""
            Get-WorkloadImage -Path ./cluster.json | Where-Object Image -like '*:moved-on' | ForEach-Object { "snapshot digests $($_.Digests)" }
            Get-WorkloadImage -Path ./cluster.json | Where-Object Image -like '*:gone' | ForEach-Object { "snapshot digests $($_.Digests)" }
            Get-WorkloadImage -KubeConfig ./kubeconfig | Where-Object Image -like '*:moved-on' | ForEach-Object { "live digests $($_.Digests)" }
            Get-WorkloadImage -KubeConfig ./kubeconfig | Where-Object Image -like '*:gone' | ForEach-Object { "live digests $($_.Digests)" }
            Get-WorkloadImage -Path ./cluster.json | Get-UnusedImage {{this.Common}} | ForEach-Object { "plan-piped $($_.Repository):$($_.Tag)" }
            Get-UnusedImage {{this.Common}} -InUse (Get-WorkloadImage -Path ./cluster.json) | ForEach-Object { "plan-inuse $($_.Repository):$($_.Tag)" }
            Get-WorkloadImage -Path ./cluster.json | Export-Clixml ./in-use.xml
            Get-UnusedImage {{this.Common}} -InUse (Import-Clixml ./in-use.xml) | ForEach-Object { "plan-clixml $($_.Repository):$($_.Tag)" }
            Get-UnusedImage {{this.Common}} -KubeConfig ./kubeconfig | ForEach-Object { "plan-live $($_.Repository):$($_.Tag)" }
            """);

        Assert.Empty(session.Errors);
        Assert.Contains($"snapshot digests {this.user.Scenario.Images[this.revision].Digest}", session.Text, StringComparison.Ordinal);
        Assert.Contains($"snapshot digests {this.user.Scenario.Images[this.model].Digest}", session.Text, StringComparison.Ordinal);
        Assert.Contains($"live digests {this.user.Scenario.Images[this.revision].Digest}", session.Text, StringComparison.Ordinal);
        Assert.Contains($"live digests {this.user.Scenario.Images[this.model].Digest}", session.Text, StringComparison.Ordinal);
        foreach (string source in (string[])["plan-piped", "plan-inuse", "plan-clixml", "plan-live"])
        {
            string[] planned = [.. session.Output.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith(source + " ", StringComparison.Ordinal)).Select(l => l[(source.Length + 1)..]).Order(StringComparer.Ordinal)];
            Assert.Equal(expected, planned);
        }
    }

    [Fact]
    public async Task A_pipeline_of_usage_that_is_empty_or_holds_registry_images_is_refused()
    {
        UserSession session = this.user.Run($$"""
            Get-WorkloadImage -Path ./cluster.json | Where-Object Repository -eq 'no/such' | Get-UnusedImage {{this.Common}} | ForEach-Object { "planned $($_.Tag)" }
            Get-UnusedImage {{this.Common}} -InUse (Get-WorkloadImage -Path ./cluster.json) | Get-UnusedImage {{this.Common}} | ForEach-Object { "planned $($_.Tag)" }
            Get-WorkloadImage -Path ./cluster.json | Get-UnusedImage {{this.Common}} -InUse @() | ForEach-Object { "planned $($_.Tag)" }
            """);

        Assert.Equal(["InUseEmpty", "InUseInvalid", "InUseInvalid"], session.ErrorIds);
        Assert.Contains("-InUse @()", session.Errors[0].Message, StringComparison.Ordinal);
        Assert.Contains("RegistryCleaner.UnusedImage", session.Errors[1].Message, StringComparison.Ordinal);
        Assert.DoesNotContain("planned ", session.Text, StringComparison.Ordinal);
        Assert.Equal(this.user.AllBut(), await this.user.RemainingTagsAsync());
    }

    [Fact]
    public void An_empty_or_blank_image_is_skipped_with_a_warning_naming_the_workload()
    {
        V1Deployment placeholder = Deployment("apps", "placeholder", 1, " ");
        V1Pod empty = Pod("apps", "empty", "Pending", "");
        WriteKubectlList(Path.Combine(this.user.Scenario.Folder, "odd.json"), [.. this.user.Scenario.Workloads, placeholder, empty]);
        string[] expected = [.. this.user.Scenario.UnusedTags.Except([this.revision, this.model]).Order(StringComparer.Ordinal)];

        UserSession session = this.user.Run($$"""
            Get-UnusedImage {{this.Common}} -InUse (Get-WorkloadImage -Path ./odd.json) | ForEach-Object { "planned $($_.Repository):$($_.Tag)" }
            $odd = [pscustomobject]@{ Image = ' '; Workloads = @('DeploymentConfig/apps/legacy') }
            $planned = @(Get-UnusedImage {{this.Common}} -InUse @($odd; Get-WorkloadImage -Path ./cluster.json))
            "handmade $($planned.Count)"
            """);

        Assert.Empty(session.Errors);
        string[] planned = [.. session.Output.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith("planned ", StringComparison.Ordinal)).Select(l => l["planned ".Length..]).Order(StringComparer.Ordinal)];
        Assert.Equal(expected, planned);
        Assert.Contains("Deployment/apps/placeholder", session.Text, StringComparison.Ordinal);
        Assert.Contains("Pod/apps/empty", session.Text, StringComparison.Ordinal);
        Assert.Contains($"handmade {expected.Length}", session.Text, StringComparison.Ordinal);
        Assert.Contains("DeploymentConfig/apps/legacy", session.Text, StringComparison.Ordinal);
        Assert.True(session.Count("WARNING: ") >= 3, session.ToString());
    }

    [Fact]
    public void Snapshots_in_UTF16_or_with_a_byte_order_mark_are_read_as_Windows_PowerShell_writes_them()
    {
        UserSession session = this.user.Run("""
            $plain = @(Get-WorkloadImage -Path ./cluster.json)
            foreach ($encoding in 'Unicode', 'BigEndianUnicode', 'utf8BOM') {
                Get-Content ./cluster.json | Set-Content -Encoding $encoding "./cluster-$encoding.json"
                $read = @(Get-WorkloadImage -Path "./cluster-$encoding.json")
                "$encoding $($read.Count) of $($plain.Count), same: $(($read.Image -join ',') -eq ($plain.Image -join ','))"
            }
            """);

        Assert.Empty(session.Errors);
        Assert.Matches(@"Unicode (\d+) of \1, same: True", session.Text);
        Assert.Matches(@"BigEndianUnicode (\d+) of \1, same: True", session.Text);
        Assert.Matches(@"utf8BOM (\d+) of \1, same: True", session.Text);
    }

    [Fact]
    public void A_bad_value_names_the_file_the_object_and_its_real_line()
    {
        V1Pod first = Pod("domino-compute", "run-long", "Running", "env:1");
        first.Metadata.Labels = Enumerable.Range(0, 180).ToDictionary(i => $"label-{i:000}", i => "x");
        V1Pod second = Pod("domino-compute", "run-bad", "Running", "env:2");
        string file = Path.Combine(this.user.Scenario.Folder, "bad-time.json");
        string pretty = Pretty(first) + ",\n" + Pretty(second);
        string json = "{\n    \"apiVersion\": \"v1\",\n    \"items\": [\n" + pretty + "\n    ],\n    \"kind\": \"List\"\n}\n";
        string[] lines = json.Split('\n');
        int index = Array.FindLastIndex(lines, l => l.Contains("\"creationTimestamp\"", StringComparison.Ordinal));
        lines[index] = lines[index].Replace("2024-06-01T00:00:00Z", "yesterday", StringComparison.Ordinal);
        Assert.Contains("yesterday", lines[index], StringComparison.Ordinal);
        int line = index + 1;
        File.WriteAllText(file, string.Join('\n', lines), new UnicodeEncoding(bigEndian: false, byteOrderMark: true));

        UserSession session = this.user.Run("Get-WorkloadImage -Path ./bad-time.json");

        UserError error = Assert.Single(session.Errors);
        Assert.Equal("WorkloadSnapshotInvalid", session.ErrorIds[0]);
        Assert.Equal("InvalidData", error.Category);
        Assert.Contains(file, error.Message, StringComparison.Ordinal);
        Assert.Contains("Pod domino-compute/run-bad", error.Message, StringComparison.Ordinal);
        Assert.Contains($"line {line}", error.Message, StringComparison.Ordinal);
        Assert.Contains("yesterday", error.Message, StringComparison.Ordinal);
        Assert.True(line > 190, $"The bad value should be far down the file (line {line}).");
    }

    private static string Pretty(V1Pod pod)
    {
        using var document = System.Text.Json.JsonDocument.Parse(KubernetesJson.Serialize(pod));
        return System.Text.Json.JsonSerializer.Serialize(document.RootElement, new System.Text.Json.JsonSerializerOptions { WriteIndented = true });
    }
}
