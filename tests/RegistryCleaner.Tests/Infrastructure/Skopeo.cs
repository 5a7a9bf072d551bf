using System.Diagnostics;

namespace RegistryCleaner.Tests.Infrastructure;

/// <summary>Runs the real skopeo (an independent reader and writer of registries and OCI image layouts).</summary>
internal static class Skopeo
{
    /// <summary>Runs skopeo with the arguments and returns its output; throws with the output when it fails.</summary>
    public static string Run(params string[] arguments)
    {
        var start = new ProcessStartInfo("skopeo") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };

        // No policy file is needed on a fresh machine, and nothing is signed here.
        start.ArgumentList.Add("--insecure-policy");
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using Process process = Process.Start(start)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(120_000))
        {
            process.Kill();
            throw new TimeoutException($"skopeo {string.Join(' ', arguments)} did not finish within 120 s.");
        }

        string output = stdout.Result + stderr.Result;
        return process.ExitCode == 0 ? output : throw new InvalidOperationException($"skopeo {string.Join(' ', arguments)} exited with {process.ExitCode}: {output}");
    }

    /// <summary>Copies an image (every image of an index) between two transports, a plain-http registry on either side.</summary>
    public static string Copy(string source, string destination) =>
        Run("copy", "--all", "--src-tls-verify=false", "--dest-tls-verify=false", "--retry-times", "2", source, destination);
}
