using System.Net;
using System.Net.WebSockets;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.IntegrationTests;

/// <summary>
/// No silent gaps: sequence numbers per channel and audience, resync when the listener loses PostgreSQL, and
/// replay for clients that reconnect, on SignalR and on the raw endpoint's <c>pgnotifyhub.v1</c> subprotocol.
/// </summary>
[Collection(SharedPostgres.Name)]
public sealed class ResyncAndReplayTests(PostgresFixture postgres)
{
    [Theory]
    [InlineData(Transport.SignalR)]
    [InlineData(Transport.WebSocket)]
    [InlineData(Transport.EventStream)]
    public async Task Each_audience_numbers_its_messages_from_one_without_gaps_in_one_stream(Transport transport)
    {
        await using var host = await NotifyTestHost.StartAsync(postgres);
        var (mine, other) = (Names.Audience(), Names.Audience());
        var client = await host.ConnectSequencedAsync(transport, mine);

        await postgres.NotifyManyAsync(host.Channel, [.. Enumerable.Range(1, 6).Select(i => (i % 2 == 0 ? other : mine) + ",{\"i\":" + i + "}")], TestContext.Current.CancellationToken);
        await postgres.NotifySeriesAsync(host.Channel, mine, 3, TestContext.Current.CancellationToken);
        var received = await client.ReceiveAsync(6);

        Assert.Equal([1L, 2, 3, 4, 5, 6], received.Select(e => e.Seq));
        Assert.Single(received.Select(e => e.Stream).Distinct());
        Assert.All(received, e => Assert.Equal(mine, e.Audience));
        Assert.Equal(0, client.PendingResyncs);
    }

    [Theory]
    [InlineData(Transport.SignalR)]
    [InlineData(Transport.WebSocket)]
    [InlineData(Transport.EventStream)]
    public async Task A_client_learns_its_position_on_joining_and_resumes_from_it_without_having_received_anything(Transport transport)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await NotifyTestHost.StartAsync(postgres);
        var audience = Names.Audience();
        var probe = await host.ConnectSequencedAsync(transport, audience);
        await postgres.NotifySeriesAsync(host.Channel, audience, 3, cancellationToken);
        await probe.ReceiveAsync(3);
        var before = await host.ConnectSequencedAsync(transport, audience);
        var position = await before.ReceivePositionAsync();
        using (var document = System.Text.Json.JsonDocument.Parse(position))
        {
            var route = Assert.Single(document.RootElement.GetProperty("positions").EnumerateArray());
            Assert.Equal((host.Channel, audience, 3L), (route.GetProperty("channel").GetString(), route.GetProperty("audience").GetString(), route.GetProperty("seq").GetInt64()));
        }

        await host.DisconnectAsync(before, audience);
        await postgres.NotifySeriesAsync(host.Channel, audience, 2, cancellationToken);
        var after = await host.ConnectSequencedAsync(transport, audience, position);

