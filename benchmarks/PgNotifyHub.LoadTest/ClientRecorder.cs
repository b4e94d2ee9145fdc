namespace PgNotifyHub.LoadTest;

/// <summary>
/// What one client received in one run: the receive time of each sequence number, duplicates, order, the run's
/// end marker and readiness probes. Written only by the client's own receive loop (one message at a time), read
/// after the client has stopped.
/// </summary>
/// <remarks>
/// Sequence numbers are unique across the whole benchmark process: a message from an earlier run that arrives
/// late falls outside this run's range and is counted as a stray, not as a duplicate.
/// </remarks>
internal sealed class ClientRecorder
{
    private readonly long _firstSequence;
    private readonly long[] _receivedAt;
    private readonly long[] _sentAt;
    private readonly long _runId;
    private readonly ReadinessBarrier? _readiness;
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _lastIndex = -1;
    private int _probed;

    public ClientRecorder(long runId, long firstSequence, int expected, ReadinessBarrier? readiness)
    {
        _runId = runId;
        _firstSequence = firstSequence;
        _receivedAt = new long[expected];
        _sentAt = new long[expected];
        _readiness = readiness;
    }

    /// <summary>Stopwatch timestamps by index (sequence − first); 0 where nothing arrived.</summary>
    public ReadOnlySpan<long> ReceivedAt => _receivedAt;

    /// <summary>The send timestamps the payloads carried, by index; 0 where none did (batched scenarios).</summary>
    public ReadOnlySpan<long> SentAt => _sentAt;

    public int Received { get; private set; }

    public int Duplicates { get; private set; }

    /// <summary>Messages whose sequence number is below one already received.</summary>
    public int OutOfOrder { get; private set; }

    /// <summary>Sequence messages outside this run's range, and messages that could not be read.</summary>
    public int Strays { get; private set; }

    public long LastReceivedAt { get; private set; }

    /// <summary>Completes when this run's end marker arrives: everything sent before it has been delivered.</summary>
    public Task Ended => _ended.Task;

    /// <summary>Why the connection ended before the client was disposed, if it did.</summary>
    public string? Failure { get; private set; }

    /// <param name="sequence">The message's sequence number.</param>
    /// <param name="timestamp">When it was received (Stopwatch ticks).</param>
    /// <param name="sentAt">The send time its payload carried (Stopwatch ticks: CLOCK_MONOTONIC, the same in every process of the machine), or 0.</param>
    public void OnSequence(long sequence, long timestamp, long sentAt = 0)
    {
        var index = sequence - _firstSequence;
        if ((ulong)index >= (ulong)_receivedAt.Length)
        {
            Strays++;
            return;
        }

        if (_receivedAt[index] != 0)
        {
            Duplicates++;
            return;
        }

        _receivedAt[index] = timestamp;
        _sentAt[index] = sentAt;
        Received++;
        LastReceivedAt = timestamp;
        if (index < _lastIndex)
        {
            OutOfOrder++;
        }
        else
        {
            _lastIndex = index;
        }
    }

    public void OnEnd(long runId)
    {
        if (runId == _runId)
        {
            _ended.TrySetResult();
        }
    }

    public void OnProbe(long runId)
    {
        if (runId == _runId && _probed == 0)
        {
            _probed = 1;
            _readiness?.Signal();
        }
    }

    public void OnUnreadable() => Strays++;

    public void OnConnectionEnded(string reason)
    {
        Failure ??= reason;
        _ended.TrySetResult();
    }
}
