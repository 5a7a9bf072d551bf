using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.Deletion;

/// <summary>What a deletion shows without extra switches (built module, fresh pwsh): the closing summary, the dry run's total, progress.</summary>
public sealed class DeletionReportTests : IAsyncLifetime
{
    private UserScenario user = null!;

    private string Common => $"-Registry '{this.user.Registry}' {UserScenario.InUse}";

    public async Task InitializeAsync() => this.user = await UserScenario.CreateAsync();

    public Task DisposeAsync()
    {
        this.user.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public void The_closing_summary_reaches_the_host_and_the_information_stream()
    {
        int unused = this.user.Scenario.UnusedTags.Count;
        string journal = Path.Combine(this.user.Scenario.Folder, "j.jsonl");

        UserSession session = this.user.Run($"""
            Remove-UnusedImage {this.Common} -WhatIf
            Remove-UnusedImage {this.Common} -JournalPath j.jsonl -Confirm:$false -InformationVariable told | Out-Null
            "information: $($told -join ' / ')"
            """);

        Assert.Empty(session.Errors);
        string text = session.Text;
        int whatIf = text.IndexOf($"What if: would delete {unused} images, freeing", StringComparison.Ordinal);
        Assert.True(whatIf > text.LastIndexOf("What if: Performing", StringComparison.Ordinal), text);
        string summary = $"Deleted {unused} images, freeing";
        Assert.Equal(2, session.Count(summary));
        int shown = text.IndexOf(summary, StringComparison.Ordinal);
        Assert.True(shown < text.IndexOf("information: ", StringComparison.Ordinal), text);
        Assert.Contains(journal, text[shown..], StringComparison.Ordinal);
        Assert.Contains("garbage-collect", text[shown..], StringComparison.Ordinal);
        Assert.Contains($"Restore-RegistryImage -JournalPath '{journal}'", text[shown..], StringComparison.Ordinal);
    }

    [Fact]
    public void Deleting_shows_throttled_progress_that_always_completes()
    {
        int images = this.user.Scenario.UnusedTags.Count;
        int manifests = images - 1; // twin-a and twin-b are one manifest
        string command = $"Import-Module '{UserShell.ModuleManifest}'; Set-Location '{this.user.Scenario.Folder}'; Remove-UnusedImage {this.Common} -JournalPath j.jsonl -Confirm:$false";
        UserSession session = this.user.Run($$"""
            $shell = [powershell]::Create()
            $null = $shell.AddScript(@'
            {{command}}
            '@)
            $null = $shell.Invoke()
            $shell.Streams.Progress | Where-Object Activity -like 'Deleting*' | ForEach-Object { "progress $($_.RecordType) $($_.SecondsRemaining) | $($_.StatusDescription)" }
            "errors $($shell.Streams.Error.Count)"
            """);

        Assert.Contains("errors 0", session.Text, StringComparison.Ordinal);
        string[] progress = [.. session.Output.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith("progress ", StringComparison.Ordinal))];
        Assert.NotEmpty(progress);
        Assert.StartsWith("progress Completed", progress[^1], StringComparison.Ordinal);
        Assert.Single(progress, p => p.StartsWith("progress Completed", StringComparison.Ordinal));
        string[] running = progress[..^1];
        Assert.InRange(running.Length, 1, manifests);
        Assert.All(running, p => Assert.Matches($@"^progress Processing -?\d+ \| \d+ of {images} images done, \d.* of \d.*B$", p));
        Assert.StartsWith($"progress Processing -1 | 0 of {images} images done, 0 B of ", running[0], StringComparison.Ordinal);
        Assert.All(running[1..], p => Assert.DoesNotContain("Processing -1 ", p, StringComparison.Ordinal));
    }
}
