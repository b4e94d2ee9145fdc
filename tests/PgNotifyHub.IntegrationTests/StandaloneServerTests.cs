using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using PgNotifyHub.Delivery;
using PgNotifyHub.IntegrationTests.Infrastructure;
using PgNotifyHub.Listening;

namespace PgNotifyHub.IntegrationTests;

/// <summary>The standalone server, configured as an operator would: settings only, no code.</summary>
[Collection(SharedPostgres.Name)]
public sealed class StandaloneServerTests(PostgresFixture postgres)
{
    [Fact]
    public async Task Server_takes_audiences_from_a_trusted_header_and_serves_pages_and_health()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var channel = Names.Channel();
        await using var server = new WebApplicationFactory<Program>().WithWebHostBuilder(web => web
            .UseSetting("urls", "http://127.0.0.1:0")
            .UseSetting("ConnectionStrings:Postgres", postgres.ConnectionString)
            .UseSetting("PgNotifyHub:Channels:0", channel)
            .UseSetting("Audiences:Source", "Header")
            .UseSetting("Audiences:Header", NotifyTestHost.AudienceHeader)
            .UseSetting("Authentication:AllowAnonymous", "true"));
        server.UseKestrel(0);
        server.StartServer();
        var baseUri = new Uri(server.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        await server.Services.GetRequiredService<NotificationListener>().WaitUntilListeningAsync(cancellationToken).OrTimeout();
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
        await server.Services.GetRequiredService<NotificationRouter>().WaitForSubscribersAsync(new Route(channel, audience), 2, cancellationToken).OrTimeout();
        await postgres.NotifyAsync(channel, Markers.Message(audience, "through-the-server"), cancellationToken);

        Assert.True((await webSocket.ReceiveAsync()).IsMessage("through-the-server"));
        Assert.True((await signalR.ReceiveAsync()).IsMessage("through-the-server"));
    }
}
