using System.Management.Automation;
using RegistryCleaner.PowerShell;

namespace RegistryCleaner.Tests.PowerShell;

/// <summary>The one progress rate: the first report shows, then one an interval, from any thread; completion always.</summary>
public class ProgressThrottleTests
{
    [Fact]
    public void The_first_report_shows_and_the_next_waits_for_the_interval()
    {
        var throttle = new ProgressThrottle(3, "Deleting");

        Assert.True(throttle.TryShow());
        Assert.False(throttle.TryShow());
        Thread.Sleep(ProgressThrottle.Interval + TimeSpan.FromMilliseconds(50));
        Assert.True(throttle.TryShow());
        Assert.False(throttle.TryShow());
    }

    [Fact]
    public void The_rate_is_four_a_second() => Assert.Equal(TimeSpan.FromMilliseconds(250), ProgressThrottle.Interval);

    [Fact]
    public void A_final_count_shows_regardless_of_the_interval()
    {
        var throttle = new ProgressThrottle(3, "Checking");

        Assert.True(throttle.TryShow());
        Assert.True(throttle.TryShow(always: true));
        Assert.False(throttle.TryShow());
    }

    [Fact]
    public void Of_many_threads_reporting_at_once_one_shows()
    {
        var throttle = new ProgressThrottle(1, "Reading");
        int shown = 0;
        using var start = new ManualResetEventSlim();
        Thread[] threads = Enumerable.Range(0, 8).Select(_ => new Thread(() =>
        {
            start.Wait();
            for (int i = 0; i < 1000; i++)
            {
                if (throttle.TryShow())
                {
                    Interlocked.Increment(ref shown);
                }
            }
        })).ToArray();
        Array.ForEach(threads, thread => thread.Start());
        start.Set();
        Array.ForEach(threads, thread => thread.Join());

        // 8,000 reports within a few intervals at most: one shown per interval, not one per report.
        Assert.InRange(shown, 1, 1 + (int)(throttle.Elapsed / ProgressThrottle.Interval));
    }

    [Fact]
    public void Completion_is_due_once_and_only_over_a_shown_bar()
    {
        var throttle = new ProgressThrottle(3, "Deleting");

        Assert.False(throttle.EndShown());
        Assert.True(throttle.TryShow());
        Assert.True(throttle.EndShown());
        Assert.False(throttle.EndShown());
        Assert.True(throttle.TryShow());
    }

    [Fact]
    public void Records_carry_the_activity_and_the_completion_record_completes_it()
    {
        var throttle = new ProgressThrottle(2, "Reading docker-registry:5000");

        ProgressRecord status = throttle.Record("Read 5 of 10 tags");
        ProgressRecord done = throttle.Completed();

        Assert.Equal((2, "Reading docker-registry:5000", "Read 5 of 10 tags", ProgressRecordType.Processing), (status.ActivityId, status.Activity, status.StatusDescription, status.RecordType));
        Assert.Equal((2, "Reading docker-registry:5000", "Done", ProgressRecordType.Completed), (done.ActivityId, done.Activity, done.StatusDescription, done.RecordType));
    }
}
