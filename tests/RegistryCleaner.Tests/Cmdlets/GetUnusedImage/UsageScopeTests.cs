using RegistryCleaner.Tests.Deletion;
using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.Workloads;

/// <summary>
/// Usage narrowed by -Namespace, -Context or the kubernetes.* keys, as admins type it (built module, fresh pwsh, the
/// Kubernetes API stand-in): a namespace or context that is not there stops the command, and any narrowing says once
/// that images used elsewhere are not protected.
/// </summary>
public sealed class UsageScopeTests : IAsyncLifetime
{
    private UserScenario user = null!;
    private KubernetesApiStandIn cluster = null!;

    private string Common => $"-Registry '{this.user.Registry}' -KubeConfig ./kubeconfig {UserScenario.KubernetesOnly}";

    public async Task InitializeAsync()
    {
        this.user = await UserScenario.CreateAsync();
        this.cluster = await KubernetesApiStandIn.StartAsync();
        this.cluster.Add(this.user.Scenario.Workloads);
        this.cluster.WriteKubeConfig(Path.Combine(this.user.Scenario.Folder, "kubeconfig"));
    }

    public async Task DisposeAsync()
    {
        await this.cluster.DisposeAsync();
        this.user.Dispose();
    }

    [Fact]
    public async Task A_namespace_that_does_not_exist_stops_every_cmdlet_that_reads_usage()
    {
        UserSession session = this.user.Run($$"""
            Get-UnusedImage {{this.Common}} -Namespace nosuch-ns | ForEach-Object { "candidate $($_.Tag)" }
            Remove-UnusedImage {{this.Common}} -Namespace domino-compute, nosuch-ns -JournalPath j.jsonl -Confirm:$false
            Get-WorkloadImage -KubeConfig ./kubeconfig -Namespace nosuch-ns
            """);

        Assert.Equal(["WorkloadNamespaceNotFound", "WorkloadNamespaceNotFound", "WorkloadNamespaceNotFound"], session.ErrorIds);
        Assert.All(session.Errors, e => Assert.Contains("'nosuch-ns'", e.Message, StringComparison.Ordinal));
        Assert.All(session.Errors, e => Assert.Equal("ObjectNotFound", e.Category));
        Assert.DoesNotContain("candidate", session.Text, StringComparison.Ordinal);
        Assert.Equal(this.user.AllBut(), await this.user.RemainingTagsAsync());
        Assert.Contains(this.cluster.Requests, r => r.StartsWith("GET /api/v1/namespaces/nosuch-ns", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_context_the_kubeconfig_lacks_stops_the_command_naming_it()
    {
        UserSession session = this.user.Run($$"""
            Get-UnusedImage {{this.Common}} -Context nosuch-context | ForEach-Object { "candidate $($_.Tag)" }
            Remove-UnusedImage {{this.Common}} -Context stand-in, nosuch-context -JournalPath j.jsonl -Confirm:$false
            """);

        Assert.Equal(2, session.Errors.Count);
        Assert.All(session.Errors, e => Assert.Contains("'nosuch-context'", e.Message, StringComparison.Ordinal));
        Assert.All(session.ErrorIds, id => Assert.Equal("KubeConfigInvalid", id));
        Assert.DoesNotContain("candidate", session.Text, StringComparison.Ordinal);
        Assert.Equal(this.user.AllBut(), await this.user.RemainingTagsAsync());
    }

    [Fact]
    public void Narrowed_usage_warns_once_that_images_used_elsewhere_are_not_protected()
    {
        File.WriteAllText(Path.Combine(this.user.Scenario.Folder, "narrow.yaml"), "kubernetes:\n  namespaces: [domino-compute]\n");
        UserSession session = this.user.Run($"""
            "== namespace"
            $planned = @(Get-UnusedImage {this.Common} -Namespace domino-compute, team-b)
            "== config"
            $planned = @(Get-UnusedImage {this.Common} -ConfigPath ./narrow.yaml)
            "== context"
            Remove-UnusedImage {this.Common} -Context stand-in -WhatIf
            "== all"
            $planned = @(Get-UnusedImage {this.Common})
            """);

        Assert.Empty(session.Errors);
        string[] parts = session.Text.Split("== ", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, parts.Length);
        foreach (string narrowed in parts[..3])
        {
            Assert.Single(System.Text.RegularExpressions.Regex.Matches(narrowed, "use are not protected"));
        }

        Assert.Contains("namespaces domino-compute, team-b", parts[0], StringComparison.Ordinal);
        Assert.Contains("namespaces domino-compute", parts[1], StringComparison.Ordinal);
        Assert.Contains("context stand-in", parts[2], StringComparison.Ordinal);
        Assert.DoesNotContain("use are not protected", parts[3], StringComparison.Ordinal);
    }
}
