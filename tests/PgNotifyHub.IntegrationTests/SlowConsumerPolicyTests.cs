using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.IntegrationTests;

/// <summary>PgNotifyHubOptions.SlowConsumerPolicy DropOldest: a lagging recipient stays connected and keeps the newest messages.</summary>
[Collection(SharedPostgres.Name)]
public sealed class SlowConsumerPolicyTests(PostgresFixture postgres)
{
    [Fact]
    public async Task Drop_oldest_keeps_a_lagging_subscription_open_with_the_newest_notifications_and_counts_each_drop()
    {
        const int capacity = 10;
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await NotifyTestHost.StartAsync(postgres, options =>
        {
            options.SendQueueCapacity = capacity;
            options.SlowConsumerPolicy = PgNotifyHubSlowConsumerPolicy.DropOldest;
        });
        using var meter = new MeterTotals(host.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>());
        var audience = Names.Audience();
        var socket = await host.ConnectWebSocketAsync(audience);
        await using var lagging = await host.SubscribeAsync(host.Channel, audience);

        // Batches the socket drains before the next is sent, so only the subscription, which is not read, overflows.
        for (var batch = 0; batch < 4; batch++)
        {
            var payloads = Enumerable.Range(batch * 5 + 1, 5).Select(i => audience + ",{\"i\":" + i + "}");
            await postgres.NotifyManyAsync(host.Channel, [.. payloads], cancellationToken);
            await socket.ReceiveAsync(5);
        }

        Assert.Equal(capacity, meter.Observe("pgnotifyhub.send_queue.depth", "subscription"));
        Assert.Equal(10, meter["pgnotifyhub.notification.dropped", "subscription", "queue_full"]);
        await using var notifications = lagging.GetAsyncEnumerator(cancellationToken);
        var kept = new List<long?>();
        for (var i = 0; i < capacity; i++)
        {
            kept.Add((await notifications.NextAsync()).ToEnvelope().PayloadNumber("i"));
        }

        Assert.Equal(Enumerable.Range(11, capacity).Select(i => (long?)i), kept);
        var marker = Markers.NewId();
        await postgres.NotifyAsync(host.Channel, Markers.Payload(audience, marker), cancellationToken);
        Assert.True((await notifications.NextAsync()).ToEnvelope().IsMarker(marker));
        Assert.Equal(0, meter["pgnotifyhub.connection.closed_by_server", "subscription", "slow_consumer"]);
        var warning = Assert.Single(host.Logs.Entries, e => e.IsFromLibrary && e.Level >= LogLevel.Warning);
        Assert.Equal(("SlowConsumerDropping", "subscription"), (warning.EventId.Name, warning["Transport"]));
    }

    [Fact]
    public async Task Drop_oldest_keeps_a_raw_socket_that_stopped_reading_open_and_it_resumes_with_the_newest_messages_in_order()
    {
        await using var host = await NotifyTestHost.StartAsync(postgres, options =>
        {
            options.SendQueueCapacity = 64;
            options.SlowConsumerPolicy = PgNotifyHubSlowConsumerPolicy.DropOldest;
        });
        using var meter = new MeterTotals(host.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>());
        var audience = Names.Audience();
        var slow = await host.ConnectNonReadingWebSocketAsync(audience);
        var fast = await host.ConnectWebSocketAsync(audience);

        // 2,000 messages of 7 KB and a marker: far more than the slow socket's TCP buffers and queue hold.
        await host.AssertFastClientGetsEveryMessageOfAFloodAsync(fast, audience);
        slow.StartReceiving();
        var marker = Markers.NewId();
        await postgres.NotifyAsync(host.Channel, Markers.Payload(audience, marker), TestContext.Current.CancellationToken);
        var beforeMarker = await slow.ReceiveUntilMarkerAsync(marker);

        Assert.True(slow.IsConnected);
        var numbers = beforeMarker.Select(e => e.PayloadNumber("i")).OfType<long>().ToList();
        Assert.Equal(numbers.Order(), numbers);
        Assert.Equal(numbers.Distinct(), numbers);
        var dropped = meter["pgnotifyhub.notification.dropped", "websocket", "queue_full"];
        Assert.True(dropped > 0, "Nothing was dropped: the flood did not overflow the queue.");
        Assert.Equal(2_001 - beforeMarker.Count, dropped);
        Assert.Equal(0, meter["pgnotifyhub.connection.closed_by_server", "websocket", "slow_consumer"]);
        var warning = Assert.Single(host.Logs.Entries, e => e.IsFromLibrary && e.Level >= LogLevel.Warning);
        Assert.Equal(("SlowConsumerDropping", "websocket"), (warning.EventId.Name, warning["Transport"]));
    }
}
