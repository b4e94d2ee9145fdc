using Microsoft.Extensions.Logging;
using PgNotifyHub.IntegrationTests.Infrastructure;
using PgNotifyHub.Sequencing;

namespace PgNotifyHub.IntegrationTests;

/// <summary>
/// Which channels the one listener connection LISTENs on, and who receives them: endpoints with channels of
/// their own, and channels added and removed at runtime.
/// </summary>
[Collection(SharedPostgres.Name)]
public sealed class ChannelTests(PostgresFixture postgres)
{
    [Theory]
    [InlineData(Transport.WebSocket)]
    [InlineData(Transport.SignalR)]
    [InlineData(Transport.SignalRLongPolling)]
    public async Task Endpoints_on_different_channels_share_one_connection_and_each_receives_only_its_own(Transport transport)
    {
        var (orders, chat) = (Names.Channel(), Names.Channel());
        var (connectionString, countBackendsAsync) = postgres.TaggedConnection();
        await using var host = await NotifyTestHost.StartAsync(postgres, connectionString: connectionString, mapEndpoints: (app, _) =>
        {
            app.MapPgNotifyWebSocket("/ws/orders", o => o.Channels = [orders]);
            app.MapPgNotifyWebSocket("/ws/chat", o => o.Channels = [chat]);
            app.MapPgNotifyHub("/hub/orders", o => o.Channels = [orders]);
            app.MapPgNotifyHub("/hub/chat", o => o.Channels = [chat]);
        });
        var audience = Names.Audience();
        var root = transport == Transport.WebSocket ? "/ws" : "/hub";
        var ordersClient = await host.ConnectToAsync(transport, root + "/orders", orders, audience);
        var chatClient = await host.ConnectToAsync(transport, root + "/chat", chat, audience);
        var defaultClient = await host.ConnectToAsync(transport, root, host.Channel, audience);

        var marker = Markers.NewId();
        await postgres.NotifyManyAsync([
            (chat, Markers.Message(audience, "chat")),
            (orders, Markers.Message(audience, "orders")),
            (host.Channel, Markers.Message(audience, "default")),
            (orders, Markers.Payload(audience, marker)),
            (chat, Markers.Payload(audience, marker)),
            (host.Channel, Markers.Payload(audience, marker)),
        ], TestContext.Current.CancellationToken);

        Assert.Equal(["orders"], (await ordersClient.ReceiveUntilMarkerAsync(marker)).Select(e => e.PayloadString("msg")));
        Assert.Equal(["chat"], (await chatClient.ReceiveUntilMarkerAsync(marker)).Select(e => e.PayloadString("msg")));
        Assert.Equal(["default"], (await defaultClient.ReceiveUntilMarkerAsync(marker)).Select(e => e.PayloadString("msg")));
        Assert.Equal(new HashSet<string> { host.Channel, orders, chat }, host.Listener.Listened);
        Assert.Equal(1L, await countBackendsAsync());
    }

    [Theory]
    [InlineData(Transport.WebSocket)]
    [InlineData(Transport.SignalR)]
    public async Task An_endpoint_with_its_own_audience_resolver_ignores_the_application_one(Transport transport)
    {
        var (vip, requested) = (Names.Audience("vip"), Names.Audience("requested"));
        await using var host = await NotifyTestHost.StartAsync(postgres, mapEndpoints: (app, _) =>
        {
            app.MapPgNotifyWebSocket("/ws/vip", o => o.AudienceResolver = _ => new([vip]));
            app.MapPgNotifyHub("/hub/vip", o => o.AudienceResolver = _ => new([vip]));
        });
        var cancellationToken = TestContext.Current.CancellationToken;
        NotifyTestClient client = transport == Transport.WebSocket
            ? await WebSocketTestClient.ConnectAsync(host.BaseUri, requested, path: "/ws/vip", cancellationToken: cancellationToken).OrTimeout()
            : await SignalRTestClient.ConnectAsync(host.BaseUri, requested, cancellationToken, "/hub/vip").OrTimeout();
        host.Track(client);
        await host.Router.WaitForSubscribersAsync(new Route(host.Channel, vip), 1, cancellationToken).OrTimeout();

        await host.AssertHearsOnlyItsOwnAudienceAsync(client, vip, requested);
    }

