using System.Collections.ObjectModel;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using RegistryCleaner.PowerShell;

namespace RegistryCleaner.Tests.Infrastructure;

/// <summary>
/// Runs the module's cmdlets in-process, in a real PowerShell runspace, so end-to-end tests can drive them against the
/// real registry and the Kubernetes and MongoDB stand-ins and read every stream. (Packaging, formats and help are the
/// Pester tests' job, against the built module.)
/// </summary>
public sealed class PowerShellSession : IDisposable
{
    private readonly Runspace runspace;

    public PowerShellSession(string? workingDirectory = null)
    {
        InitialSessionState state = InitialSessionState.CreateDefault2();
        foreach (Type type in typeof(RegistryCleanerCmdlet).Assembly.GetTypes())
        {
            if (type.GetCustomAttributes(typeof(CmdletAttribute), false) is [CmdletAttribute attribute, ..] && !type.IsAbstract)
            {
                state.Commands.Add(new SessionStateCmdletEntry($"{attribute.VerbName}-{attribute.NounName}", type, null));
            }
        }

        this.runspace = RunspaceFactory.CreateRunspace(state);
        this.runspace.Open();
        if (workingDirectory is not null)
        {
            this.Run($"Set-Location -LiteralPath '{workingDirectory.Replace("'", "''", StringComparison.Ordinal)}'");
        }
    }

    /// <summary>Runs a script; returns the output and every other stream.</summary>
    public PowerShellResult Run(string script, IDictionary<string, object?>? variables = null)
    {
        using var shell = System.Management.Automation.PowerShell.Create();
        shell.Runspace = this.runspace;
        foreach ((string name, object? value) in variables ?? new Dictionary<string, object?>())
        {
            this.runspace.SessionStateProxy.SetVariable(name, value);
        }

        shell.AddScript(script);
        Collection<PSObject> output;
        Exception? terminating = null;
        try
        {
            output = shell.Invoke();
        }
        catch (RuntimeException ex)
        {
            output = [];
            terminating = ex;
        }

        return Collect(shell, output, terminating);
    }

    /// <summary>Starts a script without waiting, so a test can stop it as Ctrl+C would (<see cref="RunningScript.Stop"/>).</summary>
    public RunningScript Start(string script)
    {
        var shell = System.Management.Automation.PowerShell.Create();
        shell.Runspace = this.runspace;
        shell.AddScript(script);
        var output = new PSDataCollection<PSObject>();
        IAsyncResult pending = shell.BeginInvoke<PSObject, PSObject>(null, output);
        return new RunningScript(shell, pending, output);
    }

    public void Dispose() => this.runspace.Dispose();

    internal static PowerShellResult Collect(System.Management.Automation.PowerShell shell, IEnumerable<PSObject> output, Exception? terminating) =>
        new(
            output.ToArray(),
            shell.Streams.Error.ToArray(),
            shell.Streams.Warning.Select(w => w.Message).ToArray(),
            shell.Streams.Verbose.Select(v => v.Message).ToArray(),
            shell.Streams.Information.Select(i => i.MessageData?.ToString() ?? string.Empty).ToArray(),
            terminating)
        {
            Debug = shell.Streams.Debug.Select(d => d.Message).ToArray(),
            Progress = shell.Streams.Progress.Select(p => $"{p.Activity}\n{p.StatusDescription}\n{p.CurrentOperation}").ToArray(),
        };
}

/// <summary>A script started with <see cref="PowerShellSession.Start"/>: stop it like Ctrl+C, or wait for it.</summary>
public sealed class RunningScript(System.Management.Automation.PowerShell shell, IAsyncResult pending, PSDataCollection<PSObject> output) : IDisposable
{
    /// <summary>Gets the output so far (thread-safe collection).</summary>
    public PSDataCollection<PSObject> Output => output;

    /// <summary>Stops the pipeline (what Ctrl+C does: StopProcessing on the running cmdlet) and waits until it has stopped.</summary>
    public void Stop() => shell.Stop();

    /// <summary>Waits for the script to end (stopped or not) and returns every stream.</summary>
    public PowerShellResult Wait()
    {
        Exception? terminating = null;
        try
        {
            shell.EndInvoke(pending);
        }
        catch (RuntimeException ex)
        {
            terminating = ex;
        }

        return PowerShellSession.Collect(shell, output, terminating);
    }

    public void Dispose()
    {
        shell.Dispose();
        output.Dispose();
    }
}

/// <summary>What a script produced: output objects, errors (and the terminating one, if any), warnings, verbose and information text.</summary>
public sealed record PowerShellResult(
    IReadOnlyList<PSObject> Output,
    IReadOnlyList<ErrorRecord> Errors,
    IReadOnlyList<string> Warnings,
    IReadOnlyList<string> Verbose,
    IReadOnlyList<string> Information,
    Exception? Terminating)
{
    /// <summary>Gets the debug messages.</summary>
    public IReadOnlyList<string> Debug { get; init; } = [];

    /// <summary>Gets each progress record's activity, status and current operation.</summary>
    public IReadOnlyList<string> Progress { get; init; } = [];

    /// <summary>Gets every text the script showed, for secret-leak assertions.</summary>
    public string AllText =>
        string.Join('\n', this.Output.Select(o => o?.ToString()))
        + string.Join('\n', this.Errors.Select(e => e.ToString() + e.Exception))
        + string.Join('\n', this.Warnings) + string.Join('\n', this.Verbose) + string.Join('\n', this.Information)
        + string.Join('\n', this.Debug) + string.Join('\n', this.Progress)
        + this.Terminating;
}
