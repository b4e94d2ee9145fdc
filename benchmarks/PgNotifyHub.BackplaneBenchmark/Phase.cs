namespace PgNotifyHub.BackplaneBenchmark;

/// <summary>Counts one phase's deliveries and keeps each one's latency; completes when all expected have arrived.</summary>
internal sealed class Phase(long expected)
{
    private readonly long[] _latencyTicks = new long[expected];
    private readonly TaskCompletionSource _complete = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _received;

    public long Expected => expected;

    public long Received => Math.Min(Volatile.Read(ref _received), expected);

    public Task Complete => _complete.Task;

    public void Record(TimeSpan latency)
    {
        var index = Interlocked.Increment(ref _received) - 1;
        if (index < expected)
        {
            _latencyTicks[index] = latency.Ticks;
        }

        if (index == expected - 1)
        {
            _complete.TrySetResult();
        }
    }

    /// <summary>The latency at <paramref name="percentile"/> (0–100) of what was received.</summary>
    public TimeSpan Percentile(double percentile)
    {
        var count = (int)Received;
        if (count == 0)
        {
            return TimeSpan.Zero;
        }

        var sorted = _latencyTicks.AsSpan(0, count).ToArray();
        Array.Sort(sorted);
        var rank = (int)Math.Ceiling(percentile / 100 * count) - 1;
        return TimeSpan.FromTicks(sorted[Math.Clamp(rank, 0, count - 1)]);
    }
}
