using System.Threading.Channels;

namespace PgNotifyHub.Transports;

/// <summary>
/// A recipient's bounded queue, filled by the dispatcher and drained by the recipient's one reader, with what
/// <see cref="PgNotifyHubOptions.SlowConsumerPolicy"/> says a full queue does: refuse the item, so the connection is
/// closed (<see cref="PgNotifyHubSlowConsumerPolicy.Close"/>), or drop the oldest to make room
/// (<see cref="PgNotifyHubSlowConsumerPolicy.DropOldest"/>). Either way every notification lost is counted.
/// </summary>
/// <typeparam name="T">What is queued: a notification, or a ready-made frame.</typeparam>
internal sealed class SendQueue<T>
{
    private readonly Channel<T> _channel;
    private readonly Func<T, bool> _isNotification;
    private readonly SlowConsumer _slowConsumer;

    /// <param name="capacity">The most items queued at once.</param>
    /// <param name="policy">What a full queue does.</param>
    /// <param name="isNotification">Whether an item is a notification, which the metrics count, rather than a control notice.</param>
    /// <param name="slowConsumer">Counts and logs what falling behind costs the recipient.</param>
    public SendQueue(int capacity, PgNotifyHubSlowConsumerPolicy policy, Func<T, bool> isNotification, SlowConsumer slowConsumer)
    {
        _isNotification = isNotification;
        _slowConsumer = slowConsumer;
        _channel = Channel.CreateBounded<T>(
            new BoundedChannelOptions(capacity)
            {
                SingleReader = true,
                SingleWriter = true,
                FullMode = policy == PgNotifyHubSlowConsumerPolicy.DropOldest ? BoundedChannelFullMode.DropOldest : BoundedChannelFullMode.Wait,
            },
            dropped =>
            {
                if (_isNotification(dropped))
                {
                    _slowConsumer.DroppedOldest();
                }
            });
    }

    public ChannelReader<T> Reader => _channel.Reader;

    public int Count => _channel.Reader.Count;

    /// <summary>Queues <paramref name="item"/>; false, and the item counted as lost, when the queue is full or completed.</summary>
    public bool TryEnqueue(T item)
    {
        if (_channel.Writer.TryWrite(item))
        {
            return true;
        }

        if (_isNotification(item))
        {
            _slowConsumer.Lost(1);
        }

        return false;
    }

    /// <summary>Ends the queue: what is queued can still be read, then the reader ends, with <paramref name="error"/> if given.</summary>
    public void Complete(Exception? error = null) => _channel.Writer.TryComplete(error);

    /// <summary>Takes what is still queued after the recipient went away, counting the notifications among it as lost.</summary>
    public void DiscardRemaining()
    {
        var lost = 0;
        while (_channel.Reader.TryRead(out var item))
        {
            lost += _isNotification(item) ? 1 : 0;
        }

        _slowConsumer.Lost(lost);
    }
}
