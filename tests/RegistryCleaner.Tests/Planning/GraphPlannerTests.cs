using RegistryCleaner.Planning;
using RegistryCleaner.Registry;
using static RegistryCleaner.Tests.Planning.RegistryBuilder;

namespace RegistryCleaner.Tests.Planning;

/// <summary>The planner over the whole manifest graph: referrers, nested indexes, untagged manifests, untagging.</summary>
public class GraphPlannerTests
{
    private const string Env = "dominodatalab/environment";
    private const string Host = RegistryBuilder.Registry;
    private const string Cosign = "application/vnd.dev.cosign.simplesigning.v1+json";
    private const string Spdx = "application/spdx+json";
    private static readonly string ImageA = Digest('a');
    private static readonly string ImageB = Digest('b');

    /// <summary>Image <paramref name="image"/> tagged <paramref name="tag"/>, signed cosign-style and with an SBOM listed in its referrers index tag.</summary>
    private static RegistryBuilder SignedImage(RegistryBuilder registry, string image, string tag, char seed)
    {
        string signature = Digest((char)(seed + 1));
        string sbom = Digest((char)(seed + 2));
        string index = Digest((char)(seed + 3));
        return registry
            .Blob($"L-{tag}", 1000).Blob($"sig-{tag}", 300).Blob($"sbom-{tag}", 500)
            .Image(Env, image, ["L-base", $"L-{tag}"]).Tag(Env, tag, image)
            .Artifact(Env, signature, null, Cosign, [$"sig-{tag}"]).Tag(Env, SchemaTag(image, ".sig"), signature)
            .Artifact(Env, sbom, image, Spdx, [$"sbom-{tag}"])
            .Index(Env, index, sbom).Tag(Env, SchemaTag(image), index);
    }

    [Fact]
    public void The_signature_SBOM_and_referrers_index_of_a_kept_image_are_kept()
    {
        RegistryBuilder registry = SignedImage(new RegistryBuilder().Blob("L-base", 2000), ImageA, "v1", 'c');

        DeletionPlan plan = registry.Plan(Usage(Use($"{Host}/{Env}:v1", "Pod/domino-compute/run-7")));

        Assert.Empty(plan.Candidates);
        ProtectedImage signature = Assert.Single(plan.Protected, p => p.Tag == SchemaTag(ImageA, ".sig"));
        Assert.Contains($"of the kept manifest {ImageA} ('v1')", signature.Reason, StringComparison.Ordinal);
        Assert.Contains(Cosign, signature.Reason, StringComparison.Ordinal);
        Assert.Contains("of the kept manifest", Assert.Single(plan.Protected, p => p.Tag == SchemaTag(ImageA)).Reason, StringComparison.Ordinal);
        Assert.Equal(0, plan.TotalReclaimableBytes);
    }

    [Fact]
    public void A_deleted_image_takes_its_referrers_on_the_same_candidate_counting_each_blob_once()
    {
        RegistryBuilder registry = SignedImage(SignedImage(new RegistryBuilder().Blob("L-base", 2000), ImageA, "v1", 'c'), ImageB, "v2", 'f');

        DeletionPlan plan = registry.Plan(Usage(Use($"{Host}/{Env}:v1")));

        // The signature and referrers index tags are not candidates of their own: they go with v2.
        DeletionCandidate candidate = Assert.Single(plan.Candidates);
        Assert.Equal(("v2", ImageB), (candidate.Tag, candidate.Digest));
        Assert.Equal(
            [(ManifestRelation.Referrer, Digest('i'), ImageB), (ManifestRelation.Child, Digest('h'), Digest('i')), (ManifestRelation.Referrer, Digest('g'), ImageB)],
            candidate.ChildDeletions.Select(c => (c.Relation, c.Digest, c.ParentDigest)));
        Assert.Equal([SchemaTag(ImageB)], candidate.ChildDeletions[0].Tags);
        Assert.Equal([SchemaTag(ImageB, ".sig")], candidate.ChildDeletions[2].Tags);
        Assert.Equal(Cosign, candidate.ChildDeletions[2].ArtifactType);
        Assert.Contains($"{SchemaTag(ImageB)}, {SchemaTag(ImageB, ".sig")}", candidate.Reason, StringComparison.Ordinal);
        Assert.Equal([Digest('i'), Digest('g')], candidate.Referrers.Select(r => r.Digest));

        long expected = registry.Exclusive("L-v2") + (ManifestSize + 2 + 300) + (ManifestSize + 500) + ManifestSize;
        Assert.Equal(expected - 2, candidate.ReclaimableBytes); // the empty config blob is shared with v1's referrers
        Assert.Equal(GarbageCollectionSimulation.FreedBytes(registry.Inventory(), plan), plan.TotalReclaimableBytes);
        Assert.DoesNotContain(plan.Protected, p => p.Tag is not null && p.Tag.Contains(ImageB["sha256:".Length..], StringComparison.Ordinal));
    }

