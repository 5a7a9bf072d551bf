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

        return new PowerShellResult(
            output,
            shell.Streams.Error.ToArray(),
            shell.Streams.Warning.Select(w => w.Message).ToArray(),
            shell.Streams.Verbose.Select(v => v.Message).ToArray(),
            shell.Streams.Information.Select(i => i.MessageData?.ToString() ?? string.Empty).ToArray(),
            terminating);
    }

    public void Dispose() => this.runspace.Dispose();
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
    /// <summary>Gets every text the script showed, for secret-leak assertions.</summary>
    public string AllText =>
        string.Join('\n', this.Output.Select(o => o?.ToString()))
        + string.Join('\n', this.Errors.Select(e => e.ToString() + e.Exception))
        + string.Join('\n', this.Warnings) + string.Join('\n', this.Verbose) + string.Join('\n', this.Information)
        + this.Terminating;
}
