using System.Net;
using System.Net.WebSockets;
using System.Text;
using Microsoft.Extensions.Logging;
using PgNotifyHub.IntegrationTests.Infrastructure;
using PgNotifyHub.Sequencing;

namespace PgNotifyHub.IntegrationTests;

/// <summary>The raw WebSocket endpoint's manners: what it does with client frames, closes and non-WebSocket requests.</summary>
[Collection(SharedPostgres.Name)]
public sealed class WebSocketEndpointTests(PostgresFixture postgres)
{
    [Fact]
    public async Task Client_frames_are_discarded_and_do_not_change_audience()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        // Above the 256 KB fragmented message below: what is over the limit is LimitTests' subject.
        await using var host = await NotifyTestHost.StartAsync(postgres, options => options.MaxClientMessageSize = 512 * 1024);
        var (mine, other) = (Names.Audience("mine"), Names.Audience("other"));
        var client = await host.ConnectWebSocketAsync(mine);

        await client.SendAsync("{\"audience\":\"" + other + "\"}", cancellationToken);
        await client.SendAsync(other + ",{\"subscribe\":true}", cancellationToken);
        await client.SendAsync(Encoding.UTF8.GetBytes("binary " + other), WebSocketMessageType.Binary, endOfMessage: true, cancellationToken);
        var large = Encoding.UTF8.GetBytes(new string('x', 256 * 1024));
        for (var offset = 0; offset < large.Length; offset += 16 * 1024)
        {
            await client.SendAsync(large.AsMemory(offset, 16 * 1024), WebSocketMessageType.Text, endOfMessage: offset + 16 * 1024 == large.Length, cancellationToken);
        }