    [Fact]
    public void Signature_tags_take_no_slot_among_the_newest()
    {
        DateTimeOffset old = new(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);
        RegistryBuilder registry = new RegistryBuilder()
            .Image(Env, ImageA, ["L1"], old).Tag(Env, "v1", ImageA)
            .Image(Env, ImageB, ["L2"], old.AddDays(1)).Tag(Env, "v2", ImageB)
            .Artifact(Env, Digest('c'), null, Cosign, ["S1"], old.AddDays(9)).Tag(Env, SchemaTag(ImageA, ".sig"), Digest('c'))
            .Artifact(Env, Digest('d'), null, Cosign, ["S2"], old.AddDays(9)).Tag(Env, SchemaTag(ImageB, ".sig"), Digest('d'));

        DeletionPlan plan = registry.Plan(options: new PlanOptions { KeepLatest = 1 });

        DeletionCandidate candidate = Assert.Single(plan.Candidates);
        Assert.Equal("v1", candidate.Tag);
        Assert.Equal([SchemaTag(ImageA, ".sig")], candidate.Referrers.Single().Tags);
        Assert.Contains("among the 1 newest", Assert.Single(plan.Protected, p => p.Tag == "v2").Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_signature_whose_subject_is_gone_is_a_candidate_that_says_so_and_one_whose_subject_is_elsewhere_is_kept()
    {
        string gone = Digest('e');
        RegistryBuilder registry = new RegistryBuilder()
            .Image("other/app", ImageA, ["L1"]).Tag("other/app", "v1", ImageA)
            .Artifact(Env, Digest('c'), null, Cosign, ["S1"]).Tag(Env, SchemaTag(gone, ".sig"), Digest('c'))
            .Artifact(Env, Digest('d'), null, Cosign, ["S2"]).Tag(Env, SchemaTag(ImageA, ".sig"), Digest('d'));

        DeletionPlan plan = registry.Plan(options: new PlanOptions { Repositories = [Env] });

        DeletionCandidate orphan = Assert.Single(plan.Candidates);
        Assert.Equal(SchemaTag(gone, ".sig"), orphan.Tag);
        Assert.Equal(gone, orphan.Subject);
        Assert.Equal(Cosign, orphan.ArtifactType);
        Assert.Contains($"signature of {gone}, which is not in the registry", orphan.Reason, StringComparison.Ordinal);
        Assert.Contains("in repository other/app", Assert.Single(plan.Protected, p => p.Tag == SchemaTag(ImageA, ".sig")).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_referrer_follows_its_subject_unless_a_tag_of_its_own_keeps_it()
    {
        string kept = Digest('c');
        string follows = Digest('d');
        RegistryBuilder registry = new RegistryBuilder()
            .Image(Env, ImageA, ["L1"]).Tag(Env, "v1", ImageA)
            .Artifact(Env, kept, ImageA, Spdx, ["S1"]).Tag(Env, "sbom-pinned", kept)
            .Artifact(Env, follows, ImageA, Spdx, ["S2"]).Tag(Env, "sbom-latest", follows);

        DeletionPlan plan = registry.Plan(options: new PlanOptions { Exclude = ["sbom-pinned"] });

        DeletionCandidate candidate = Assert.Single(plan.Candidates);
        Assert.Equal("v1", candidate.Tag);
        ChildDeletion referrer = Assert.Single(candidate.ChildDeletions);
        Assert.Equal((follows, ManifestRelation.Referrer, "sbom-latest"), (referrer.Digest, referrer.Relation, Assert.Single(referrer.Tags)));
        Assert.Equal(GarbageCollectionSimulation.FreedBytes(registry.Inventory(), plan), plan.TotalReclaimableBytes);

        // The subject kept: both referrers stay, whatever their own tags say.
        DeletionPlan keptPlan = registry.Plan(Usage(Use($"{Host}/{Env}:v1")));
        Assert.Empty(keptPlan.Candidates);
        Assert.Contains("referrer (application/spdx+json) of the kept manifest", Assert.Single(keptPlan.Protected, p => p.Tag == "sbom-latest").Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_referrer_with_an_ordinary_tag_goes_with_its_subject_however_the_plan_is_narrowed_unless_its_tag_is_in_use()
    {
        DateTimeOffset old = new(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);
        string sbom = Digest('c');
        string pinned = Digest('d');
        string signature = Digest('e');
        RegistryBuilder registry = new RegistryBuilder().Blob("S1", 500).Blob("S2", 700)
            .Image(Env, ImageA, ["L1"], old).Tag(Env, "v1", ImageA)
            .Image(Env, ImageB, ["L2"], old.AddDays(1)).Tag(Env, "v2", ImageB)
            .Artifact(Env, sbom, ImageA, Spdx, ["S1"]).Tag(Env, "sbom-latest", sbom)
            .Artifact(Env, signature, null, Cosign, ["S3"]).Tag(Env, SchemaTag(ImageA, ".sig"), signature);
        var plans = new Dictionary<string, DeletionPlan>(StringComparer.Ordinal)
        {
            ["whole"] = registry.Plan(Usage(Use($"{Host}/{Env}:v2"))),

            // Get-UnusedImage | Remove-UnusedImage: the referrer's tags are never rows, so never piped.
            ["piped"] = registry.Plan(options: new PlanOptions { Targets = [new PlanTarget(Env, "v1", ImageA)] }),
            ["included"] = registry.Plan(Usage(Use($"{Host}/{Env}:v2")), new PlanOptions { Include = ["v*"] }),

            // An artifact has no creation time: its subject's age decides.
            ["older"] = registry.Plan(Usage(Use($"{Host}/{Env}:v2")), new PlanOptions { OlderThan = TimeSpan.FromDays(30), Now = old.AddDays(365) }),

            // The referrer takes no slot among the newest.
            ["latest"] = registry.Plan(options: new PlanOptions { KeepLatest = 1 }),
        };

        long bytes = plans["whole"].Candidates.Single().ReclaimableBytes;
        foreach ((string name, DeletionPlan plan) in plans)
        {
            DeletionCandidate candidate = Assert.Single(plan.Candidates);
            Assert.True(("v1", ImageA) == (candidate.Tag, candidate.Digest), name);
            Assert.True(
                new[] { signature, sbom }.Order(StringComparer.Ordinal).SequenceEqual(candidate.Referrers.Select(r => r.Digest).Order(StringComparer.Ordinal)),
                $"{name}: {string.Join(", ", candidate.Referrers.Select(r => r.Digest))}");
            Assert.Contains("sbom-latest", candidate.Reason, StringComparison.Ordinal);
            Assert.DoesNotContain(plan.Protected, p => p.Tag == "sbom-latest");
            Assert.True(bytes == candidate.ReclaimableBytes, name);
            Assert.True(GarbageCollectionSimulation.FreedBytes(registry.Inventory(), plan) == plan.TotalReclaimableBytes, name);
        }

        // Rule 1 beats rule 9: a referrer whose own tag a workload uses stays; its subject still goes, without its bytes.
        registry.Artifact(Env, pinned, ImageA, Spdx, ["S2"]).Tag(Env, "sbom-pinned", pinned);
        foreach (PlanOptions options in new[] { new PlanOptions(), new PlanOptions { Targets = [new PlanTarget(Env, "v1", ImageA)] } })
        {
            DeletionPlan plan = registry.Plan(Usage(Use($"{Host}/{Env}:v2"), Use($"{Host}/{Env}:sbom-pinned", "Pod/domino-compute/scanner")), options);
            DeletionCandidate candidate = Assert.Single(plan.Candidates);
            Assert.Equal("v1", candidate.Tag);
            Assert.DoesNotContain(candidate.ChildDeletions, c => c.Digest == pinned);
            Assert.Contains("its referrer sbom-pinned stays (", candidate.Reason, StringComparison.Ordinal);
            Assert.Contains("scanner", candidate.Reason, StringComparison.Ordinal);
            Assert.Contains("its bytes are not counted", candidate.Reason, StringComparison.Ordinal);
            Assert.Equal(bytes - 2, candidate.ReclaimableBytes); // the empty config blob, which the kept referrer still holds
            Assert.Equal(GarbageCollectionSimulation.FreedBytes(registry.Inventory(), plan), plan.TotalReclaimableBytes);
        }
    }

    [Fact]
    public void A_piped_untagged_referrer_of_a_kept_image_says_it_is_a_referrer_and_a_digest_tag_on_its_own_manifest_is_an_ordinary_tag()
    {
        string sbom = Digest('c');
        RegistryBuilder registry = new RegistryBuilder()
            .Image(Env, ImageA, ["L1"]).Tag(Env, "v1", ImageA)
            .Artifact(Env, sbom, ImageA, Spdx, ["S1"])
            .Image(Env, ImageB, ["L2"]).Tag(Env, SchemaTag(ImageB), ImageB);

        DeletionPlan piped = registry.Plan(Usage(Use($"{Host}/{Env}:v1")), new PlanOptions { Targets = [new PlanTarget(Env, null, sbom)] });

        Assert.Empty(piped.Candidates);
        string reason = Assert.Single(piped.Protected, p => p.Digest == sbom).Reason;
        Assert.Contains($"referrer ({Spdx}) of the kept manifest {ImageA} ('v1')", reason, StringComparison.Ordinal);
        Assert.DoesNotContain("index", reason, StringComparison.Ordinal);

        DeletionCandidate digestTag = Assert.Single(registry.Plan(Usage(Use($"{Host}/{Env}:v1"))).Candidates);
        Assert.Equal((SchemaTag(ImageB), ImageB), (digestTag.Tag, digestTag.Digest));
        Assert.Null(digestTag.Subject);
        Assert.DoesNotContain("not in the registry", digestTag.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void An_index_of_indexes_is_kept_whole_and_deleted_whole_with_its_leaf_sizes()
    {
        DateTimeOffset created = new(2024, 3, 4, 0, 0, 0, TimeSpan.Zero);
        RegistryBuilder registry = new RegistryBuilder().Blob("L1", 1000).Blob("L2", 2000).Blob("L3", 4000)
            .Image(Env, "sha256:leaf1", ["L1"], created).Image(Env, "sha256:leaf2", ["L2"], created.AddDays(1))
            .Index(Env, "sha256:inner-kept", "sha256:leaf1").Index(Env, "sha256:outer-kept", "sha256:inner-kept", "sha256:leaf2")
            .Tag(Env, "live", "sha256:outer-kept").Tag(Env, "leaf-tag", "sha256:leaf1")
            .Image(Env, "sha256:leaf3", ["L3"], created)
            .Index(Env, "sha256:inner-old", "sha256:leaf3").Index(Env, "sha256:middle-old", "sha256:inner-old").Index(Env, "sha256:outer-old", "sha256:middle-old")
            .Tag(Env, "old", "sha256:outer-old");

        DeletionPlan plan = registry.Plan(Usage(Use($"{Host}/{Env}:live")));

        // Kept at every depth: the leaf's own tag is not a candidate.
        Assert.Contains("child of the kept index sha256:inner-kept", Assert.Single(plan.Protected, p => p.Tag == "leaf-tag").Reason, StringComparison.Ordinal);
        DeletionCandidate old = Assert.Single(plan.Candidates);
        Assert.Equal("old", old.Tag);
        Assert.Equal(["sha256:middle-old", "sha256:inner-old", "sha256:leaf3"], old.ChildDeletions.Select(c => c.Digest));
        Assert.Equal(["sha256:outer-old", "sha256:middle-old", "sha256:inner-old"], old.ChildDeletions.Select(c => c.ParentDigest));
        Assert.Equal(4000 + ConfigSize, old.Size);
        Assert.Equal(created, old.Created);
        Assert.Equal(GarbageCollectionSimulation.FreedBytes(registry.Inventory(), plan), plan.TotalReclaimableBytes);
        Assert.Equal((4 * ManifestSize) + ConfigSize + 4000, plan.TotalReclaimableBytes);
    }

    [Fact]
    public void A_cycle_or_nesting_deeper_than_the_limit_refuses_the_plan()
    {
        RegistryBuilder cycle = new RegistryBuilder().Index(Env, "sha256:x", "sha256:y").Index(Env, "sha256:y", "sha256:x").Tag(Env, "loop", "sha256:x");
        InventoryGraphException looped = Assert.Throws<InventoryGraphException>(() => cycle.Plan());
        Assert.Contains("cycle", looped.Message, StringComparison.Ordinal);

        RegistryBuilder deep = new RegistryBuilder().Image(Env, "sha256:leaf", ["L1"]);
        string child = "sha256:leaf";
        for (int level = 1; level <= ManifestGraphException.MaxIndexDepth + 1; level++)
        {
            deep.Index(Env, $"sha256:level{level}", child);
            child = $"sha256:level{level}";
        }

        deep.Tag(Env, "deep", child);
        Assert.Contains("levels deep", Assert.Throws<InventoryGraphException>(() => deep.Plan()).Message, StringComparison.Ordinal);

        // A reader's graph error refuses even a report-only plan.
        RegistryInventory reported = new RegistryBuilder().Image(Env, ImageA, ["L1"]).Tag(Env, "v1", ImageA).Inventory() with { GraphErrors = ["dominodatalab/environment:bad: a cycle."] };
        Assert.Throws<InventoryGraphException>(() => DeletionPlanner.Plan(new PlanRequest(reported, Usage(), new PlanOptions { AcceptIncompleteInventory = true })));
    }

    [Fact]
    public void Where_tags_can_be_deleted_alone_a_candidate_sharing_a_kept_manifest_is_untagged_for_0_bytes()
    {
        RegistryBuilder registry = new RegistryBuilder().Image(Env, ImageA, ["L1"]).Tag(Env, "old", ImageA).Tag(Env, "live", ImageA)
            .Image(Env, ImageB, ["L2"]).Tag(Env, "unused", ImageB);
        var usage = Usage(Use($"{Host}/{Env}:live"));

        DeletionPlan kept = registry.Plan(usage);
        Assert.Equal(["unused"], kept.Candidates.Select(c => c.Tag));
        Assert.Contains("'live'", Assert.Single(kept.SharedManifestTags).Reason, StringComparison.Ordinal);

        DeletionPlan untagged = registry.Plan(usage, new PlanOptions { TagDeletionSupported = true });

        DeletionCandidate untag = Assert.Single(untagged.Candidates, c => c.Tag == "old");
        Assert.Equal(CandidateAction.Untag, untag.Action);
        Assert.Equal(0, untag.ReclaimableBytes);
        Assert.Empty(untag.OtherTags);
        Assert.Contains("also tagged 'live'", untag.Reason, StringComparison.Ordinal);
        Assert.Contains("only this tag is deleted", untag.Reason, StringComparison.Ordinal);
        Assert.Equal(CandidateAction.Delete, Assert.Single(untagged.Candidates, c => c.Tag == "unused").Action);
        Assert.Equal(kept.TotalReclaimableBytes, untagged.TotalReclaimableBytes);
        Assert.Equal(GarbageCollectionSimulation.FreedBytes(registry.Inventory(), untagged), untagged.TotalReclaimableBytes);
        Assert.Single(untagged.SharedManifestTags);
    }

    [Fact]
    public void Untagged_manifests_from_storage_are_candidates_by_digest_and_make_the_bytes_exact()
    {
        // v1 was overwritten: its old manifest (sharing layer L1) is untagged and only the storage shows it.
        RegistryBuilder registry = new RegistryBuilder().Blob("L1", 1000).Blob("L2", 2000).Blob("L3", 4000)
            .Image(Env, "sha256:old", ["L1", "L3"]).Image(Env, "sha256:new", ["L1", "L2"]).Tag(Env, "v1", "sha256:new");
        RegistryInventory everything = registry.Inventory(includesUntagged: true);

        // Without storage the API sees only v1: it counts L1, which the untagged manifest keeps alive.
        RegistryBuilder apiOnly = new RegistryBuilder().Blob("L1", 1000).Blob("L2", 2000)
            .Image(Env, "sha256:new", ["L1", "L2"]).Tag(Env, "v1", "sha256:new");
        DeletionPlan blind = apiOnly.Plan();
        long freedWithoutOld = GarbageCollectionSimulation.FreedBytes(everything, blind);
        Assert.Equal(freedWithoutOld + 1000, blind.TotalReclaimableBytes);
        Assert.Equal(1000 + 2000 + ConfigSize, blind.UnverifiedBytes);
        Assert.False(blind.IncludesUntaggedManifests);

        DeletionPlan exact = DeletionPlanner.Plan(new PlanRequest(everything, Usage(), new PlanOptions()));
        Assert.True(exact.IncludesUntaggedManifests);
        Assert.Equal(0, exact.UnverifiedBytes);
        DeletionCandidate untagged = Assert.Single(exact.Candidates, c => c.Tag is null);
        Assert.Equal("sha256:old", untagged.Digest);
        Assert.Equal(GarbageCollectionSimulation.FreedBytes(everything, exact), exact.TotalReclaimableBytes);

        // Filtered by tag name, the untagged manifest is out of scope and stays, and v1's bytes leave L1 out.
        DeletionPlan filtered = DeletionPlanner.Plan(new PlanRequest(everything, Usage(), new PlanOptions { Include = ["v*"] }));
        Assert.Equal("v1", Assert.Single(filtered.Candidates).Tag);
        Assert.Contains("out of scope", Assert.Single(filtered.Protected, p => p.Tag is null).Reason, StringComparison.Ordinal);
        Assert.Equal(GarbageCollectionSimulation.FreedBytes(everything, filtered), filtered.TotalReclaimableBytes);
        Assert.Equal(2000 + ConfigSize + ManifestSize, filtered.TotalReclaimableBytes);

        // Running by digest keeps it.
        DeletionPlan running = DeletionPlanner.Plan(new PlanRequest(everything, Running("sha256:old"), new PlanOptions()));
        Assert.DoesNotContain(running.Candidates, c => c.Tag is null);
        Assert.Equal(GarbageCollectionSimulation.FreedBytes(everything, running), running.TotalReclaimableBytes);
    }
}
