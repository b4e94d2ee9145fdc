using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.IntegrationTests;

/// <summary>The <c>PgNotifyHub</c> meter, read the way an exporter reads it.</summary>
[Collection(SharedPostgres.Name)]
public sealed class MetricsTests(PostgresFixture postgres)
{
    [Fact]
    public async Task Meter_counts_notifications_invalid_payloads_and_connections_by_transport()
    {
        await using var host = await NotifyTestHost.StartAsync(postgres);
        using var meter = new MeterTotals(host.Services.GetRequiredService<IMeterFactory>());
        var audience = Names.Audience();
        var signalR = await host.ConnectSignalRAsync(audience);
        var webSocket = await host.ConnectWebSocketAsync(audience);
        var marker = Markers.NewId();

        await postgres.NotifyManyAsync(host.Channel, ["not a payload", Markers.Message(audience, "valid"), Markers.Payload(audience, marker)], TestContext.Current.CancellationToken);
        await signalR.ReceiveUntilMarkerAsync(marker);
        await webSocket.ReceiveUntilMarkerAsync(marker);

        Assert.Equal(3, meter["pgnotifyhub.notifications.received"]);
        Assert.Equal(1, meter["pgnotifyhub.notifications.invalid"]);
        Assert.Equal(1, meter["pgnotifyhub.connections.active", "signalr"]);
        Assert.Equal(1, meter["pgnotifyhub.connections.active", "websocket"]);
        Assert.Equal(0, meter["pgnotifyhub.connections.slow_consumer_closed"]);
    }

    [Fact]
    public async Task Meter_counts_deliveries_by_transport_reconnects_and_the_age_of_the_last_notification()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await NotifyTestHost.StartAsync(postgres);
        using var meter = new MeterTotals(host.Services.GetRequiredService<IMeterFactory>());
        var audience = Names.Audience();
        var signalR = await host.ConnectSignalRAsync(audience);
        var webSocket = await host.ConnectWebSocketAsync(audience);
        await using var subscription = await host.SubscribeAsync(host.Channel, audience);
        Assert.Null(meter.Observe("pgnotifyhub.notifications.last_received_age"));

        await postgres.NotifySeriesAsync(host.Channel, audience, 5, cancellationToken);
        await signalR.ReceiveAsync(5);
        await webSocket.ReceiveAsync(5);
        var backend = await host.ListeningBackendAsync();
        await postgres.TerminateBackendAsync(backend, cancellationToken);
        await host.ReconnectedBackendAsync(backend);

        Assert.Equal(5, meter["pgnotifyhub.notifications.delivered", "signalr"]);
        Assert.Equal(5, meter["pgnotifyhub.notifications.delivered", "websocket"]);
        Assert.Equal(5, meter["pgnotifyhub.notifications.delivered", "subscription"]);
        Assert.Equal(1, meter["pgnotifyhub.listener.reconnects"]);
        Assert.InRange(meter.Observe("pgnotifyhub.notifications.last_received_age")!.Value, 0, TimeoutExtensions.DefaultTimeout.TotalSeconds);
    }

    /// <summary>Sums every measurement of the host's own meter, by instrument and transport tag.</summary>
    private sealed class MeterTotals : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentDictionary<string, long> _totals = new(StringComparer.Ordinal);
        private readonly ConcurrentDictionary<string, double> _observed = new(StringComparer.Ordinal);

        public MeterTotals(IMeterFactory hostMeters)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Scope == hostMeters && instrument.Meter.Name == "PgNotifyHub")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            {
                var transport = "";
                foreach (var tag in tags)
                {
                    if (tag.Key == "transport")
                    {
                        transport = (string?)tag.Value ?? "";
                    }
                }

                _totals.AddOrUpdate(Key(instrument.Name, transport), value, (_, total) => total + value);
            });
            _listener.SetMeasurementEventCallback<double>((instrument, value, _, _) => _observed[instrument.Name] = value);
            _listener.Start();
        }

        public long this[string instrument, string transport = ""] => _totals.GetValueOrDefault(Key(instrument, transport));

        /// <summary>Collects the observable instruments now; the last value of <paramref name="instrument"/>, if it reported one.</summary>
        public double? Observe(string instrument)
        {
            _observed.TryRemove(instrument, out _);
            _listener.RecordObservableInstruments();
            return _observed.TryGetValue(instrument, out var value) ? value : null;
        }

        public void Dispose() => _listener.Dispose();

        private static string Key(string instrument, string transport) => instrument + "|" + transport;
    }
}
