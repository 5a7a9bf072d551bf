using System.Globalization;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using RegistryCleaner.Reporting;
using RegistryCleaner.Tests.Deletion;
using RegistryCleaner.Tests.Infrastructure;
using Xunit.Abstractions;

namespace RegistryCleaner.Tests.Report;

/// <summary>
/// Export-RegistryReport as admins use it (built module, fresh pwsh, a real registry with Domino-like images and a
/// cluster snapshot), and the page it writes as Debian's real Chromium renders it headless: every section renders, the
/// console stays clean, the totals on the page equal the sums of the objects the other cmdlets return in the same
/// session, nothing on the page points at the network, and a screenshot lands in out/test-results/report.
/// </summary>
public sealed partial class RegistryReportTests(ITestOutputHelper output) : IAsyncLifetime
{
    private UserScenario user = null!;

    private string Common => $"-Registry '{this.user.Registry}'";

    private static string ResultsFolder
    {
        get
        {
            string folder = Path.Combine(UserShell.RepositoryRoot, "out", "test-results", "report");
            Directory.CreateDirectory(folder);
            return folder;
        }
    }

    public async Task InitializeAsync() => this.user = await UserScenario.CreateAsync();

    public Task DisposeAsync()
    {
        this.user.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public void A_report_read_fresh_renders_in_Chromium_with_the_totals_of_the_objects_and_no_network_or_console_error()
    {
        UserSession session = this.user.Run($$"""
            $inUse = Get-WorkloadImage -Path ./cluster.json
            $images = @(Get-RegistryImage {{this.Common}} -Repository *)
            $plan = @(Get-UnusedImage {{this.Common}} -Repository dominodatalab/* -InUse $inUse {{UserScenario.KubernetesOnly}})
            $report = Export-RegistryReport -Path ./report.html {{this.Common}} -Repository dominodatalab/* -InUse $inUse {{UserScenario.KubernetesOnly}}
            "OBJECTS images=$($images.Count) candidates=$($plan.Count) reclaimable=$(($plan | Measure-Object ReclaimableBytes -Sum).Sum)"
            "TYPE=$($report.PSObject.TypeNames[0])"
            "REPORT images=$($report.Images) bytes=$($report.Bytes) candidates=$($report.Candidates) reclaimable=$($report.ReclaimableBytes) path=$($report.Path)"
            $report | Out-String -Width 200
            """);
        output.WriteLine(session.ToString());
        Assert.True(session.Errors.Count == 0, session.ToString());
        Dictionary<string, long> objects = Numbers(session.Text, "OBJECTS");
        Dictionary<string, long> report = Numbers(session.Text, "REPORT");
        Assert.Contains("TYPE=RegistryCleaner.RegistryReport", session.Text, StringComparison.Ordinal);
        Assert.True(objects["candidates"] > 0, session.ToString());
        Assert.Equal(objects["images"], report["images"]);
        Assert.Equal(objects["candidates"], report["candidates"]);
        Assert.Equal(objects["reclaimable"], report["reclaimable"]);

        // Every blob the registry stores (all reachable from a tag here), each once: exactly the registry's blob files.
        string blobs = Path.Combine(this.user.Scenario.Registry.StoragePath, "docker", "registry", "v2", "blobs");
        long stored = Directory.EnumerateFiles(blobs, "data", SearchOption.AllDirectories).Sum(static f => new FileInfo(f).Length);
        Assert.Equal(stored, report["bytes"]);
        Assert.Contains("Images Bytes Candidates Reclaimable Path", session.Text, StringComparison.Ordinal);

        string html = Path.Combine(this.user.Scenario.Folder, "report.html");
        string text = File.ReadAllText(html);
        AssertSelfContained(text);

        RenderedPage page = HeadlessChromium.Render(html);
        Assert.True(page.ConsoleErrors.Count == 0, string.Join('\n', page.ConsoleErrors));
        foreach (string section in RegistryReportPage.Sections)
        {
            Assert.Contains($">{section}</h2>", page.Dom, StringComparison.Ordinal);
        }

        Assert.Equal(objects["images"], Total(page.Dom, "images"));
        Assert.Equal(objects["candidates"], Total(page.Dom, "candidates"));
        Assert.Equal(objects["reclaimable"], Total(page.Dom, "reclaimable-bytes"));
        Assert.Equal(stored, Total(page.Dom, "bytes"));

        // Each chart is an image with a title and a label, next to a table with the same numbers.
        MatchCollection charts = SvgTag().Matches(page.Dom);
        Assert.True(charts.Count >= 6, $"{charts.Count} charts");
        foreach (Match chart in charts)
        {
            Assert.Contains("role=\"img\"", chart.Value, StringComparison.Ordinal);
            Assert.Contains("aria-label=\"", chart.Value, StringComparison.Ordinal);
        }

        Assert.Equal(charts.Count, Regex.Matches(page.Dom, "<svg[^>]*>\\s*<title id=").Count);
        Assert.Equal(charts.Count, Regex.Matches(page.Dom, "</figure>\\s*<table>").Count);

        // The largest candidates' table lists the biggest reclaimable figure first.
        Assert.Contains("Largest candidates", page.Dom, StringComparison.Ordinal);

        string png = Path.Combine(ResultsFolder, "report-fresh.png");
        File.Delete(png);
        HeadlessChromium.Screenshot(html, png, 1280, 2000);
        AssertPng(png);
        output.WriteLine($"Screenshot of the report: {png}");
    }

    [Fact]
    public void A_report_of_piped_objects_counts_each_blob_once_encodes_what_it_shows_and_never_overwrites_without_Force()
    {
        UserSession session = this.user.Run($$"""
            $inUse = @(Get-WorkloadImage -Path ./cluster.json)
            $images = @(Get-RegistryImage {{this.Common}} -Repository *)
            $layers = @(Get-RegistryLayer {{this.Common}} -Repository *)
            $plan = @(Get-UnusedImage {{this.Common}} -Repository dominodatalab/* -InUse $inUse {{UserScenario.KubernetesOnly}})
            $hostile = [pscustomobject]@{ PSTypeName = 'RegistryCleaner.RegistryImage'; Registry = 'x'; Repository = 'dominodatalab/environment'; Tag = 'hostile'; Digest = 'sha256:' + ('e' * 64); Size = 1; Created = $null; ObjectId = '659c7bce85f6381e675bbfff'; EnvironmentName = '<img src=x onerror=alert(1)><script>alert(2)</script>'; Owner = '"><svg onload=alert(3)> https://cdn.example/x.js'; Project = 'p&q' }
            $report = @($images; $hostile; $layers; $plan; $inUse) | Export-RegistryReport -Path ./piped.html
            "OBJECTS images=$($images.Count + 1) bytes=$(($layers | Measure-Object Size -Sum).Sum) candidates=$($plan.Count) reclaimable=$(($plan | Measure-Object ReclaimableBytes -Sum).Sum)"
            "REPORT images=$($report.Images) bytes=$($report.Bytes) candidates=$($report.Candidates) reclaimable=$($report.ReclaimableBytes)"
            """);
        output.WriteLine(session.ToString());
        Assert.True(session.Errors.Count == 0, session.ToString());
        Dictionary<string, long> objects = Numbers(session.Text, "OBJECTS");
        Dictionary<string, long> report = Numbers(session.Text, "REPORT");
        Assert.Equal(objects, report);

        string html = Path.Combine(this.user.Scenario.Folder, "piped.html");
        RenderedPage page = HeadlessChromium.Render(html);
        Assert.True(page.ConsoleErrors.Count == 0, string.Join('\n', page.ConsoleErrors));
        Assert.Equal(objects["reclaimable"], Total(page.Dom, "reclaimable-bytes"));
        Assert.Equal(objects["bytes"], Total(page.Dom, "bytes"));
        Assert.DoesNotContain("<img", page.Dom, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<script", page.Dom, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<svg onload", page.Dom, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("&lt;img src=x onerror=alert(1)&gt;", page.Dom, StringComparison.Ordinal);
        Assert.Contains("In use by a workload", page.Dom, StringComparison.Ordinal);

        string png = Path.Combine(ResultsFolder, "report-piped.png");
        File.Delete(png);
        HeadlessChromium.Screenshot(html, png, 1280, 2000);
        AssertPng(png);
        output.WriteLine($"Screenshot of the report: {png}");

        // An existing file is left as it was without -Force; -WhatIf writes nothing; -Force replaces it.
        byte[] before = SHA256.HashData(File.ReadAllBytes(html));
        UserSession again = this.user.Run($$"""
            Get-RegistryImage {{this.Common}} -Repository * | Export-RegistryReport -Path ./piped.html
            "AFTER-REFUSAL $(Test-Path ./piped.html)"
            $whatIf = Get-RegistryImage {{this.Common}} -Repository * | Export-RegistryReport -Path ./piped.html -Force -WhatIf
            "WHATIF-OUTPUT $(@($whatIf).Count)"
            @() | Export-RegistryReport -Path ./empty.html
            "EMPTY-FILE $(Test-Path ./empty.html)"
            Export-RegistryReport -Path . {{this.Common}}
            Export-RegistryReport -Path ./unreadable.html {{this.Common}} -Repository dominodatalab/* -InUse (Get-WorkloadImage -Path ./cluster.json) -MongoUri 'mongodb://127.0.0.1:{{ClosedPort()}}/?directConnection=true' -TimeoutSec 2
            "UNREADABLE-FILE $(Test-Path ./unreadable.html)"
            """);
        output.WriteLine(again.ToString());

        // Fail closed like Get-UnusedImage: Domino's records cannot be read, so nothing is planned and no page is written.
        Assert.Equal(["DominoUsageUnreadable", "ReportFileExists", "ReportInputEmpty", "ReportPathInvalid"], again.ErrorIds.Order(StringComparer.Ordinal));
        Assert.Contains("UNREADABLE-FILE False", again.Text, StringComparison.Ordinal);
        Assert.Contains("AFTER-REFUSAL True", again.Text, StringComparison.Ordinal);
        Assert.Contains("WHATIF-OUTPUT 0", again.Text, StringComparison.Ordinal);
        Assert.Contains("What if: Performing the operation \"Write the registry report", again.Text, StringComparison.Ordinal);
        Assert.Contains("EMPTY-FILE False", again.Text, StringComparison.Ordinal);
        Assert.Equal(before, SHA256.HashData(File.ReadAllBytes(html)));
        Assert.Empty(Directory.EnumerateFiles(this.user.Scenario.Folder, "*.tmp"));

        UserSession forced = this.user.Run($$"""
            $report = Get-RegistryImage {{this.Common}} -Repository * | Export-RegistryReport -Path ./piped.html -Force
            "FORCED images=$($report.Images) candidates=$($report.Candidates)"
            """);
        Assert.True(forced.Errors.Count == 0, forced.ToString());
        Assert.Contains("FORCED images=", forced.Text, StringComparison.Ordinal);
        Assert.NotEqual(before, SHA256.HashData(File.ReadAllBytes(html)));
        Assert.Contains("No plan was given", File.ReadAllText(html), StringComparison.Ordinal);
    }

    [Fact]
    public void The_page_encodes_every_text_and_groups_kept_reasons_by_kind()
    {
        var image = new ReportImage("dominodatalab/environment", "659c7bce85f6381e675bb205-1", "sha256:" + new string('a', 64), 100, DateTimeOffset.UtcNow.AddDays(-200), "659c7bce85f6381e675bb205")
        {
            EnvironmentName = "</title><script>alert(1)</script>",
            Owner = "a\u001b[2Jb",
        };
        var data = new RegistryReportData(
            "localhost:5000",
            DateTimeOffset.UtcNow,
            [image, image with { Tag = "659c7bce85f6381e675bb205-2", Digest = "sha256:" + new string('b', 64), Created = null }],
            [new ReportCandidate(image, 42, "unused <b>bold</b>")],
            [new ReportKept("dominodatalab/environment", "659c7bce85f6381e675bb205-2", null, 100, "in use by run-1 (x)"), new ReportKept("r", "t", null, 0, "among the 3 newest of X (#1)")],
            300);

        string html = RegistryReportPage.Render(data);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<b>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("\u001b", html, StringComparison.Ordinal);
        Assert.Contains("&lt;/title&gt;&lt;script&gt;", html, StringComparison.Ordinal);
        AssertSelfContained(html);
        Assert.Contains("<data id=\"total-reclaimable-bytes\" value=\"42\">", html, StringComparison.Ordinal);
        Assert.Contains("<data id=\"total-bytes\" value=\"300\">", html, StringComparison.Ordinal);
        Assert.Contains("In use by a workload", html, StringComparison.Ordinal);
        Assert.Contains("Among the newest (-KeepLatest)", html, StringComparison.Ordinal);
        Assert.Contains("180 days to 1 year", html, StringComparison.Ordinal);
        Assert.Equal("Manifest shared with a kept tag", RegistryReportPage.KeptReasonKind("the same manifest is also tagged 'x', which is kept (in use by y); deleting by digest would remove that tag too"));
        Assert.Equal("Child of a kept index", RegistryReportPage.KeptReasonKind("child of the kept index sha256:1 ('v1'); deleting it would break that index"));
        Assert.Equal("Too young (-OlderThan)", RegistryReportPage.KeptReasonKind("created 2026-01-01 00:00:00Z, not older than 90 days"));
    }

    private static int ClosedPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static void AssertSelfContained(string html)
    {
        Assert.DoesNotMatch(new Regex("https?://", RegexOptions.IgnoreCase), html);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<link", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("@import", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("url(", html, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("Content-Security-Policy", html, StringComparison.Ordinal);
    }

    private static void AssertPng(string path)
    {
        Assert.True(File.Exists(path), $"no screenshot at {path}");
        byte[] head = File.ReadAllBytes(path).Take(8).ToArray();
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, head);
        Assert.True(new FileInfo(path).Length > 10_000, $"{path} is only {new FileInfo(path).Length} bytes");
    }

    private static long Total(string dom, string id)
    {
        Match match = Regex.Match(dom, $"<data id=\"total-{id}\" value=\"(\\d+)\">");
        Assert.True(match.Success, $"no total-{id} on the page");
        return long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    private static Dictionary<string, long> Numbers(string text, string label)
    {
        Match line = Regex.Match(text, label + "((?: [a-z]+=\\d*)+)(?: |$)");
        Assert.True(line.Success, $"no {label} line in: {text}");
        return Regex.Matches(line.Groups[1].Value, "([a-z]+)=(\\d*)")
            .ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value.Length == 0 ? 0 : long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
    }

    [GeneratedRegex("<svg[^>]*>")]
    private static partial Regex SvgTag();
}
