using System.Globalization;
using System.Net;
using System.Text;
using RegistryCleaner.Registry;

namespace RegistryCleaner.Reporting;

/// <content>
/// The page's building blocks: images grouped for a chart, a bar chart with the table of its numbers, the stylesheet,
/// and the writer that encodes every text.
/// </content>
public static partial class RegistryReportPage
{
    private static List<GroupRow> Group(RegistryReportData data, Func<ReportImage, string> key, Func<ReportImage, string> label) =>
        Group(data.Images, data.Candidates, key, label);

    private static List<GroupRow> Group(IReadOnlyList<ReportImage> images, IReadOnlyList<ReportCandidate> candidates, Func<ReportImage, string> key, Func<ReportImage, string> label)
    {
        var rows = new Dictionary<string, GroupRow>(StringComparer.Ordinal);
        GroupRow Row(ReportImage image)
        {
            string k = key(image);
            if (!rows.TryGetValue(k, out GroupRow? row))
            {
                row = new GroupRow(k, label(image)) { Sample = image };
                rows.Add(k, row);
            }

            return row;
        }

        foreach (ReportImage image in images)
        {
            GroupRow row = Row(image);
            row.Images++;
            row.Size = ByteTotal.Add(row.Size, image.Size);
        }

        foreach (ReportCandidate candidate in candidates)
        {
            GroupRow row = Row(candidate.Image);
            row.Candidates++;
            row.Reclaimable = ByteTotal.Add(row.Reclaimable, candidate.ReclaimableBytes);
        }

        return [.. rows.Values];
    }

    private static void GroupChartAndTable(Page page, string id, string title, List<GroupRow> rows, string[] columns, Func<GroupRow, string?[]> cells, bool sort = true)
    {
        if (sort)
        {
            rows = [.. rows.OrderByDescending(static r => r.Size).ThenBy(static r => r.Label, StringComparer.Ordinal)];
        }

        if (rows.Count > TopGroups)
        {
            var rest = new GroupRow(string.Empty, $"{rows.Count - TopGroups} more");
            foreach (GroupRow row in rows.Skip(TopGroups))
            {
                rest.Images += row.Images;
                rest.Size = ByteTotal.Add(rest.Size, row.Size);
                rest.Candidates += row.Candidates;
                rest.Reclaimable = ByteTotal.Add(rest.Reclaimable, row.Reclaimable);
            }

            rows = [.. rows.Take(TopGroups), rest];
        }

        page.Raw("<div class=\"pair\">\n");
        Chart(page, id, title, $"{title}: image sizes of each group", rows.Select(static r => (r.Label, r.Size)).ToList(), FormatBytes);
        page.Raw("<table><caption>").Text(title).Raw("</caption><thead><tr>");
        foreach (string column in columns)
        {
            page.Raw("<th scope=\"col\">").Text(column).Raw("</th>");
        }

        page.Raw("<th scope=\"col\" class=\"num\">Images</th><th scope=\"col\" class=\"num\">Size</th><th scope=\"col\" class=\"num\">Candidates</th><th scope=\"col\" class=\"num\">Reclaimable</th></tr></thead><tbody>\n");
        foreach (GroupRow row in rows)
        {
            page.Raw("<tr>");
            string?[] values = row.Key.Length == 0 && row.Sample is null ? [row.Label, .. Enumerable.Repeat<string?>(null, columns.Length - 1)] : cells(row);
            foreach (string? value in values)
            {
                page.Raw("<td class=\"name\">").Text(value ?? string.Empty).Raw("</td>");
            }

            page.Raw("<td class=\"num\">").Text(Count(row.Images)).Raw("</td>").Bytes(row.Size).Raw("<td class=\"num\">").Text(Count(row.Candidates)).Raw("</td>").Bytes(row.Reclaimable).Raw("</tr>\n");
        }

        page.Raw("</tbody></table>\n</div>\n");
    }

