using System.Globalization;
using RegistryCleaner.Registry;

namespace RegistryCleaner.Reporting;

/// <summary>
/// Renders <see cref="RegistryReportData"/> as one self-contained HTML page: inline CSS and inline SVG charts, no script,
/// no fonts, images or links to fetch (a Content-Security-Policy forbids any), so it opens offline and shows the same
/// everywhere. Every chart has a title, a role and a label for screen readers, and the table of its numbers next to it.
/// Every text that came from a registry, a cluster or Domino's records is HTML-encoded.
/// </summary>
public static partial class RegistryReportPage
{
    /// <summary>The section headings, in page order (tests look for them in the rendered page).</summary>
    public static readonly IReadOnlyList<string> Sections =
    [
        "Totals",
        "Space by repository",
        "Space by Domino environment and model",
        "Space by owner",
        "Space by age",
        "Reclaimable and kept",
        "Largest candidates",
    ];

    private const int TopGroups = 25;
    private const int TopCandidates = 20;

    private static readonly (string Label, int Days)[] AgeBuckets =
    [
        ("under 30 days", 30),
        ("30 to 90 days", 90),
        ("90 to 180 days", 180),
        ("180 days to 1 year", 365),
        ("over 1 year", int.MaxValue),
    ];

    /// <summary>Renders the page.</summary>
    /// <param name="data">What to show.</param>
    /// <returns>The HTML text.</returns>
    public static string Render(RegistryReportData data)
    {
        ArgumentNullException.ThrowIfNull(data);
        var page = new Page();
        page.Raw("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        page.Raw("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n");
        page.Raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>").Text($"Registry report: {data.Registry}").Raw("</title>\n<style>\n").Raw(Css).Raw("</style>\n</head>\n<body>\n<main>\n");
        page.Raw("<h1>").Text($"Registry report: {data.Registry}").Raw("</h1>\n<p class=\"meta\">Made ").Text(data.Generated.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture)).Raw(" by Export-RegistryReport.</p>\n");

        Totals(page, data);
        ByRepository(page, data);
        ByDomino(page, data);
        ByOwner(page, data);
        ByAge(page, data);
        ReclaimableAndKept(page, data);
        LargestCandidates(page, data);

        page.Raw("</main>\n</body>\n</html>\n");
        return page.ToString();
    }

    /// <summary>Groups a reason an image is kept into the kind of rule that keeps it.</summary>
    /// <param name="reason">The planner's reason.</param>
    /// <returns>A short name of the kind.</returns>
    public static string KeptReasonKind(string? reason)
    {
        string r = reason ?? string.Empty;
        return r switch
        {
            _ when r.StartsWith("not a candidate", StringComparison.Ordinal) => "Not a candidate in the plan given",
            _ when r.Contains("Domino", StringComparison.Ordinal) || r.Contains("MongoDB", StringComparison.Ordinal) => "Pinned by Domino's records",
            _ when r.StartsWith("in use by", StringComparison.Ordinal) || r.StartsWith("running in", StringComparison.Ordinal) || r.StartsWith("is running", StringComparison.Ordinal)
                || (r.StartsWith("digest ", StringComparison.Ordinal) && (r.Contains(" in use by ", StringComparison.Ordinal) || r.Contains(" running in ", StringComparison.Ordinal) || r.Contains(" is running", StringComparison.Ordinal))) => "In use by a workload",
            _ when r.StartsWith("among the ", StringComparison.Ordinal) || r.Contains("cannot be ranked", StringComparison.Ordinal) => "Among the newest (-KeepLatest)",
            _ when r.Contains("not older than", StringComparison.Ordinal) || r.Contains("not known to be older", StringComparison.Ordinal) => "Too young (-OlderThan)",
            _ when r.StartsWith("the same manifest is also tagged", StringComparison.Ordinal) => "Manifest shared with a kept tag",
            _ when r.StartsWith("child of the kept index", StringComparison.Ordinal) => "Child of a kept index",
            _ when r.StartsWith("out of scope", StringComparison.Ordinal) => "Out of scope",
            _ when r.Contains(" of sha256:", StringComparison.Ordinal) || r.Contains("referrer", StringComparison.OrdinalIgnoreCase) || r.Contains("signature", StringComparison.OrdinalIgnoreCase) => "Referrer of a kept image",
            _ when r.Contains("clone", StringComparison.OrdinalIgnoreCase) => "Clone source of a kept revision",
            _ => "Other",
        };
    }