        await host.AssertHearsOnlyItsOwnAudienceAsync(client, mine, other);
        Assert.True(client.IsConnected);
    }

    [Theory]
    [InlineData(Transport.SignalR)]
    [InlineData(Transport.WebSocket)]
    public async Task Query_string_cannot_choose_an_audience(Transport transport)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await NotifyTestHost.StartAsync(postgres);
        var (mine, other) = (Names.Audience("mine"), Names.Audience("other"));
        var query = $"?audience={other}&audiences={other}&X-Audience={other}&group={other}";
        NotifyTestClient client = transport == Transport.SignalR
            ? await SignalRTestClient.ConnectAsync(host.BaseUri, mine, cancellationToken, path: "/hub" + query).OrTimeout()
            : await WebSocketTestClient.ConnectAsync(host.BaseUri, mine, path: "/ws" + query, cancellationToken: cancellationToken).OrTimeout();
        host.Track(client);
        await host.Router.WaitForSubscribersAsync(new Route(host.Channel, mine), 1, cancellationToken).OrTimeout();

        await host.AssertHearsOnlyItsOwnAudienceAsync(client, mine, other);
        Assert.Equal(0, host.Router.SubscriberCount(new Route(host.Channel, other)));
    }

    [Fact]
    public async Task Client_close_is_answered_with_a_close_frame()
    {
        await using var host = await NotifyTestHost.StartAsync(postgres);
        var client = await host.ConnectWebSocketAsync(Names.Audience());

        await client.Socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", TestContext.Current.CancellationToken).OrTimeout();

        var closed = await client.Closed.OrTimeout();
        Assert.Null(closed.Error);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, closed.Status);
        Assert.Equal(WebSocketState.Closed, client.Socket.State);
    }

    [Fact]
    public async Task Client_close_handshake_completes()
    {
        await using var host = await NotifyTestHost.StartAsync(postgres);
        var client = await WebSocketTestClient.ConnectAsync(
            host.BaseUri, Names.Audience(), startReceiving: false, cancellationToken: TestContext.Current.CancellationToken).OrTimeout();
        host.Track(client);

        await client.Socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", TestContext.Current.CancellationToken).OrTimeout();

        Assert.Equal(WebSocketState.Closed, client.Socket.State);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, client.Socket.CloseStatus);
    }

    [Fact]
    public async Task Plain_http_request_to_the_websocket_path_gets_400()
    {
        await using var host = await NotifyTestHost.StartAsync(postgres);
        using var http = host.CreateHttpClient();

        using var response = await http.GetAsync("/ws", TestContext.Current.CancellationToken).OrTimeout();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Slow_client_is_closed_with_1008_while_a_fast_client_gets_everything()
    {
        await using var host = await NotifyTestHost.StartAsync(postgres, options =>
        {
            // More than one batch, so the fast client never lags enough to overflow; far less than the
            // 14 MB sent, so the slow client overflows once its TCP buffers are full.
            options.SendQueueCapacity = 64;
            // Long enough that the slow client, which reads only at the end, still gets the close frame.
            options.WebSocketCloseTimeout = TimeSpan.FromSeconds(60);
        });
        var audience = Names.Audience();
        var slow = await host.ConnectNonReadingWebSocketAsync(audience);
        var fast = await host.ConnectWebSocketAsync(audience);

        await host.AssertFastClientGetsEveryMessageOfAFloodAsync(fast, audience);

        slow.StartReceiving();
        var closed = await slow.Closed.OrTimeout();
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, closed.Status);
        Assert.False(string.IsNullOrWhiteSpace(closed.Description));
        var warning = Assert.Single(host.Logs.Entries, e => e.IsFromLibrary && e.Level >= LogLevel.Warning);
        Assert.Equal("SlowConsumer", warning.EventId.Name);
    }

    [Fact]
    public async Task Slow_client_that_never_reads_is_aborted_once_the_close_timeout_passes()
    {
        await using var host = await NotifyTestHost.StartAsync(postgres, options =>
        {
            options.SendQueueCapacity = 64;
            options.WebSocketCloseTimeout = TimeSpan.FromSeconds(1);
        });
        var audience = Names.Audience();
        await host.ConnectNonReadingWebSocketAsync(audience);
        var fast = await host.ConnectWebSocketAsync(audience);

        await host.AssertFastClientGetsEveryMessageOfAFloodAsync(fast, audience);

        // Its send is stuck on full TCP buffers and its close frame cannot go out: only the abort ends the request.
        var ended = await host.Logs.WaitForAsync(e => e.IsFromLibrary && e.EventId.Name == "ConnectionClosed").OrTimeout();
        Assert.Contains("websocket", ended.Message, StringComparison.Ordinal);
        Assert.True(fast.IsConnected);
    }

    [Fact]
    public async Task Keep_alive_pings_drop_a_peer_that_stops_answering_and_keep_live_ones()
    {
        await using var host = await NotifyTestHost.StartAsync(postgres, options => options.WebSocketKeepAliveInterval = TimeSpan.FromSeconds(1));
        var audience = Names.Audience();
        // ClientWebSocket answers pings only while it reads: one that never reads is a peer that went silent.
        var silent = await host.ConnectNonReadingWebSocketAsync(audience);
        var live = await host.ConnectWebSocketAsync(audience);

        var ended = await host.Logs.WaitForAsync(e => e.IsFromLibrary && e.EventId.Name == "ConnectionClosed").OrTimeout();
        silent.StartReceiving();
        var closed = await silent.Closed.OrTimeout();
        await postgres.NotifyAsync(host.Channel, Markers.Message(audience, "still-alive"), TestContext.Current.CancellationToken);

        Assert.Contains("websocket", ended.Message, StringComparison.Ordinal);
        Assert.NotNull(closed.Error);
        Assert.True((await live.ReceiveAsync()).IsMessage("still-alive"));
        Assert.True(live.IsConnected);
    }

    [Fact]
    public async Task Connection_with_no_audience_is_refused_with_403()
    {
        await using var host = await NotifyTestHost.StartAsync(postgres);

        var status = await WebSocketTestClient.ConnectExpectingRefusalAsync(host.BaseUri, ",", TestContext.Current.CancellationToken).OrTimeout();

        Assert.Equal(HttpStatusCode.Forbidden, status);
    }

    [Theory]
    [InlineData(Transport.SignalR)]
    [InlineData(Transport.WebSocket)]
    public async Task Host_shutdown_closes_connections_promptly(Transport transport)
    {
        await using var host = await NotifyTestHost.StartAsync(postgres);
        var client = await host.ConnectAsync(transport, Names.Audience());

        var stopping = host.StopAsync();

        if (client is WebSocketTestClient webSocket)
        {
            var closed = await webSocket.Closed.OrTimeout();
            Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, closed.Status);
        }
        else
        {
            await ((SignalRTestClient)client).Closed.OrTimeout();
        }

        var stopTime = await stopping.OrTimeout(TimeSpan.FromSeconds(60));
        Assert.True(stopTime < TimeSpan.FromSeconds(10), $"StopAsync took {stopTime.TotalSeconds:0.0} s; the shutdown timeout is 30 s.");
    }
}
