using System.Reflection;
using System.Text.RegularExpressions;
using RegistryCleaner.PowerShell;
using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.PowerShell;

/// <summary>
/// The ErrorIds list is the only place an ErrorId is spelled: every constant is documented for users, and no error
/// record in src/ is built with an ID written as a string literal.
/// </summary>
public partial class ErrorIdsTests
{
    private static readonly string Source = Path.Combine(UserShell.RepositoryRoot, "src");

    private static IReadOnlyList<string> Ids { get; } = typeof(ErrorIds)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Where(field => field.IsLiteral && field.FieldType == typeof(string))
        .Select(field => (string)field.GetRawConstantValue()!)
        .ToArray();

    [Fact]
    public void Every_constant_is_its_own_name_and_unique()
    {
        FieldInfo[] fields = typeof(ErrorIds).GetFields(BindingFlags.Public | BindingFlags.Static);

        Assert.True(fields.Length >= 60, $"only {fields.Length} ErrorIds");
        Assert.All(fields, field => Assert.Equal(field.Name, (string)field.GetRawConstantValue()!));
        Assert.Equal(Ids.Count, Ids.Distinct(StringComparer.OrdinalIgnoreCase).Count());
    }

    [Fact]
    public void Every_constant_has_a_one_line_meaning()
    {
        string text = File.ReadAllText(Path.Combine(Source, "RegistryCleaner.PowerShell", "ErrorIds.cs"));
        string[] documented = DocumentedConstant().Matches(text).Select(match => match.Groups["name"].Value).ToArray();

        Assert.Equal(Ids.Order(StringComparer.Ordinal), documented.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void The_about_topic_lists_exactly_the_constants_and_every_one_is_documented()
    {
        string about = File.ReadAllText(Path.Combine(UserShell.RepositoryRoot, "module", "en-US", "about_RegistryCleaner.help.txt"));
        string readme = File.ReadAllText(Path.Combine(UserShell.RepositoryRoot, "README.md"));
        int start = about.IndexOf("\n  ERROR IDS\n", StringComparison.Ordinal);
        Assert.True(start >= 0, "about_RegistryCleaner has no ERROR IDS section");
        int end = about.IndexOf("\nSEE ALSO", start, StringComparison.Ordinal);
        string section = about[start..end];

        string[] listed = AboutRow().Matches(section).Select(match => match.Groups["id"].Value).ToArray();

        Assert.Equal(Ids.Order(StringComparer.Ordinal), listed.Order(StringComparer.Ordinal));
        Assert.All(Ids, id => Assert.True(
            Regex.IsMatch(about + readme, $@"\b{id}\b", RegexOptions.CultureInvariant),
            $"{id} is documented neither in README.md nor in about_RegistryCleaner"));
    }

    [Fact]
    public void No_string_literal_in_src_spells_an_ErrorId()
    {
        var ids = new HashSet<string>(Ids, StringComparer.Ordinal);
        var found = new List<string>();
        foreach ((string file, string code) in SourceFiles())
        {
            foreach (Match literal in StringLiteral().Matches(code))
            {
                if (ids.Contains(literal.Groups["text"].Value))
                {
                    found.Add($"{file}:{LineOf(code, literal.Index)} \"{literal.Groups["text"].Value}\"");
                }
            }
        }

        Assert.Empty(found);
    }

    [Fact]
    public void No_error_record_in_src_is_built_with_a_literal_ErrorId()
    {
        var found = new List<string>();
        foreach ((string file, string code) in SourceFiles())
        {
            found.AddRange(LiteralIdArguments(code).Select(hit => $"{file}:{LineOf(code, hit.Index)} {hit.Value.Trim()}"));
        }

        Assert.Empty(found);
    }

    [Theory]
    [InlineData("this.WriteError(new ErrorRecord(ex, \"SomethingFailed\", ErrorCategory.ReadError, target));")]
    [InlineData("throw this.Terminate(ex, denied ? ErrorIds.RegistryUnreachable : \"SomethingDenied\", ErrorCategory.ReadError, null);")]
    [InlineData("ErrorRecord record = new(\n    new IOException($\"Cannot read {path}.\"),\n    \"SomethingUnreadable\",\n    ErrorCategory.ReadError,\n    path);")]
    public void The_scan_finds_a_literal_ErrorId(string code) => Assert.Single(LiteralIdArguments(code));

    [Theory]
    [InlineData("this.WriteError(new ErrorRecord(ex, ErrorIds.RegistryUnreachable, ErrorCategory.ReadError, $\"{registry}/{repository}\"));")]
    [InlineData("shell.AddCommand(\"Get-RegistryImage\").AddParameter(\"Repository\", name);")]
    public void The_scan_passes_an_error_record_built_from_the_list(string code) => Assert.Empty(LiteralIdArguments(code));

    /// <summary>Bare PascalCase string literals passed as an argument of an ErrorRecord constructor or of Terminate.</summary>
    private static IEnumerable<Match> LiteralIdArguments(string code)
    {
        foreach (Match call in ErrorRecordCall().Matches(code))
        {
            int end = code.IndexOf(';', call.Index);
            string statement = code[call.Index..(end < 0 ? code.Length : end)];
            foreach (Match argument in BareIdArgument().Matches(statement))
            {
                yield return argument;
            }
        }
    }

    private static IEnumerable<(string File, string Code)> SourceFiles() =>
        Directory.EnumerateFiles(Source, "*.cs", SearchOption.AllDirectories)
            .Where(path => !path.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !path.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && Path.GetFileName(path) != "ErrorIds.cs")
            .Select(path => (Path.GetRelativePath(UserShell.RepositoryRoot, path), File.ReadAllText(path)));

    private static int LineOf(string code, int index) => code.AsSpan(0, index).Count('\n') + 1;

    [GeneratedRegex(@"/// <summary>[^\n]+</summary>\n\s+public const string (?<name>\w+) = ""\w+"";", RegexOptions.CultureInvariant)]
    private static partial Regex DocumentedConstant();

    [GeneratedRegex(@"^    (?<id>[A-Z][A-Za-z]+)  +\S", RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex AboutRow();

    [GeneratedRegex(@"(?<![\w$@])""(?<text>[A-Z][A-Za-z]+)""", RegexOptions.CultureInvariant)]
    private static partial Regex StringLiteral();

    [GeneratedRegex(@"new ErrorRecord\(|\bTerminate\(|\bErrorRecord\b[^;=\n]*=\s*new\(|\bErrorRecord\b[^;\n]*=>\s*new\(", RegexOptions.CultureInvariant)]
    private static partial Regex ErrorRecordCall();

    [GeneratedRegex(@"[(,?:]\s*""[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)+""\s*[,):]", RegexOptions.CultureInvariant)]
    private static partial Regex BareIdArgument();
}
