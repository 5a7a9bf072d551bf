using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.Deletion;

/// <summary>
/// -Tag, -Digest and -Repository as admins type them on Remove-UnusedImage and Get-UnusedImage (built module, fresh
/// pwsh): they narrow the plan and never widen it, piped objects name exact images, and a name that is not there is an
/// error instead of an empty success.
/// </summary>
public sealed class NarrowingTests : IAsyncLifetime
{
    private const string Model = DeletionScenario.Model;
    private UserScenario user = null!;

    private string Registry => this.user.Registry;

    public async Task InitializeAsync() => this.user = await UserScenario.CreateAsync();

    public Task DisposeAsync()
    {
        this.user.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task A_typed_Tag_without_Repository_deletes_only_the_matching_images_of_the_configured_repositories()
    {
        UserSession session = this.user.Run($"Remove-UnusedImage -Registry '{this.Registry}' {UserScenario.InUse} -Tag 'twin-*' -JournalPath j.jsonl -Confirm:$false");

        Assert.True(session.LastSucceeded, session.ToString());
        Assert.Empty(session.Errors);
        Assert.Equal(this.user.AllBut($"{Model}:twin-a", $"{Model}:twin-b"), await this.user.RemainingTagsAsync());
    }

    [Fact]
    public async Task A_typed_Tag_with_a_wildcard_Repository_plans_the_same_on_both_cmdlets_across_the_matched_repositories()
    {
        string revision = this.user.Named("01-2");
        UserSession session = this.user.Run($$"""
            Get-UnusedImage -Registry '{{this.Registry}}' -Repository 'dominodatalab/*' {{UserScenario.InUse}} -Tag 'TWIN-*', '*01-2' | ForEach-Object { "candidate $($_.Repository):$($_.Tag)" }
            Remove-UnusedImage -Registry '{{this.Registry}}' -Repository 'dominodatalab/*' {{UserScenario.InUse}} -Tag 'TWIN-*', '*01-2' -WhatIf
            """);

        Assert.Empty(session.Errors);
        Assert.Equal(3, session.Count("candidate "));
        Assert.Contains($"candidate {Model}:twin-a", session.Text, StringComparison.Ordinal);
        Assert.Contains($"candidate {Model}:twin-b", session.Text, StringComparison.Ordinal);
        Assert.Contains($"candidate {revision}", session.Text, StringComparison.Ordinal);
        Assert.Equal(2, session.Count("What if: Performing"));
        Assert.Contains($"/{Model}:twin-a (", session.Text, StringComparison.Ordinal);
        Assert.Contains($"/{revision} (", session.Text, StringComparison.Ordinal);
        Assert.Contains("would delete 3 images", session.Text, StringComparison.Ordinal);
        Assert.Equal(this.user.AllBut(), await this.user.RemainingTagsAsync());
    }

    [Fact]
    public async Task A_typed_Digest_alone_deletes_that_manifest_and_nothing_else()
    {
        string digest = this.user.Scenario.Images[$"{Model}:twin-a"].Digest;

        UserSession session = this.user.Run($"Remove-UnusedImage -Registry '{this.Registry}' {UserScenario.InUse} -Digest {digest} -JournalPath j.jsonl -Confirm:$false");

        Assert.True(session.LastSucceeded, session.ToString());
        Assert.Equal(this.user.AllBut($"{Model}:twin-a", $"{Model}:twin-b"), await this.user.RemainingTagsAsync());
    }

    [Fact]
    public async Task Piped_images_are_exact_and_a_typed_Tag_Repository_or_Digest_beside_them_is_refused_before_anything_is_read()
    {
        string digest = this.user.Scenario.Images[$"{Model}:twin-a"].Digest;
        UserSession refused = this.user.Run($$"""
            [pscustomobject]@{ Repository = '{{Model}}'; Tag = 'twin-a' } | Remove-UnusedImage -Registry '{{this.Registry}}' {{UserScenario.InUse}} -Tag 'twin-b' -Confirm:$false
            [pscustomobject]@{ Repository = '{{Model}}'; Tag = 'twin-a' } | Remove-UnusedImage -Registry '{{this.Registry}}' {{UserScenario.InUse}} -Repository '{{DeletionScenario.Env}}' -Confirm:$false
            [pscustomobject]@{ Repository = '{{Model}}'; Tag = 'twin-a' } | Remove-UnusedImage -Registry '{{this.Registry}}' {{UserScenario.InUse}} -Digest {{digest}} -Confirm:$false
            """);

        Assert.Equal(["ImageTargetInvalid", "ImageTargetInvalid", "ImageTargetInvalid"], refused.ErrorIds);
        Assert.All(refused.Errors, e => Assert.Equal("InvalidArgument", e.Category));
        Assert.Contains("Where-Object", refused.Errors[0].Message, StringComparison.Ordinal);
        Assert.Equal(this.user.AllBut(), await this.user.RemainingTagsAsync());

        UserSession piped = this.user.Run(
            $"Get-UnusedImage -Registry '{this.Registry}' {UserScenario.InUse} -Tag 'twin-*' | Remove-UnusedImage -Registry '{this.Registry}' {UserScenario.InUse} -JournalPath j.jsonl -Confirm:$false");

        Assert.True(piped.LastSucceeded, piped.ToString());
        Assert.Equal(this.user.AllBut($"{Model}:twin-a", $"{Model}:twin-b"), await this.user.RemainingTagsAsync());
    }

    [Fact]
    public async Task Tag_and_Include_both_narrow_so_a_tag_that_shares_its_manifest_with_one_left_out_is_skipped()
    {
        UserSession session = this.user.Run($$"""
            Get-UnusedImage -Registry '{{this.Registry}}' {{UserScenario.InUse}} -Tag 'twin-*' -Include '*-b' | ForEach-Object { "candidate $($_.Tag)" }
            Remove-UnusedImage -Registry '{{this.Registry}}' {{UserScenario.InUse}} -Tag 'twin-*' -Include '*-b' -JournalPath j.jsonl -Confirm:$false | ForEach-Object { "result $($_.Tag) $($_.Status): $($_.Reason)" }
            """);

        Assert.Empty(session.Errors);
        Assert.Equal(0, session.Count("candidate "));
        Assert.Contains("result twin-b Skipped: ", session.Text, StringComparison.Ordinal);
        Assert.Contains("twin-a", session.Text[session.Text.IndexOf("result twin-b", StringComparison.Ordinal)..], StringComparison.Ordinal);
        Assert.Equal(this.user.AllBut(), await this.user.RemainingTagsAsync());
    }

    [Fact]
    public async Task A_literal_Tag_that_no_repository_has_is_an_error_and_deletes_nothing()
    {
        UserSession session = this.user.Run($"Remove-UnusedImage -Registry '{this.Registry}' {UserScenario.InUse} -Tag twin-c -Confirm:$false");

        Assert.False(session.LastSucceeded, session.ToString());
        Assert.Contains("RegistryTagNotFound", session.ErrorIds);
        Assert.Contains("twin-c", session.Text, StringComparison.Ordinal);
        Assert.Equal(this.user.AllBut(), await this.user.RemainingTagsAsync());
    }

    [Fact]
    public async Task A_narrowing_that_came_out_empty_names_nothing_instead_of_everything()
    {
        File.WriteAllText(Path.Combine(this.user.Scenario.Folder, "ids.txt"), "# no environments this week\n");
        File.WriteAllText(Path.Combine(this.user.Scenario.Folder, "tags.txt"), string.Empty);
        UserSession session = this.user.Run($"""
            $tags = @(Get-Content ./tags.txt)
            Remove-UnusedImage -Registry '{this.Registry}' {UserScenario.InUse} -Tag $tags -Confirm:$false
            Remove-UnusedImage -Registry '{this.Registry}' {UserScenario.InUse} -Repository $tags -Confirm:$false
            Remove-UnusedImage -Registry '{this.Registry}' {UserScenario.InUse} -Include $tags -Confirm:$false
            Remove-UnusedImage -Registry '{this.Registry}' {UserScenario.InUse} -ObjectIdPath ./ids.txt -Confirm:$false
            Remove-UnusedImage -Registry '{this.Registry}' {UserScenario.InUse} -Repository 'acme/*' -JournalPath j.jsonl -Confirm:$false
            """);

        Assert.Equal(["ImageTargetInvalid", "ImageTargetInvalid", "ParameterArgumentValidationError", "ObjectIdFileInvalid"], session.ErrorIds);
        Assert.Contains("names nothing", session.Errors[0].Message, StringComparison.Ordinal);
        Assert.Contains("WARNING: No repository", session.Text, StringComparison.Ordinal);
        Assert.Equal(this.user.AllBut(), await this.user.RemainingTagsAsync());
    }

    [Fact]
    public async Task A_misspelt_Repository_is_RepositoryNotFound_and_a_wildcard_that_matches_nothing_is_a_warning()
    {
        UserSession typo = this.user.Run($"""
            Get-UnusedImage -Registry '{this.Registry}' {UserScenario.InUse} -Repository dominodatalab/enviroment
            "first: $?"
            Remove-UnusedImage -Registry '{this.Registry}' {UserScenario.InUse} -Repository dominodatalab/enviroment, {Model} -Confirm:$false
            """);

        Assert.Contains("first: False", typo.Text, StringComparison.Ordinal);
        Assert.False(typo.LastSucceeded, typo.ToString());
        Assert.Equal(["RepositoryNotFound", "RepositoryNotFound"], typo.ErrorIds);
        Assert.All(typo.Errors, e => Assert.Contains("'dominodatalab/enviroment'", e.Message, StringComparison.Ordinal));
        Assert.Equal(this.user.AllBut(), await this.user.RemainingTagsAsync());

        UserSession wildcard = this.user.Run($"""
            $found = @(Get-UnusedImage -Registry '{this.Registry}' {UserScenario.InUse} -Repository 'acme/*')
            "found $($found.Count)"
            """);

        Assert.Empty(wildcard.Errors);
        Assert.True(wildcard.Text.Contains("found 0", StringComparison.Ordinal), wildcard.ToString());
        Assert.Contains("WARNING: No repository", wildcard.Text, StringComparison.Ordinal);
        Assert.Contains("acme/*", wildcard.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_wildcard_Repository_that_matches_nothing_with_a_Tag_names_nothing_and_says_why()
    {
        UserSession session = this.user.Run($"Remove-UnusedImage -Registry '{this.Registry}' {UserScenario.InUse} -Repository 'acme/*' -Tag v1 -Confirm:$false");

        Assert.Equal(["RegistryTagNotFound"], session.ErrorIds);
        Assert.Contains("Tag 'v1' was not found in registry", session.Errors[0].Message, StringComparison.Ordinal);
        Assert.Contains("no repository is in scope", session.Errors[0].Message, StringComparison.Ordinal);
        Assert.Contains("WARNING: No repository", session.Text, StringComparison.Ordinal);
        Assert.Equal(this.user.AllBut(), await this.user.RemainingTagsAsync());
    }

    [Fact]
    public async Task Workload_images_piped_to_Remove_UnusedImage_are_refused_as_targets_because_they_are_the_images_in_use()
    {
        UserSession session = this.user.Run($"""
            Get-WorkloadImage -Path ./cluster.json | Remove-UnusedImage -Registry '{this.Registry}' -InUse @() {UserScenario.KubernetesOnly} -JournalPath j.jsonl -Confirm:$false
            Get-WorkloadImage -Path ./cluster.json | Export-Clixml ./in-use.xml
            Import-Clixml ./in-use.xml | Remove-UnusedImage -Registry '{this.Registry}' -InUse @() {UserScenario.KubernetesOnly} -JournalPath j.jsonl -Confirm:$false
            """);

        // Every piped workload image is refused: as usage, or already at binding when its Repository or Tag is no
        // registry name (an image on another registry host, a reference by digest alone).
        Assert.NotEmpty(session.ErrorIds);
        Assert.All(session.ErrorIds, id => Assert.Contains(id, new[] { "WorkloadImageIsUsage", "ParameterArgumentValidationError" }));
        Assert.Contains("WorkloadImageIsUsage", session.ErrorIds);
        Assert.Contains(session.Errors, e => e.Message.Contains("-InUse (Get-WorkloadImage", StringComparison.Ordinal));
        Assert.False(File.Exists(Path.Combine(this.user.Scenario.Folder, "j.jsonl")));
        Assert.Equal(this.user.AllBut(), await this.user.RemainingTagsAsync());
    }
}