    /// <summary>Formats bytes with binary units (<c>1.2 GB</c>), as the module's tables do.</summary>
    /// <param name="bytes">The byte count.</param>
    /// <returns>The text.</returns>
    public static string FormatBytes(long bytes)
    {
        string[] units = ["B", "KB", "MB", "GB", "TB", "PB"];
        double value = bytes;
        int unit = 0;
        while (Math.Abs(value) >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        return unit == 0
            ? string.Create(CultureInfo.InvariantCulture, $"{bytes} B")
            : string.Create(CultureInfo.InvariantCulture, $"{value:0.0} {units[unit]}");
    }

    private static void Totals(Page page, RegistryReportData data)
    {
        page.Section(0);
        page.Raw("<dl class=\"totals\">\n");
        Total(page, "images", "Images", data.Images.Count, data.Images.Count.ToString("N0", CultureInfo.InvariantCulture));
        Total(page, "bytes", data.StoredBytesExact ? "Bytes stored (each blob once)" : "Bytes stored (upper bound)", data.StoredBytes, FormatBytes(data.StoredBytes));
        Total(page, "candidates", "Deletion candidates", data.Candidates.Count, data.Candidates.Count.ToString("N0", CultureInfo.InvariantCulture));
        Total(page, "reclaimable-bytes", "Reclaimable bytes", data.ReclaimableBytes, FormatBytes(data.ReclaimableBytes));
        if (data.WorkloadImages is { } workloads)
        {
            Total(page, "workload-images", "Images workloads use", workloads, workloads.ToString("N0", CultureInfo.InvariantCulture));
        }

        page.Raw("</dl>\n<p>Reclaimable bytes are the sum of the candidates' ReclaimableBytes: what the registry's garbage collection frees after Remove-UnusedImage deletes them, each blob counted once.</p>\n");
        if (!data.StoredBytesExact)
        {
            page.Raw("<p class=\"note\">Bytes stored is an upper bound: only images were given, so layers shared by several images count once per image. Pipe Get-RegistryLayer output too, or let Export-RegistryReport read the registry, to count each blob once.</p>\n");
        }

        foreach (string note in data.Notes)
        {
            page.Raw("<p class=\"note\">").Text(note).Raw("</p>\n");
        }

        page.Raw("</section>\n");
    }

    private static void Total(Page page, string id, string label, long value, string shown)
    {
        page.Raw("<div><dt>").Text(label).Raw("</dt><dd><data id=\"total-").Raw(id).Raw("\" value=\"").Raw(value.ToString(CultureInfo.InvariantCulture)).Raw("\">").Text(shown).Raw("</data></dd></div>\n");
    }

    private static void ByRepository(Page page, RegistryReportData data)
    {
        page.Section(1);
        page.Raw("<p>Sizes add up each image's own blobs: a layer shared by several images counts in each of them.</p>\n");
        List<GroupRow> rows = Group(data, static i => i.Repository, static i => i.Repository);
        GroupChartAndTable(page, "repository", "Space by repository", rows, ["Repository"], static r => [r.Label]);
        page.Raw("</section>\n");
    }

    private static void ByDomino(Page page, RegistryReportData data)
    {
        page.Section(2);
        List<GroupRow> rows = Group(
            data.Images.Where(static i => i.ObjectId is not null).ToList(),
            data.Candidates.Where(static c => c.Image.ObjectId is not null).ToList(),
            static i => i.ObjectId!,
            static i => i.EnvironmentName is { } name ? $"{name} ({Kind(i.Repository)})" : $"{i.ObjectId} ({Kind(i.Repository)})");
        if (rows.Count == 0)
        {
            page.Raw("<p>No image has a Domino ObjectId tag (&lt;environmentId&gt;-&lt;revision&gt; or &lt;modelId&gt;-v&lt;version&gt;-…).</p>\n");
        }
        else
        {
            if (!data.Images.Any(static i => i.EnvironmentName is not null))
            {
                page.Raw("<p class=\"note\">Environment names are not known: Domino's records were not read (-MongoUsage).</p>\n");
            }

            GroupChartAndTable(page, "domino", "Space by Domino environment and model", rows, ["ObjectId", "Environment", "Repository", "Project", "Owner"], static r => [r.Key, r.Sample?.EnvironmentName, r.Sample?.Repository, r.Sample?.Project, r.Sample?.Owner]);
        }

        page.Raw("</section>\n");
    }

    private static void ByOwner(Page page, RegistryReportData data)
    {
        page.Section(3);
        if (!data.Images.Any(static i => i.Owner is not null))
        {
            page.Raw("<p class=\"note\">No owner is known: owners come from Domino's records (-MongoUsage), which were not read for these images.</p>\n");
        }

        List<GroupRow> rows = Group(data, static i => i.Owner ?? string.Empty, static i => i.Owner ?? "(unknown)");
        GroupChartAndTable(page, "owner", "Space by owner", rows, ["Owner"], static r => [r.Label]);
        page.Raw("</section>\n");
    }

    private static void ByAge(Page page, RegistryReportData data)
    {
        page.Section(4);
        DateTimeOffset now = data.Generated;
        string Bucket(ReportImage image)
        {
            if (image.Created is not { } created)
            {
                return "unknown";
            }

            double days = (now - created).TotalDays;
            return AgeBuckets.First(b => days < b.Days).Label;
        }

        List<GroupRow> grouped = Group(data, Bucket, Bucket);
        var order = AgeBuckets.Select(static b => b.Label).Append("unknown").ToList();
        List<GroupRow> rows = [.. grouped.OrderBy(r => order.IndexOf(r.Key))];
        page.Raw("<p>By creation time (the image configuration's <code>created</code>), relative to when the report was made.</p>\n");
        GroupChartAndTable(page, "age", "Space by age", rows, ["Age"], static r => [r.Label], sort: false);
        page.Raw("</section>\n");
    }

    private static void ReclaimableAndKept(Page page, RegistryReportData data)
    {
        page.Section(5);
        if (!data.HasPlan)
        {
            page.Raw("<p class=\"note\">No plan was given: pipe Get-UnusedImage output too, or let Export-RegistryReport plan (no pipeline input).</p>\n");
        }

        long reclaimable = data.ReclaimableBytes;
        long stays = Math.Max(0, data.StoredBytes - reclaimable);
        var split = new List<(string Label, long Value)> { ("Reclaimable", reclaimable), ("Stays after garbage collection", stays) };
        page.Raw("<div class=\"pair\">\n");
        Chart(page, "split", "Reclaimable and kept bytes", "Bytes garbage collection frees and bytes that stay", split, FormatBytes);
        page.Raw("<table><caption>Reclaimable and kept bytes</caption><thead><tr><th scope=\"col\">Part</th><th scope=\"col\">Images</th><th scope=\"col\" class=\"num\">Bytes</th></tr></thead><tbody>\n");
        page.Raw("<tr><td>Reclaimable</td><td class=\"num\">").Text(Count(data.Candidates.Count)).Raw("</td>").Bytes(reclaimable).Raw("</tr>\n");
        page.Raw("<tr><td>Stays after garbage collection</td><td class=\"num\">").Text(Count(Math.Max(0, data.Images.Count - data.Candidates.Count))).Raw("</td>").Bytes(stays).Raw("</tr>\n");
        page.Raw("</tbody></table>\n</div>\n");

        var kinds = data.Kept
            .GroupBy(static k => KeptReasonKind(k.Reason), StringComparer.Ordinal)
            .Select(static g => (Kind: g.Key, Count: g.Count(), Size: ByteTotal.Sum(g.Select(static k => k.Size)), Example: g.First()))
            .OrderByDescending(static g => g.Count)
            .ThenBy(static g => g.Kind, StringComparer.Ordinal)
            .ToList();
        page.Raw("<h3>Why images are kept</h3>\n");
        if (kinds.Count == 0)
        {
            page.Raw("<p>No image in scope is kept.</p>\n");
        }
        else
        {
            page.Raw("<div class=\"pair\">\n");
            Chart(page, "kept", "Kept images by reason", "Number of kept images for each kind of reason", kinds.Select(static k => (k.Kind, (long)k.Count)).ToList(), static v => v.ToString("N0", CultureInfo.InvariantCulture));
            page.Raw("<table><caption>Kept images by reason</caption><thead><tr><th scope=\"col\">Reason</th><th scope=\"col\" class=\"num\">Images</th><th scope=\"col\" class=\"num\">Size</th><th scope=\"col\">For example</th></tr></thead><tbody>\n");
            foreach (var kind in kinds)
            {
                page.Raw("<tr><td>").Text(kind.Kind).Raw("</td><td class=\"num\">").Text(Count(kind.Count)).Raw("</td>").Bytes(kind.Size)
                    .Raw("<td class=\"reason\">").Text(Name(kind.Example.Repository, kind.Example.Tag, kind.Example.Digest)).Raw(": ").Text(kind.Example.Reason).Raw("</td></tr>\n");
            }

            page.Raw("</tbody></table>\n</div>\n");
        }

        page.Raw("</section>\n");
    }

    private static void LargestCandidates(Page page, RegistryReportData data)
    {
        page.Section(6);
        List<ReportCandidate> top = [.. data.Candidates
            .OrderByDescending(static c => c.ReclaimableBytes)
            .ThenBy(static c => c.Image.Repository, StringComparer.Ordinal)
            .ThenBy(static c => c.Image.Tag, StringComparer.Ordinal)
            .Take(TopCandidates)];
        if (top.Count == 0)
        {
            page.Raw("<p>No deletion candidates.</p>\n</section>\n");
            return;
        }

        page.Raw("<p>The ").Text(Count(top.Count)).Raw(" candidates that free the most bytes, of ").Text(Count(data.Candidates.Count)).Raw(".</p>\n<div class=\"pair\">\n");
        Chart(page, "largest", "Largest candidates", "Reclaimable bytes of the largest deletion candidates", top.Select(static c => (Name(c.Image.Repository, c.Image.Tag, c.Image.Digest), c.ReclaimableBytes)).ToList(), FormatBytes);
        page.Raw("<table><caption>Largest candidates</caption><thead><tr><th scope=\"col\">Image</th><th scope=\"col\" class=\"num\">Size</th><th scope=\"col\" class=\"num\">Reclaimable</th><th scope=\"col\">Created</th><th scope=\"col\">Environment</th><th scope=\"col\">Owner</th><th scope=\"col\">Reason</th></tr></thead><tbody>\n");
        foreach (ReportCandidate candidate in top)
        {
            ReportImage image = candidate.Image;
            page.Raw("<tr><td class=\"name\">").Text(Name(image.Repository, image.Tag, image.Digest)).Raw("</td>").Bytes(image.Size).Bytes(candidate.ReclaimableBytes)
                .Raw("<td>").Text(image.Created?.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) ?? "unknown").Raw("</td><td>").Text(image.EnvironmentName ?? string.Empty)
                .Raw("</td><td>").Text(image.Owner ?? string.Empty).Raw("</td><td class=\"reason\">").Text(candidate.Reason).Raw("</td></tr>\n");
        }

        page.Raw("</tbody></table>\n</div>\n</section>\n");
    }

    private static string Kind(string repository)
    {
        string last = repository[(repository.LastIndexOf('/') + 1)..];
        return last is "environment" or "model" ? last : repository;
    }

    private static string Name(string repository, string? tag, string? digest) =>
        tag is not null ? $"{repository}:{tag}" : digest is not null ? $"{repository}@{digest}" : repository;

    private static string Count(int value) => value.ToString("N0", CultureInfo.InvariantCulture);

    private static string Num(int value) => value.ToString(CultureInfo.InvariantCulture);
}
