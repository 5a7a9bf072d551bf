using System.Management.Automation;
using RegistryCleaner.PowerShell;
using RegistryCleaner.PowerShell.Completion;

namespace RegistryCleaner.Tests.Terminal;

/// <summary>The escaping every host-bound text goes through, and the PowerShell pieces built on it.</summary>
public class TerminalTextTests
{
    [Theory]
    [InlineData("\u001b[2J", "\\e[2J")]
    [InlineData("a\u001b]0;title\u0007b", "a\\e]0;title\\ab")]
    [InlineData("x\ry\nz\tw", "x\\ry\\nz\\tw")]
    [InlineData("\0\u0001\u001f", "\\x00\\x01\\x1f")]
    [InlineData("\b\v\f", "\\b\\v\\f")]
    [InlineData("del\u007f", "del\\x7f")]
    [InlineData("c1\u0080\u009b2J\u009f", "c1\\x80\\x9b2J\\x9f")]
    [InlineData("prod\u202Egnp.exe", "prod\\u202Egnp.exe")]
    [InlineData("\u202A\u202B\u202C\u202D", "\\u202A\\u202B\\u202C\\u202D")]
    [InlineData("\u2066\u2067\u2068\u2069", "\\u2066\\u2067\\u2068\\u2069")]
    [InlineData("pr\u200Bod\u200E\u200F\u061C", "pr\\u200Bod\\u200E\\u200F\\u061C")]
    [InlineData("bom\uFEFF\u2060\u2028\u2029", "bom\\uFEFF\\u2060\\u2028\\u2029")]
    public void Control_and_spoofing_characters_become_visible_escapes(string raw, string shown)
    {
        Assert.Equal(shown, TerminalText.Escape(raw));
        Assert.True(TerminalText.NeedsEscape(raw));
    }

    [Theory]
    [InlineData("docker-registry:5000/dominodatalab/environment:659c7bce85f6381e675bb205-12")]
    [InlineData(@"C:\reports\deletions.jsonl")]
    [InlineData("Größe – naïve café, 東京, Ελλάδα, עברית, العربية")]
    [InlineData("emoji 👩‍👩‍👧 and 🚀 stay")]
    [InlineData("ZWNJ stays in Persian: می‌خواهم")]
    [InlineData("\u00A0non-breaking and \u00A9 are printable")]
    [InlineData("")]
    public void Ordinary_text_is_the_same_instance(string text)
    {
        Assert.Same(text, TerminalText.Escape(text));
        Assert.False(TerminalText.NeedsEscape(text));
    }

    [Fact]
    public void Surrogate_pairs_stay_and_unpaired_halves_are_escaped()
    {
        Assert.Equal("🚀\\e", TerminalText.Escape("🚀\u001b"));
        Assert.Equal("a\\uD83Db", TerminalText.Escape("a\uD83Db"));
        Assert.Equal("a\\uDE80", TerminalText.Escape("a\uDE80"));
        Assert.Equal("\\uDE80\\uD83D", TerminalText.Escape("\uDE80\uD83D"));
        Assert.Equal("🚀\\uD83D", TerminalText.Escape("🚀\uD83D"));
    }

    [Fact]
    public void Null_stays_null_and_escaping_twice_changes_nothing()
    {
        Assert.Null(TerminalText.Escape(null));
        Assert.False(TerminalText.NeedsEscape(null));
        string once = TerminalText.Escape("tag\u001b[1A\r");
        Assert.Same(once, TerminalText.Escape(once));
        Assert.Equal(string.Empty, HostText.Escape(null));
    }

    [Fact]
    public void A_long_clean_text_is_not_copied_and_a_long_dirty_one_is_escaped_once()
    {
        string clean = new('a', 100_000);
        Assert.Same(clean, TerminalText.Escape(clean));
        string dirty = clean + "\u001b" + clean;
        Assert.Equal(clean + "\\e" + clean, TerminalText.Escape(dirty));
    }

