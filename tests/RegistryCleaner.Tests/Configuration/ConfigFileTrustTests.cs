using System.Diagnostics;
using RegistryCleaner.Configuration;

namespace RegistryCleaner.Tests.Configuration;

/// <summary>
/// A config file found implicitly (current folder, REGISTRY_CLEANER_CONFIG) is read on Unix only when the current user
/// or root owns it and nobody else can write it; -ConfigPath and the bundled file are the user's choice.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ConfigFileTrustTests : IDisposable
{
    private const string Yaml = "registry:\n  url: planted.example:5000\n";
    private readonly string folder = Directory.CreateTempSubdirectory("rc-config-trust-").FullName;

    public void Dispose() => Directory.Delete(this.folder, recursive: true);

    /// <summary>Gets whether this process may give files away (chown), as the tests do in CI.</summary>
    internal static bool IsRoot => Environment.UserName == "root";

    /// <summary>Gives a file to another user (nobody, uid 65534), as if someone else had planted it.</summary>
    internal static void GiveAway(string path)
    {
        var start = new ProcessStartInfo("chown") { RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("65534");
        start.ArgumentList.Add(path);
        using Process chown = Process.Start(start)!;
        string error = chown.StandardError.ReadToEnd();
        chown.WaitForExit();
        Assert.True(chown.ExitCode == 0, $"chown failed: {error}");
    }

    [Theory]
    [InlineData(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite, "0666")]
    [InlineData(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead | UnixFileMode.OtherWrite, "0646")]
    [InlineData(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupWrite, "0620")]
    public void A_file_in_the_current_folder_that_others_can_write_is_not_read_and_the_error_says_how_to_fix_it(UnixFileMode mode, string octal)
    {
        string path = this.Plant("config.yaml", mode);

        ConfigFileUnsafeException error = Assert.Throws<ConfigFileUnsafeException>(() => this.Load());

        Assert.Equal(path, error.FilePath);
        Assert.Contains($"Config file '{path}' (found in the current folder) was not read: it is writable by group or others (mode {octal})", error.Message, StringComparison.Ordinal);
        Assert.Contains($"chmod go-w '{path}'", error.Message, StringComparison.Ordinal);
        Assert.Contains($"pass -ConfigPath '{path}' explicitly", error.Message, StringComparison.Ordinal);
        Assert.Contains("run the command from another folder", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("chown", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(UnixFileMode.UserRead | UnixFileMode.UserWrite)]
    [InlineData(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead)]
    [InlineData(UnixFileMode.UserRead)]
    public void A_file_of_the_current_user_that_only_they_can_write_is_read(UnixFileMode mode)
    {
        this.Plant("config.yaml", mode);
        Assert.Equal("planted.example:5000", this.Load().GetString(ConfigSchema.RegistryUrl));
    }

    [Fact]
    public void A_file_named_by_the_variable_is_checked_too_and_the_error_names_the_variable()
    {
        string path = this.Plant("elsewhere.yaml", (UnixFileMode)0b110_110_110);

        ConfigFileUnsafeException error = Assert.Throws<ConfigFileUnsafeException>(() => this.Load(variable: path));

        Assert.Contains("(named by the REGISTRY_CLEANER_CONFIG environment variable)", error.Message, StringComparison.Ordinal);
        Assert.Contains("unset REGISTRY_CLEANER_CONFIG", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_owned_by_another_user_is_not_read_and_the_error_names_both_uids()
    {
        if (!IsRoot)
        {
            return; // Only root can give a file away; the tests run as root in CI.
        }

        string path = this.Plant("config.yaml", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        GiveAway(path);

        ConfigFileUnsafeException error = Assert.Throws<ConfigFileUnsafeException>(() => this.Load());

        Assert.Contains("it is owned by uid 65534, not by you (uid 0) or root", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("writable", error.Message, StringComparison.Ordinal);
        Assert.Contains($"chown 0 '{path}'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_symbolic_link_is_judged_by_the_file_it_points_to()
    {
        string unsafeTarget = this.Plant("unsafe.yaml", (UnixFileMode)0b110_110_110);
        string safeTarget = this.Plant("safe.yaml", UnixFileMode.UserRead | UnixFileMode.UserWrite);
        string link = Path.Combine(this.folder, "config.yaml");

        File.CreateSymbolicLink(link, unsafeTarget);
        Assert.Throws<ConfigFileUnsafeException>(() => this.Load());

        File.Delete(link);
        File.CreateSymbolicLink(link, safeTarget);
        Assert.Equal("planted.example:5000", this.Load().GetString(ConfigSchema.RegistryUrl));
    }

    [Fact]
    public void A_file_given_explicitly_is_the_users_choice_and_is_read_as_it_is()
    {
        string path = this.Plant("config.yaml", (UnixFileMode)0b110_110_110);
        if (IsRoot)
        {
            GiveAway(path);
        }

        RegistryCleanerConfiguration config = RegistryCleanerConfiguration.Load(new ConfigLookup(path, this.folder, null, new Dictionary<string, string?>()));
        Assert.Equal("planted.example:5000", config.GetString(ConfigSchema.RegistryUrl));
    }

    [Fact]
    public void The_bundled_file_is_not_checked()
    {
        string bundled = Directory.CreateDirectory(Path.Combine(this.folder, "module")).FullName;
        string path = Path.Combine(bundled, "config.yaml");
        File.WriteAllText(path, Yaml);
        File.SetUnixFileMode(path, (UnixFileMode)0b110_110_110);
        string empty = Directory.CreateDirectory(Path.Combine(this.folder, "empty")).FullName;

        RegistryCleanerConfiguration config = RegistryCleanerConfiguration.Load(new ConfigLookup(null, empty, path, new Dictionary<string, string?>()));
        Assert.Equal("planted.example:5000", config.GetString(ConfigSchema.RegistryUrl));
    }

    private string Plant(string name, UnixFileMode mode)
    {
        string path = Path.Combine(this.folder, name);
        File.WriteAllText(path, Yaml);
        File.SetUnixFileMode(path, mode);
        return path;
    }

    private RegistryCleanerConfiguration Load(string? variable = null)
    {
        var environment = new Dictionary<string, string?>();
        if (variable is not null)
        {
            environment[ConfigLookup.PathVariable] = variable;
        }

        return RegistryCleanerConfiguration.Load(new ConfigLookup(null, this.folder, null, environment));
    }
}
