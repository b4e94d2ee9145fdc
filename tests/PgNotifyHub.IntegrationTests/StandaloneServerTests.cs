using System.Net;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.IntegrationTests;

/// <summary>The standalone server, configured as an operator would: settings only, no code.</summary>
[Collection(SharedPostgres.Name)]
public sealed class StandaloneServerTests(PostgresFixture postgres)
{
    [Fact]
    public async Task Server_takes_audiences_from_a_trusted_header_and_serves_pages_and_health()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var server = await StandaloneServer.StartAsync(postgres, new Dictionary<string, string>
        {
            ["Audiences:Source"] = "Header",
            ["Audiences:Header"] = NotifyTestHost.AudienceHeader,
            ["Authentication:AllowAnonymous"] = "true",
        });
        var (channel, baseUri) = (server.Channel, server.BaseUri);
        using var http = new HttpClient { BaseAddress = baseUri };

        Assert.Equal("Healthy", await http.GetStringAsync("/healthz", cancellationToken).OrTimeout());
        Assert.Equal("Healthy", await http.GetStringAsync("/readyz", cancellationToken).OrTimeout());
        Assert.Contains("signalr.min.js", await http.GetStringAsync("/", cancellationToken).OrTimeout(), StringComparison.Ordinal);
        Assert.Contains("new WebSocket(", await http.GetStringAsync("/pgws.html", cancellationToken).OrTimeout(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/lib/signalr/signalr.min.js", cancellationToken).OrTimeout()).StatusCode);
        Assert.Equal(
            HttpStatusCode.Forbidden,
            await WebSocketTestClient.ConnectExpectingRefusalAsync(baseUri, audienceHeader: null, cancellationToken).OrTimeout());

        var audience = Names.Audience();
        await using var webSocket = await WebSocketTestClient.ConnectAsync(baseUri, audience, cancellationToken: cancellationToken).OrTimeout();
        await using var signalR = await SignalRTestClient.ConnectAsync(baseUri, audience, cancellationToken).OrTimeout();
        await server.WaitUntilRegisteredAsync(audience, connections: 2);
        await postgres.NotifyAsync(channel, Markers.Message(audience, "through-the-server"), cancellationToken);

        Assert.True((await webSocket.ReceiveAsync()).IsMessage("through-the-server"));
        Assert.True((await signalR.ReceiveAsync()).IsMessage("through-the-server"));
    }

    [Fact]
    public async Task A_request_that_carries_the_audience_header_twice_is_refused_and_logged()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var server = await StandaloneServer.StartAsync(postgres, new Dictionary<string, string>
        {
            ["Audiences:Source"] = "Header",
            ["Audiences:Header"] = NotifyTestHost.AudienceHeader,
            ["Authentication:AllowAnonymous"] = "true",
        });
        var audience = Names.Audience();

        // The client's own copy, then the one a proxy appended: neither may be trusted. Both transports share the resolver.
        var twice = await RawHandshake.SendAsync(
            server.BaseUri, "/ws", [(NotifyTestHost.AudienceHeader, "someone-else"), (NotifyTestHost.AudienceHeader, audience)], cancellationToken).OrTimeout();
        var once = await RawHandshake.SendAsync(server.BaseUri, "/ws", [(NotifyTestHost.AudienceHeader, audience)], cancellationToken).OrTimeout();

        Assert.Equal((HttpStatusCode.Forbidden, HttpStatusCode.SwitchingProtocols), (twice, once));
        var logged = Assert.Single(server.Logs.Entries, e => e.EventId.Name == "AudienceHeaderRepeated");
        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Warning, logged.Level);
        Assert.Contains("2 times", logged.Message, StringComparison.Ordinal);
    }
}
