using RegistryCleaner.Planning;
using RegistryCleaner.Registry;
using RegistryCleaner.Workloads;

namespace RegistryCleaner.Tests.Planning;

/// <summary>Random registries (shared blobs, indexes, several repositories, random usage) checked against a brute-force GC.</summary>
public class DeletionPlannerPropertyTests
{
    private const string Host = RegistryBuilder.Registry;

    public static TheoryData<int> Seeds()
    {
        TheoryData<int> seeds = [];
        for (int seed = 1; seed <= 300; seed++)
        {
            seeds.Add(seed);
        }

        return seeds;
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void The_plan_frees_exactly_what_garbage_collection_frees_and_never_deletes_what_is_kept(int seed)
    {
        Random random = new(seed);
        (RegistryInventory inventory, UsageSnapshot usage) = RandomRegistry(random);
        PlanOptions options = new()
        {
            StrictHost = random.Next(4) == 0,
            KeepLatest = random.Next(3) == 0 ? random.Next(1, 3) : 0,
            Include = random.Next(4) == 0 ? ["t*"] : [],
            Exclude = random.Next(4) == 0 ? ["*1"] : [],
            Repositories = random.Next(4) == 0 ? [inventory.Repositories[0]] : [],
            ObjectIds = random.Next(6) == 0 ? ["659c7bce85f6381e675bb205"] : [],
            OlderThan = random.Next(4) == 0 ? TimeSpan.FromDays(300) : null,
            Now = DateTimeOffset.UnixEpoch.AddDays(1000),
            Targets = random.Next(4) == 0
                ? [.. inventory.Tags.Where(_ => random.Next(2) == 0).Select(t => new PlanTarget(t.Repository, t.Tag, random.Next(2) == 0 ? t.Digest : null))]
                : null,
            TagDeletionSupported = random.Next(3) == 0,
        };
        inventory = inventory with { IncludesUntaggedManifests = random.Next(3) == 0 };

        DeletionPlan plan = DeletionPlanner.Plan(new PlanRequest(inventory, usage, options));

        // Bytes: equal to the brute-force GC, and each freed blob counted exactly once.
        Dictionary<string, long> freed = GarbageCollectionSimulation.FreedBlobs(inventory, plan);
        Assert.Equal(freed.Values.Sum(), plan.TotalReclaimableBytes);
        Assert.Equal(plan.TotalReclaimableBytes, plan.Candidates.Sum(c => c.ReclaimableBytes));
        List<string> counted = [.. plan.Candidates.SelectMany(c => c.CountedBlobs)];
        Assert.Equal(counted.Count, counted.Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(freed.Keys.Order(StringComparer.Ordinal), counted.Order(StringComparer.Ordinal));
        Assert.All(plan.Candidates, c => Assert.Equal(c.ReclaimableBytes, c.CountedBlobs.Sum(b => freed[b])));

        HashSet<(string Repository, string Digest)> deleted = GarbageCollectionSimulation.Deleted(plan);
        Dictionary<(string, string), ManifestRecord> manifests = inventory.Manifests.ToDictionary(m => (m.Repository, m.Digest));

        // Nothing in use is deleted: tags by path (any host unless strict), digests in every repository.
        HashSet<string> digestsInUse = [.. usage.RunningDigests, .. usage.Images.SelectMany(i => i.Digests), .. usage.Images.Select(i => i.Reference.Digest).OfType<string>()];
        HashSet<(string, string)> tagsInUse =
        [
            .. usage.Images
                .Where(i => i.Reference.Tag is not null && (!options.StrictHost || i.Reference.Registry == Host))
                .Select(i => (i.Reference.Repository, i.Reference.Tag!)),
        ];
        Assert.DoesNotContain(deleted, d => digestsInUse.Contains(d.Digest));
        Assert.DoesNotContain(inventory.Tags, t => deleted.Contains((t.Repository, t.Digest)) && tagsInUse.Contains((t.Repository, t.Tag)));

        // Every tag that disappears is a candidate, or a tag of a referrer deleted with its subject: no DELETE
        // silently takes a kept tag.
        HashSet<(string, string?)> candidateTags =
        [
            .. plan.Candidates.Select(c => (c.Repository, c.Tag)),
            .. plan.ChildDeletions.SelectMany(c => c.Tags.Select(t => (c.Repository, (string?)t))),
        ];
        Assert.All(
            inventory.Tags.Where(t => deleted.Contains((t.Repository, t.Digest))),
            t => Assert.Contains((t.Repository, (string?)t.Tag), candidateTags));

        // A referrer of a manifest that stays stays too (by subject field and by referrers-schema tag).
        foreach (ManifestRecord referrer in inventory.Manifests.Where(m => m.Subject is not null && manifests.ContainsKey((m.Repository, m.Subject!))))
        {
            Assert.True(
                deleted.Contains((referrer.Repository, referrer.Subject!)) || !deleted.Contains((referrer.Repository, referrer.Digest)),
                $"{referrer.Digest} was deleted while its subject {referrer.Subject} stays");
        }

        foreach (TagRecord tag in inventory.Tags)
        {
            if (ReferrerTagSchema.TryParse(tag.Tag, out string? subject, out _) && subject != tag.Digest && manifests.ContainsKey((tag.Repository, subject)))
            {
                Assert.True(deleted.Contains((tag.Repository, subject)) || !deleted.Contains((tag.Repository, tag.Digest)), $"{tag.Tag} was deleted while its subject stays");
            }
        }

        // An untag deletes no manifest, frees nothing, and its manifest keeps a tag that is not a candidate.
        foreach (DeletionCandidate untag in plan.Candidates.Where(c => c.Action == CandidateAction.Untag))
        {
            Assert.True(options.TagDeletionSupported);
            Assert.Equal(0, untag.ReclaimableBytes);
            Assert.DoesNotContain((untag.Repository, untag.Digest), deleted);
            Assert.Contains(inventory.Tags, t => t.Repository == untag.Repository && t.Digest == untag.Digest && !candidateTags.Contains((t.Repository, t.Tag)));
        }

        // Untagged candidates come only from storage (or from a request by digest).
        Assert.All(plan.Candidates.Where(c => c.Tag is null), c => Assert.True(inventory.IncludesUntaggedManifests || options.Targets is not null));
        Assert.Equal(inventory.IncludesUntaggedManifests, plan.IncludesUntaggedManifests);

        // Children of a kept index stay.
        foreach (ManifestRecord index in inventory.Manifests.Where(m => m.IsIndex && !deleted.Contains((m.Repository, m.Digest))))
        {
            Assert.All(index.Children, c => Assert.DoesNotContain((index.Repository, c.Digest), deleted));
        }

        // Every deletion names a manifest of the inventory, and a child deletion's parent is deleted too.
        Assert.All(deleted, d => Assert.True(manifests.ContainsKey(d)));
        Assert.All(plan.ChildDeletions, c => Assert.Contains((c.Repository, c.ParentDigest), deleted));
        Assert.All(plan.Protected, p => Assert.DoesNotContain((p.Repository, p.Digest!), deleted));
    }

    private static string Hex(int n) => "sha256:" + n.ToString("x64", System.Globalization.CultureInfo.InvariantCulture);

    private static (RegistryInventory Inventory, UsageSnapshot Usage) RandomRegistry(Random random)
    {
        string[] repositories = [.. new[] { "dominodatalab/environment", "dominodatalab/model", "other/app" }.Take(random.Next(1, 4))];
        BlobDescriptor[] blobs = [.. Enumerable.Range(0, random.Next(4, 30)).Select(i => new BlobDescriptor($"sha256:blob{i}", random.Next(1, 1000), "layer"))];
        Dictionary<(string, string), ManifestRecord> manifests = [];
        List<ManifestRecord> images = [];
        List<TagRecord> schemaTags = [];
        int next = 0;

        foreach (string repository in repositories)
        {
            int count = random.Next(1, 10);
            for (int i = 0; i < count; i++)
            {
                ManifestRecord image;
                if (images.Count > 0 && random.Next(4) == 0)
                {
                    // The same manifest pushed to another repository: one blob, two revisions.
                    image = images[random.Next(images.Count)] with { Repository = repository };
                }
                else
                {
                    string digest = Hex(next++);
                    BlobDescriptor config = random.Next(5) == 0 ? blobs[random.Next(blobs.Length)] : new BlobDescriptor("sha256:cfg-" + digest, random.Next(1, 50), "config");
                    image = new ManifestRecord(
                        repository,
                        digest,
                        MediaTypes.DockerManifest,
                        random.Next(1, 100),
                        config,
                        [.. Enumerable.Range(0, random.Next(0, 5)).Select(_ => blobs[random.Next(blobs.Length)])],
                        [],
                        random.Next(5) == 0 ? null : DateTimeOffset.UnixEpoch.AddDays(random.Next(1000)));
                    images.Add(image);
                }

                manifests.TryAdd((repository, image.Digest), image);
            }

            int indexes = random.Next(0, 4);
            for (int i = 0; i < indexes; i++)
            {
                // Children are earlier manifests of the repository: images, and now and then an index (nested).
                List<ManifestRecord> inRepository = [.. manifests.Values.Where(m => m.Repository == repository && (!m.IsIndex || random.Next(3) == 0))];
                ChildDescriptor[] children =
                [
                    .. inRepository.OrderBy(_ => random.Next()).Take(random.Next(1, 4))
                        .Select(m => new ChildDescriptor(m.Digest, m.ManifestSize, m.MediaType, "linux/amd64")),
                ];
                string digest = Hex(next++);
                manifests.TryAdd((repository, digest), new ManifestRecord(repository, digest, MediaTypes.OciIndex, random.Next(1, 100), null, [], children, null));
            }

            // Referrers: signatures and SBOMs of earlier manifests, by subject field or only by a referrers-schema tag,
            // now and then of a subject that is not there.
            int referrers = random.Next(0, 4);
            for (int i = 0; i < referrers; i++)
            {
                ManifestRecord[] inRepository = [.. manifests.Values.Where(m => m.Repository == repository)];
                string subject = random.Next(6) == 0 ? Hex(900_000 + next) : inRepository[random.Next(inRepository.Length)].Digest;
                string digest = Hex(next++);
                bool bySubjectField = random.Next(2) == 0;
                manifests.TryAdd((repository, digest), new ManifestRecord(
                    repository,
                    digest,
                    MediaTypes.OciManifest,
                    random.Next(1, 100),
                    new BlobDescriptor("sha256:empty", 2, "application/vnd.oci.empty.v1+json"),
                    [random.Next(3) == 0 ? blobs[random.Next(blobs.Length)] : new BlobDescriptor("sha256:sig-" + digest, random.Next(1, 50), "application/vnd.dev.cosign.simplesigning.v1+json")],
                    [],
                    null)
                {
                    Subject = bySubjectField ? subject : null,
                    ArtifactType = "application/vnd.dev.cosign.simplesigning.v1+json",
                });
                if (!bySubjectField || random.Next(2) == 0)
                {
                    schemaTags.Add(new TagRecord(repository, "sha256-" + subject["sha256:".Length..] + (random.Next(2) == 0 ? ".sig" : ".att"), digest));
                }
            }
        }

        List<TagRecord> tags = [.. schemaTags];
        string[] names = ["t1", "t2", "t3", "x1", "x2", "659c7bce85f6381e675bb205-1", "659c7bce85f6381e675bb205-2", "659c7bce85f6381e675bb205-10"];
        foreach (string repository in repositories)
        {
            ManifestRecord[] inRepository = [.. manifests.Values.Where(m => m.Repository == repository)];
            foreach (string name in names)
            {
                if (random.Next(3) != 0)
                {
                    tags.Add(new TagRecord(repository, name, inRepository[random.Next(inRepository.Length)].Digest));
                }
            }
        }

        List<ImageUsage> used = [];
        foreach (TagRecord tag in tags.Where(_ => random.Next(6) == 0))
        {
            string host = random.Next(2) == 0 ? Host : "10.1.2.3:30500";
            used.Add(new ImageUsage(new ImageReference($"{host}/{tag.Repository}:{tag.Tag}", host, tag.Repository, tag.Tag, null), [], ["Pod/ns/p"]));
        }

        List<string> running = [];
        foreach (ManifestRecord manifest in manifests.Values.Where(_ => random.Next(12) == 0))
        {
            if (random.Next(2) == 0)
            {
                running.Add(manifest.Digest);
            }
            else
            {
                used.Add(new ImageUsage(new ImageReference($"mirror:5000/x@{manifest.Digest}", "mirror:5000", "x", null, manifest.Digest), [], ["Job/ns/j"]));
            }
        }

        return (
            new RegistryInventory(Host, repositories, tags, [.. manifests.Values], Complete: true),
            new UsageSnapshot(used, running, ["random"], DateTimeOffset.UnixEpoch, Complete: true));
    }
}
