using System.Diagnostics.Metrics;
using System.Net;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.IntegrationTests;

/// <summary>Which browser origins may connect: the server's own by default, others only when listed.</summary>
[Collection(SharedPostgres.Name)]
public sealed class OriginTests(PostgresFixture postgres)
{
    private const string Foreign = "http://evil.example";

    [Fact]
    public async Task Raw_handshake_from_a_foreign_origin_is_refused_with_403_a_warning_and_a_count()
    {
        await using var host = await NotifyTestHost.StartAsync(postgres);
        using var meter = new MeterTotals(host.Services.GetRequiredService<IMeterFactory>());

        var status = await WebSocketTestClient.ConnectExpectingRefusalAsync(host.BaseUri, Names.Audience(), Foreign, TestContext.Current.CancellationToken).OrTimeout();

        Assert.Equal(HttpStatusCode.Forbidden, status);
        var warning = Assert.Single(host.Logs.Entries, e => e.IsFromLibrary && e.Level >= LogLevel.Warning);
        Assert.Equal(("OriginRefused", Foreign), (warning.EventId.Name, warning["Origin"]));
        Assert.Equal(1, meter["pgnotifyhub.connections.refused", "websocket", "origin"]);
    }

    [Theory]
    [InlineData(HttpTransportType.WebSockets)]
    [InlineData(HttpTransportType.LongPolling)]
    public async Task SignalR_connection_from_a_foreign_origin_is_refused(HttpTransportType transport)
    {
        await using var host = await NotifyTestHost.StartAsync(postgres);

        var error = await Assert.ThrowsAnyAsync<Exception>(() =>
            SignalRTestClient.ConnectAsync(host.BaseUri, Names.Audience(), TestContext.Current.CancellationToken, transport: transport, origin: Foreign).OrTimeout());

        Assert.Contains("403", error.ToString(), StringComparison.Ordinal);
        Assert.Contains(host.Logs.Entries, e => e.EventId.Name == "OriginRefused");
    }

    [Theory]
    [InlineData(Transport.WebSocket)]
    [InlineData(Transport.SignalR)]
    public async Task Pages_of_the_servers_own_origin_connect_and_receive(Transport transport)
    {
        await using var host = await NotifyTestHost.StartAsync(postgres);
        var (audience, cancellationToken) = (Names.Audience(), TestContext.Current.CancellationToken);
        var ownOrigin = host.BaseUri.GetLeftPart(UriPartial.Authority);

        NotifyTestClient client = transport == Transport.WebSocket
            ? await WebSocketTestClient.ConnectAsync(host.BaseUri, audience, origin: ownOrigin, cancellationToken: cancellationToken).OrTimeout()
            : await SignalRTestClient.ConnectAsync(host.BaseUri, audience, cancellationToken, origin: ownOrigin).OrTimeout();
        host.Track(client);
        // A SignalR client's start completes before the server registers it.
        await host.Router.WaitForSubscribersAsync(new PgNotifyHub.Delivery.Route(host.Channel, audience), 1, cancellationToken).OrTimeout();

        await host.AssertHearsOnlyItsOwnAudienceAsync(client, audience, Names.Audience());
    }

    [Fact]
    public async Task A_listed_origin_may_connect_and_others_stay_refused()
    {
        await using var host = await NotifyTestHost.StartAsync(postgres, options => options.AllowedOrigins = ["http://app.example"]);
        var cancellationToken = TestContext.Current.CancellationToken;

        await using var listed = await WebSocketTestClient.ConnectAsync(host.BaseUri, Names.Audience(), origin: "http://APP.example", cancellationToken: cancellationToken).OrTimeout();
        var other = await WebSocketTestClient.ConnectExpectingRefusalAsync(host.BaseUri, Names.Audience(), "http://other.example", cancellationToken).OrTimeout();

        Assert.True(listed.IsConnected);
        Assert.Equal(HttpStatusCode.Forbidden, other);
    }

    [Fact]
    public async Task The_wildcard_lets_every_origin_connect()
    {
        await using var host = await NotifyTestHost.StartAsync(postgres, options => options.AllowedOrigins = ["*"]);

        await using var client = await WebSocketTestClient.ConnectAsync(
            host.BaseUri, Names.Audience(), origin: Foreign, cancellationToken: TestContext.Current.CancellationToken).OrTimeout();

        Assert.True(client.IsConnected);
    }
}
