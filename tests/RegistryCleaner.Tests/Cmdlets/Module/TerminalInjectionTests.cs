using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.Terminal;

/// <summary>
/// ANSI escape sequences and other control characters in names and messages from elsewhere (a kubectl snapshot, a
/// registry, a journal, a kubeconfig) reach the admin's terminal only as visible text, in a fresh pwsh with the built
/// module; the objects keep the raw values.
/// </summary>
public class TerminalInjectionTests : IDisposable
{
    // Clear the screen, set the window title, return to the line start and move up a line: a fake row in the making.
    private const string Hostile = "\u001b[2J\u001b]0;title\u0007\r\u001b[1A";
    private const string HostileShown = @"\e[2J\e]0;title\a\r\e[1A";

    private readonly DirectoryInfo folder = Directory.CreateTempSubdirectory("registrycleaner-escape-");

    public void Dispose()
    {
        this.folder.Delete(recursive: true);
        GC.SuppressFinalize(this);
    }

    [Fact]
    public void A_snapshot_with_control_characters_in_image_pod_and_project_names_shows_them_escaped_in_the_table()
    {
        JsonNode snapshot = JsonNode.Parse(File.ReadAllText(Path.Combine(UserShell.RepositoryRoot, "samples", "cluster-snapshot.json")))!;
        JsonNode pod = snapshot["items"]![0]!;
        pod["metadata"]!["name"] = "run-evil" + Hostile;
        pod["metadata"]!["labels"]!["dominodatalab.com/project-name"] = "churn" + Hostile + "prod";
        pod["spec"]!["containers"]![0]!["image"] = "evil/app:v1" + Hostile + "x";
        File.WriteAllText(Path.Combine(this.folder.FullName, "cluster.json"), snapshot.ToJsonString());

        UserSession session = new UserShell(this.folder.FullName).Run("""
            Get-WorkloadImage -Path ./cluster.json | Out-String -Width 250
            Get-WorkloadImage -Path ./cluster.json | Format-Table -View Wide | Out-String -Width 250
            Get-WorkloadImage -Path ./cluster.json | Format-List | Out-String -Width 250
            Get-WorkloadImage -Path ./cluster.json -Verbose | Out-Null
            $evil = Get-WorkloadImage -Path ./cluster.json | Where-Object Image -like 'evil/*'
            "raw image kept: $($evil.Image.Contains([char]27)); raw pod kept: $([bool](@($evil.Pods) -match [char]7))"
            """);

        AssertNothingRaw(session.Output);
        // The default table groups by image name (this one has no valid repository, so the whole reference heads its group);
        // the Wide view has one row per image, the list view every property.
        Shows(session.Output, "Image: evil/app:v1" + HostileShown + "x", session);
        string row = session.Output.Split('\n').Single(l => l.Contains("evil/app:v1", StringComparison.Ordinal) && l.Contains("domino-compute", StringComparison.Ordinal) && !l.StartsWith("VERBOSE:", StringComparison.Ordinal));
        Shows(row, "evil/app:v1" + HostileShown + "x", session);
        Shows(session.Output, ": churn" + HostileShown + "prod", session);
        Shows(row, "domino-compute", session);

        // The table's other rows are as before: the sample's own project still shows as it is.
        Shows(session.Output, "spark-etl", session);
        Shows(session.Output, "raw image kept: True; raw pod kept: True", session);
    }

    [Fact]
    public async Task A_registry_error_message_with_ANSI_is_shown_escaped_and_kept_raw_in_the_exception()
    {
        await using var stub = StubHttpServer.Start(async context =>
        {
            string path = context.Request.Path.Value!;
            (int status, string body) = path == "/v2/"
                ? (200, "{}")
                : (400, JsonSerializer.Serialize(new { errors = new[] { new { code = "DENIED", message = "denied" + Hostile + "fake" } } }));
            context.Response.StatusCode = status;
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(body);
        });

        UserSession session = new UserShell(this.folder.FullName).Run($"""
            Get-RegistryImage -Registry {stub.BaseAddress} -Repository app
            """);

        AssertNothingRaw(session.Output);
        Shows(session.Text, "DENIED denied" + HostileShown + "fake", session);
        Assert.True(session.Errors.Any(e => e.Message.Contains(Hostile, StringComparison.Ordinal)), session.ToString());
    }

