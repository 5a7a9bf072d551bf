using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.Deletion;

/// <summary>security.dry_run_by_default: true keeps every run dry until the admin types -WhatIf:$false (built module, fresh pwsh).</summary>
public sealed class DryRunDefaultTests : IAsyncLifetime
{
    private UserScenario user = null!;

    private string Common => $"-ConfigPath ./dry.yaml -Registry '{this.user.Registry}' {UserScenario.InUse} -JournalPath j.jsonl";

    public async Task InitializeAsync()
    {
        this.user = await UserScenario.CreateAsync();
        File.WriteAllText(Path.Combine(this.user.Scenario.Folder, "dry.yaml"), "security:\n  dry_run_by_default: true\n");
    }

    public Task DisposeAsync()
    {
        this.user.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Confirm_false_and_Force_stay_dry_and_the_warning_says_how_to_apply()
    {
        UserSession session = this.user.Run($"""
            Remove-UnusedImage {this.Common} -Confirm:$false
            Remove-UnusedImage {this.Common} -Force -Confirm:$false
            Remove-UnusedImage {this.Common} -Force
            """);

        Assert.Empty(session.Errors);
        Assert.Equal(3, session.Count("WARNING: security.dry_run_by_default is true"));
        Assert.Equal(3, session.Count("-WhatIf:$false"));
        Assert.Contains("would delete", session.Text, StringComparison.Ordinal);
        Assert.Equal(this.user.AllBut(), await this.user.RemainingTagsAsync());
        Assert.False(File.Exists(Path.Combine(this.user.Scenario.Folder, "j.jsonl")));
    }

    [Fact]
    public async Task Only_an_explicit_WhatIf_false_deletes()
    {
        UserSession session = this.user.Run($"Remove-UnusedImage {this.Common} -WhatIf:$false -Confirm:$false");

        Assert.True(session.LastSucceeded, session.ToString());
        Assert.DoesNotContain("dry_run_by_default", session.Text, StringComparison.Ordinal);
        SortedSet<string> remaining = await this.user.RemainingTagsAsync();
        Assert.Equal(this.user.AllBut([.. this.user.Scenario.UnusedTags]), remaining);
    }
}
