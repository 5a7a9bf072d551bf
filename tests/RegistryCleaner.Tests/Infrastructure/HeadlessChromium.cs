using System.Diagnostics;

namespace RegistryCleaner.Tests.Infrastructure;

/// <summary>What Chromium made of a page: the DOM after rendering and what it logged (console messages included).</summary>
/// <param name="Dom">The serialized DOM (<c>--dump-dom</c>).</param>
/// <param name="Log">Chromium's stderr with <c>--enable-logging=stderr</c>: console messages appear as <c>CONSOLE</c> lines.</param>
public sealed record RenderedPage(string Dom, string Log)
{
    /// <summary>Gets the console errors in the log: uncaught exceptions, error-level console lines and refused loads (CSP).</summary>
    public IReadOnlyList<string> ConsoleErrors =>
        [.. this.Log.Split('\n').Where(static l =>
            l.Contains("Uncaught", StringComparison.Ordinal)
            || l.Contains("ERROR:CONSOLE", StringComparison.Ordinal)
            || (l.Contains("CONSOLE", StringComparison.Ordinal) && l.Contains("Refused to", StringComparison.Ordinal)))];
}

/// <summary>Runs Debian's real <c>chromium</c> headless (no sandbox, as root in CI; no GPU; its own profile folder).</summary>
internal static class HeadlessChromium
{
    /// <summary>Renders a local file and returns its DOM and log.</summary>
    public static RenderedPage Render(string htmlPath)
    {
        (string stdout, string stderr) = Run("--dump-dom", new Uri(htmlPath).AbsoluteUri);
        return new RenderedPage(stdout, stderr);
    }

    /// <summary>Renders a local file into a PNG screenshot of the given window size.</summary>
    public static string Screenshot(string htmlPath, string pngPath, int width, int height)
    {
        (string stdout, string stderr) = Run($"--screenshot={pngPath}", $"--window-size={width},{height}", "--hide-scrollbars", new Uri(htmlPath).AbsoluteUri);
        return stdout + stderr;
    }

    private static (string Stdout, string Stderr) Run(params string[] arguments)
    {
        string profile = Directory.CreateTempSubdirectory("registrycleaner-chromium-").FullName;
        try
        {
            var start = new ProcessStartInfo("chromium") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (string argument in (string[])["--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0", "--no-first-run", $"--user-data-dir={profile}", .. arguments])
            {
                start.ArgumentList.Add(argument);
            }

            using Process process = Process.Start(start) ?? throw new InvalidOperationException("chromium did not start (apt-get install chromium).");
            Task<string> stdout = process.StandardOutput.ReadToEndAsync();
            Task<string> stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(120_000))
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"chromium {string.Join(' ', arguments)} did not finish within 120 s.");
            }

            return process.ExitCode == 0
                ? (stdout.Result, stderr.Result)
                : throw new InvalidOperationException($"chromium {string.Join(' ', arguments)} exited with {process.ExitCode}: {stderr.Result}");
        }
        finally
        {
            try
            {
                Directory.Delete(profile, recursive: true);
            }
            catch (IOException)
            {
                // A helper process may still hold the profile for a moment; it is a temporary folder.
            }
        }
    }
}
