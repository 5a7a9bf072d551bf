using RegistryCleaner.Workloads;

namespace RegistryCleaner.Tests.Workloads;

public sealed class KubeConfigLocatorTests : IDisposable
{
    private readonly string home = Directory.CreateTempSubdirectory("registrycleaner-home-").FullName;

    public void Dispose() => Directory.Delete(home, recursive: true);

    [Fact]
    public void An_explicit_path_wins()
    {
        string file = Touch("explicit");
        Touch(Path.Combine(".kube", "config"));

        Assert.Equal(file, KubeConfigLocator.Resolve(file, Touch("env"), home));
    }

    [Fact]
    public void A_missing_explicit_path_is_an_error_naming_it()
    {
        string missing = Path.Combine(home, "nope");

        FileNotFoundException error = Assert.Throws<FileNotFoundException>(() => KubeConfigLocator.Resolve(missing, null, home));

        Assert.Contains(missing, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_first_existing_file_of_KUBECONFIG_is_taken()
    {
        string second = Touch("second");
        string third = Touch("third");
        string list = string.Join(Path.PathSeparator, Path.Combine(home, "absent"), second, third);

        Assert.Equal(second, KubeConfigLocator.Resolve(null, list, home));
    }

    [Fact]
    public void The_home_kubeconfig_is_the_fallback_and_nothing_means_in_cluster()
    {
        Assert.Null(KubeConfigLocator.Resolve(null, Path.Combine(home, "absent"), home));

        string config = Touch(Path.Combine(".kube", "config"));

        Assert.Equal(config, KubeConfigLocator.Resolve(null, Path.Combine(home, "absent"), home));
        Assert.Equal(config, KubeConfigLocator.Resolve(" ", null, home));
    }

    private string Touch(string relative)
    {
        string path = Path.Combine(home, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "apiVersion: v1\nkind: Config\n");
        return path;
    }
}
