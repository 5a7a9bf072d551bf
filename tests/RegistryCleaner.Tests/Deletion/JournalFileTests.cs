using RegistryCleaner.Deletion;

namespace RegistryCleaner.Tests.Deletion;

/// <summary>The journal file itself: owner-only, never through a link, and a torn line never spoils the rest.</summary>
public sealed class JournalFileTests : IDisposable
{
    private const string D1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    private const string D2 = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

    private readonly string folder = Directory.CreateTempSubdirectory("registrycleaner-journalfile-").FullName;

    public void Dispose()
    {
        Directory.Delete(this.folder, recursive: true);
        GC.SuppressFinalize(this);
    }

    private static JournalRecord Attempt(string digest, string? run = null) =>
        new(JournalRecord.AttemptKind, DateTimeOffset.UnixEpoch, "r:5000", "app/web", digest, "application/vnd.oci.image.manifest.v1+json", ["v1"], null, "e30=", Run: run);

    private static JournalRecord Outcome(string digest, string outcome, string? run = null, bool? present = null) =>
        new(JournalRecord.OutcomeKind, DateTimeOffset.UnixEpoch, "r:5000", "app/web", digest, Outcome: outcome, Message: "m", Run: run) { Present = present };

    [Fact]
    public async Task The_journal_is_created_0600_in_a_folder_created_0700()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        string directory = Path.Combine(this.folder, "reports", "nightly");
        var journal = new DeletionJournal(Path.Combine(directory, "deletions.jsonl"));

        await journal.AppendAsync(Attempt(D1), CancellationToken.None);
        await journal.AppendAsync(Outcome(D1, "Deleted"), r => r[^1] with { }, CancellationToken.None);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(journal.Path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(directory));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.Combine(this.folder, "reports")));
        Assert.Equal(2, DeletionJournal.Read(journal.Path).Count);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_symlink_at_the_journal_path_is_refused_and_its_target_is_unchanged(bool targetExists)
    {
        string elsewhere = Path.Combine(this.folder, "elsewhere");
        Directory.CreateDirectory(elsewhere);
        string target = Path.Combine(elsewhere, "authorized_keys");
        if (targetExists)
        {
            File.WriteAllText(target, "precious\n");
        }

        string link = Path.Combine(this.folder, "deletions.jsonl");
        File.CreateSymbolicLink(link, target);
        var journal = new DeletionJournal(link);

        var refused = await Assert.ThrowsAsync<UnsafeJournalPathException>(() => journal.AppendAsync(Attempt(D1), CancellationToken.None));
        await Assert.ThrowsAsync<UnsafeJournalPathException>(() => journal.AppendAsync(Outcome(D1, "Deleted"), r => r[^1], CancellationToken.None));

        Assert.Contains("symbolic link", refused.Message, StringComparison.Ordinal);
        Assert.Contains(link, refused.Message, StringComparison.Ordinal);
        Assert.False(journal.HasRecords);
        Assert.Equal(targetExists, File.Exists(target));
        if (targetExists)
        {
            Assert.Equal("precious\n", File.ReadAllText(target));
        }
    }

    [Fact]
    public async Task A_fifo_at_the_journal_path_is_refused()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        string fifo = Path.Combine(this.folder, "deletions.jsonl");
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", fifo))
        {
            await mkfifo.WaitForExitAsync();
        }

        var refused = await Assert.ThrowsAsync<UnsafeJournalPathException>(() => new DeletionJournal(fifo).AppendAsync(Attempt(D1), CancellationToken.None));
        Assert.Contains("not a regular file", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_torn_line_gets_its_own_line_before_the_next_record_and_is_reported_not_fatal()
    {
        string path = Path.Combine(this.folder, "torn.jsonl");
        var first = new DeletionJournal(path);
        await first.AppendAsync(Attempt(D1), CancellationToken.None);
        File.AppendAllText(path, "{\"kind\":\"outcome\",\"ti");

        var second = new DeletionJournal(path);
        await second.AppendAsync(Attempt(D2), CancellationToken.None);
        await second.AppendAsync(Outcome(D2, "Deleted"), r => r[^1] with { Message = $"saw {r.Count}" }, CancellationToken.None);

        string[] lines = File.ReadAllText(path).Split('\n');
        Assert.Equal(["{\"kind\":\"outcome\",\"ti", string.Empty], [lines[1], lines[^1]]);
        JournalContents contents = DeletionJournal.ReadContents(path);
        Assert.Equal([2], contents.UnreadableLines);
        Assert.Equal([D1, D2, D2], contents.Records.Select(r => r.Digest));
        Assert.Equal("saw 2", contents.Records[^1].Message);
        Assert.Equal([2], second.UnreadableLines);
    }

    [Fact]
    public void A_file_without_any_record_is_not_a_journal()
    {
        string path = Path.Combine(this.folder, "images.csv");
        File.WriteAllText(path, "Repository,Tag\napp/web,v1\n");

        Assert.Throws<InvalidDataException>(() => DeletionJournal.ReadContents(path));
    }
}
