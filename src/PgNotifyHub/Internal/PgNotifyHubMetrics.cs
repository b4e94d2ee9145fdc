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

    public PgNotifyHubMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _received = meter.CreateCounter<long>("pgnotifyhub.notifications.received", "{notification}", "Notifications received from PostgreSQL.");
        _invalid = meter.CreateCounter<long>("pgnotifyhub.notifications.invalid", "{notification}", "Notifications dropped because their payload is not 'audience,{json object}'.");
        _slowConsumers = meter.CreateCounter<long>("pgnotifyhub.connections.slow_consumer_closed", "{connection}", "Connections closed because their send queue was full.");
        _connections = meter.CreateUpDownCounter<long>("pgnotifyhub.connections.active", "{connection}", "Connections receiving notifications, by transport.");
    }

    public void NotificationReceived() => _received.Add(1);

    public void NotificationInvalid() => _invalid.Add(1);

    public void SlowConsumerClosed(string transport) => _slowConsumers.Add(1, new KeyValuePair<string, object?>("transport", transport));

    public void ConnectionOpened(string transport) => _connections.Add(1, new KeyValuePair<string, object?>("transport", transport));

    public void ConnectionClosed(string transport) => _connections.Add(-1, new KeyValuePair<string, object?>("transport", transport));
}
