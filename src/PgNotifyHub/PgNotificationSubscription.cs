using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using PgNotifyHub.Delivery;
using PgNotifyHub.Internal;
using PgNotifyHub.Listening;

namespace PgNotifyHub;

/// <summary>
/// An in-process subscription made with <see cref="PgNotifyListener.SubscribeAsync"/>: an asynchronous sequence
/// of notifications, in the order PostgreSQL delivered them. Dispose it to unsubscribe; the sequence then ends.
/// </summary>
/// <remarks>
/// The dispatcher only queues notifications, so a consumer that is slow or throws never delays or disturbs any
/// other recipient. When the queue is full the subscription is closed: the sequence yields what was queued and
/// then throws an <see cref="InvalidOperationException"/> saying so, so no loss goes unnoticed; under
/// <see cref="SlowConsumerPolicy.DropOldest"/> it drops its oldest notification instead, and counts it.
/// </remarks>
public sealed class PgNotificationSubscription : IAsyncEnumerable<PgNotification>, IDisposable, IAsyncDisposable, INotificationSink
{
    internal const string Transport = "subscription";

    private readonly Channel<PgNotification> _queue;
    private readonly int _capacity;
    private readonly ListenedChannels.Lease _lease;
    private readonly NotificationRouter _router;
    private readonly PgNotifyHubMetrics _metrics;
    private readonly ILogger _logger;
    private readonly string _id = Guid.NewGuid().ToString("N");
    private readonly Route[] _routes;
    private int _closed;
    private int _dropping;

    internal PgNotificationSubscription(
        Route route,
        int capacity,
        SlowConsumerPolicy slowConsumerPolicy,
        ListenedChannels.Lease lease,
        NotificationRouter router,
        PgNotifyHubMetrics metrics,
        ILogger logger)
    {
        _routes = [route];
        _capacity = capacity;
        _lease = lease;
        _router = router;
        _metrics = metrics;
        _logger = logger;
        _queue = System.Threading.Channels.Channel.CreateBounded<PgNotification>(
            new BoundedChannelOptions(capacity)
            {
                SingleWriter = true,
                FullMode = slowConsumerPolicy == SlowConsumerPolicy.DropOldest ? BoundedChannelFullMode.DropOldest : BoundedChannelFullMode.Wait,
            },
            OnDroppedOldest);
        router.Register(this);
        metrics.ConnectionOpened(Transport, this);
        Log.SubscriptionOpened(logger, _id, route.Channel);
    }

    /// <summary>The channel subscribed to.</summary>
    public string Channel => _routes[0].Channel;

    /// <summary>The audience subscribed to; <see langword="null"/> for every audience.</summary>
    public string? Audience => _routes[0].Audience;

    IReadOnlyList<Route> INotificationSink.Routes => _routes;

    int INotificationSink.QueueDepth => _queue.Reader.Count;

    /// <summary>
    /// Returns the notifications as they arrive, until the subscription is disposed or
    /// <paramref name="cancellationToken"/> is cancelled. Enumerate from one consumer at a time: each notification
    /// is yielded once.
    /// </summary>
    /// <param name="cancellationToken">Stops the enumeration, not the subscription.</param>
    /// <returns>The enumerator.</returns>
    /// <exception cref="InvalidOperationException">Thrown by the enumerator once the consumer fell behind and the subscription was closed.</exception>
    public IAsyncEnumerator<PgNotification> GetAsyncEnumerator(CancellationToken cancellationToken = default) =>
        _queue.Reader.ReadAllAsync(cancellationToken).GetAsyncEnumerator(cancellationToken);

    /// <summary>Unsubscribes. Notifications already queued can still be read; then the sequence ends.</summary>
    public void Dispose()
    {
        if (Close(error: null))
        {
            Log.SubscriptionClosed(_logger, _id);
        }
    }

    /// <inheritdoc cref="Dispose"/>
    /// <returns>A completed task.</returns>
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    void INotificationSink.Post(PgNotification notification)
    {
        if (_queue.Writer.TryWrite(notification))
        {
            _metrics.NotificationsDelivered(Transport, 1);
            return;
        }

        _metrics.NotificationsDropped(Transport, PgNotifyHubMetrics.DroppedConnectionClosed, 1);
        if (Volatile.Read(ref _closed) != 0)
        {
            return;
        }

        var error = new InvalidOperationException(
            $"The subscription to channel '{Channel}' was closed because its consumer fell {_capacity} notifications behind " +
            $"({nameof(PgNotifyHubOptions)}.{nameof(PgNotifyHubOptions.SendQueueCapacity)}); later notifications were not delivered to it.");
        if (Close(error))
        {
            Log.SlowConsumer(_logger, Transport, _id, _capacity);
            _metrics.ClosedByServer(Transport, PgNotifyHubMetrics.Reasons.SlowConsumer);
        }
    }

    // In process, the notifications themselves say it: a new Stream on the next one means some may have been lost.
    void INotificationSink.Resync(ResyncMessage resync)
    {
    }

    void INotificationSink.Position(StreamPosition position)
    {
    }

    private void OnDroppedOldest(PgNotification dropped)
    {
        _metrics.NotificationsDropped(Transport, PgNotifyHubMetrics.DroppedQueueFull, 1);
        if (Interlocked.Exchange(ref _dropping, 1) == 0)
        {
            Log.SlowConsumerDropping(_logger, Transport, _id, _capacity);
        }
    }

    private bool Close(Exception? error)
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return false;
        }

        _router.Unregister(this);
        _lease.Dispose();
        _queue.Writer.TryComplete(error);
        _metrics.ConnectionClosed(Transport, this);
        return true;
    }
}
