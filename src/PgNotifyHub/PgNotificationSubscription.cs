using Microsoft.Extensions.Logging;
using PgNotifyHub.Diagnostics;
using PgNotifyHub.Listening;
using PgNotifyHub.Sequencing;
using PgNotifyHub.Transports;

namespace PgNotifyHub;

/// <summary>
/// An in-process subscription made with <see cref="PgNotificationSubscriber.SubscribeAsync"/>: an asynchronous sequence
/// of notifications, in the order PostgreSQL delivered them. Dispose it to unsubscribe; the sequence then ends.
/// </summary>
/// <remarks>
/// The dispatcher only queues notifications, so a consumer that is slow or throws never delays or disturbs any
/// other recipient. When the queue is full the subscription is closed: the sequence yields what was queued and
/// then throws an <see cref="InvalidOperationException"/> saying so, so no loss goes unnoticed; under
/// <see cref="PgNotifyHubSlowConsumerPolicy.DropOldest"/> it drops its oldest notification instead, and counts it.
/// </remarks>
public sealed class PgNotificationSubscription : IAsyncEnumerable<PgNotification>, IDisposable, IAsyncDisposable
{
    internal const string Transport = "subscription";

    private readonly Sink _sink;
    private readonly ListenedChannels.Lease _lease;
    private readonly NotificationSequencer _sequencer;
    private readonly PgNotifyHubMetrics _metrics;
    private readonly ILogger _logger;
    private readonly string _id = Guid.NewGuid().ToString("N");
    private int _closed;

    internal PgNotificationSubscription(
        Route route,
        PgNotifyHubOptions options,
        ListenedChannels.Lease lease,
        NotificationSequencer sequencer,
        PgNotifyHubMetrics metrics,
        ILogger logger)
    {
        _lease = lease;
        _sequencer = sequencer;
        _metrics = metrics;
        _logger = logger;
        _sink = new Sink(this, route, options, new SlowConsumer(Transport, _id, options.SendQueueCapacity, metrics, logger));
        sequencer.Join(_sink, resume: null);
        metrics.ConnectionOpened(Transport, _sink);
        Log.SubscriptionOpened(logger, _id, route.Channel);
    }

    /// <summary>The channel subscribed to.</summary>
    public string Channel => _sink.Routes[0].Channel;

    /// <summary>The audience subscribed to; <see langword="null"/> for every audience.</summary>
    public string? Audience => _sink.Routes[0].Audience;

    /// <summary>
    /// Returns the notifications as they arrive, until the subscription is disposed or
    /// <paramref name="cancellationToken"/> is cancelled. Enumerate from one consumer at a time: each notification
    /// is yielded once.
    /// </summary>
    /// <param name="cancellationToken">Stops the enumeration, not the subscription.</param>
    /// <returns>The enumerator.</returns>
    /// <exception cref="InvalidOperationException">Thrown by the enumerator once the consumer fell behind and the subscription was closed.</exception>
    public IAsyncEnumerator<PgNotification> GetAsyncEnumerator(CancellationToken cancellationToken = default) =>
        _sink.Queue.Reader.ReadAllAsync(cancellationToken).GetAsyncEnumerator(cancellationToken);

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

    private bool Close(Exception? error)
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return false;
        }

        _sequencer.Leave(_sink);
        _lease.Dispose();
        _sink.Queue.Complete(error);
        _metrics.ConnectionClosed(Transport, _sink);
        return true;
    }

    /// <summary>The subscription as the fan-out sees it: the in-process transport.</summary>
    private sealed class Sink : INotificationSink
    {
        private readonly PgNotificationSubscription _owner;
        private readonly SlowConsumer _slowConsumer;
        private readonly int _capacity;

        public Sink(PgNotificationSubscription owner, Route route, PgNotifyHubOptions options, SlowConsumer slowConsumer)
        {
            _owner = owner;
            _slowConsumer = slowConsumer;
            _capacity = options.SendQueueCapacity;
            Routes = [route];
            Queue = new SendQueue<PgNotification>(options.SendQueueCapacity, options.SlowConsumerPolicy, static _ => true, slowConsumer);
        }

        public IReadOnlyList<Route> Routes { get; }

        public SendQueue<PgNotification> Queue { get; }

        public int QueueDepth => Queue.Count;

        public void Post(SequencedNotification notification)
        {
            if (Queue.TryEnqueue(notification.Notification))
            {
                _owner._metrics.NotificationsDelivered(Transport, 1);
                return;
            }

            var error = new InvalidOperationException(
                $"The subscription to channel '{Routes[0].Channel}' was closed because its consumer fell {_capacity} notifications behind " +
                $"({nameof(PgNotifyHubOptions)}.{nameof(PgNotifyHubOptions.SendQueueCapacity)}); later notifications were not delivered to it.");
            if (_owner.Close(error))
            {
                _slowConsumer.Closing();
            }
        }

        // In process, the notifications themselves say it: a new Stream on the next one means some may have been lost.
        public void Resync(ResyncNotice resync)
        {
        }

        public void Position(StreamPosition position)
        {
        }
    }
}
