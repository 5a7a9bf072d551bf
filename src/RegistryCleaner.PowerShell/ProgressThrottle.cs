using System.Diagnostics;
using System.Management.Automation;

namespace RegistryCleaner.PowerShell;

/// <summary>
/// The Write-Progress rate of one activity: the first report is shown, then at most one every <see cref="Interval"/>
/// (four a second), whichever thread reports; a host redrawing progress faster only slows the work down. The
/// completion record is written whatever was shown, so no bar is left behind.
/// </summary>
/// <param name="activityId">The progress activity ID.</param>
/// <param name="activity">The activity, shown as the bar's title.</param>
internal sealed class ProgressThrottle(int activityId, string activity)
{
    /// <summary>The shortest time between two shown records of one activity.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);

    private const long NeverShown = long.MinValue;
    private readonly Stopwatch clock = Stopwatch.StartNew();
    private long lastShownTicks = NeverShown;

    /// <summary>Gets the time since the activity started.</summary>
    public TimeSpan Elapsed => this.clock.Elapsed;

    /// <summary>
    /// Returns whether a record may be shown now, and if so counts it as shown: the first time, then once an interval
    /// has passed since the last one. When two threads report at once, one of them shows.
    /// </summary>
    /// <param name="always">Shows regardless of the interval (a final count worth seeing).</param>
    /// <returns><see langword="true"/> when the caller should write its record.</returns>
    public bool TryShow(bool always = false)
    {
        long now = this.clock.Elapsed.Ticks;
        while (true)
        {
            long last = Interlocked.Read(ref this.lastShownTicks);
            if (!always && last != NeverShown && now - last < Interval.Ticks)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref this.lastShownTicks, now, last) == last)
            {
                return true;
            }

            if (!always)
            {
                return false;
            }
        }
    }

    /// <summary>
    /// Ends the activity's throttling: returns whether a record was shown since the start (or the last end), so the
    /// caller writes the completion record once, and only over a bar the host shows.
    /// </summary>
    /// <returns><see langword="true"/> when a record was shown.</returns>
    public bool EndShown() => Interlocked.Exchange(ref this.lastShownTicks, NeverShown) != NeverShown;

    /// <summary>Creates a record of the activity.</summary>
    /// <param name="status">What is being done, with the counts so far.</param>
    /// <returns>The record.</returns>
    public ProgressRecord Record(string status) => new(activityId, activity, status);

    /// <summary>Creates the record that completes the activity.</summary>
    /// <returns>The record.</returns>
    public ProgressRecord Completed() => new(activityId, activity, "Done") { RecordType = ProgressRecordType.Completed };

    /// <summary>Posts a record to the pipeline thread when <see cref="TryShow"/> allows it.</summary>
    /// <param name="queue">The pipeline thread's queue.</param>
    /// <param name="status">What is being done.</param>
    /// <param name="percent">The percentage done, or -1 when unknown.</param>
    public void Report(PipelineQueue queue, string status, int percent)
    {
        ArgumentNullException.ThrowIfNull(queue);
        if (this.TryShow())
        {
            ProgressRecord record = this.Record(status);
            record.PercentComplete = Math.Clamp(percent, -1, 100);
            queue.Post(c => c.WriteProgress(record));
        }
    }

    /// <summary>Posts the completion record to the pipeline thread.</summary>
    /// <param name="queue">The pipeline thread's queue.</param>
    public void Complete(PipelineQueue queue)
    {
        ArgumentNullException.ThrowIfNull(queue);
        ProgressRecord record = this.Completed();
        queue.Post(c => c.WriteProgress(record));
    }
}