    [Fact]
    public void An_error_shows_the_escaped_message_and_target_while_the_exception_and_target_stay_raw()
    {
        const string raw = "manifest unknown\u001b[2J\u001b]0;pwned\u0007";
        var target = new { Tag = "v1\u001b[1A" };
        var record = new ErrorRecord(new InvalidOperationException(raw), "RegistryRequestFailed", ErrorCategory.ProtocolError, target);

        ErrorRecord shown = HostText.ForDisplay(record);

        Assert.Equal("manifest unknown\\e[2J\\e]0;pwned\\a", shown.ErrorDetails!.Message);
        Assert.Equal(raw, shown.Exception.Message);
        Assert.Same(target, shown.TargetObject);
        Assert.DoesNotContain('\u001b', shown.CategoryInfo.TargetName);
        Assert.DoesNotContain('\u001b', shown.CategoryInfo.GetMessage());
    }

    [Fact]
    public void A_clean_error_is_left_as_it_was()
    {
        var record = new ErrorRecord(new InvalidOperationException("Tag moved."), "X", ErrorCategory.InvalidOperation, "repo:tag");
        Assert.Null(HostText.ForDisplay(record).ErrorDetails);
        Assert.Equal("repo:tag", record.CategoryInfo.TargetName);
    }

    [Fact]
    public void Progress_activity_status_and_current_operation_are_escaped()
    {
        var record = new ProgressRecord(3, "Deleting from reg\u001b]0;t\u0007", "1 of 2\r\u001b[1A") { CurrentOperation = "reg/app:v1\u001b[2J (sha256:ab…)" };
        HostText.ForDisplay(record);
        Assert.Equal("Deleting from reg\\e]0;t\\a", record.Activity);
        Assert.Equal("1 of 2\\r\\e[1A", record.StatusDescription);
        Assert.Equal("reg/app:v1\\e[2J (sha256:ab…)", record.CurrentOperation);
    }

    [Fact]
    public void A_host_message_on_the_information_stream_is_escaped_with_its_tags()
    {
        var record = new InformationRecord(new HostInformationMessage { Message = "Journal: /tmp/j\u001b[2J.jsonl" }, "Remove-UnusedImage");
        record.Tags.Add("Summary");
        InformationRecord shown = HostText.ForDisplay(record);
        Assert.Equal("Journal: /tmp/j\\e[2J.jsonl", ((HostInformationMessage)shown.MessageData).Message);
        Assert.Contains("Summary", shown.Tags);

        InformationRecord text = HostText.ForDisplay(new InformationRecord("plain\u009b31m", "x") { Tags = { "A" } });
        Assert.Equal("plain\\x9b31m", text.MessageData);
        Assert.Contains("A", text.Tags);
    }

    [Fact]
    public void The_what_if_line_shows_target_and_action_escaped()
    {
        string line = ChangeGate.WhatIfText("reg/app:v1\r\u001b[1AWhat if: nothing (sha256:ab…)", "Delete image\u001b[8m");
        Assert.Equal("What if: Performing the operation \"Delete image\\e[8m\" on target \"reg/app:v1\\r\\e[1AWhat if: nothing (sha256:ab…)\".", line);
    }

    [Fact]
    public void A_completion_inserts_the_exact_value_as_a_safe_literal_and_lists_it_escaped()
    {
        CompletionResult result = CompletionText.Result("ev$il`\"\u001b[2J\u0007\u202E🚀", "Context");
        Assert.Equal("\"ev`$il```\"`e[2J`u{7}`u{202E}🚀\"", result.CompletionText);
        Assert.Equal("ev$il`\"\\e[2J\\a\\u202E🚀", result.ListItemText);
        Assert.Equal("Context ev$il`\"\\e[2J\\a\\u202E🚀", result.ToolTip);

        using var shell = System.Management.Automation.PowerShell.Create();
        object parsed = shell.AddScript(result.CompletionText).Invoke()[0].BaseObject;
        Assert.Equal("ev$il`\"\u001b[2J\u0007\u202E🚀", parsed);

        Assert.Equal("'dev cluster'", CompletionText.Quote("dev cluster"));
        Assert.Equal("'it''s\u2019\u2019'", CompletionText.Quote("it's\u2019"));
        Assert.Equal("prod-east", CompletionText.Quote("prod-east"));
    }
}
