using System.Globalization;
using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.Deletion;

/// <summary>-OlderThan as admins type it (built module, fresh pwsh): a bare number is days, TimeSpans keep working, under a minute is refused.</summary>
public sealed class OlderThanTests : IAsyncLifetime
{
    private const string Recent = DeletionScenario.Env + ":recent-1";
    private UserScenario user = null!;

    private string Common => $"-Registry '{this.user.Registry}' {UserScenario.InUse}";

    public async Task InitializeAsync()
    {
        this.user = await UserScenario.CreateAsync();
        using var pusher = new ImagePusher(this.user.Scenario.Registry.BaseAddress);
        await pusher.PushImageAsync(DeletionScenario.Env, "recent-1", [ImagePusher.Layer(700, 900)], created: DateTimeOffset.UtcNow.AddDays(-10));
    }

    public Task DisposeAsync()
    {
        this.user.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public void A_bare_number_is_days_and_the_cutoff_shows_in_verbose_output_and_in_each_Reason()
    {
        UserSession session = this.user.Run($$"""
            foreach ($age in @(90, '90', 90.0, '90.00:00:00', (New-TimeSpan -Days 90), '12:00:00')) {
                "=== age $age"
                Get-UnusedImage {{this.Common}} -OlderThan $age -Verbose 4>&1 | ForEach-Object {
                    if ($_ -is [System.Management.Automation.VerboseRecord]) { "verbose $_" } else { "candidate $($_.Repository):$($_.Tag) | $($_.Reason)" }
                }
            }
            """);

        Assert.Empty(session.Errors);
        string[] runs = session.Output.Split("=== age ", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(6, runs.Length);
        string cutoff = DateTimeOffset.UtcNow.AddDays(-90).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        foreach (string days in runs[..5])
        {
            string[] candidates = [.. days.Split('\n').Where(l => l.StartsWith("candidate ", StringComparison.Ordinal))];
            Assert.Equal(this.user.Scenario.UnusedTags.Count, candidates.Length);
            Assert.DoesNotContain(candidates, c => c.Contains(Recent, StringComparison.Ordinal));
            Assert.All(candidates, c => Assert.Contains($"older than 90 days (created before {cutoff}T", c, StringComparison.Ordinal));
            Assert.Contains(days.Split('\n'), l => l.StartsWith("verbose ", StringComparison.Ordinal) && l.Contains($"created before {cutoff}T", StringComparison.Ordinal));
        }

        Assert.Contains($"candidate {Recent} |", runs[5], StringComparison.Ordinal);
    }

    [Fact]
    public void Under_one_minute_is_refused_before_anything_is_read()
    {
        UserSession session = this.user.Run($"""
            Get-UnusedImage {this.Common} -OlderThan 0
            Remove-UnusedImage {this.Common} -OlderThan '00:00:30' -Confirm:$false
            Get-UnusedImage {this.Common} -OlderThan -5
            """);

        Assert.Equal(3, session.Errors.Count);
        Assert.All(session.ErrorIds, id => Assert.Equal("ParameterArgumentTransformationError", id));
        Assert.All(session.Errors, e => Assert.Contains("at least one minute", e.Message, StringComparison.Ordinal));
        Assert.DoesNotContain("candidate", session.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Ambiguous_and_impossible_ages_are_refused_and_fractions_of_days_read_as_days()
    {
        UserSession session = this.user.Run($$"""
            Get-UnusedImage {{this.Common}} -OlderThan '36:00:00'
            Remove-UnusedImage {{this.Common}} -OlderThan 3000000 -Confirm:$false
            Remove-UnusedImage {{this.Common}} -OlderThan '30s' -Confirm:$false
            "=== half a day"
            Get-UnusedImage {{this.Common}} -OlderThan 0.5 -Verbose 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object { "verbose $_" }
            """);

        Assert.Equal(3, session.Errors.Count);
        Assert.All(session.ErrorIds, id => Assert.Equal("ParameterArgumentTransformationError", id));
        Assert.Contains("'36:00:00' is ambiguous", session.Errors[0].Message, StringComparison.Ordinal);
        Assert.Contains("'1.12:00:00' is 36 hours", session.Errors[0].Message, StringComparison.Ordinal);
        Assert.Contains("at most 100 years", session.Errors[1].Message, StringComparison.Ordinal);
        Assert.Contains("'30s' is not an age", session.Errors[2].Message, StringComparison.Ordinal);
        string cutoff = DateTimeOffset.UtcNow.AddHours(-12).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        Assert.Contains(session.Output.Split('\n'), l => l.StartsWith("verbose ", StringComparison.Ordinal) && l.Contains($"created before {cutoff}T", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Remove_UnusedImage_with_a_bare_number_keeps_what_is_younger()
    {
        UserSession session = this.user.Run($"Remove-UnusedImage {this.Common} -OlderThan 90 -JournalPath j.jsonl -Confirm:$false");

        Assert.True(session.LastSucceeded, session.ToString());
        SortedSet<string> remaining = await this.user.RemainingTagsAsync();
        Assert.Contains(Recent, remaining);
        Assert.DoesNotContain(remaining, t => this.user.Scenario.UnusedTags.Contains(t));
    }
}