    [Fact]
    public void A_journaled_tag_with_control_characters_is_refused_and_named_escaped()
    {
        string digest = "sha256:" + new string('a', 64);
        var attempt = new
        {
            kind = "attempt",
            time = DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture),
            registry = "127.0.0.1:1",
            repository = "app",
            digest,
            mediaType = "application/vnd.oci.image.manifest.v1+json",
            tags = new[] { "v1" + Hostile + "What if: nothing" },
            manifest = "e30=",
        };
        File.WriteAllText(Path.Combine(this.folder.FullName, "journal.jsonl"), JsonSerializer.Serialize(attempt) + "\n");

        UserSession session = new UserShell(this.folder.FullName).Run("""
            Restore-RegistryImage -JournalPath ./journal.jsonl -Registry http://127.0.0.1:1 -WhatIf
            """);

        // A tag that is not a tag never reaches a request or the What-if line: the journal line is refused, and the
        // refusal names the tag with its control characters spelled out.
        AssertNothingRaw(session.Output);
        Assert.Equal(["JournalUnreadable"], session.ErrorIds);
        Shows(session.Errors[0].Message, "line 1 is refused: the tag 'v1\\u001b[2J\\u001b]0;title\\u0007\\u000d\\u001b[1AWhat if: nothing'", session);
        Assert.DoesNotContain("What if: Performing", session.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Completion_of_a_kubeconfig_context_with_control_characters_lists_it_escaped_and_inserts_the_exact_value()
    {
        File.WriteAllText(Path.Combine(this.folder.FullName, "kube.yaml"), """
            apiVersion: v1
            kind: Config
            current-context: prod-east
            clusters:
            - name: east
              cluster: { server: 'https://127.0.0.1:1' }
            contexts:
            - name: prod-east
              context: { cluster: east, user: admin }
            - name: "prod\e[2J\e]0;title\a\r\e[1Awest"
              context: { cluster: east, user: admin }
            users:
            - name: admin
              user: { token: not-a-real-token }
            """);

        UserSession session = new UserShell(this.folder.FullName).Run("""
            $line = "Get-WorkloadImage -KubeConfig ./kube.yaml -Context prod"
            foreach ($match in (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches) {
                "item <$($match.ListItemText)> tip <$($match.ToolTip)> insert <$($match.CompletionText)>"
                "exact: $((Invoke-Expression $match.CompletionText) -ceq "prod`e[2J`e]0;title`a`r`e[1Awest")"
            }
            """);

        AssertNothingRaw(session.Output);
        Shows(session.Output, "item <prod-east> tip <Context prod-east> insert <prod-east>", session);
        Shows(session.Output, $"item <prod{HostileShown}west> tip <Context prod{HostileShown}west> insert <\"prod`e[2J`e]0;title`u{{7}}`u{{D}}`e[1Awest\">", session);
        Shows(session.Output, "exact: True", session);
    }

    private static void Shows(string output, string expected, UserSession session) =>
        Assert.True(output.Contains(expected, StringComparison.Ordinal), $"Not shown: {expected}\n{session}");

    private static void AssertNothingRaw(string output)
    {
        Assert.DoesNotContain('\u001b', output);
        Assert.DoesNotContain('\u0007', output);
        Assert.DoesNotContain('\u009b', output);

        // The captured output splits lines at \r as well as \n; a lone \r anywhere means a row was split.
        Assert.DoesNotContain("\r", output.Replace("\r\n", "\n", StringComparison.Ordinal), StringComparison.Ordinal);
    }
}
