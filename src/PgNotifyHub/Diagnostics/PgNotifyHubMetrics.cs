using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace PgNotifyHub.Diagnostics;

/// <summary>
/// The library's instruments, on the meter <c>PgNotifyHub</c>, named after OpenTelemetry's semantic conventions:
/// singular namespaces, UCUM units, attributes in the <c>pgnotifyhub.</c> namespace or the conventions' own
/// (<c>error.type</c>). Every instrument exists from construction; the observable ones report nothing until the
/// component that measures them attaches its source.
/// </summary>
internal sealed class PgNotifyHubMetrics
{
    public const string MeterName = "PgNotifyHub";

    /// <summary>The attribute naming the transport: <c>websocket</c>, <c>signalr</c> or <c>subscription</c>.</summary>
    public const string TransportAttribute = "pgnotifyhub.transport";

    /// <summary>The semantic conventions' attribute for why an operation failed: a refusal, a close, a drop.</summary>
    public const string ErrorTypeAttribute = "error.type";

    /// <summary>The attribute saying why clients were told to resync, as the <c>resync</c> message they got says.</summary>
    public const string ResyncReasonAttribute = "pgnotifyhub.resync.reason";

    /// <summary>The <c>error.type</c> of a drop under <see cref="PgNotifyHubSlowConsumerPolicy.DropOldest"/>: the oldest queued message made room.</summary>
    public const string DroppedQueueFull = "queue_full";

    /// <summary>The <c>error.type</c> of a drop: the message was queued for, or posted to, a connection that closed before sending it.</summary>
    public const string DroppedConnectionClosed = "connection_closed";

    /// <summary>The <c>error.type</c> of <c>pgnotifyhub.connection.closed_by_server</c> and <c>pgnotifyhub.connection.refused</c>.</summary>
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

    /// <summary>The <c>error.type</c> of <c>pgnotifyhub.topic.refused</c>: the reason the client's answer carries.</summary>
    public static class TopicRefusals
    {
        /// <summary>The endpoint lets clients choose no topic: it has neither a topic policy nor a topic authorizer.</summary>
        public const string TopicsDisabled = "topics_disabled";

        /// <summary>The endpoint's policy or authorizer refused the topic, or failed; or the client tried to leave a resolved audience.</summary>
        public const string NotAllowed = "not_allowed";

        /// <summary>The topic would take the connection past <see cref="PgNotifyHubOptions.MaxAudiencesPerConnection"/>.</summary>
        public const string TooManyAudiences = "too_many_audiences";

        /// <summary>The connection asked faster than <see cref="PgNotifyHubOptions.TopicRequestsPerSecond"/> allows.</summary>
        public const string RateLimited = "rate_limited";

        /// <summary>The channel is not one of the endpoint's.</summary>
        public const string UnknownChannel = "unknown_channel";

        /// <summary>The request is not one: unreadable, or of another shape.</summary>
        public const string Invalid = "invalid";
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
    private readonly Counter<long> _resynced;
    private readonly Counter<long> _topicRefused;
    private readonly Histogram<double> _latency;
    // Every open recipient and its transport, for the queue depth gauge: read at collection time only, so the
    // hot path never updates a shared counter per message.
    private readonly ConcurrentDictionary<IQueueDepth, string> _open = new();
    private long _lastReceived;
    private Func<double>? _notifyQueueUtilization;
    private Func<(long Bytes, int Routes)>? _replayFootprint;
    private long _replayLimit = -1;
    private Func<double>? _outboxLag;

