using RegistryCleaner.Tests.Infrastructure;

namespace RegistryCleaner.Tests.Graph;

/// <summary>
/// Small real images built once per test run with the real tools into one OCI image layout, for every graph test to
/// push into its own registry: buildah from scratch (a base, images built on it, platform images and two manifest
/// lists with <c>buildah manifest create/add/push --all</c>), podman builds on top of buildah images, and an umoci image.
/// </summary>
public sealed class GraphImages : IDisposable
{
    public const string Base = "base";
    public const string EnvA = "env-a";
    public const string EnvB = "env-b";

    /// <summary>env-b with one more layer: shares env-b's layers (the old image of an overwritten tag).</summary>
    public const string EnvB2 = "env-b2";

    /// <summary>A podman build on the base.</summary>
    public const string EnvC = "env-c";

    /// <summary>A podman build on env-a (a model built on an environment).</summary>
    public const string ModelM = "model-m";

    /// <summary>A buildah manifest list of two platform images.</summary>
    public const string Multi1 = "multi1";

    /// <summary>Another manifest list of two platform images.</summary>
    public const string Multi2 = "multi2";

    /// <summary>An image made by umoci.</summary>
    public const string Umoci = "umoci";

    private readonly ImageTools tools = new();

    public GraphImages()
    {
        this.Layout = Path.Combine(this.tools.Folder, "layout");
        ImageTools tools = this.tools;
        tools.BuildahImage("localhost/base", null, tools.File("base.bin", 1, 48 * 1024));
        tools.BuildahImage("localhost/env-a", "localhost/base", tools.File("a.bin", 2, 12 * 1024));
        tools.BuildahImage("localhost/env-b", "localhost/base", tools.File("b.bin", 3, 16 * 1024));
        tools.BuildahImage("localhost/env-b2", "localhost/env-b", tools.File("b2.bin", 4, 6 * 1024));
        Podman(tools, "localhost/env-c", "localhost/base", tools.File("c.bin", 5, 5 * 1024));
        Podman(tools, "localhost/model-m", "localhost/env-a", tools.File("m.bin", 6, 7 * 1024));
        foreach ((string list, int seed) in new[] { (Multi1, 7), (Multi2, 9) })
        {
            tools.BuildahImage($"localhost/{list}-amd64", null, tools.File($"{list}-amd64.bin", seed, 3 * 1024), "linux/amd64");
            tools.BuildahImage($"localhost/{list}-arm64", null, tools.File($"{list}-arm64.bin", seed + 1, 3 * 1024), "linux/arm64");
            tools.Buildah("manifest", "create", $"localhost/{list}");
            tools.Buildah("manifest", "add", $"localhost/{list}", $"localhost/{list}-amd64");
            tools.Buildah("manifest", "add", $"localhost/{list}", $"localhost/{list}-arm64");
            tools.Buildah("manifest", "push", "--quiet", "--all", $"localhost/{list}", $"oci:{this.Layout}:{list}");
        }

        foreach (string image in new[] { Base, EnvA, EnvB, EnvB2, EnvC, ModelM })
        {
            tools.Buildah("push", "--quiet", $"localhost/{image}", $"oci:{this.Layout}:{image}");
        }

        ImageTools.Umoci("new", "--image", $"{this.Layout}:{Umoci}");
        ImageTools.Umoci("insert", "--image", $"{this.Layout}:{Umoci}", tools.File("u.bin", 11, 4 * 1024), "/u.bin");
    }

    /// <summary>Gets the OCI image layout holding every image, by the names above.</summary>
    public string Layout { get; }

    /// <summary>Copies an image (an index with all its platforms) from the layout to a registry tag with skopeo.</summary>
    public void CopyTo(string image, string registryAuthority, string repository, string tag) =>
        ImageTools.Copy($"oci:{this.Layout}:{image}", $"docker://{registryAuthority}/{repository}:{tag}", all: true);

    public void Dispose() => this.tools.Dispose();

    private static void Podman(ImageTools tools, string name, string from, string file)
    {
        string context = Path.Combine(tools.Folder, "context-" + name.Replace('/', '-'));
        Directory.CreateDirectory(context);
        File.Copy(file, Path.Combine(context, Path.GetFileName(file)));
        File.WriteAllText(Path.Combine(context, "Containerfile"), $"FROM {from}\nCOPY {Path.GetFileName(file)} /{Path.GetFileName(file)}\n");
        tools.Podman("build", "--quiet", "--isolation", "chroot", "--pull=never", "-t", name, "-f", Path.Combine(context, "Containerfile"), context);
    }
}

[CollectionDefinition(Name)]
public sealed class GraphImagesCollection : ICollectionFixture<GraphImages>
{
    public const string Name = "Graph images";
}
