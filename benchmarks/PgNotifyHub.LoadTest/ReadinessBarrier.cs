namespace PgNotifyHub.LoadTest;

/// <summary>
/// Counts the clients that have received a probe of the current run. A client whose connect call returned is not
/// necessarily registered by the server yet (a SignalR connection joins its audience group after the handshake),
/// so the benchmark sends probes until every client has seen one, and only then starts measuring.
/// </summary>
internal sealed class ReadinessBarrier
{
    private readonly int _expected;
    private readonly TaskCompletionSource _allReady = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _ready;

    public ReadinessBarrier(int expected)
    {
        _expected = expected;
        if (expected <= 0)
        {
            _allReady.TrySetResult();
        }
    }

    public int Ready => Volatile.Read(ref _ready);

    public Task AllReady => _allReady.Task;

    public void Signal()
    {
        if (Interlocked.Increment(ref _ready) >= _expected)
        {
            _allReady.TrySetResult();
        }
    }
}
