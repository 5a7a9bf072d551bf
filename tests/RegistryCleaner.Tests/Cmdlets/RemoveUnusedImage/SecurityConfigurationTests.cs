using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.Deletion;

/// <summary>How security.dry_run_by_default and security.require_confirmation map onto -WhatIf and -Confirm.</summary>
public sealed class SecurityConfigurationTests : IAsyncLifetime
{
    private DeletionScenario scenario = null!;
    private PowerShellSession session = null!;

    private string Common => $"-Registry '{this.scenario.Registry.Registry}' -Repository 'dominodatalab/*' -InUse $inUse -MongoUsage:$false";

    public async Task InitializeAsync()
    {
        this.scenario = await DeletionScenario.CreateAsync();
        this.session = new PowerShellSession(this.scenario.Folder);
    }

    public Task DisposeAsync()
    {
        this.session.Dispose();
        this.scenario.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public void Dry_run_by_default_turns_a_plain_call_into_WhatIf_and_says_how_to_run_for_real()
    {
        string config = this.WriteConfig("security:\n  dry_run_by_default: true\n");
        SortedDictionary<string, string> before = this.scenario.StorageHashes();

        PowerShellResult result = this.Run($"Remove-UnusedImage {this.Common} -ConfigPath '{config}'");

        Assert.Null(result.Terminating);
        Assert.Empty(result.Output);
        Assert.Contains(result.Warnings, w => w.Contains("dry_run_by_default", StringComparison.Ordinal) && w.Contains("-WhatIf:$false", StringComparison.Ordinal));
        Assert.Equal(before, this.scenario.StorageHashes());
        Assert.False(Directory.Exists(Path.Combine(this.scenario.Folder, "reports")));
    }

    [Theory]
    [InlineData("-Force -Confirm:$false", false)]
    [InlineData("-Confirm:$false", false)]
    [InlineData("-WhatIf:$false -Confirm:$false", true)]
    public void Only_an_explicit_WhatIf_false_runs_for_real_under_the_dry_run_default(string switches, bool deletes)
    {
        string config = this.WriteConfig("security:\n  dry_run_by_default: true\n");
        SortedDictionary<string, string> before = this.scenario.StorageHashes();

        PowerShellResult result = this.Run($"Remove-UnusedImage {this.Common} -ConfigPath '{config}' {switches}");

        Assert.Null(result.Terminating);
        Assert.Empty(result.Errors);
        Assert.Equal(deletes ? this.scenario.UnusedTags.Count : 0, result.Output.Count(o => o.Properties["Status"].Value.ToString() == "Deleted"));
        Assert.Equal(!deletes, before.SequenceEqual(this.scenario.StorageHashes()));
    }

    [Fact]
    public void Require_confirmation_false_runs_unattended_without_Confirm()
    {
        // The hosted session has no UI: a prompt would fail with ConfirmationNeedsInteractiveSession.
        string config = this.WriteConfig("security:\n  require_confirmation: false\n");

        PowerShellResult result = this.Run($"Remove-UnusedImage {this.Common} -ConfigPath '{config}'");

        Assert.Null(result.Terminating);
        Assert.Empty(result.Errors);
        Assert.Equal(this.scenario.UnusedTags.Count, result.Output.Count(o => o.Properties["Status"].Value.ToString() == "Deleted"));
    }

    [Fact]
    public void WhatIf_always_wins_over_require_confirmation_false()
    {
        string config = this.WriteConfig("security:\n  require_confirmation: false\n");
        SortedDictionary<string, string> before = this.scenario.StorageHashes();

        PowerShellResult result = this.Run($"Remove-UnusedImage {this.Common} -ConfigPath '{config}' -WhatIf");

        Assert.Null(result.Terminating);
        Assert.Empty(result.Output);
        Assert.Equal(before, this.scenario.StorageHashes());
    }

    [Fact]
    public void With_the_defaults_a_call_that_would_prompt_fails_at_once_in_a_session_that_cannot_prompt()
    {
        SortedDictionary<string, string> before = this.scenario.StorageHashes();

        PowerShellResult result = this.Run($"Remove-UnusedImage {this.Common}");

        Assert.Equal("ConfirmationNeedsInteractiveSession", RemoveUnusedImageTests.StoppingError(result).FullyQualifiedErrorId.Split(',')[0]);
        Assert.Equal(before, this.scenario.StorageHashes());
    }

    private PowerShellResult Run(string script) =>
        this.session.Run(script, new Dictionary<string, object?> { ["inUse"] = this.scenario.InUseObjects().ToArray() });

    private string WriteConfig(string yaml)
    {
        string path = Path.Combine(this.scenario.Folder, $"config-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, yaml);
        return path;
    }
}
