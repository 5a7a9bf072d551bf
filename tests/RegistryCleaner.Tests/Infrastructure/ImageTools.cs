using System.Diagnostics;
using System.Text;

namespace RegistryCleaner.Tests.Infrastructure;

/// <summary>
/// The real image tools (buildah, podman, skopeo, umoci) with a private containers storage (<c>--root</c>,
/// <c>--runroot</c>, <c>--storage-driver vfs</c>) under one temporary folder, so parallel tests never share state and
/// nothing touches the machine's own image store. Each command must succeed; its output is in the exception otherwise.
/// </summary>
public sealed class ImageTools : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);

    public ImageTools()
    {
        this.Folder = Directory.CreateTempSubdirectory("registrycleaner-tools-").FullName;
        Directory.CreateDirectory(Path.Combine(this.Folder, "root"));
        Directory.CreateDirectory(Path.Combine(this.Folder, "run"));
    }

    /// <summary>Gets the folder holding the storage, build contexts and layouts.</summary>
    public string Folder { get; }

    private string[] StorageOptions => ["--root", Path.Combine(this.Folder, "root"), "--runroot", Path.Combine(this.Folder, "run"), "--storage-driver", "vfs"];

    /// <summary>Writes <paramref name="size"/> deterministic bytes to a file of the build folder and returns its path.</summary>
    public string File(string name, int seed, int size)
    {
        string path = Path.Combine(this.Folder, name);
        System.IO.File.WriteAllBytes(path, ImagePusher.Layer(seed, size));
        return path;
    }

    public string Buildah(params string[] arguments) => this.Run("buildah", [.. this.StorageOptions, .. arguments]);

    public string Podman(params string[] arguments) => this.Run("podman", [.. this.StorageOptions, .. arguments]);

    public static string Skopeo(params string[] arguments) => RunTool("skopeo", arguments, null);

    public static string Umoci(params string[] arguments) => RunTool("umoci", arguments, null);

    /// <summary>Builds an image with buildah: from <paramref name="from"/> (or scratch), one file added, committed as <paramref name="name"/>.</summary>
    public void BuildahImage(string name, string? from, string file, string platform = "linux/amd64")
    {
        string container = this.Buildah("from", "--quiet", from ?? "scratch").Trim();
        try
        {
            this.Buildah("copy", "--quiet", container, file, "/" + Path.GetFileName(file));
            string[] osArch = platform.Split('/');
            this.Buildah("config", "--os", osArch[0], "--arch", osArch[1], "--created-by", "registrycleaner-tests", container);
            this.Buildah("commit", "--quiet", container, name);
        }
        finally
        {
            this.Buildah("rm", container);
        }
    }

    /// <summary>Copies an image between transports with skopeo (plain http and no TLS check for the test registries).</summary>
    public static void Copy(string source, string destination, bool all = false)
    {
        List<string> arguments = ["copy", "--quiet", "--src-tls-verify=false", "--dest-tls-verify=false"];
        if (all)
        {
            arguments.Add("--all");
        }

        Skopeo([.. arguments, source, destination]);
    }

    public void Dispose()
    {
        try
        {
            // vfs layers can be read-only for the owner; the folder is ours alone.
            Directory.Delete(this.Folder, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A leftover temporary folder must not fail the run.
        }
    }

    private string Run(string tool, string[] arguments) => RunTool(tool, arguments, this.Folder);

    private static string RunTool(string tool, string[] arguments, string? workingDirectory)
    {
        var start = new ProcessStartInfo(tool)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // Rootless-style isolation: no runtime is needed for builds without RUN steps.
        start.Environment["BUILDAH_ISOLATION"] = "chroot";
        using Process process = Process.Start(start) ?? throw new InvalidOperationException($"{tool} did not start.");
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(Timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{tool} {string.Join(' ', arguments)} did not finish within {Timeout.TotalMinutes} minutes.");
        }

        process.WaitForExit();
        string output = stdout.Result;
        return process.ExitCode == 0
            ? output
            : throw new InvalidOperationException(new StringBuilder()
                .Append(tool).Append(' ').AppendJoin(' ', arguments).Append(" exited with ").Append(process.ExitCode).Append(": ")
                .Append(output).Append(stderr.Result).ToString());
    }
}
