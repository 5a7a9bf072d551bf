using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace RegistryCleaner.Tests.Infrastructure;

/// <summary>
/// Runs commands as an admin types them, in a fresh <c>pwsh -NoProfile -NonInteractive</c> that imports the built module
/// (<c>out/RegistryCleaner</c>, written by <c>./build.ps1 Build</c>), and returns what that admin sees (the host's
/// text, errors included), the errors of the session (<c>$Error</c>, with their IDs) and whether the last command
/// succeeded (<c>$?</c>). Nothing is added to the commands: no <c>-ErrorAction Stop</c>, no casts.
/// </summary>
public sealed partial class UserShell
{
    private static readonly Lazy<string> PwshEntry = new(FindPwsh);

    // Settings of the test process that must not leak into what a fresh admin session sees.
    private static readonly string[] Cleared =
    [
        "REGISTRY_URL", "REPOSITORY", "REGISTRY_USERNAME", "REGISTRY_PASSWORD", "PLATFORM_NAMESPACE", "COMPUTE_NAMESPACE",
        "MONGODB_URI", "MONGODB_USERNAME", "MONGODB_PASSWORD", "KUBECONFIG", "REGISTRY_CLEANER_CONFIG", "REGISTRY_CLEANER_CACHE",
    ];

    /// <summary>Initializes a shell whose sessions start in <paramref name="workingDirectory"/>.</summary>
    /// <param name="workingDirectory">The current location of each session.</param>
    public UserShell(string workingDirectory)
    {
        this.WorkingDirectory = workingDirectory;
    }

    /// <summary>Gets the repository root (where the solution is).</summary>
    public static string RepositoryRoot { get; } = FindRoot();

    /// <summary>Gets the built module's manifest.</summary>
    public static string ModuleManifest => Path.Combine(RepositoryRoot, "out", "RegistryCleaner", "RegistryCleaner.psd1");

    /// <summary>Gets the folder each session starts in.</summary>
    public string WorkingDirectory { get; }

    /// <summary>Gets environment variables to set in each session (for example <c>KUBECONFIG</c>).</summary>
    public Dictionary<string, string?> Environment { get; } = new(StringComparer.Ordinal);

