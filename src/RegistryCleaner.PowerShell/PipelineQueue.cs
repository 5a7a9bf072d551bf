using System.Collections.Concurrent;
using System.Management.Automation;

namespace RegistryCleaner.PowerShell;

/// <summary>
/// Carries output from engine work running on other threads back to the pipeline thread, the only thread on which
/// a cmdlet may call <c>Write*</c> or <c>ShouldProcess</c>.
/// </summary>
public sealed class PipelineQueue : IDisposable
{
    private readonly BlockingCollection<Action<RegistryCleanerCmdlet>> actions = new();

    /// <summary>Queues an object for the output stream, with its PSTypeName.</summary>
    /// <param name="value">The object.</param>
    /// <param name="typeName">The PSTypeName, e.g. <c>RegistryCleaner.RegistryImage</c>.</param>
    public void Output(object value, string typeName) => this.Post(c => c.WriteTyped(value, typeName));

    /// <summary>Queues a verbose message.</summary>
    /// <param name="message">The message.</param>
    public void Verbose(string message) => this.Post(c => c.WriteVerbose(message));

    /// <summary>Queues a warning.</summary>
    /// <param name="message">The message.</param>
    public void Warning(string message) => this.Post(c => c.WriteWarning(message));

    /// <summary>Queues a non-terminating error.</summary>
    /// <param name="record">The error.</param>
    public void Error(ErrorRecord record) => this.Post(c => c.WriteError(record));

    /// <summary>Queues any pipeline-thread action.</summary>
    /// <param name="action">The action, given the cmdlet.</param>
    public void Post(Action<RegistryCleanerCmdlet> action)
    {
        if (!this.actions.IsAddingCompleted)
        {
            try
            {
                this.actions.Add(action);
            }
            catch (InvalidOperationException)
            {
                // The pipeline thread has stopped draining (the pipeline is stopping): nothing more to show.
            }
        }
    }

    /// <summary>Gets how many actions wait for the pipeline thread; engine work that produces faster than it drains waits on it.</summary>
    public int Pending => this.actions.Count;

    /// <inheritdoc />
    public void Dispose() => this.actions.Dispose();

    /// <summary>Runs queued actions on the calling (pipeline) thread until <paramref name="work"/> ends and the queue is empty.</summary>
    /// <param name="cmdlet">The cmdlet whose pipeline thread this is.</param>
    /// <param name="work">The engine work.</param>
    internal void Drain(RegistryCleanerCmdlet cmdlet, Task work)
    {
        _ = work.ContinueWith(_ => this.actions.CompleteAdding(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        foreach (Action<RegistryCleanerCmdlet> action in this.actions.GetConsumingEnumerable())
        {
            action(cmdlet);
        }
    }
}