    public PgNotifyHubMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _received = meter.CreateCounter<long>("pgnotifyhub.notification.received", "{notification}", "Notifications received from PostgreSQL.");
        _invalid = meter.CreateCounter<long>("pgnotifyhub.notification.invalid", "{notification}", "Notifications dropped because their payload is not 'audience,{json object}'.");
        _delivered = meter.CreateCounter<long>("pgnotifyhub.notification.delivered", "{notification}", "Notifications written to a connection or handed to an in-process subscription, by pgnotifyhub.transport.");
        _dropped = meter.CreateCounter<long>("pgnotifyhub.notification.dropped", "{notification}", "Notifications not delivered to a recipient, by pgnotifyhub.transport and error.type (queue_full, connection_closed).");
        _replayed = meter.CreateCounter<long>("pgnotifyhub.notification.replayed", "{notification}", "Notifications sent again from the replay buffer to clients that reconnected.");
        _latency = meter.CreateHistogram<double>(
            "pgnotifyhub.notification.latency",
            "s",
            "Time from the timestamp in the payload (PgNotifyHub:LatencyTimestampProperty) to the hand-over to connections.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });
        meter.CreateObservableGauge<double>(
            "pgnotifyhub.notification.last_received.age",
            () => Volatile.Read(ref _lastReceived) is var last and not 0 ? [new Measurement<double>(Stopwatch.GetElapsedTime(last).TotalSeconds)] : [],
            "s",
            "Time since the last notification was received from PostgreSQL; nothing before the first.");
        _connections = meter.CreateUpDownCounter<long>("pgnotifyhub.connection.active", "{connection}", "Connections and in-process subscriptions receiving notifications, by pgnotifyhub.transport.");
        _closedByServer = meter.CreateCounter<long>("pgnotifyhub.connection.closed_by_server", "{connection}", "Connections the server closed, by pgnotifyhub.transport and error.type (slow_consumer, message_too_big, authentication_expired, resync).");
        _refused = meter.CreateCounter<long>("pgnotifyhub.connection.refused", "{connection}", "Connections refused, by pgnotifyhub.transport and error.type (origin, audiences, resolver_failed, max_connections, authentication_expired, invalid_resume, misconfigured).");
        _resynced = meter.CreateCounter<long>("pgnotifyhub.connection.resynced", "{connection}", "Connections told to resync because notifications may have been lost, by pgnotifyhub.resync.reason.");
        _topicRefused = meter.CreateCounter<long>(
            "pgnotifyhub.topic.refused",
            "{request}",
            "Requests to subscribe to or unsubscribe from a topic that were refused, by pgnotifyhub.transport and error.type (not_allowed, topics_disabled, too_many_audiences, rate_limited, unknown_channel, invalid).");
        meter.CreateObservableGauge("pgnotifyhub.send_queue.depth", ObserveQueueDepths, "{notification}", "Notifications queued for connections and subscriptions, by pgnotifyhub.transport.");
        _reconnects = meter.CreateCounter<long>("pgnotifyhub.listener.reconnects", "{reconnect}", "Times the listener connected again after losing its connection.");
        meter.CreateObservableGauge<double>(
            "pgnotifyhub.notify_queue.utilization",
            () => Measure(Volatile.Read(ref _notifyQueueUtilization)),
            "1",
            "Fraction of PostgreSQL's NOTIFY queue in use (pg_notification_queue_usage()), at the last heartbeat.");
        meter.CreateObservableGauge(
            "pgnotifyhub.replay.usage",
            () => Volatile.Read(ref _replayFootprint) is { } footprint ? [new Measurement<long>(footprint().Bytes)] : Array.Empty<Measurement<long>>(),
            "By",
            "Memory held for replay and sequence numbers, as counted against PgNotifyHub:ReplayBufferMaxBytes.");
        meter.CreateObservableGauge(
            "pgnotifyhub.replay.limit",
            () => Volatile.Read(ref _replayLimit) is >= 0 and var limit ? [new Measurement<long>(limit)] : Array.Empty<Measurement<long>>(),
            "By",
            "The memory replay and sequence numbers may hold: PgNotifyHub:ReplayBufferMaxBytes.");
        meter.CreateObservableGauge(
            "pgnotifyhub.replay.route.count",
            () => Volatile.Read(ref _replayFootprint) is { } footprint ? [new Measurement<long>(footprint().Routes)] : Array.Empty<Measurement<long>>(),
            "{route}",
            "Channel and audience pairs whose sequence numbers and replay buffers are kept.");
        meter.CreateObservableGauge<double>(
            "pgnotifyhub.outbox.lag",
            () => Measure(Volatile.Read(ref _outboxLag)),
            "s",
            "Age of the oldest outbox message not read yet (0 when none): a transaction left open anywhere in the cluster holds every later one back.");
    }

