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
    private readonly Meter _meter;

    public PgNotifyHubMetrics(IMeterFactory meterFactory)
    {
        var meter = _meter = meterFactory.Create(MeterName);
        _received = meter.CreateCounter<long>("pgnotifyhub.notifications.received", "{notification}", "Notifications received from PostgreSQL.");
        _invalid = meter.CreateCounter<long>("pgnotifyhub.notifications.invalid", "{notification}", "Notifications dropped because their payload is not 'audience,{json object}'.");
        _slowConsumers = meter.CreateCounter<long>("pgnotifyhub.connections.slow_consumer_closed", "{connection}", "Connections closed because their send queue was full.");
        _connections = meter.CreateUpDownCounter<long>("pgnotifyhub.connections.active", "{connection}", "Connections receiving notifications, by transport.");
    }

    /// <summary>Reports PostgreSQL's NOTIFY queue usage as measured by the listener's heartbeat, once known.</summary>
    public void ObserveNotifyQueueUsage(Func<double> usage) =>
        _meter.CreateObservableGauge<double>(
            "pgnotifyhub.notify_queue.usage",
            () => double.IsNaN(usage()) ? [] : [new Measurement<double>(usage())],
            "1",
            "Fraction of PostgreSQL's NOTIFY queue in use (pg_notification_queue_usage()), at the last heartbeat.");

    public void NotificationReceived() => _received.Add(1);

    public void NotificationInvalid() => _invalid.Add(1);

    public void SlowConsumerClosed(string transport) => _slowConsumers.Add(1, new KeyValuePair<string, object?>("transport", transport));

    public void ConnectionOpened(string transport) => _connections.Add(1, new KeyValuePair<string, object?>("transport", transport));

    public void ConnectionClosed(string transport) => _connections.Add(-1, new KeyValuePair<string, object?>("transport", transport));
}
