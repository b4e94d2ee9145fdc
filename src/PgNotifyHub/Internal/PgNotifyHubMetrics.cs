using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace PgNotifyHub.Internal;

/// <summary>The library's instruments, on the meter <c>PgNotifyHub</c>.</summary>
internal sealed class PgNotifyHubMetrics
{
    public const string MeterName = "PgNotifyHub";

    private readonly Counter<long> _received;
    private readonly Counter<long> _invalid;
    private readonly Counter<long> _slowConsumers;
    private readonly UpDownCounter<long> _connections;
    private readonly Counter<long> _delivered;
    private readonly Counter<long> _reconnects;
    private readonly Meter _meter;
    private long _lastReceived;

    public PgNotifyHubMetrics(IMeterFactory meterFactory)
    {
        var meter = _meter = meterFactory.Create(MeterName);
        _received = meter.CreateCounter<long>("pgnotifyhub.notifications.received", "{notification}", "Notifications received from PostgreSQL.");
        _invalid = meter.CreateCounter<long>("pgnotifyhub.notifications.invalid", "{notification}", "Notifications dropped because their payload is not 'audience,{json object}'.");
        _slowConsumers = meter.CreateCounter<long>("pgnotifyhub.connections.slow_consumer_closed", "{connection}", "Connections closed because their send queue was full.");
        _connections = meter.CreateUpDownCounter<long>("pgnotifyhub.connections.active", "{connection}", "Connections receiving notifications, by transport.");
        _delivered = meter.CreateCounter<long>("pgnotifyhub.notifications.delivered", "{notification}", "Notifications written to a connection or handed to an in-process subscription, by transport.");
        _reconnects = meter.CreateCounter<long>("pgnotifyhub.listener.reconnects", "{connection}", "Times the listener connected again after losing its connection.");
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

    public void NotificationReceived()
    {
        _received.Add(1);
        Volatile.Write(ref _lastReceived, Stopwatch.GetTimestamp());
    }

    public void NotificationsDelivered(string transport, long count) => _delivered.Add(count, new KeyValuePair<string, object?>("transport", transport));

    public void ListenerReconnected() => _reconnects.Add(1);

    public void NotificationInvalid() => _invalid.Add(1);

    public void SlowConsumerClosed(string transport) => _slowConsumers.Add(1, new KeyValuePair<string, object?>("transport", transport));

    public void ConnectionOpened(string transport) => _connections.Add(1, new KeyValuePair<string, object?>("transport", transport));

    public void ConnectionClosed(string transport) => _connections.Add(-1, new KeyValuePair<string, object?>("transport", transport));
}