        Assert.Equal([4L, 5], (await after.ReceiveAsync(2)).Select(e => e.Seq));
        Assert.Equal(0, after.PendingResyncs);
    }

    [Theory]
    [InlineData(Transport.SignalR)]
    [InlineData(Transport.WebSocket)]
    [InlineData(Transport.EventStream)]
    public async Task A_client_resuming_with_the_numbers_alone_gets_exactly_what_it_missed(Transport transport)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await NotifyTestHost.StartAsync(postgres);
        var audience = Names.Audience();
        var first = await host.ConnectSequencedAsync(transport, audience);
        var resume = NotifyTestHost.CompactResume(await first.ReceivePositionAsync());
        await host.DisconnectAsync(first, audience);

        await postgres.NotifySeriesAsync(host.Channel, audience, 3, cancellationToken);
        var second = await host.ConnectSequencedAsync(transport, audience, resume);

        Assert.Matches("^[0-9a-f]{16}\\.[A-Za-z0-9_-]{12}\\.0$", resume);
        Assert.Equal([1L, 2, 3], (await second.ReceiveAsync(3)).Select(e => e.Seq));
        Assert.Equal(0, second.PendingResyncs);
    }

    [Theory]
    [InlineData(Transport.SignalR)]
    [InlineData(Transport.WebSocket)]
    [InlineData(Transport.EventStream)]
    public async Task A_client_resuming_with_numbers_for_other_audiences_than_it_now_has_is_told_to_resync(Transport transport)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await NotifyTestHost.StartAsync(postgres);
        var (before, now) = (Names.Audience(), Names.Audience());
        var first = await host.ConnectSequencedAsync(transport, before);
        var resume = NotifyTestHost.CompactResume(await first.ReceivePositionAsync());
        await host.DisconnectAsync(first, before);

        var second = await host.ConnectSequencedAsync(transport, now, resume);
        await postgres.NotifyAsync(host.Channel, Markers.Message(now, "live"), cancellationToken);

        Assert.Equal("routes_changed", (await second.ReceiveResyncAsync()).Reason);
        Assert.True((await second.ReceiveAsync()).IsMessage("live"));
    }

    [Fact]
    public async Task A_raw_client_without_the_subprotocol_keeps_the_exact_pgws_envelope()
    {
        await using var host = await NotifyTestHost.StartAsync(postgres);
        var audience = Names.Audience();
        var pgws = await host.ConnectWebSocketAsync(audience);

        await postgres.NotifyAsync(host.Channel, audience + ",{\"a\":1}", TestContext.Current.CancellationToken);
        var envelope = await pgws.ReceiveAsync();

        Assert.False(envelope.IsSequenced);
        Assert.Equal("{\"payload\":{\"a\":1},\"channel\":\"" + host.Channel + "\",\"id\":\"" + envelope.Id + "\"}", envelope.Raw);
    }

    [Fact]
    public async Task When_the_listener_reconnects_every_client_is_told_to_resync_and_pgws_sockets_are_closed_with_1012()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await NotifyTestHost.StartAsync(postgres);
        var audience = Names.Audience();
        var signalR = await host.ConnectSequencedAsync(Transport.SignalR, audience);
        var sequenced = await host.ConnectSequencedAsync(Transport.WebSocket, audience);
        var pgws = await host.ConnectWebSocketAsync(audience);
        await postgres.NotifySeriesAsync(host.Channel, audience, 2, cancellationToken);
        var before = (await signalR.ReceiveAsync(2))[^1];
        await sequenced.ReceiveAsync(2);
        await pgws.ReceiveAsync(2);

        var backend = await host.ListeningBackendAsync();
        await postgres.TerminateBackendAsync(backend, cancellationToken);
        await host.ReconnectedBackendAsync(backend);
        await postgres.NotifyAsync(host.Channel, Markers.Message(audience, "after"), cancellationToken);

        foreach (var client in new[] { signalR, sequenced })
        {
            var (reason, stream) = await client.ReceiveResyncAsync();
            Assert.Equal("listener_reconnected", reason);
            Assert.NotEqual(before.Stream, stream);
            var after = await client.ReceiveAsync();
            Assert.True(after.IsMessage("after"));
            Assert.Equal((1L, stream), (after.Seq, after.Stream));
            Assert.True(client.IsConnected);
        }

        var closed = await ((WebSocketTestClient)pgws).Closed.OrTimeout();
        Assert.Equal((WebSocketCloseStatus)1012, closed.Status);
    }

    [Theory]
    [InlineData(Transport.SignalR)]
    [InlineData(Transport.WebSocket)]
    [InlineData(Transport.EventStream)]
    public async Task A_client_that_reconnects_within_the_window_gets_exactly_what_it_missed_in_order_before_live_messages(Transport transport)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await NotifyTestHost.StartAsync(postgres);
        var audience = Names.Audience();
        var first = await host.ConnectSequencedAsync(transport, audience);
        await postgres.NotifySeriesAsync(host.Channel, audience, 3, cancellationToken);
        var last = (await first.ReceiveAsync(3))[^1];
        await host.DisconnectAsync(first, audience);

        // Missed while away: 4 to 8 of the series (sent as i = 1..5) and another audience's messages.
        await postgres.NotifyManyAsync(host.Channel, [.. Enumerable.Range(1, 5).Select(i => audience + ",{\"i\":" + (i + 3) + "}"), Markers.Message(Names.Audience(), "not-mine")], cancellationToken);
        var second = await host.ConnectSequencedAsync(transport, audience, host.ResumeFrom(last.Stream!, audience, last.Seq!.Value));
        await postgres.NotifyAsync(host.Channel, audience + ",{\"i\":9}", cancellationToken);
        var received = await second.ReceiveAsync(6);

        Assert.Equal([4L, 5, 6, 7, 8, 9], received.Select(e => e.Seq));
        Assert.Equal([4L, 5, 6, 7, 8, 9], received.Select(e => e.PayloadNumber("i")));
        Assert.Equal(0, second.PendingResyncs);
    }

    [Theory]
    [InlineData(Transport.SignalR)]
    [InlineData(Transport.WebSocket)]
    [InlineData(Transport.EventStream)]
    public async Task A_client_that_resumes_from_further_back_than_the_buffer_is_told_to_resync_and_then_gets_live_messages(Transport transport)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await NotifyTestHost.StartAsync(postgres, options => options.ReplayBufferSize = 4);
        var audience = Names.Audience();
        var probe = await host.ConnectSequencedAsync(transport, audience);
        await postgres.NotifySeriesAsync(host.Channel, audience, 10, cancellationToken);
        var stream = (await probe.ReceiveAsync(10))[^1].Stream!;

        // Saw 5; 6 and 7 fell out of the buffer of 4 (7..10 are kept, 6 is not).
        var client = await host.ConnectSequencedAsync(transport, audience, host.ResumeFrom(stream, audience, 5));
        await postgres.NotifyAsync(host.Channel, Markers.Message(audience, "live"), cancellationToken);

        Assert.Equal(("gap_too_old", stream), await client.ReceiveResyncAsync());
        var live = await client.ReceiveAsync();
        Assert.True(live.IsMessage("live"));
        Assert.Equal(11, live.Seq);
    }

    [Fact]
    public async Task The_replay_buffers_keep_the_newest_notifications_within_their_byte_budget()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        // Each notification below counts about 2 × 330 bytes for its frames and 230 for its strings and object, and the
        // route about 300 for its own: the budget keeps the last three.
        await using var host = await NotifyTestHost.StartAsync(postgres, options => options.ReplayBufferMaxBytes = 3_000);
        var audience = Names.Audience();
        var probe = await host.ConnectSequencedAsync(Transport.SignalR, audience);
        var padding = new string('p', 200);
        await postgres.NotifyManyAsync(host.Channel, [.. Enumerable.Range(1, 10).Select(i => audience + ",{\"i\":" + i + ",\"pad\":\"" + padding + "\"}")], cancellationToken);
        var stream = (await probe.ReceiveAsync(10))[^1].Stream!;

        var recent = await host.ConnectSequencedAsync(Transport.SignalR, audience, host.ResumeFrom(stream, audience, 8));
        var tooOld = await host.ConnectSequencedAsync(Transport.SignalR, audience, host.ResumeFrom(stream, audience, 2));

        Assert.Equal([9L, 10], (await recent.ReceiveAsync(2)).Select(e => e.Seq));
        Assert.Equal(("gap_too_old", stream), await tooOld.ReceiveResyncAsync());
    }

    [Theory]
    [InlineData(Transport.SignalR)]
    [InlineData(Transport.WebSocket)]
    [InlineData(Transport.EventStream)]
    public async Task A_client_that_resumes_once_the_window_has_passed_is_told_to_resync(Transport transport)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await NotifyTestHost.StartAsync(postgres, options => options.ReplayWindow = TimeSpan.FromMilliseconds(300));
        var audience = Names.Audience();
        var probe = await host.ConnectSequencedAsync(transport, audience);
        await postgres.NotifySeriesAsync(host.Channel, audience, 3, cancellationToken);
        var stream = (await probe.ReceiveAsync(3))[^1].Stream!;
        await Task.Delay(TimeSpan.FromMilliseconds(600), cancellationToken);

        var client = await host.ConnectSequencedAsync(transport, audience, host.ResumeFrom(stream, audience, 1));

        Assert.Equal(("gap_too_old", stream), await client.ReceiveResyncAsync());
    }

    [Theory]
    [InlineData(Transport.SignalR)]
    [InlineData(Transport.WebSocket)]
    [InlineData(Transport.EventStream)]
    public async Task A_client_that_resumes_a_stream_the_server_no_longer_has_is_told_to_resync(Transport transport)
    {
        await using var host = await NotifyTestHost.StartAsync(postgres);
        var audience = Names.Audience();

        var client = await host.ConnectSequencedAsync(transport, audience, host.ResumeFrom("0123456789abcdef", audience, 3));

        Assert.Equal("stream_changed", (await client.ReceiveResyncAsync()).Reason);
    }

    [Fact]
    public async Task A_raw_resume_without_the_subprotocol_or_with_an_unreadable_position_is_refused_with_400()
    {
        await using var host = await NotifyTestHost.StartAsync(postgres);
        var cancellationToken = TestContext.Current.CancellationToken;

        var withoutSubprotocol = await WebSocketTestClient.ConnectWithTokenExpectingRefusalAsync(
            host.BaseUri, "/ws?resume=" + Uri.EscapeDataString(host.ResumeFrom("0123456789abcdef", "a", 1)), accessToken: null, cancellationToken).OrTimeout();

        Assert.Equal(HttpStatusCode.BadRequest, withoutSubprotocol);
    }

    [Theory]
    [InlineData(Transport.SignalR)]
    [InlineData(Transport.WebSocket)]
    [InlineData(Transport.EventStream)]
    public async Task Terminating_the_listener_repeatedly_while_sending_leaves_no_silent_gap(Transport transport)
    {
        const int messages = 300;
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await NotifyTestHost.StartAsync(postgres, options => options.ReconnectDelayMin = TimeSpan.FromMilliseconds(20));
        var audience = Names.Audience();
        var client = await host.ConnectSequencedAsync(transport, audience);

        var sending = Task.Run(
            async () =>
            {
                for (var i = 1; i <= messages; i++)
                {
                    await postgres.NotifyAsync(host.Channel, audience + ",{\"i\":" + i + "}", cancellationToken);
                }
            },
            cancellationToken);
        for (var fault = 0; fault < 3 && !sending.IsCompleted; fault++)
        {
            var backend = await host.ListeningBackendAsync();
            await postgres.TerminateBackendAsync(backend, cancellationToken);
            await host.ReconnectedBackendAsync(backend);
        }

        await sending.OrTimeout();
        var marker = Markers.NewId();
        await postgres.NotifyAsync(host.Channel, Markers.Payload(audience, marker), cancellationToken);
        var received = await client.ReceiveUntilMarkerAsync(marker);

        var resyncs = await client.AssertNoSilentGapAsync(received);
        var numbersSent = received.Select(e => e.PayloadNumber("i")!.Value).ToList();
        Assert.Equal(numbersSent.Order(), numbersSent);
        Assert.True(resyncs >= 1, "No fault hit the listener while it was sending.");
    }
}
