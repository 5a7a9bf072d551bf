using RegistryCleaner.Domino;

namespace RegistryCleaner.Tests.Domino;

public sealed class ObjectIdInputTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("rc-ids-").FullName;

    public void Dispose() => Directory.Delete(this.folder, recursive: true);

    [Fact]
    public void File_takes_the_first_column_skips_blank_and_comment_lines_and_lower_cases()
    {
        string path = this.Write(
            "# environments to clean\n62798b9bee0eb12322fc97e8 31 30\n\n  6286A3C76D4FD0362F8BA3EC\t13 12 9\n627d94043035a63be6140e93 10\n62798b9bee0eb12322fc97e8 dup\n");
        Assert.Equal(
            ["62798b9bee0eb12322fc97e8", "6286a3c76d4fd0362f8ba3ec", "627d94043035a63be6140e93"],
            ObjectIdInput.FromFile(path));
    }

    [Theory]
    [InlineData("62798b9bee0eb12322fc97e8\n62798b9bee0eb12322fc97e 31\n", 2, "62798b9bee0eb12322fc97e")]
    [InlineData("# c\n\n62798b9bee0eb12322fc97eg\n", 3, "62798b9bee0eb12322fc97eg")]
    [InlineData("dominodatalab/environment:62798b9bee0eb12322fc97e8-1\n", 1, "dominodatalab/environment:62798b9bee0eb12322fc97e8-1")]
    public void An_invalid_line_names_file_line_and_value(string content, int line, string value)
    {
        string path = this.Write(content);
        ObjectIdFileException error = Assert.Throws<ObjectIdFileException>(() => ObjectIdInput.FromFile(path));
        Assert.Equal(line, error.LineNumber);
        Assert.Equal(value, error.Value);
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains($"line {line}", error.Message, StringComparison.Ordinal);
        Assert.Contains($"'{value}'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_file_is_an_error_naming_it()
    {
        string path = Path.Combine(this.folder, "absent");
        ObjectIdFileException error = Assert.Throws<ObjectIdFileException>(() => ObjectIdInput.FromFile(path));
        Assert.Equal(0, error.LineNumber);
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Values_are_validated_normalised_and_deduplicated()
    {
        Assert.Equal(["62798b9bee0eb12322fc97e8"], ObjectIdInput.FromValues(["62798B9BEE0EB12322FC97E8", "62798b9bee0eb12322fc97e8"]));
        Assert.Throws<FormatException>(() => ObjectIdInput.FromValues(["nope"]));
    }

    private string Write(string content)
    {
        string path = Path.Combine(this.folder, "environments");
        File.WriteAllText(path, content);
        return path;
    }
}