    /// <summary>Runs <paramref name="typed"/> after <c>Import-Module RegistryCleaner</c>, as an admin types it.</summary>
    /// <param name="typed">The commands, one or more lines.</param>
    /// <param name="timeout">How long the session may take (generous: the machine is shared).</param>
    /// <returns>What the session showed and left behind.</returns>
    public UserSession Run(string typed, TimeSpan? timeout = null)
    {
        string folder = Directory.CreateTempSubdirectory("registrycleaner-usershell-").FullName;
        try
        {
            string errors = Path.Combine(folder, "errors.json");
            string succeeded = Path.Combine(folder, "succeeded.txt");
            string script = Path.Combine(folder, "session.ps1");
            File.WriteAllText(script, $$"""
                Import-Module {{Quote(ModuleManifest)}}
                Set-Location -LiteralPath {{Quote(this.WorkingDirectory)}}
                {{typed}}
                $registryCleanerTestSucceeded = $?
                @(foreach ($record in $Error) {
                    [pscustomobject]@{ ErrorId = $record.FullyQualifiedErrorId; Category = "$($record.CategoryInfo.Category)"; Message = $record.Exception.Message; Target = "$($record.TargetObject)" }
                }) | ConvertTo-Json -Depth 3 -AsArray | Set-Content -LiteralPath {{Quote(errors)}}
                Set-Content -LiteralPath {{Quote(succeeded)}} -Value $registryCleanerTestSucceeded
                """);
            (int exit, string output) = this.Start(["-File", script], timeout);
            UserError[] recorded = File.Exists(errors)
                ? Enumerable.Reverse(JsonSerializer.Deserialize<UserError[]>(File.ReadAllText(errors)) ?? []).ToArray()
                : [];
            bool last = File.Exists(succeeded) && File.ReadAllText(succeeded).Trim() == "True";
            return new UserSession(exit, output, recorded, last);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>Runs a script file the way a scheduler does: <c>pwsh -NoProfile -NonInteractive -File script</c>.</summary>
    /// <param name="scriptPath">The script.</param>
    /// <param name="timeout">How long it may take.</param>
    /// <returns>Its exit code and output; <see cref="UserSession.Errors"/> is empty (the script's own output says it all).</returns>
    public UserSession RunFile(string scriptPath, TimeSpan? timeout = null)
    {
        (int exit, string output) = this.Start(["-File", scriptPath], timeout);
        return new UserSession(exit, output, [], exit == 0);
    }

    private static string Quote(string text) => "'" + text.Replace("'", "''", StringComparison.Ordinal) + "'";

    private static string FindRoot()
    {
        for (DirectoryInfo? directory = new(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "RegistryCleaner.PowerShell.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No RegistryCleaner.PowerShell.sln above {AppContext.BaseDirectory}.");
    }

    // The PowerShell of the repository's tool manifest (.config/dotnet-tools.json), found once through 'dotnet pwsh'.
    private static string FindPwsh()
    {
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = RepositoryRoot, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in (string[])["pwsh", "-NoProfile", "-NonInteractive", "-Command", "Join-Path $PSHOME pwsh.dll"])
        {
            start.ArgumentList.Add(argument);
        }

        using Process process = Process.Start(start)!;
        string path = process.StandardOutput.ReadToEnd().Trim();
        process.WaitForExit();
        return File.Exists(path)
            ? path
            : throw new InvalidOperationException($"'dotnet pwsh' did not name its pwsh.dll ({path}; {process.StandardError.ReadToEnd()}). Run 'dotnet tool restore' first.");
    }

    private (int ExitCode, string Output) Start(string[] arguments, TimeSpan? timeout)
    {
        if (!File.Exists(ModuleManifest))
        {
            throw new InvalidOperationException($"The built module is missing ({ModuleManifest}): run 'dotnet pwsh ./build.ps1 Build' first.");
        }

        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = this.WorkingDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (string argument in (string[])[PwshEntry.Value, "-NoProfile", "-NonInteractive", .. arguments])
        {
            start.ArgumentList.Add(argument);
        }

        foreach (string name in Cleared)
        {
            start.Environment.Remove(name);
        }

        start.Environment["REGISTRY_CLEANER_CACHE_DIR"] = TestEnvironment.CacheDirectory;
        start.Environment["NO_COLOR"] = "1";
        start.Environment["POWERSHELL_TELEMETRY_OPTOUT"] = "1";
        start.Environment["POWERSHELL_UPDATECHECK"] = "Off";
        foreach ((string name, string? value) in this.Environment)
        {
            start.Environment[name] = value;
        }

        using Process process = Process.Start(start)!;
        process.StandardInput.Close();
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => Append(output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(output, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(timeout ?? TimeSpan.FromMinutes(4)))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            throw new TimeoutException($"The pwsh session did not finish in time. Output so far:\n{output}");
        }

        process.WaitForExit();
        lock (output)
        {
            return (process.ExitCode, output.ToString());
        }
    }

    private static void Append(StringBuilder output, string? line)
    {
        if (line is not null)
        {
            lock (output)
            {
                output.AppendLine(line);
            }
        }
    }
}

/// <summary>What a session showed and left behind.</summary>
/// <param name="ExitCode">The process exit code.</param>
/// <param name="Output">Everything the host showed (standard output and standard error).</param>
/// <param name="Errors">The session's <c>$Error</c>, oldest first.</param>
/// <param name="LastSucceeded">The value of <c>$?</c> after the typed commands.</param>
public sealed partial record UserSession(int ExitCode, string Output, IReadOnlyList<UserError> Errors, bool LastSucceeded)
{
    /// <summary>Gets <see cref="Output"/> with every run of white space as one space, so wrapped lines still match.</summary>
    public string Text => Whitespace().Replace(this.Output, " ");

    /// <summary>Gets the error IDs without their command suffix (<c>RepositoryNotFound</c>, not <c>RepositoryNotFound,RegistryCleaner…</c>).</summary>
    public IReadOnlyList<string> ErrorIds => this.Errors.Select(static e => e.ErrorId.Split(',')[0]).ToArray();

    /// <summary>Gets how often <paramref name="text"/> appears in <see cref="Text"/>.</summary>
    /// <param name="text">The text.</param>
    /// <returns>The count.</returns>
    public int Count(string text) => Regex.Matches(this.Text, Regex.Escape(text)).Count;

    public override string ToString() => $"exit {this.ExitCode}, $? {this.LastSucceeded}, errors [{string.Join(", ", this.ErrorIds)}]\n{this.Output}";

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}

/// <summary>One error record of a session.</summary>
/// <param name="ErrorId">The fully qualified error ID.</param>
/// <param name="Category">The error category.</param>
/// <param name="Message">The exception message.</param>
/// <param name="Target">The target object, as text.</param>
public sealed record UserError(string ErrorId, string Category, string Message, string Target);
