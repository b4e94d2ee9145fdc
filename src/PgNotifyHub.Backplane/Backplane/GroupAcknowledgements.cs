using System.Collections.Concurrent;

namespace PgNotifyHub.Backplane;

/// <summary>
/// The group changes this node asked other nodes to make, waiting for the acknowledgement of the node that holds the
/// connection.
/// </summary>
internal sealed class GroupAcknowledgements
{
    private readonly ConcurrentDictionary<int, TaskCompletionSource> _pending = new();
    private int _lastId;

    /// <summary>A new acknowledgement to wait for: its id goes into the command, <paramref name="acknowledged"/> completes when it comes.</summary>
    public int Expect(out Task acknowledged)
    {
        var id = Interlocked.Increment(ref _lastId);
        var ack = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = ack;
        acknowledged = ack.Task;
        return id;
    }

    public void Acknowledge(int id)
    {
        if (_pending.TryRemove(id, out var ack))
        {
            ack.TrySetResult();
        }
    }

    /// <summary>Stops waiting for <paramref name="id"/>, acknowledged or not.</summary>
    public void Forget(int id) => _pending.TryRemove(id, out _);

    /// <summary>Cancels every wait: the node is stopping.</summary>
    public void CancelAll()
    {
        foreach (var ack in _pending.Values)
        {
            ack.TrySetCanceled();
        }
    }
}
