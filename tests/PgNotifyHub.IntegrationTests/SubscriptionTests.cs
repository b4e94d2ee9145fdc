using System.Text;
using Microsoft.Extensions.Logging;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.IntegrationTests;

/// <summary>In-process subscribers: what they receive, and how one that throws or falls behind affects others (it does not).</summary>
[Collection(SharedPostgres.Name)]
public sealed class SubscriptionTests(PostgresFixture postgres)
{
    [Fact]
    public async Task Subscriber_receives_exactly_what_a_socket_of_the_same_audience_receives()
    {
        await using var host = await NotifyTestHost.StartAsync(postgres);
        var (audience, other) = (Names.Audience("mine"), Names.Audience("other"));
        var cancellationToken = TestContext.Current.CancellationToken;
        var socket = await host.ConnectWebSocketAsync(audience);
        var hub = await host.ConnectSignalRAsync(audience);
        await using var ofAudience = await host.SubscribeAsync(host.Channel, audience);
        await using var ofEveryAudience = await host.SubscribeAsync(host.Channel);
        await using var audienceNotifications = ofAudience.GetAsyncEnumerator(cancellationToken);
        await using var everyNotification = ofEveryAudience.GetAsyncEnumerator(cancellationToken);

        var marker = Markers.NewId();
        await postgres.NotifyManyAsync(host.Channel, [
            Markers.Message(audience, "first"),
            Markers.Message(other, "foreign"),
            audience + ",  {\"msg\": \"second\",\t\"n\": 1.50} ",
            Markers.Payload(audience, marker),
        ], cancellationToken);

        var fromSocket = await socket.ReceiveUntilMarkerAsync(marker);
        var fromHub = await hub.ReceiveUntilMarkerAsync(marker);
        var fromSubscription = await audienceNotifications.UntilMarkerAsync(marker);
        Assert.Equal(fromSocket.Select(e => e.Raw), fromSubscription.Select(n => Encoding.UTF8.GetString(n.Envelope.Span)));
        Assert.Equal(fromSocket.Select(e => e.Id), fromHub.Select(e => e.Id));
        Assert.Equal(["first", "second"], fromSubscription.Select(n => n.ToEnvelope().PayloadString("msg")));
        Assert.Equal("{\"msg\": \"second\",\t\"n\": 1.50}", Encoding.UTF8.GetString(fromSubscription[1].Payload.Span));
        Assert.All(fromSubscription, n => Assert.Equal((host.Channel, audience), (n.Channel, n.Audience)));

        var fromEveryAudience = await everyNotification.UntilMarkerAsync(marker);
        Assert.Equal(["first", "foreign", "second"], fromEveryAudience.Select(n => n.ToEnvelope().PayloadString("msg")));
        Assert.Same(fromSubscription[0], fromEveryAudience[0]);
    }

    [Fact]
    public async Task A_throwing_subscriber_does_not_disturb_other_subscribers_or_sockets()
    {
        await using var host = await NotifyTestHost.StartAsync(postgres);
        var audience = Names.Audience();
        var cancellationToken = TestContext.Current.CancellationToken;
        var socket = await host.ConnectWebSocketAsync(audience);
        var throwing = await host.SubscribeAsync(host.Channel, audience);
        await using var healthy = await host.SubscribeAsync(host.Channel, audience);
        var throwingConsumer = Task.Run(async () =>
        {
            await using (throwing)
            {
                await foreach (var notification in throwing.WithCancellation(cancellationToken))
                {
                    throw new InvalidOperationException("The application's handler failed on " + notification.Id);
                }
            }
        }, cancellationToken);

        await postgres.NotifySeriesAsync(host.Channel, audience, 3, cancellationToken);

        await Assert.ThrowsAsync<InvalidOperationException>(() => throwingConsumer.OrTimeout());
        await postgres.NotifyAsync(host.Channel, audience + ",{\"i\":4}", cancellationToken);
        await using var notifications = healthy.GetAsyncEnumerator(cancellationToken);
        var received = new List<long?>();
        for (var i = 0; i < 4; i++)
        {
            received.Add((await notifications.NextAsync()).ToEnvelope().PayloadNumber("i"));
        }

        Assert.Equal([1, 2, 3, 4], received);
        Assert.Equal([1, 2, 3, 4], (await socket.ReceiveAsync(4)).Select(e => e.PayloadNumber("i")));
        Assert.True(socket.IsConnected);
    }

    [Fact]
    public async Task A_subscriber_that_falls_behind_is_closed_with_an_error_after_its_queued_notifications_and_others_keep_receiving()
    {
        const int capacity = 10;
        await using var host = await NotifyTestHost.StartAsync(postgres, options => options.SendQueueCapacity = capacity);
        var audience = Names.Audience();
        var cancellationToken = TestContext.Current.CancellationToken;
        var socket = await host.ConnectWebSocketAsync(audience);
        await using var slow = await host.SubscribeAsync(host.Channel, audience);

        // Batches the socket drains before the next is sent, so only the subscription, which is not read, overflows.
        for (var batch = 0; batch < 4; batch++)
        {
            var payloads = Enumerable.Range(batch * 5 + 1, 5).Select(i => audience + ",{\"i\":" + i + "}");
            await postgres.NotifyManyAsync(host.Channel, [.. payloads], cancellationToken);
            await socket.ReceiveAsync(5);
        }

        await using var notifications = slow.GetAsyncEnumerator(cancellationToken);
        var queued = new List<long?>();
        for (var i = 0; i < capacity; i++)
        {
            queued.Add((await notifications.NextAsync()).ToEnvelope().PayloadNumber("i"));
        }

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => notifications.MoveNextAsync().AsTask().OrTimeout());
        Assert.Equal(Enumerable.Range(1, capacity).Select(i => (long?)i), queued);
        Assert.Contains("fell 10 notifications behind", error.Message, StringComparison.Ordinal);
        Assert.True(socket.IsConnected);
        var warning = Assert.Single(host.Logs.Entries, e => e.IsFromLibrary && e.Level >= LogLevel.Warning);
        Assert.Equal(("SlowConsumer", "subscription"), (warning.EventId.Name, warning["Transport"]));
    }

    [Fact]
    public async Task Subscribing_waits_for_the_listener_and_a_cancelled_subscription_releases_its_channel()
    {
        var (targetHost, targetPort) = postgres.TcpEndpoint;
        await using var proxy = new TcpProxy(targetHost, targetPort, up: false);
        await using var host = await NotifyTestHost.StartAsync(
            postgres,
            options => (options.ReconnectDelayMin, options.ReconnectDelayMax) = (TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(200)),
            connectionString: proxy.ConnectionStringFor(postgres.ConnectionString),
            waitUntilListening: false);
        var (abandoned, awaited) = (Names.Channel(), Names.Channel());

        using var cancelled = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cancelled.CancelAfter(TimeSpan.FromMilliseconds(300));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => host.NotifyListener.SubscribeAsync(abandoned, cancellationToken: cancelled.Token).AsTask());
        var pending = host.SubscribeAsync(awaited);
        Assert.False(pending.IsCompleted);

        proxy.Up();
        await using var subscription = await pending;
        await using var notifications = subscription.GetAsyncEnumerator(TestContext.Current.CancellationToken);
        await postgres.NotifyAsync(awaited, Markers.Message("any", "after-recovery"), TestContext.Current.CancellationToken);

        Assert.True((await notifications.NextAsync()).ToEnvelope().IsMessage("after-recovery"));
        Assert.Equal(new HashSet<string> { host.Channel, awaited }, host.Listener.Listened);
    }
}
