using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace PgNotifyHub.Diagnostics;

/// <summary>The library's instruments, on the meter <c>PgNotifyHub</c>.</summary>
internal sealed class PgNotifyHubMetrics
{
    public const string MeterName = "PgNotifyHub";

    /// <summary>The <c>reason</c> of a drop under <see cref="PgNotifyHubSlowConsumerPolicy.DropOldest"/>: the oldest queued message made room.</summary>
    public const string DroppedQueueFull = "queue_full";

    /// <summary>The <c>reason</c> of a drop: the message was queued for, or posted to, a connection that closed before sending it.</summary>
    public const string DroppedConnectionClosed = "connection_closed";

    /// <summary>Reasons of <c>pgnotifyhub.connections.closed_by_server</c> and <c>pgnotifyhub.connections.refused</c>.</summary>
    public static class Reasons
    {
        public const string SlowConsumer = "slow_consumer";
        public const string MessageTooBig = "message_too_big";
        public const string AuthenticationExpired = "authentication_expired";
        public const string Resync = "resync";
        public const string Origin = "origin";
        public const string Audiences = "audiences";
        public const string ResolverFailed = "resolver_failed";
        public const string MaxConnections = "max_connections";
        public const string Misconfigured = "misconfigured";
        public const string InvalidResume = "invalid_resume";
    }

    private readonly Counter<long> _received;
    private readonly Counter<long> _invalid;
    private readonly Counter<long> _closedByServer;
    private readonly Counter<long> _refused;
    private readonly UpDownCounter<long> _connections;
    private readonly Counter<long> _delivered;
    private readonly Counter<long> _reconnects;
    private readonly Counter<long> _dropped;
    private readonly Counter<long> _replayed;
    private readonly Counter<long> _resyncs;
    private readonly Histogram<double> _latency;
    // Every open recipient and its transport, for the queue depth gauge: read at collection time only, so the
    // hot path never updates a shared counter per message.
    private readonly ConcurrentDictionary<IQueueDepth, string> _open = new();
    private readonly Meter _meter;
    private long _lastReceived;

