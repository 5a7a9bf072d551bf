using RegistryCleaner.Planning;
using RegistryCleaner.Workloads;

namespace RegistryCleaner.Tests.Planning;

public class DeletionPlannerTests
{
    private const string Env = "dominodatalab/environment";
    private const string Model = "dominodatalab/model";
    private const string Host = RegistryBuilder.Registry;

    [Fact]
    public void An_unused_tag_is_a_candidate_that_frees_its_manifest_config_and_layers()
    {
        RegistryBuilder registry = new RegistryBuilder().Blob("L1", 1000).Blob("L2", 2000)
            .Image(Env, "sha256:a", ["L1", "L2"]).Tag(Env, "t1", "sha256:a");

        DeletionPlan plan = registry.Plan();

        DeletionCandidate candidate = Assert.Single(plan.Candidates);
        Assert.Equal((Env, "t1", "sha256:a"), (candidate.Repository, candidate.Tag, candidate.Digest));
        Assert.Equal(RegistryBuilder.ConfigSize + 3000, candidate.Size);
        Assert.Equal(registry.Exclusive("L1", "L2"), candidate.ReclaimableBytes);
        Assert.Equal(candidate.ReclaimableBytes, plan.TotalReclaimableBytes);
        Assert.Equal(RegistryBuilder.Registry, candidate.Registry);
        Assert.Contains("not used", candidate.Reason, StringComparison.Ordinal);
        Assert.Empty(plan.Protected);
        Assert.False(plan.BytesAreEstimates);
    }

    [Fact]
    public void A_tag_in_use_is_protected_and_the_reason_names_the_workload()
    {
        RegistryBuilder registry = new RegistryBuilder().Image(Env, "sha256:a", ["L1"]).Tag(Env, "t1", "sha256:a");

        DeletionPlan plan = registry.Plan(RegistryBuilder.Usage(RegistryBuilder.Use($"{Host}/{Env}:t1", "Pod/domino-compute/run-42")));

        Assert.Empty(plan.Candidates);
        ProtectedImage kept = Assert.Single(plan.Protected);
        Assert.Contains("run-42", kept.Reason, StringComparison.Ordinal);
        Assert.Equal(0, plan.TotalReclaimableBytes);
    }

