namespace PgNotifyHub.IntegrationTests.Infrastructure;

/// <summary>
/// A clock whose timestamps move only when the test moves them, for what the library measures in elapsed time (rates,
/// replay windows). Wall-clock time and timers are the system's.
/// </summary>
public sealed class ManualClock : TimeProvider
{
    private long _timestamp = System.GetTimestamp();

    public override long TimestampFrequency => System.TimestampFrequency;

    public override long GetTimestamp() => Volatile.Read(ref _timestamp);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _timestamp, (long)(by.TotalSeconds * TimestampFrequency));
}