    public PgNotifyHubMetrics(IMeterFactory meterFactory)
    {
        var meter = _meter = meterFactory.Create(MeterName);
        _received = meter.CreateCounter<long>("pgnotifyhub.notifications.received", "{notification}", "Notifications received from PostgreSQL.");
        _invalid = meter.CreateCounter<long>("pgnotifyhub.notifications.invalid", "{notification}", "Notifications dropped because their payload is not 'audience,{json object}'.");
        _closedByServer = meter.CreateCounter<long>("pgnotifyhub.connections.closed_by_server", "{connection}", "Connections the server closed, by transport and reason (slow_consumer, message_too_big, authentication_expired, resync).");
        _refused = meter.CreateCounter<long>("pgnotifyhub.connections.refused", "{connection}", "Connections refused, by transport and reason (origin, audiences, resolver_failed, max_connections, authentication_expired, invalid_resume, misconfigured).");
        _connections = meter.CreateUpDownCounter<long>("pgnotifyhub.connections.active", "{connection}", "Connections receiving notifications, by transport.");
        _delivered = meter.CreateCounter<long>("pgnotifyhub.notifications.delivered", "{notification}", "Notifications written to a connection or handed to an in-process subscription, by transport.");
        _reconnects = meter.CreateCounter<long>("pgnotifyhub.listener.reconnects", "{connection}", "Times the listener connected again after losing its connection.");
        _dropped = meter.CreateCounter<long>("pgnotifyhub.notifications.dropped", "{notification}", "Notifications not delivered to a recipient, by transport and reason (queue_full, connection_closed).");
        _replayed = meter.CreateCounter<long>("pgnotifyhub.notifications.replayed", "{notification}", "Notifications sent again from the replay buffer to clients that reconnected.");
        _resyncs = meter.CreateCounter<long>("pgnotifyhub.resyncs", "{connection}", "Clients told to resync because notifications may have been lost, by reason.");
        _latency = meter.CreateHistogram<double>(
            "pgnotifyhub.notifications.latency",
            "s",
            "Time from the timestamp in the payload (PgNotifyHub:LatencyTimestampProperty) to the hand-over to connections.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });
        meter.CreateObservableGauge("pgnotifyhub.send_queue.depth", ObserveQueueDepths, "{notification}", "Notifications queued for connections and subscriptions, by transport.");
        meter.CreateObservableGauge<double>(
            "pgnotifyhub.notifications.last_received_age",
            () => Volatile.Read(ref _lastReceived) is var last and not 0 ? [new Measurement<double>(Stopwatch.GetElapsedTime(last).TotalSeconds)] : [],
            "s",
            "Time since the last notification was received from PostgreSQL; nothing before the first.");
    }

    /// <summary>Reports PostgreSQL's NOTIFY queue usage as measured by the listener's heartbeat, once known.</summary>
    public void ObserveNotifyQueueUsage(Func<double> usage) =>
        _meter.CreateObservableGauge<double>(
            "pgnotifyhub.notify_queue.usage",
            () => double.IsNaN(usage()) ? [] : [new Measurement<double>(usage())],
            "1",
            "Fraction of PostgreSQL's NOTIFY queue in use (pg_notification_queue_usage()), at the last heartbeat.");

    /// <summary>Reports the replay buffers' memory, as counted against the budget, and the routes they keep numbers for.</summary>
    public void ObserveReplay(Func<(long Bytes, int Routes)> footprint)
    {
        _meter.CreateObservableGauge("pgnotifyhub.replay.size", () => footprint().Bytes, "By", "Memory held for replay and sequence numbers, as counted against PgNotifyHub:ReplayBufferMaxBytes.");
        _meter.CreateObservableGauge("pgnotifyhub.replay.routes", () => footprint().Routes, "{route}", "Channel and audience pairs whose sequence numbers and replay buffers are kept.");
    }

    /// <summary>Reports how long the oldest unread outbox message has waited, once the outbox reader has measured it.</summary>
    public void ObserveOutboxLag(Func<double> seconds) =>
        _meter.CreateObservableGauge<double>(
            "pgnotifyhub.outbox.lag",
            () => double.IsNaN(seconds()) ? [] : [new Measurement<double>(seconds())],
            "s",
            "Age of the oldest outbox message not read yet (0 when none): a transaction left open anywhere in the cluster holds every later one back.");

    public void NotificationReceived()
    {
        _received.Add(1);
        Volatile.Write(ref _lastReceived, Stopwatch.GetTimestamp());
    }

    public void NotificationsDelivered(string transport, long count) => _delivered.Add(count, new KeyValuePair<string, object?>("transport", transport));

    public void ListenerReconnected() => _reconnects.Add(1);

    public void NotificationInvalid() => _invalid.Add(1);

    public void ClosedByServer(string transport, string reason) =>
        _closedByServer.Add(1, new KeyValuePair<string, object?>("transport", transport), new KeyValuePair<string, object?>("reason", reason));

    public void ConnectionRefused(string transport, string reason) =>
        _refused.Add(1, new KeyValuePair<string, object?>("transport", transport), new KeyValuePair<string, object?>("reason", reason));

    public void NotificationsDropped(string transport, string reason, long count)
    {
        if (count > 0)
        {
            _dropped.Add(count, new KeyValuePair<string, object?>("transport", transport), new KeyValuePair<string, object?>("reason", reason));
        }
    }

    public void Replayed(long count)
    {
        if (count > 0)
        {
            _replayed.Add(count);
        }
    }

    public void Resynced(string reason) => _resyncs.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void NotificationLatency(TimeSpan latency) => _latency.Record(latency.TotalSeconds);

    public void ConnectionOpened(string transport, IQueueDepth sink)
    {
        _open[sink] = transport;
        _connections.Add(1, new KeyValuePair<string, object?>("transport", transport));
    }

    public void ConnectionClosed(string transport, IQueueDepth sink)
    {
        _open.TryRemove(sink, out _);
        _connections.Add(-1, new KeyValuePair<string, object?>("transport", transport));
    }

    private IEnumerable<Measurement<long>> ObserveQueueDepths()
    {
        var depths = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (sink, transport) in _open)
        {
            depths[transport] = depths.GetValueOrDefault(transport) + sink.QueueDepth;
        }

        return depths.Select(depth => new Measurement<long>(depth.Value, new KeyValuePair<string, object?>("transport", depth.Key)));
    }
}