    [Fact]
    public void Two_tags_on_one_digest_with_one_in_use_keeps_both_and_names_the_kept_tag()
    {
        RegistryBuilder registry = new RegistryBuilder().Image(Env, "sha256:a", ["L1"])
            .Tag(Env, "old", "sha256:a").Tag(Env, "live", "sha256:a");

        DeletionPlan plan = registry.Plan(RegistryBuilder.Usage(RegistryBuilder.Use($"{Host}/{Env}:live")));

        Assert.Empty(plan.Candidates);
        ProtectedImage old = Assert.Single(plan.Protected, p => p.Tag == "old");
        Assert.Contains("'live'", old.Reason, StringComparison.Ordinal);
        Assert.Contains("remove that tag too", old.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Two_unused_tags_on_one_digest_are_one_delete_counted_once()
    {
        RegistryBuilder registry = new RegistryBuilder().Image(Env, "sha256:a", ["L1"])
            .Tag(Env, "b", "sha256:a").Tag(Env, "a", "sha256:a");

        DeletionPlan plan = registry.Plan();

        Assert.Equal(["a", "b"], plan.Candidates.Select(c => c.Tag));
        Assert.Equal(["b"], plan.Candidates[0].OtherTags);
        Assert.Equal(["a"], plan.Candidates[1].OtherTags);
        Assert.Equal(registry.Exclusive("L1"), plan.Candidates[0].ReclaimableBytes);
        Assert.Equal(0, plan.Candidates[1].ReclaimableBytes);
        Assert.Equal(registry.Exclusive("L1"), plan.TotalReclaimableBytes);
    }

    [Fact]
    public void A_tag_outside_the_scope_on_the_same_digest_keeps_the_candidate()
    {
        RegistryBuilder registry = new RegistryBuilder().Image(Env, "sha256:a", ["L1"])
            .Tag(Env, "nightly-1", "sha256:a").Tag(Env, "release-1", "sha256:a");

        DeletionPlan plan = registry.Plan(options: new PlanOptions { Include = ["nightly-*"] });

        Assert.Empty(plan.Candidates);
        ProtectedImage nightly = Assert.Single(plan.Protected);
        Assert.Contains("'release-1'", nightly.Reason, StringComparison.Ordinal);
        Assert.Contains("out of scope", nightly.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void The_same_digest_kept_in_another_repository_keeps_its_blobs()
    {
        RegistryBuilder registry = new RegistryBuilder()
            .Image(Env, "sha256:a", ["L1"]).Tag(Env, "t1", "sha256:a")
            .Image(Model, "sha256:a", ["L1"]).Tag(Model, "m1", "sha256:a");

        DeletionPlan plan = registry.Plan(options: new PlanOptions { Repositories = [Env] });

        DeletionCandidate candidate = Assert.Single(plan.Candidates);
        Assert.Equal(Env, candidate.Repository);
        Assert.Equal(0, candidate.ReclaimableBytes);
    }

    [Fact]
    public void Layers_shared_with_a_kept_model_image_are_not_counted()
    {
        RegistryBuilder registry = new RegistryBuilder().Blob("base", 5000).Blob("env", 700).Blob("model", 300)
            .Image(Env, "sha256:e", ["base", "env"]).Tag(Env, "e1", "sha256:e")
            .Image(Model, "sha256:m", ["base", "env", "model"]).Tag(Model, "m1", "sha256:m")
            .Image(Model, "sha256:m2", ["base", "model"]).Tag(Model, "m2", "sha256:m2");

        DeletionPlan plan = registry.Plan(RegistryBuilder.Usage(RegistryBuilder.Use($"{Host}/{Model}:m2")));

        // e1 and m1 go; "env" is referenced only by them, "base" and "model" stay with m2.
        Assert.Equal(["e1", "m1"], plan.Candidates.Select(c => c.Tag));
        long expected = (2 * (RegistryBuilder.ManifestSize + RegistryBuilder.ConfigSize)) + 700;
        Assert.Equal(expected, plan.TotalReclaimableBytes);
        Assert.Equal(RegistryBuilder.ManifestSize + RegistryBuilder.ConfigSize + 700, plan.Candidates[0].ReclaimableBytes);
        Assert.Equal(RegistryBuilder.ManifestSize + RegistryBuilder.ConfigSize, plan.Candidates[1].ReclaimableBytes);
    }

    [Fact]
    public void Children_of_a_kept_index_are_protected_even_when_tagged_and_unused()
    {
        RegistryBuilder registry = new RegistryBuilder()
            .Image(Env, "sha256:amd", ["L1"]).Image(Env, "sha256:arm", ["L2"]).Index(Env, "sha256:idx", "sha256:amd", "sha256:arm")
            .Tag(Env, "multi", "sha256:idx").Tag(Env, "amd-only", "sha256:amd");

        DeletionPlan plan = registry.Plan(RegistryBuilder.Usage(RegistryBuilder.Use($"{Host}/{Env}:multi")));

        Assert.Empty(plan.Candidates);
        Assert.Empty(plan.ChildDeletions);
        ProtectedImage child = Assert.Single(plan.Protected, p => p.Tag == "amd-only");
        Assert.Contains("child of the kept index sha256:idx ('multi')", child.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_deleted_index_takes_its_exclusive_children_but_not_a_child_tagged_and_kept()
    {
        RegistryBuilder registry = new RegistryBuilder().Blob("L1", 1000).Blob("L2", 2000).Blob("L3", 3000)
            .Image(Env, "sha256:amd", ["L1"]).Image(Env, "sha256:arm", ["L2"]).Image(Env, "sha256:ppc", ["L3"])
            .Index(Env, "sha256:idx", "sha256:amd", "sha256:arm", "sha256:ppc")
            .Tag(Env, "multi", "sha256:idx").Tag(Env, "ppc-live", "sha256:ppc");

        DeletionPlan plan = registry.Plan(RegistryBuilder.Usage(RegistryBuilder.Use($"{Host}/{Env}:ppc-live")));

        DeletionCandidate index = Assert.Single(plan.Candidates);
        Assert.Equal("multi", index.Tag);
        Assert.Equal(RegistryBuilder.ConfigSize * 3 + 6000, index.Size);
        Assert.Equal(["sha256:amd", "sha256:arm"], plan.ChildDeletions.Select(c => c.Digest));
        Assert.All(plan.ChildDeletions, c => Assert.Equal("sha256:idx", c.ParentDigest));
        Assert.Equal(plan.ChildDeletions, index.ChildDeletions);
        Assert.Equal(registry.Exclusive("L1"), plan.ChildDeletions[0].ReclaimableBytes);

        // The index manifest itself, plus both exclusive children; ppc stays with its kept tag.
        long expected = RegistryBuilder.ManifestSize + registry.Exclusive("L1") + registry.Exclusive("L2");
        Assert.Equal(expected, index.ReclaimableBytes);
        Assert.Equal(expected, plan.TotalReclaimableBytes);
    }

    [Fact]
    public void A_child_shared_with_a_kept_index_stays_when_another_index_is_deleted()
    {
        RegistryBuilder registry = new RegistryBuilder()
            .Image(Env, "sha256:amd", ["L1"]).Image(Env, "sha256:arm", ["L2"])
            .Index(Env, "sha256:old", "sha256:amd", "sha256:arm").Index(Env, "sha256:new", "sha256:amd")
            .Tag(Env, "old", "sha256:old").Tag(Env, "new", "sha256:new");

        DeletionPlan plan = registry.Plan(RegistryBuilder.Usage(RegistryBuilder.Use($"{Host}/{Env}:new")));

        Assert.Equal("old", Assert.Single(plan.Candidates).Tag);
        Assert.Equal("sha256:arm", Assert.Single(plan.ChildDeletions).Digest);
        Assert.Equal(RegistryBuilder.ManifestSize + registry.Exclusive("L2"), plan.TotalReclaimableBytes);
    }

    [Fact]
    public void A_running_child_digest_stays_when_its_index_is_deleted()
    {
        RegistryBuilder registry = new RegistryBuilder()
            .Image(Env, "sha256:amd", ["L1"]).Image(Env, "sha256:arm", ["L2"]).Index(Env, "sha256:idx", "sha256:amd", "sha256:arm")
            .Tag(Env, "multi", "sha256:idx");

        DeletionPlan plan = registry.Plan(RegistryBuilder.Running("sha256:amd"));

        Assert.Equal("multi", Assert.Single(plan.Candidates).Tag);
        Assert.Equal("sha256:arm", Assert.Single(plan.ChildDeletions).Digest);
    }

    [Fact]
    public void An_index_in_use_by_digest_keeps_all_its_children()
    {
        RegistryBuilder registry = new RegistryBuilder()
            .Image(Env, "sha256:amd", ["L1"]).Index(Env, "sha256:idx", "sha256:amd")
            .Tag(Env, "multi", "sha256:idx").Tag(Env, "amd", "sha256:amd");

        DeletionPlan plan = registry.Plan(RegistryBuilder.Running("sha256:idx"));

        Assert.Empty(plan.Candidates);
        Assert.Contains("running", Assert.Single(plan.Protected, p => p.Tag == "multi").Reason, StringComparison.Ordinal);
        Assert.Contains("child of the kept index", Assert.Single(plan.Protected, p => p.Tag == "amd").Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_digest_only_reference_protects_that_manifest_in_every_repository()
    {
        RegistryBuilder registry = new RegistryBuilder()
            .Image(Env, "sha256:a", ["L1"]).Tag(Env, "e1", "sha256:a")
            .Image(Model, "sha256:a", ["L1"]).Tag(Model, "m1", "sha256:a")
            .Image(Model, "sha256:b", ["L2"]).Tag(Model, "m2", "sha256:b");

        DeletionPlan plan = registry.Plan(RegistryBuilder.Usage(RegistryBuilder.Use($"elsewhere:5000/some/other@sha256:a", "Deployment/ns/web")));

        Assert.Equal(["m2"], plan.Candidates.Select(c => c.Tag));
        Assert.Equal(2, plan.Protected.Count);
        Assert.All(plan.Protected, p => Assert.Contains("Deployment/ns/web", p.Reason, StringComparison.Ordinal));
    }

    [Fact]
    public void Container_status_digests_and_running_digests_protect_in_every_repository()
    {
        RegistryBuilder registry = new RegistryBuilder()
            .Image(Env, "sha256:a", ["L1"]).Tag(Env, "e1", "sha256:a")
            .Image(Model, "sha256:a", ["L1"]).Tag(Model, "m1", "sha256:a")
            .Image(Model, "sha256:b", ["L2"]).Tag(Model, "moved", "sha256:b")
            .Image(Model, "sha256:c", ["L3"]).Tag(Model, "m3", "sha256:c");
        UsageSnapshot usage = new(
            [RegistryBuilder.Use($"{Host}/{Model}:moved", "Pod/ns/p", "docker-pullable://docker-registry:5000/dominodatalab/model@sha256:c")],
            ["sha256:A"],
            ["test"],
            DateTimeOffset.UnixEpoch,
            Complete: true);

        DeletionPlan plan = registry.Plan(usage);

        Assert.Empty(plan.Candidates);
        Assert.Equal(["e1", "m1", "m3", "moved"], plan.Protected.Select(p => p.Tag));
    }

    [Fact]
    public void Usage_matches_whatever_the_host_unless_strict()
    {
        RegistryBuilder registry = new RegistryBuilder().Image(Env, "sha256:a", ["L1"]).Tag(Env, "t1", "sha256:a");
        UsageSnapshot usage = RegistryBuilder.Usage(RegistryBuilder.Use($"10.0.0.7:30500/{Env}:t1"));

        Assert.Empty(registry.Plan(usage).Candidates);
        Assert.Single(registry.Plan(usage, new PlanOptions { StrictHost = true }).Candidates);
        Assert.Empty(registry.Plan(usage, new PlanOptions { StrictHost = true, RegistryHosts = ["http://10.0.0.7:30500/"] }).Candidates);
        Assert.Empty(registry.Plan(RegistryBuilder.Usage(RegistryBuilder.Use($"DOCKER-REGISTRY:5000/{Env}:t1")), new PlanOptions { StrictHost = true }).Candidates);
    }

    [Fact]
    public void Strict_host_does_not_turn_off_digest_protection()
    {
        RegistryBuilder registry = new RegistryBuilder().Image(Env, "sha256:a", ["L1"]).Tag(Env, "t1", "sha256:a");

        DeletionPlan plan = registry.Plan(
            RegistryBuilder.Usage(RegistryBuilder.Use($"mirror:5000/{Env}:t1@sha256:a")), new PlanOptions { StrictHost = true });

        Assert.Empty(plan.Candidates);
    }

    [Fact]
    public void A_docker_hub_reference_protects_the_same_path_on_a_private_registry_unless_strict()
    {
        RegistryBuilder registry = new RegistryBuilder()
            .Image("library/nginx", "sha256:a", ["L1"]).Tag("library/nginx", "1.25", "sha256:a")
            .Image("nginx", "sha256:b", ["L2"]).Tag("nginx", "1.25", "sha256:b");
        UsageSnapshot usage = RegistryBuilder.Usage(RegistryBuilder.Use("docker.io/library/nginx:1.25"));

        Assert.Empty(registry.Plan(usage).Candidates);
        Assert.Equal(2, registry.Plan(usage, new PlanOptions { StrictHost = true }).Candidates.Count);
    }

    [Fact]
    public void KeepLatest_orders_environment_revisions_numerically()
    {
        const string id = "659c7bce85f6381e675bb205";
        RegistryBuilder registry = new();
        foreach (int revision in new[] { 1, 2, 9, 10 })
        {
            registry.Image(Env, $"sha256:r{revision}", [$"L{revision}"]).Tag(Env, $"{id}-{revision}", $"sha256:r{revision}");
        }

        DeletionPlan plan = registry.Plan(options: new PlanOptions { KeepLatest = 2 });

        Assert.Equal([$"{id}-1", $"{id}-2"], plan.Candidates.Select(c => c.Tag));
        Assert.Equal([$"{id}-10", $"{id}-9"], plan.Protected.Select(p => p.Tag));
        Assert.All(plan.Protected, p => Assert.Contains($"2 newest of {id}", p.Reason, StringComparison.Ordinal));
        Assert.Equal(id, plan.Candidates[0].ObjectId);
    }

    [Fact]
    public void KeepLatest_is_per_ObjectId()
    {
        const string a = "659c7bce85f6381e675bb205";
        const string b = "659c7bce85f6381e675bb206";
        RegistryBuilder registry = new();
        foreach (string tag in new[] { $"{a}-1", $"{a}-2", $"{b}-1", $"{b}-2" })
        {
            registry.Image(Env, "sha256:" + tag, [tag]).Tag(Env, tag, "sha256:" + tag);
        }

        DeletionPlan plan = registry.Plan(options: new PlanOptions { KeepLatest = 1 });

        Assert.Equal([$"{a}-1", $"{b}-1"], plan.Candidates.Select(c => c.Tag));
    }

    [Fact]
    public void KeepLatest_orders_model_builds_by_version_then_timestamp()
    {
        const string id = "659d755348824d102d3ec6df";
        string[] tags =
        [
            $"{id}-v2-202401010000_AAAAAAAA",
            $"{id}-v10-202301010000_BBBBBBBB",
            $"{id}-v10-202302010000_CCCCCCCC",
            $"{id}-v9-202501010000_DDDDDDDD",
        ];
        RegistryBuilder registry = new();
        foreach (string tag in tags)
        {
            registry.Image(Model, "sha256:" + tag, [tag]).Tag(Model, tag, "sha256:" + tag);
        }

        DeletionPlan plan = registry.Plan(options: new PlanOptions { KeepLatest = 2 });

        Assert.Equal([tags[1], tags[2]], plan.Protected.Select(p => p.Tag).Order(StringComparer.Ordinal));
        Assert.Equal([tags[0], tags[3]], plan.Candidates.Select(c => c.Tag).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void KeepLatest_orders_other_tags_by_creation_time_and_keeps_unknown_ones()
    {
        DateTimeOffset day = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
        RegistryBuilder registry = new RegistryBuilder()
            .Image(Env, "sha256:a", ["L1"], day).Tag(Env, "alpha", "sha256:a")
            .Image(Env, "sha256:b", ["L2"], day.AddDays(2)).Tag(Env, "beta", "sha256:b")
            .Image(Env, "sha256:c", ["L3"], day.AddDays(1)).Tag(Env, "gamma", "sha256:c")
            .Image(Env, "sha256:d", ["L4"]).Tag(Env, "unknown", "sha256:d");

        DeletionPlan plan = registry.Plan(options: new PlanOptions { KeepLatest = 1 });

        Assert.Equal(["alpha", "gamma"], plan.Candidates.Select(c => c.Tag));
        Assert.Contains("newest", Assert.Single(plan.Protected, p => p.Tag == "beta").Reason, StringComparison.Ordinal);
        Assert.Contains("creation time unknown", Assert.Single(plan.Protected, p => p.Tag == "unknown").Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void OlderThan_keeps_newer_images_and_images_of_unknown_age()
    {
        DateTimeOffset now = new(2025, 6, 1, 0, 0, 0, TimeSpan.Zero);
        RegistryBuilder registry = new RegistryBuilder()
            .Image(Env, "sha256:old", ["L1"], now.AddDays(-60)).Tag(Env, "old", "sha256:old")
            .Image(Env, "sha256:new", ["L2"], now.AddDays(-10)).Tag(Env, "new", "sha256:new")
            .Image(Env, "sha256:unk", ["L3"]).Tag(Env, "unknown", "sha256:unk");

        DeletionPlan plan = registry.Plan(options: new PlanOptions { OlderThan = TimeSpan.FromDays(30), Now = now });

        DeletionCandidate old = Assert.Single(plan.Candidates);
        Assert.Equal("old", old.Tag);
        Assert.Equal(now.AddDays(-60), old.Created);
        Assert.Contains("older than 30 days", old.Reason, StringComparison.Ordinal);
        Assert.Contains("not older than", Assert.Single(plan.Protected, p => p.Tag == "new").Reason, StringComparison.Ordinal);
        Assert.Contains("creation time unknown", Assert.Single(plan.Protected, p => p.Tag == "unknown").Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void OlderThan_without_Now_is_rejected() =>
        Assert.Throws<ArgumentException>(() => new RegistryBuilder().Plan(options: new PlanOptions { OlderThan = TimeSpan.FromDays(1) }));

    [Fact]
    public void An_index_without_creation_time_takes_its_newest_child()
    {
        DateTimeOffset now = new(2025, 6, 1, 0, 0, 0, TimeSpan.Zero);
        RegistryBuilder registry = new RegistryBuilder()
            .Image(Env, "sha256:amd", ["L1"], now.AddDays(-90)).Image(Env, "sha256:arm", ["L2"], now.AddDays(-40))
            .Index(Env, "sha256:idx", "sha256:amd", "sha256:arm").Tag(Env, "multi", "sha256:idx");

        DeletionPlan plan = registry.Plan(options: new PlanOptions { OlderThan = TimeSpan.FromDays(30), Now = now });

        Assert.Equal(now.AddDays(-40), Assert.Single(plan.Candidates).Created);
    }

    [Fact]
    public void Include_and_Exclude_select_tags_case_insensitively()
    {
        RegistryBuilder registry = new();
        foreach (string tag in new[] { "nightly-1", "Nightly-22", "nightly-keep", "release-1" })
        {
            registry.Image(Env, "sha256:" + tag, [tag]).Tag(Env, tag, "sha256:" + tag);
        }

        DeletionPlan plan = registry.Plan(options: new PlanOptions { Include = ["NIGHTLY-*"], Exclude = ["*-keep", "release-?"] });

        Assert.Equal(["Nightly-22", "nightly-1"], plan.Candidates.Select(c => c.Tag));
        Assert.Empty(plan.Protected);
    }

    [Fact]
    public void ObjectIds_limit_the_scope_to_their_tags()
    {
        const string a = "659c7bce85f6381e675bb205";
        const string b = "659c7bce85f6381e675bb206";
        RegistryBuilder registry = new();
        foreach (string tag in new[] { $"{a}-1", $"{a}", $"{b}-1", $"x{a}-1", $"{a}1-1" })
        {
            registry.Image(Env, "sha256:" + tag, [tag]).Tag(Env, tag, "sha256:" + tag);
        }

        DeletionPlan plan = registry.Plan(options: new PlanOptions { ObjectIds = [a.ToUpperInvariant()] });

        Assert.Equal([a, $"{a}-1"], plan.Candidates.Select(c => c.Tag));
    }

    [Fact]
    public void Repositories_limit_the_scope_but_bytes_consider_every_repository()
    {
        RegistryBuilder registry = new RegistryBuilder().Blob("shared", 900)
            .Image(Env, "sha256:e", ["shared"]).Tag(Env, "e", "sha256:e")
            .Image(Model, "sha256:m", ["shared"]).Tag(Model, "m", "sha256:m");

        DeletionPlan plan = registry.Plan(options: new PlanOptions { Repositories = [Model] });

        Assert.Equal(RegistryBuilder.ManifestSize + RegistryBuilder.ConfigSize, Assert.Single(plan.Candidates).ReclaimableBytes);
    }

    [Fact]
    public void Explicit_targets_are_the_only_candidates_and_every_protection_still_applies()
    {
        RegistryBuilder registry = new RegistryBuilder()
            .Image(Env, "sha256:a", ["L1"]).Tag(Env, "a", "sha256:a")
            .Image(Env, "sha256:b", ["L2"]).Tag(Env, "b", "sha256:b").Tag(Env, "b-live", "sha256:b")
            .Image(Env, "sha256:c", ["L3"]).Tag(Env, "c", "sha256:c")
            .Image(Env, "sha256:d", ["L4"]).Tag(Env, "d", "sha256:d");
        PlanOptions options = new()
        {
            Targets =
            [
                new PlanTarget(Env, "a", "sha256:a"),
                new PlanTarget(Env, "b", null),
                new PlanTarget(Env, "c", "sha256:zzz"),
                new PlanTarget(Env, "nope", null),
                new PlanTarget("other/repo", "x", null),
            ],
        };

        DeletionPlan plan = registry.Plan(RegistryBuilder.Usage(RegistryBuilder.Use($"{Host}/{Env}:b-live")), options);

        DeletionCandidate a = Assert.Single(plan.Candidates);
        Assert.Equal("a", a.Tag);
        Assert.Contains("requested", a.Reason, StringComparison.Ordinal);
        Assert.Contains("'b-live'", Assert.Single(plan.Protected, p => p.Tag == "b").Reason, StringComparison.Ordinal);
        Assert.Contains("tag moved", Assert.Single(plan.Protected, p => p.Tag == "c").Reason, StringComparison.Ordinal);
        Assert.Contains("not found", Assert.Single(plan.Protected, p => p.Tag == "nope").Reason, StringComparison.Ordinal);
        Assert.Contains("not in the inventory", Assert.Single(plan.Protected, p => p.Repository == "other/repo").Reason, StringComparison.Ordinal);
        Assert.DoesNotContain(plan.Protected, p => p.Tag == "d");
    }

    [Fact]
    public void A_digest_target_deletes_an_untagged_manifest_unless_a_kept_index_needs_it()
    {
        RegistryBuilder registry = new RegistryBuilder()
            .Image(Env, "sha256:orphan", ["L1"])
            .Image(Env, "sha256:child", ["L2"]).Index(Env, "sha256:idx", "sha256:child").Tag(Env, "multi", "sha256:idx");
        PlanOptions options = new() { Targets = [new PlanTarget(Env, null, "sha256:orphan"), new PlanTarget(Env, null, "sha256:child")] };

        DeletionPlan plan = registry.Plan(options: options);

        DeletionCandidate orphan = Assert.Single(plan.Candidates);
        Assert.Null(orphan.Tag);
        Assert.Equal("sha256:orphan", orphan.Digest);
        Assert.Equal(registry.Exclusive("L1"), orphan.ReclaimableBytes);
        ProtectedImage child = Assert.Single(plan.Protected);
        Assert.Equal("sha256:child", child.Digest);
        Assert.Contains("child of the kept index sha256:idx ('multi')", child.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_digest_target_targets_every_tag_of_that_manifest()
    {
        RegistryBuilder registry = new RegistryBuilder().Image(Env, "sha256:a", ["L1"]).Tag(Env, "x", "sha256:a").Tag(Env, "y", "sha256:a");

        DeletionPlan plan = registry.Plan(options: new PlanOptions { Targets = [new PlanTarget(Env, null, "sha256:a")] });

        Assert.Equal(["x", "y"], plan.Candidates.Select(c => c.Tag));
    }

    [Fact]
    public void Untagged_manifests_outside_the_plan_keep_their_blobs()
    {
        RegistryBuilder registry = new RegistryBuilder().Blob("shared", 900)
            .Image(Env, "sha256:orphan", ["shared"])
            .Image(Env, "sha256:a", ["shared", "L1"]).Tag(Env, "a", "sha256:a");

        DeletionPlan plan = registry.Plan();

        Assert.Equal(registry.Exclusive("L1"), plan.TotalReclaimableBytes);
    }

    [Fact]
    public void Incomplete_usage_is_refused()
    {
        RegistryBuilder registry = new RegistryBuilder().Image(Env, "sha256:a", ["L1"]).Tag(Env, "a", "sha256:a");
        UsageSnapshot usage = RegistryBuilder.Usage() with { Complete = false };

        Assert.Throws<UsageIncompleteException>(() => registry.Plan(usage));
        Assert.Throws<UsageIncompleteException>(() => registry.Plan(usage, new PlanOptions { AcceptIncompleteInventory = true }));
    }

    [Fact]
    public void An_incomplete_inventory_is_refused_unless_accepted_for_a_report_with_estimated_bytes()
    {
        RegistryBuilder registry = new RegistryBuilder().Image(Env, "sha256:a", ["L1"]).Tag(Env, "a", "sha256:a");
        PlanRequest request = new(registry.Inventory(complete: false), RegistryBuilder.Usage(), new PlanOptions());

        Assert.Throws<InventoryIncompleteException>(() => DeletionPlanner.Plan(request));
        DeletionPlan report = DeletionPlanner.Plan(request with { Options = new PlanOptions { AcceptIncompleteInventory = true } });
        Assert.True(report.BytesAreEstimates);
        Assert.Single(report.Candidates);
    }

    [Fact]
    public void A_tag_whose_manifest_is_missing_from_the_inventory_is_kept()
    {
        RegistryBuilder registry = new RegistryBuilder().Tag(Env, "ghost", "sha256:missing");

        DeletionPlan plan = registry.Plan();

        Assert.Empty(plan.Candidates);
        Assert.Contains("not in the inventory", Assert.Single(plan.Protected).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Output_is_ordered_by_repository_then_tag()
    {
        RegistryBuilder registry = new();
        foreach ((string repository, string tag) in new[] { (Model, "b"), (Env, "z"), (Model, "a"), (Env, "B"), (Env, "a") })
        {
            string digest = $"sha256:{repository}-{tag}";
            registry.Image(repository, digest, [digest]).Tag(repository, tag, digest);
        }

        DeletionPlan plan = registry.Plan();

        Assert.Equal(
            [(Env, "B"), (Env, "a"), (Env, "z"), (Model, "a"), (Model, "b")],
            plan.Candidates.Select(c => (c.Repository, c.Tag!)));
    }

    [Fact]
    public void The_synthetic_inventory_plans_with_consistent_bytes()
    {
        PlanRequest request = SyntheticInventory.Create(tagCount: 2_000, layersPerImage: 6);

        DeletionPlan plan = DeletionPlanner.Plan(request);

        Assert.NotEmpty(plan.Candidates);
        Assert.NotEmpty(plan.Protected);
        Assert.NotEmpty(plan.ChildDeletions);
        Assert.Equal(GarbageCollectionSimulation.FreedBytes(request.Inventory, plan), plan.TotalReclaimableBytes);
    }

    [Fact]
    public void A_tag_listed_twice_in_the_inventory_is_planned_once()
    {
        RegistryBuilder registry = new RegistryBuilder().Image(Env, "sha256:a", ["L1"]).Tag(Env, "a", "sha256:a").Tag(Env, "a", "sha256:a");

        DeletionPlan plan = registry.Plan();

        Assert.Empty(Assert.Single(plan.Candidates).OtherTags);
    }

    [Fact]
    public void A_nested_index_takes_its_grandchildren_when_deleted_and_keeps_them_when_kept()
    {
        RegistryBuilder registry = new RegistryBuilder()
            .Image(Env, "sha256:img", ["L1"]).Index(Env, "sha256:inner", "sha256:img").Index(Env, "sha256:outer", "sha256:inner")
            .Tag(Env, "outer", "sha256:outer").Tag(Env, "img", "sha256:img");

        DeletionPlan deleted = registry.Plan();
        DeletionPlan kept = registry.Plan(RegistryBuilder.Usage(RegistryBuilder.Use($"{Host}/{Env}:outer")));

        Assert.Equal(["img", "outer"], deleted.Candidates.Select(c => c.Tag));
        Assert.Equal("sha256:inner", Assert.Single(deleted.ChildDeletions).Digest);
        Assert.Equal(GarbageCollectionSimulation.FreedBytes(registry.Inventory(), deleted), deleted.TotalReclaimableBytes);
        Assert.Empty(kept.Candidates);
        Assert.Contains("child of the kept index sha256:inner", Assert.Single(kept.Protected, p => p.Tag == "img").Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void An_untagged_target_outside_the_filters_is_kept_with_that_reason()
    {
        RegistryBuilder registry = new RegistryBuilder().Image(Env, "sha256:orphan", ["L1"]);

        DeletionPlan plan = registry.Plan(options: new PlanOptions { Include = ["*"], Targets = [new PlanTarget(Env, null, "sha256:orphan")] });

        Assert.Empty(plan.Candidates);
        Assert.Contains("out of scope", Assert.Single(plan.Protected).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_running_digest_reason_says_so_once()
    {
        RegistryBuilder registry = new RegistryBuilder().Image(Env, "sha256:a", ["L1"]).Tag(Env, "a", "sha256:a");

        DeletionPlan plan = registry.Plan(RegistryBuilder.Running("sha256:a"));

        Assert.Equal("digest sha256:a is running (a container status names it)", Assert.Single(plan.Protected).Reason);
    }
}
