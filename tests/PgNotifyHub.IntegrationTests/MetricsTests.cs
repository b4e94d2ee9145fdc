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

        Assert.Equal(3, meter["pgnotifyhub.notification.received"]);
        Assert.Equal(1, meter["pgnotifyhub.notification.invalid"]);
        Assert.Equal(1, meter["pgnotifyhub.connection.active", "signalr"]);
        Assert.Equal(1, meter["pgnotifyhub.connection.active", "websocket"]);
        Assert.Equal(0, meter["pgnotifyhub.connection.closed_by_server"]);
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
        Assert.Null(meter.Observe("pgnotifyhub.notification.last_received.age"));

        await postgres.NotifySeriesAsync(host.Channel, audience, 5, cancellationToken);
        await signalR.ReceiveAsync(5);
        await webSocket.ReceiveAsync(5);
        var backend = await host.ListeningBackendAsync();
        await postgres.TerminateBackendAsync(backend, cancellationToken);
        await host.ReconnectedBackendAsync(backend);

        Assert.Equal(5, meter["pgnotifyhub.notification.delivered", "signalr"]);
        Assert.Equal(5, meter["pgnotifyhub.notification.delivered", "websocket"]);
        Assert.Equal(5, meter["pgnotifyhub.notification.delivered", "subscription"]);
        Assert.Equal(1, meter["pgnotifyhub.listener.reconnects"]);
        Assert.InRange(meter.Observe("pgnotifyhub.notification.last_received.age")!.Value, 0, TimeoutExtensions.DefaultTimeout.TotalSeconds);
    }

    [Theory]
    [InlineData(Transport.SignalR, "signalr")]
    [InlineData(Transport.WebSocket, "websocket")]
    public async Task Meter_counts_delivered_notifications_but_not_the_position_and_resync_notices(Transport transport, string transportTag)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await NotifyTestHost.StartAsync(postgres);
        using var meter = new MeterTotals(host.Services.GetRequiredService<IMeterFactory>());
        var audience = Names.Audience();
        var client = await host.ConnectSequencedAsync(transport, audience);
        await client.ReceivePositionAsync();

        await postgres.NotifySeriesAsync(host.Channel, audience, 3, cancellationToken);
        await client.ReceiveAsync(3);
        var backend = await host.ListeningBackendAsync();
        await postgres.TerminateBackendAsync(backend, cancellationToken);
        await client.ReceiveResyncAsync();

        Assert.Equal(3, meter["pgnotifyhub.notification.delivered", transportTag]);
        Assert.Equal(1, meter["pgnotifyhub.connection.resynced", reason: "listener_reconnected"]);
    }

    [Fact]
    public async Task Meter_reports_the_replay_budget_in_use_its_limit_its_routes_and_the_notify_queue_utilization()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await NotifyTestHost.StartAsync(postgres, options => options.ReplayBufferMaxBytes = 1_000_000);
        using var meter = new MeterTotals(host.Services.GetRequiredService<IMeterFactory>());
        var (first, second) = (Names.Audience(), Names.Audience());
        await using var subscription = await host.SubscribeAsync(host.Channel, second);
        await using var notifications = subscription.GetAsyncEnumerator(cancellationToken);

        await postgres.NotifyManyAsync(host.Channel, [Markers.Message(first, "one"), Markers.Message(second, "two")], cancellationToken);
        await notifications.NextAsync();

        // Both routes were numbered before the second was delivered; the first heartbeat ran before any NOTIFY was read.
        Assert.Equal(2, meter.Observe("pgnotifyhub.replay.route.count"));
        Assert.InRange(meter.Observe("pgnotifyhub.replay.usage")!.Value, 1, 1_000_000);
        Assert.Equal(1_000_000, meter.Observe("pgnotifyhub.replay.limit"));
        Assert.InRange(meter.Observe("pgnotifyhub.notify_queue.utilization")!.Value, 0, 1);
    }

    [Fact]
    public async Task Meter_counts_the_notification_dropped_when_a_slow_subscription_is_closed()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await NotifyTestHost.StartAsync(postgres, options => options.SendQueueCapacity = 10);
        using var meter = new MeterTotals(host.Services.GetRequiredService<IMeterFactory>());
        var audience = Names.Audience();
        await using var slow = await host.SubscribeAsync(host.Channel, audience);
        await using var watcher = await host.SubscribeAsync(host.Channel, audience);
        await using var watched = watcher.GetAsyncEnumerator(cancellationToken);

        // Two batches of ten, each read by the watcher before the next, so only the unread subscription overflows.
        for (var batch = 0; batch < 2; batch++)
        {
            await postgres.NotifySeriesAsync(host.Channel, audience, 10, cancellationToken);
            for (var i = 0; i < 10; i++)
            {
                await watched.NextAsync();
            }
        }

        // The eleventh did not fit and closed the subscription; the later ones were no longer routed to it.
        Assert.Equal(1, meter["pgnotifyhub.notification.dropped", "subscription", "connection_closed"]);
        Assert.Equal(1, meter["pgnotifyhub.connection.closed_by_server", "subscription", "slow_consumer"]);
        Assert.Equal(0, meter.Observe("pgnotifyhub.send_queue.depth", "subscription"));
    }

    [Fact]
    public async Task Meter_records_commit_to_send_latency_for_payloads_that_carry_the_configured_timestamp()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await NotifyTestHost.StartAsync(postgres, options => options.LatencyTimestampProperty = "sent_at");
        using var meter = new MeterTotals(host.Services.GetRequiredService<IMeterFactory>());
        var audience = Names.Audience();
        await using var subscription = await host.SubscribeAsync(host.Channel, audience);
        await using var notifications = subscription.GetAsyncEnumerator(cancellationToken);

        // An ISO 8601 string, epoch seconds, a nested property of that name (not the payload's timestamp), none.
        await using (var command = postgres.DataSource.CreateCommand(
            """
            SELECT pg_notify($1, $2 || ',' || payload) FROM unnest(ARRAY[
                json_build_object('sent_at', clock_timestamp())::text,
                json_build_object('sent_at', extract(epoch FROM clock_timestamp()))::text,
                json_build_object('inner', json_build_object('sent_at', clock_timestamp()))::text,
                '{"other":1}']) WITH ORDINALITY AS t(payload, n) ORDER BY n
            """))
        {
            command.Parameters.Add(new Npgsql.NpgsqlParameter<string> { TypedValue = host.Channel });
            command.Parameters.Add(new Npgsql.NpgsqlParameter<string> { TypedValue = audience });
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        for (var i = 0; i < 4; i++)
        {
            await notifications.NextAsync();
        }

        var latencies = meter.Recorded("pgnotifyhub.notification.latency");
        Assert.Equal(2, latencies.Count);
        Assert.All(latencies, latency => Assert.InRange(latency, -0.5, TimeoutExtensions.DefaultTimeout.TotalSeconds));
    }
}
