using System.Management.Automation;
using RegistryCleaner.Configuration;
using RegistryCleaner.Domino;

namespace RegistryCleaner.PowerShell;

/// <summary>
/// The base of every RegistryCleaner cmdlet: configuration, typed output, terminating errors with stable IDs, and
/// engine work that runs asynchronously under a cancellation token that Ctrl+C (<see cref="StopProcessing"/>) cancels.
/// </summary>
public abstract class RegistryCleanerCmdlet : PSCmdlet, IDisposable
{
    private readonly CancellationTokenSource stopping = new();
    private RegistryCleanerConfiguration? configuration;
    private bool disposed;

    /// <summary>Path of a config.yaml to use instead of the default lookup ($env:REGISTRY_CLEANER_CONFIG, then ./config.yaml, then the module's bundled config.yaml).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? ConfigPath { get; set; }

    /// <summary>Gets the configuration, loaded on first use; its warnings are written once.</summary>
    protected internal RegistryCleanerConfiguration Configuration => this.configuration ??= this.LoadConfiguration();

    /// <summary>Gets a token cancelled when the user presses Ctrl+C or the pipeline stops.</summary>
    protected CancellationToken StopToken => this.stopping.Token;

    /// <summary>Gets the module's root folder (where the manifest and the bundled config.yaml are).</summary>
    protected internal static string ModuleRoot
    {
        get
        {
            // The cmdlet assembly lives in <module>/bin/lib (see RegistryCleaner.Loader).
            string assemblyDirectory = Path.GetDirectoryName(typeof(RegistryCleanerCmdlet).Assembly.Location) ?? ".";
            return Path.GetFullPath(Path.Combine(assemblyDirectory, "..", ".."));
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        this.Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Writes an object to the pipeline with <paramref name="typeName"/> as its first PSTypeName.</summary>
    /// <param name="value">The object.</param>
    /// <param name="typeName">The PSTypeName from the module's contract, e.g. <c>RegistryCleaner.RegistryImage</c>.</param>
    internal void WriteTyped(object value, string typeName)
    {
        var wrapped = PSObject.AsPSObject(value);
        if (wrapped.TypeNames.Count == 0 || wrapped.TypeNames[0] != typeName)
        {
            wrapped.TypeNames.Insert(0, typeName);
        }

        DateText.Apply(wrapped);
        this.WriteObject(wrapped);
    }

    // Everything below that reaches the host goes through TerminalText: names, pod names and registry messages are
    // data from elsewhere, and an ANSI sequence in them must show as text, never act on the terminal. These hide
    // Cmdlet's own Write* (which are not virtual), so every this.Write… and queue.… of a RegistryCleaner cmdlet is
    // escaped; the objects written to the pipeline keep the raw values.

    /// <summary>Writes a warning with its control characters escaped (see <see cref="TerminalText"/>).</summary>
    /// <param name="text">The warning.</param>
    public new void WriteWarning(string text) => base.WriteWarning(TerminalText.Escape(text));

    /// <summary>Writes a verbose message with its control characters escaped.</summary>
    /// <param name="text">The message.</param>
    public new void WriteVerbose(string text) => base.WriteVerbose(TerminalText.Escape(text));

    /// <summary>Writes a debug message with its control characters escaped.</summary>
    /// <param name="text">The message.</param>
    public new void WriteDebug(string text) => base.WriteDebug(TerminalText.Escape(text));

    /// <summary>Writes a non-terminating error whose shown message and target are escaped; the exception stays as it was.</summary>
    /// <param name="errorRecord">The error.</param>
    public new void WriteError(ErrorRecord errorRecord) => base.WriteError(HostText.ForDisplay(errorRecord));

    /// <summary>Stops the command with an error whose shown message and target are escaped.</summary>
    /// <param name="errorRecord">The error.</param>
    public new void ThrowTerminatingError(ErrorRecord errorRecord) => base.ThrowTerminatingError(HostText.ForDisplay(errorRecord));

    /// <summary>Writes progress whose activity, status and current operation are escaped.</summary>
    /// <param name="progressRecord">The progress.</param>
    public new void WriteProgress(ProgressRecord progressRecord) => base.WriteProgress(HostText.ForDisplay(progressRecord));

    /// <summary>Writes to the information stream; a text message (or host message) is escaped.</summary>
    /// <param name="informationRecord">The record.</param>
    public new void WriteInformation(InformationRecord informationRecord) => base.WriteInformation(HostText.ForDisplay(informationRecord));

    /// <summary>Cancels engine work when the user presses Ctrl+C.</summary>
    protected override void StopProcessing() => this.stopping.Cancel();

    /// <summary>Releases the cancellation source.</summary>
    /// <param name="disposing">Whether managed resources are released.</param>
    protected virtual void Dispose(bool disposing)
    {
        if (!this.disposed && disposing)
        {
            this.stopping.Dispose();
        }

        this.disposed = true;
    }

    /// <summary>Stops the command with an error that has a stable ID, a category and the target concerned.</summary>
    /// <param name="exception">The error; its message says what was wrong and what to do.</param>
    /// <param name="errorId">A stable error ID, e.g. <c>ObjectIdFileInvalid</c>.</param>
    /// <param name="category">The category.</param>
    /// <param name="target">The object concerned.</param>
    /// <returns>Never returns (ThrowTerminatingError throws); typed for <c>throw</c> expressions.</returns>
    protected internal Exception Terminate(Exception exception, string errorId, ErrorCategory category, object? target)
    {
        this.ThrowTerminatingError(new ErrorRecord(exception, errorId, category, target));
        return exception;
    }

    /// <summary>Resolves a user-given path (relative to the current PowerShell location, PSDrive-aware) to a file system path.</summary>
    /// <param name="path">The path as given.</param>
    /// <returns>The full file system path.</returns>
    protected string ResolveFilePath(string path) => this.GetUnresolvedProviderPathFromPSPath(path);

    /// <summary>
    /// Validates <c>-ObjectId</c> and reads <c>-ObjectIdPath</c> before any remote call; stops the command naming the
    /// file, line and value of the first invalid entry.
    /// </summary>
    /// <param name="values">The <c>-ObjectId</c> values, if given.</param>
    /// <param name="path">The <c>-ObjectIdPath</c> file, if given.</param>
    /// <returns>The normalised IDs, or <see langword="null"/> when neither was given (no narrowing).</returns>
    protected IReadOnlyList<string>? ResolveObjectIds(string[]? values, string? path)
    {
        if (values is null && path is null)
        {
            return null;
        }

        var ids = new List<string>();
        if (values is not null)
        {
            try
            {
                ids.AddRange(ObjectIdInput.FromValues(values));
            }
            catch (FormatException ex)
            {
                throw this.Terminate(new ArgumentException("-ObjectId: " + ex.Message, ex), ErrorIds.ObjectIdInvalid, ErrorCategory.InvalidArgument, values);
            }
        }

        if (path is not null)
        {
            string full = this.ResolveFilePath(path);
            try
            {
                ids.AddRange(ObjectIdInput.FromFile(full));
            }
            catch (ObjectIdFileException ex)
            {
                throw this.Terminate(ex, ex.LineNumber == 0 ? ErrorIds.ObjectIdFileNotFound : ErrorIds.ObjectIdFileInvalid, ex.LineNumber == 0 ? ErrorCategory.ObjectNotFound : ErrorCategory.InvalidData, full);
            }
            catch (IOException ex)
            {
                throw this.Terminate(new IOException($"ObjectId file '{full}' cannot be read: {ex.Message}", ex), ErrorIds.ObjectIdFileUnreadable, ErrorCategory.ReadError, full);
            }
        }

        return ids.Distinct(StringComparer.Ordinal).ToArray();
    }

    /// <summary>
    /// Runs engine work on the thread pool while this (pipeline) thread writes what the work queues, so output streams
    /// as it arrives and Ctrl+C cancels the work. Never swallows <see cref="PipelineStoppedException"/>.
    /// </summary>
    /// <typeparam name="T">The result type.</typeparam>
    /// <param name="work">The work; it posts output to the queue and observes the token.</param>
    /// <returns>The work's result.</returns>
    protected T RunEngine<T>(Func<PipelineQueue, CancellationToken, Task<T>> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        using var queue = new PipelineQueue();
        Task<T> task = Task.Run(() => work(queue, this.StopToken), this.StopToken);
        try
        {
            queue.Drain(this, task);
        }
        catch (PipelineStoppedException)
        {
            // Downstream stopped (Select-Object -First) or Ctrl+C: stop the engine, then let PowerShell unwind.
            this.stopping.Cancel();
            WaitQuietly(task);
            throw;
        }
        catch
        {
            this.stopping.Cancel();
            WaitQuietly(task);
            throw;
        }

        try
        {
            return task.GetAwaiter().GetResult();
        }
        catch (OperationCanceledException) when (this.StopToken.IsCancellationRequested)
        {
            throw new PipelineStoppedException();
        }
    }

    /// <summary>Runs engine work that returns nothing; see <see cref="RunEngine{T}(Func{PipelineQueue, CancellationToken, Task{T}})"/>.</summary>
    /// <param name="work">The work.</param>
    protected void RunEngine(Func<PipelineQueue, CancellationToken, Task> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        this.RunEngine<bool>(async (queue, token) =>
        {
            await work(queue, token).ConfigureAwait(false);
            return true;
        });
    }

    private static void WaitQuietly(Task task)
    {
        try
        {
            task.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
            // The work's own failure matters less than the reason we are stopping.
        }
    }

    private RegistryCleanerConfiguration LoadConfiguration()
    {
        string current = this.SessionState.Path.CurrentFileSystemLocation.ProviderPath;
        var lookup = new ConfigLookup(
            this.ConfigPath is null ? null : this.ResolveFilePath(this.ConfigPath),
            current,
            Path.Combine(ModuleRoot, "config.yaml"),
            ConfigLookup.ProcessEnvironment());
        RegistryCleanerConfiguration loaded;
        try
        {
            loaded = RegistryCleanerConfiguration.Load(lookup);
        }
        catch (ConfigFileUnsafeException ex)
        {
            throw this.Terminate(ex, ErrorIds.ConfigFileUnsafe, ErrorCategory.SecurityError, ex.FilePath);
        }
        catch (ConfigurationException ex)
        {
            throw this.Terminate(ex, ex.Line is null ? ErrorIds.ConfigFileNotFound : ErrorIds.ConfigFileInvalid, ex.Line is null && ex.FilePath is not null ? ErrorCategory.ObjectNotFound : ErrorCategory.InvalidData, ex.FilePath);
        }

        foreach (string warning in loaded.Warnings)
        {
            this.WriteWarning(warning);
        }

        if (loaded.FilePath is not null)
        {
            this.WriteVerbose($"Configuration: {loaded.FilePath}");
        }

        return loaded;
    }
}