    [Fact]
    public async Task A_channel_added_at_runtime_is_LISTENed_on_the_same_connection_and_survives_a_reconnect()
    {
        // No heartbeat during the test: the LISTEN must interrupt the idle wait, not ride on the next heartbeat.
        await using var host = await NotifyTestHost.StartAsync(postgres, options => options.HeartbeatInterval = TimeSpan.FromHours(1));
        var backend = await host.ListeningBackendAsync();
        var added = Names.Channel();
        var (audience, cancellationToken) = (Names.Audience(), TestContext.Current.CancellationToken);
        // The listener hands a notification on before a client can see it, and then waits again: it is idle now.
        var client = await host.ConnectWebSocketAsync(audience);
        await postgres.NotifyAsync(host.Channel, Markers.Message(audience, "listener-is-waiting"), cancellationToken);
        Assert.True((await client.ReceiveAsync()).IsMessage("listener-is-waiting"));

        await using var subscription = await host.SubscribeAsync(added);
        await using var notifications = subscription.GetAsyncEnumerator(cancellationToken);
        await postgres.NotifyAsync(added, Markers.Message(audience, "before-reconnect"), cancellationToken);

        Assert.True((await notifications.NextAsync()).ToEnvelope().IsMessage("before-reconnect"));
        Assert.Equal(backend, await host.ListeningBackendAsync());
        Assert.DoesNotContain(host.Logs.Entries, e => e.IsFromLibrary && e.Level >= LogLevel.Warning);
        Assert.Contains(host.Logs.Entries, e => e.EventId.Name == "ChannelsChanged" && e.Message.Contains(added, StringComparison.Ordinal));

        await postgres.TerminateBackendAsync(backend, cancellationToken);
        await host.ReconnectedBackendAsync(backend);
        await postgres.NotifyAsync(added, Markers.Message(audience, "after-reconnect"), cancellationToken);

        Assert.True((await notifications.NextAsync()).ToEnvelope().IsMessage("after-reconnect"));
        Assert.Equal(new HashSet<string> { host.Channel, added }, host.Listener.Listened);
    }

    [Fact]
    public async Task A_channel_is_UNLISTENed_with_its_last_subscription_and_a_reconnect_LISTENs_on_exactly_the_current_set()
    {
        await using var host = await NotifyTestHost.StartAsync(postgres);
        var (shared, kept) = (Names.Channel(), Names.Channel());
        var first = await host.SubscribeAsync(shared);
        var second = await host.SubscribeAsync(shared, Names.Audience());
        await using var keptSubscription = await host.SubscribeAsync(kept);

        first.Dispose();
        await host.ChannelChangesAppliedAsync();
        Assert.Contains(shared, host.Listener.Listened);

        await second.DisposeAsync();
        await host.ChannelChangesAppliedAsync();
        Assert.Equal(new HashSet<string> { host.Channel, kept }, host.Listener.Listened);

        var backend = await host.ListeningBackendAsync();
        await postgres.TerminateBackendAsync(backend, TestContext.Current.CancellationToken);
        await host.ReconnectedBackendAsync(backend);
        Assert.Equal(new HashSet<string> { host.Channel, kept }, host.Listener.Listened);
    }

    [Fact]
    public async Task Changing_channels_while_notifications_stream_in_loses_none()
    {
        const int batches = 20;
        const int batchSize = 50;
        await using var host = await NotifyTestHost.StartAsync(postgres);
        var audience = Names.Audience();
        var client = await host.ConnectWebSocketAsync(audience);
        var cancellationToken = TestContext.Current.CancellationToken;

        var sending = Task.Run(async () =>
        {
            for (var batch = 0; batch < batches; batch++)
            {
                var payloads = Enumerable.Range(batch * batchSize + 1, batchSize).Select(i => audience + ",{\"i\":" + i + "}");
                await postgres.NotifyManyAsync(host.Channel, [.. payloads], cancellationToken);
            }
        }, cancellationToken);
        while (!sending.IsCompleted)
        {
            await using var subscription = await host.SubscribeAsync(Names.Channel());
        }

        await sending;
        var received = await client.ReceiveAsync(batches * batchSize);
        Assert.Equal(Enumerable.Range(1, batches * batchSize).Select(i => (long?)i), received.Select(e => e.PayloadNumber("i")));
        await host.ChannelChangesAppliedAsync();
        Assert.Equal(new HashSet<string> { host.Channel }, host.Listener.Listened);
    }
}