    /// <summary>Reports PostgreSQL's NOTIFY queue utilization as measured by the listener's heartbeat; NaN until known.</summary>
    public void ObserveNotifyQueueUtilization(Func<double> utilization) => Volatile.Write(ref _notifyQueueUtilization, utilization);

    /// <summary>Reports the replay buffers' memory, as counted against <paramref name="limit"/>, and the routes they keep numbers for.</summary>
    public void ObserveReplay(Func<(long Bytes, int Routes)> footprint, long limit)
    {
        Volatile.Write(ref _replayLimit, limit);
        Volatile.Write(ref _replayFootprint, footprint);
    }

    /// <summary>Reports how long the oldest unread outbox message has waited; NaN until the outbox reader has measured it.</summary>
    public void ObserveOutboxLag(Func<double> seconds) => Volatile.Write(ref _outboxLag, seconds);

    public void NotificationReceived()
    {
        _received.Add(1);
        Volatile.Write(ref _lastReceived, Stopwatch.GetTimestamp());
    }

    public void NotificationsDelivered(string transport, long count) => _delivered.Add(count, new KeyValuePair<string, object?>(TransportAttribute, transport));

    public void ListenerReconnected() => _reconnects.Add(1);

    public void NotificationInvalid() => _invalid.Add(1);

    public void ClosedByServer(string transport, string reason) =>
        _closedByServer.Add(1, new KeyValuePair<string, object?>(TransportAttribute, transport), new KeyValuePair<string, object?>(ErrorTypeAttribute, reason));

    public void ConnectionRefused(string transport, string reason) =>
        _refused.Add(1, new KeyValuePair<string, object?>(TransportAttribute, transport), new KeyValuePair<string, object?>(ErrorTypeAttribute, reason));

    public void NotificationsDropped(string transport, string reason, long count)
    {
        if (count > 0)
        {
            _dropped.Add(count, new KeyValuePair<string, object?>(TransportAttribute, transport), new KeyValuePair<string, object?>(ErrorTypeAttribute, reason));
        }
    }

    public void Replayed(long count)
    {
        if (count > 0)
        {
            _replayed.Add(count);
        }
    }

    public void TopicRefused(string transport, string reason) =>
        _topicRefused.Add(1, new KeyValuePair<string, object?>(TransportAttribute, transport), new KeyValuePair<string, object?>(ErrorTypeAttribute, reason));

    public void Resynced(string reason) => _resynced.Add(1, new KeyValuePair<string, object?>(ResyncReasonAttribute, reason));

    public void NotificationLatency(TimeSpan latency) => _latency.Record(latency.TotalSeconds);

    public void ConnectionOpened(string transport, IQueueDepth sink)
    {
        _open[sink] = transport;
        _connections.Add(1, new KeyValuePair<string, object?>(TransportAttribute, transport));
    }

    public void ConnectionClosed(string transport, IQueueDepth sink)
    {
        _open.TryRemove(sink, out _);
        _connections.Add(-1, new KeyValuePair<string, object?>(TransportAttribute, transport));
    }

    private static Measurement<double>[] Measure(Func<double>? source) =>
        source?.Invoke() is { } value && !double.IsNaN(value) ? [new Measurement<double>(value)] : [];

    private IEnumerable<Measurement<long>> ObserveQueueDepths()
    {
        var depths = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (sink, transport) in _open)
        {
            depths[transport] = depths.GetValueOrDefault(transport) + sink.QueueDepth;
        }

        return depths.Select(depth => new Measurement<long>(depth.Value, new KeyValuePair<string, object?>(TransportAttribute, depth.Key)));
    }
}