    /// <summary>A horizontal bar chart: one labelled bar per row, with its value; each bar carries its own title.</summary>
    private static void Chart(Page page, string id, string title, string description, IReadOnlyList<(string Label, long Value)> rows, Func<long, string> format)
    {
        const int width = 640;
        const int labelWidth = 230;
        const int valueWidth = 80;
        const int rowHeight = 24;
        const int barHeight = 16;
        int height = Math.Max(1, rows.Count) * rowHeight + 8;
        long max = rows.Count == 0 ? 0 : rows.Max(static r => r.Value);
        string summary = rows.Count == 0
            ? $"{title}: nothing to show."
            : $"{title}: " + string.Join("; ", rows.Select(r => $"{r.Label} {format(r.Value)}"));
        page.Raw("<figure class=\"chart\">\n<svg id=\"chart-").Raw(id).Raw("\" role=\"img\" aria-labelledby=\"chart-").Raw(id).Raw("-title chart-").Raw(id).Raw("-desc\" aria-label=\"").Text(summary)
            .Raw("\" viewBox=\"0 0 ").Raw(Num(width)).Raw(" ").Raw(Num(height)).Raw("\" width=\"").Raw(Num(width)).Raw("\" height=\"").Raw(Num(height)).Raw("\">\n");
        page.Raw("<title id=\"chart-").Raw(id).Raw("-title\">").Text(title).Raw("</title>\n<desc id=\"chart-").Raw(id).Raw("-desc\">").Text(description).Raw(". The table next to it has the same numbers.</desc>\n");
        if (rows.Count == 0)
        {
            page.Raw("<text x=\"4\" y=\"18\">nothing to show</text>\n");
        }

        for (int i = 0; i < rows.Count; i++)
        {
            (string label, long value) = rows[i];
            int y = 4 + (i * rowHeight);
            double fraction = max <= 0 ? 0 : (double)value / max;
            int bar = (int)Math.Round(fraction * (width - labelWidth - valueWidth - 8));
            if (value > 0)
            {
                bar = Math.Max(bar, 1);
            }

            string shortLabel = label.Length > 30 ? string.Concat(label.AsSpan(0, 14), "…", label.AsSpan(label.Length - 14)) : label;
            page.Raw("<g><title>").Text($"{label}: {format(value)}").Raw("</title>");
            page.Raw("<text class=\"label\" x=\"").Raw(Num(labelWidth - 6)).Raw("\" y=\"").Raw(Num(y + 13)).Raw("\" text-anchor=\"end\">").Text(shortLabel).Raw("</text>");
            page.Raw("<rect x=\"").Raw(Num(labelWidth)).Raw("\" y=\"").Raw(Num(y)).Raw("\" width=\"").Raw(Num(bar)).Raw("\" height=\"").Raw(Num(barHeight)).Raw("\" class=\"bar b").Raw(Num(i % 2)).Raw("\"></rect>");
            page.Raw("<text class=\"value\" x=\"").Raw(Num(labelWidth + bar + 6)).Raw("\" y=\"").Raw(Num(y + 13)).Raw("\">").Text(format(value)).Raw("</text></g>\n");
        }

        page.Raw("</svg>\n</figure>\n");
    }

    private const string Css = """
        :root { color-scheme: light; }
        body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; margin: 0; color: #1d2330; background: #f6f7f9; }
        main { max-width: 1400px; margin: 0 auto; padding: 16px 24px 48px; }
        h1 { font-size: 1.6rem; margin: 8px 0 2px; overflow-wrap: anywhere; }
        h2 { font-size: 1.25rem; margin: 0 0 8px; }
        h3 { font-size: 1.05rem; margin: 16px 0 8px; }
        section { background: #fff; border: 1px solid #dde1e7; border-radius: 6px; padding: 14px 18px; margin: 16px 0; }
        .meta, .note { color: #5a6272; }
        .note { font-style: italic; }
        dl.totals { display: flex; flex-wrap: wrap; gap: 12px; margin: 0; }
        dl.totals div { border: 1px solid #dde1e7; border-radius: 6px; padding: 8px 14px; min-width: 170px; }
        dt { color: #5a6272; font-size: .85rem; }
        dd { margin: 2px 0 0; font-size: 1.4rem; font-weight: 600; }
        .pair { display: flex; flex-wrap: wrap; gap: 18px; align-items: flex-start; }
        figure.chart { margin: 0; flex: 0 0 auto; }
        svg text { font-size: 12px; fill: #1d2330; }
        svg .bar.b0 { fill: #3b6fb6; }
        svg .bar.b1 { fill: #5d8fd6; }
        table { border-collapse: collapse; font-size: .85rem; flex: 1 1 420px; }
        caption { text-align: left; font-weight: 600; padding-bottom: 4px; }
        th, td { border-bottom: 1px solid #e6e9ee; padding: 3px 8px; text-align: left; vertical-align: top; }
        th { background: #f0f2f5; }
        .num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
        td.name { overflow-wrap: anywhere; }
        td.reason { overflow-wrap: anywhere; max-width: 40ch; color: #3c4455; }

        """;

    private sealed class GroupRow(string key, string label)
    {
        public string Key { get; } = key;

        public string Label { get; } = label;

        public ReportImage? Sample { get; init; }

        public int Images { get; set; }

        public long Size { get; set; }

        public int Candidates { get; set; }

        public long Reclaimable { get; set; }
    }

    /// <summary>Builds the page: raw markup the renderer writes, and text that is always encoded.</summary>
    private sealed class Page
    {
        private readonly StringBuilder html = new(64 * 1024);

        public Page Raw(string markup)
        {
            this.html.Append(markup);
            return this;
        }

        /// <summary>Appends text from anywhere (a registry, a cluster, Domino's records), encoded; control characters are made visible.</summary>
        public Page Text(string text)
        {
            this.html.Append(WebUtility.HtmlEncode(TerminalText.Escape(text)));
            return this;
        }

        public Page Bytes(long bytes)
        {
            this.html.Append("<td class=\"num\"><data value=\"").Append(bytes.ToString(CultureInfo.InvariantCulture)).Append("\">");
            this.Text(FormatBytes(bytes));
            this.html.Append("</data></td>");
            return this;
        }

        public void Section(int index)
        {
            string id = "section-" + index.ToString(CultureInfo.InvariantCulture);
            this.html.Append("<section aria-labelledby=\"").Append(id).Append("\">\n<h2 id=\"").Append(id).Append("\">");
            this.Text(Sections[index]);
            this.html.Append("</h2>\n");
        }

        public override string ToString() => this.html.ToString();
    }
}
