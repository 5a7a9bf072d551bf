using RegistryCleaner.Planning;

namespace RegistryCleaner.Tests.Planning;

/// <summary>Typed -Tag/-Digest narrowing: only what they name in the repositories in scope, never more.</summary>
public sealed class PlanNarrowingTests
{
    private static readonly RegistryBuilder Registry = new RegistryBuilder()
        .Image("env", "sha256:a", ["l1"]).Tag("env", "v1", "sha256:a").Tag("env", "v1-copy", "sha256:a")
        .Image("env", "sha256:b", ["l2"]).Tag("env", "v2", "sha256:b")
        .Image("model", "sha256:a", ["l1"]).Tag("model", "v1", "sha256:a")
        .Image("other", "sha256:c", ["l3"]).Tag("other", "v1", "sha256:c")
        .Index("env", "sha256:i", "sha256:child").Image("env", "sha256:child", ["l4"]).Tag("env", "multi", "sha256:i");

    [Fact]
    public void Tag_wildcards_name_matching_tags_of_the_repositories_in_scope_only()
    {
        NarrowedTargets narrowed = PlanNarrowing.Expand(Registry.Inventory(), ["env", "model"], ["V1*"], []);

        Assert.Equal(
            [new PlanTarget("env", "v1", null), new PlanTarget("env", "v1-copy", null), new PlanTarget("model", "v1", null)],
            narrowed.Targets.OrderBy(t => t.Repository, StringComparer.Ordinal).ThenBy(t => t.Tag, StringComparer.Ordinal));
        Assert.Empty(narrowed.UnmatchedTags);
    }

    [Fact]
    public void A_digest_alone_names_its_manifest_in_each_repository_in_scope_that_holds_it_children_too()
    {
        NarrowedTargets narrowed = PlanNarrowing.Expand(Registry.Inventory(), ["env", "model", "other"], [], ["SHA256:A", "sha256:child", "sha256:none"]);

        Assert.Equal(
            [new PlanTarget("env", null, "sha256:a"), new PlanTarget("env", null, "sha256:child"), new PlanTarget("model", null, "sha256:a")],
            narrowed.Targets.OrderBy(t => t.Repository, StringComparer.Ordinal).ThenBy(t => t.Digest, StringComparer.Ordinal));
        Assert.Equal(["sha256:none"], narrowed.UnmatchedDigests);
    }

    [Fact]
    public void Tag_and_digest_together_name_tags_pointing_at_the_digest_and_exact_misses_are_reported()
    {
        NarrowedTargets narrowed = PlanNarrowing.Expand(Registry.Inventory(), ["env"], ["v*", "v9"], ["sha256:b"]);

        Assert.Equal([new PlanTarget("env", "v2", "sha256:b")], narrowed.Targets);
        Assert.Equal(["v9"], narrowed.UnmatchedTags);
        Assert.Empty(narrowed.UnmatchedDigests);
    }

    [Fact]
    public void A_planned_narrowing_deletes_a_manifest_only_when_every_tag_on_it_is_named()
    {
        NarrowedTargets one = PlanNarrowing.Expand(Registry.Inventory(), ["env"], ["v1"], []);
        NarrowedTargets both = PlanNarrowing.Expand(Registry.Inventory(), ["env"], ["v1*"], []);

        DeletionPlan kept = Registry.Plan(options: new PlanOptions { Targets = one.Targets });
        DeletionPlan deleted = Registry.Plan(options: new PlanOptions { Targets = both.Targets });

        Assert.Empty(kept.Candidates);
        Assert.Contains("v1-copy", Assert.Single(kept.Protected).Reason, StringComparison.Ordinal);
        Assert.Equal(["v1", "v1-copy"], deleted.Candidates.Select(c => c.Tag));
        Assert.All(deleted.Candidates, c => Assert.Equal("env", c.Repository));
    }
}
