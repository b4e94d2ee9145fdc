using System.Diagnostics.Metrics;
using System.Net;
using System.Net.WebSockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.IntegrationTests;

/// <summary>The limits that bound what one client, or too many, can cost the server.</summary>
[Collection(SharedPostgres.Name)]
public sealed class LimitTests(PostgresFixture postgres)
{
    [Fact]
    public async Task Connections_over_the_maximum_are_refused_on_both_transports_and_a_freed_place_is_reused()
    {
        await using var host = await NotifyTestHost.StartAsync(postgres, options => options.MaxConnections = 2);
        using var meter = new MeterTotals(host.Services.GetRequiredService<IMeterFactory>());
        var cancellationToken = TestContext.Current.CancellationToken;
        var audience = Names.Audience();
        var first = await host.ConnectWebSocketAsync(audience);
        await host.ConnectSignalRAsync(audience);

        var refusedRaw = await WebSocketTestClient.ConnectExpectingRefusalAsync(host.BaseUri, audience, cancellationToken).OrTimeout();
        await using var refusedHub = await SignalRTestClient.ConnectAsync(host.BaseUri, audience, cancellationToken).OrTimeout();
        await refusedHub.Closed.OrTimeout();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refusedRaw);
        Assert.Equal(2, host.Logs.Entries.Count(e => e.EventId.Name == "ConnectionRefused" && e.Message.Contains("MaxConnections", StringComparison.Ordinal)));
        Assert.Equal(1, meter["pgnotifyhub.connection.refused", "websocket", "max_connections"]);
        Assert.Equal(1, meter["pgnotifyhub.connection.refused", "signalr", "max_connections"]);

        await first.DisposeAsync();
        await host.Logs.WaitForAsync(e => e.EventId.Name == "ConnectionClosed" && e.Message.Contains("websocket", StringComparison.Ordinal)).OrTimeout();
        var newcomer = Names.Audience();
        var again = await host.ConnectWebSocketAsync(newcomer);
        await host.AssertHearsOnlyItsOwnAudienceAsync(again, newcomer, audience);
    }

    [Theory]
    [InlineData(Transport.WebSocket)]
    [InlineData(Transport.SignalR)]
    public async Task A_connection_with_more_audiences_than_allowed_is_refused(Transport transport)
    {
        await using var host = await NotifyTestHost.StartAsync(postgres, options => options.MaxAudiencesPerConnection = 2);
        using var meter = new MeterTotals(host.Services.GetRequiredService<IMeterFactory>());
        var cancellationToken = TestContext.Current.CancellationToken;
        var header = string.Join(',', Names.Audience(), Names.Audience(), Names.Audience());

        if (transport == Transport.WebSocket)
        {
            Assert.Equal(HttpStatusCode.Forbidden, await WebSocketTestClient.ConnectExpectingRefusalAsync(host.BaseUri, header, cancellationToken).OrTimeout());
        }
        else
        {
            await using var client = await SignalRTestClient.ConnectAsync(host.BaseUri, header, cancellationToken).OrTimeout();
            await client.Closed.OrTimeout();
        }

        var refused = Assert.Single(host.Logs.Entries, e => e.EventId.Name == "ConnectionRefused");
        Assert.Contains("MaxAudiencesPerConnection", refused.Message, StringComparison.Ordinal);
        Assert.Equal(1, meter["pgnotifyhub.connection.refused", transport == Transport.WebSocket ? "websocket" : "signalr", "audiences"]);
    }

    [Fact]
    public async Task A_raw_client_that_sends_a_message_over_the_limit_is_closed_with_1009()
    {
        await using var host = await NotifyTestHost.StartAsync(postgres, options => options.MaxClientMessageSize = 1024);
        using var meter = new MeterTotals(host.Services.GetRequiredService<IMeterFactory>());
        var cancellationToken = TestContext.Current.CancellationToken;
        var client = await host.ConnectWebSocketAsync(Names.Audience());

        await client.SendAsync(new string('x', 1024), cancellationToken).OrTimeout();
        await client.SendAsync(new string('x', 1025), cancellationToken).OrTimeout();
        var closed = await client.Closed.OrTimeout();

        Assert.Equal(WebSocketCloseStatus.MessageTooBig, closed.Status);
        var warning = Assert.Single(host.Logs.Entries, e => e.IsFromLibrary && e.Level >= LogLevel.Warning);
        Assert.Equal("ClientMessageTooBig", warning.EventId.Name);
        Assert.Equal(1, meter["pgnotifyhub.connection.closed_by_server", "websocket", "message_too_big"]);
    }

    [Fact]
    public async Task A_SignalR_client_that_sends_a_message_over_the_limit_is_disconnected()
    {
        await using var host = await NotifyTestHost.StartAsync(postgres, options => options.MaxClientMessageSize = 1024);
        var cancellationToken = TestContext.Current.CancellationToken;
        var audience = Names.Audience();
        // SignalR's protocol spoken by hand, so the message can exceed what any hub method would accept.
        var client = await WebSocketTestClient.ConnectAsync(host.BaseUri, audience, path: "/hub", cancellationToken: cancellationToken).OrTimeout();
        host.Track(client);
        await client.SendAsync("{\"protocol\":\"json\",\"version\":1}\u001e", cancellationToken).OrTimeout();
        await host.Router.WaitForSubscribersAsync(new PgNotifyHub.Sequencing.Route(host.Channel, audience), 1, cancellationToken).OrTimeout();

        await client.SendAsync("{\"type\":6}\u001e", cancellationToken).OrTimeout();
        Assert.True(client.IsConnected);
        await client.SendAsync("{\"type\":1,\"target\":\"x\",\"arguments\":[\"" + new string('x', 2048) + "\"]}\u001e", cancellationToken).OrTimeout();

        await client.Closed.OrTimeout();
        await host.Logs.WaitForAsync(e => e.IsFromLibrary && e.EventId.Name == "ConnectionClosed").OrTimeout();
    }
}
