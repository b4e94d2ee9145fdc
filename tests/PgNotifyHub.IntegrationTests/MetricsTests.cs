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

    /// <summary>Sums every measurement of the host's own meter, by instrument and transport tag.</summary>
    private sealed class MeterTotals : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentDictionary<string, long> _totals = new(StringComparer.Ordinal);

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
            _listener.Start();
        }

        public long this[string instrument, string transport = ""] => _totals.GetValueOrDefault(Key(instrument, transport));

        public void Dispose() => _listener.Dispose();

        private static string Key(string instrument, string transport) => instrument + "|" + transport;
    }
}
