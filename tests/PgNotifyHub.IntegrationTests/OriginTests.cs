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
        Assert.Equal(1, meter["pgnotifyhub.connection.refused", "websocket", "origin"]);
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
    [InlineData(Transport.EventStream)]
    public async Task Pages_of_the_servers_own_origin_connect_and_receive(Transport transport)
    {
        await using var host = await NotifyTestHost.StartAsync(postgres);
        var (audience, cancellationToken) = (Names.Audience(), TestContext.Current.CancellationToken);
        var ownOrigin = host.BaseUri.GetLeftPart(UriPartial.Authority);

        NotifyTestClient client = transport switch
        {
            Transport.WebSocket => await WebSocketTestClient.ConnectAsync(host.BaseUri, audience, origin: ownOrigin, cancellationToken: cancellationToken).OrTimeout(),
            Transport.EventStream => await EventStreamTestClient.ConnectAsync(host.BaseUri, audience, origin: ownOrigin, cancellationToken: cancellationToken).OrTimeout(),
            _ => await SignalRTestClient.ConnectAsync(host.BaseUri, audience, cancellationToken, origin: ownOrigin).OrTimeout(),
        };
        host.Track(client);
        // A SignalR client's start completes before the server registers it.
        await host.Router.WaitForSubscribersAsync(new PgNotifyHub.Sequencing.Route(host.Channel, audience), 1, cancellationToken).OrTimeout();

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

    [Fact]
    public async Task A_rebinding_page_whose_host_and_origin_both_name_the_attacker_is_refused_on_every_endpoint()
    {
        await using var host = await NotifyTestHost.StartAsync(postgres);
        var cancellationToken = TestContext.Current.CancellationToken;
        // attacker.example was made to resolve to 127.0.0.1: the browser sends the attacker's name as Host and Origin.
        var rebound = "attacker.example:" + host.BaseUri.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var origin = "http://" + rebound;

        var raw = await WebSocketTestClient.ConnectAsPageExpectingRefusalAsync(host.BaseUri, "/ws", origin, rebound, cancellationToken).OrTimeout();
        var hubWebSocket = await WebSocketTestClient.ConnectAsPageExpectingRefusalAsync(host.BaseUri, "/hub", origin, rebound, cancellationToken).OrTimeout();
        using var http = host.CreateHttpClient();
        using var negotiate = new HttpRequestMessage(HttpMethod.Post, "/hub/negotiate?negotiateVersion=1");
        negotiate.Headers.Host = rebound;
        negotiate.Headers.Add("Origin", origin);
        var negotiated = await http.SendAsync(negotiate, cancellationToken).OrTimeout();

        Assert.Equal((HttpStatusCode.Forbidden, HttpStatusCode.Forbidden, HttpStatusCode.Forbidden), (raw, hubWebSocket, negotiated.StatusCode));
        Assert.Equal(3, host.Logs.Entries.Count(e => e.EventId.Name == "OriginRefused"));
    }

    [Theory]
    [InlineData("localhost")]
    [InlineData("127.0.0.1")]
    public async Task A_page_of_a_loopback_servers_own_origin_connects_under_each_loopback_name(string name)
    {
        await using var host = await NotifyTestHost.StartAsync(postgres);
        var hostHeader = name + ":" + host.BaseUri.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);

        await using var client = await WebSocketTestClient.ConnectAsync(
            host.BaseUri, Names.Audience(), origin: "http://" + hostHeader, host: hostHeader, cancellationToken: TestContext.Current.CancellationToken).OrTimeout();

        Assert.True(client.IsConnected);
    }

    [Fact]
    public async Task A_host_listed_in_AllowedHosts_is_the_servers_own_and_other_names_are_not()
    {
        await using var host = await NotifyTestHost.StartAsync(
            postgres, configureServices: services => services.Configure<Microsoft.AspNetCore.HostFiltering.HostFilteringOptions>(o => o.AllowedHosts = ["notify.example.com"]));
        var cancellationToken = TestContext.Current.CancellationToken;
        var port = host.BaseUri.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);

        await using var listed = await WebSocketTestClient.ConnectAsync(
            host.BaseUri, Names.Audience(), origin: "http://notify.example.com:" + port, host: "notify.example.com:" + port, cancellationToken: cancellationToken).OrTimeout();
        var loopbackName = await WebSocketTestClient.ConnectAsPageExpectingRefusalAsync(host.BaseUri, "/ws", "http://localhost:" + port, "localhost:" + port, cancellationToken).OrTimeout();

        Assert.True(listed.IsConnected);
        // Refused by the origin check, or before it by the host filtering middleware of the application's builder.
        Assert.Contains(loopbackName, new[] { HttpStatusCode.Forbidden, HttpStatusCode.BadRequest });
    }
}
