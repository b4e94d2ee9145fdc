using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using PgNotifyHub.IntegrationTests.Infrastructure;
using PgNotifyHub.Parsing;

namespace PgNotifyHub.IntegrationTests;

/// <summary>The PostgreSQL side: reconnecting after failures, and what happens to payloads that are not valid.</summary>
[Collection(SharedPostgres.Name)]
public sealed class ListenerTests(PostgresFixture postgres)
{
    [Fact]
    public async Task Listener_reconnects_after_backend_is_terminated()
    {
        await using var host = await NotifyTestHost.StartAsync(postgres);
        var audience = Names.Audience();
        var signalR = await host.ConnectSignalRAsync(audience);
        // pgws sockets are closed when the listener reconnects (see ResyncAndReplayTests); sequenced ones stay.
        var webSocket = await host.ConnectSequencedAsync(Transport.WebSocket, audience);
        var backend = await host.ListeningBackendAsync();

        await postgres.TerminateBackendAsync(backend, TestContext.Current.CancellationToken);
        var newBackend = await host.ReconnectedBackendAsync(backend);
        await postgres.NotifyAsync(host.Channel, Markers.Message(audience, "after-reconnect"), TestContext.Current.CancellationToken);

        Assert.NotEqual(backend, newBackend);
        Assert.True((await signalR.ReceiveAsync()).IsMessage("after-reconnect"));
        Assert.True((await webSocket.ReceiveAsync()).IsMessage("after-reconnect"));
        Assert.True(signalR.IsConnected);
        Assert.True(webSocket.IsConnected);
        var problem = Assert.Single(host.Logs.Entries, e => e.IsFromLibrary && e.Level >= LogLevel.Warning);
        Assert.Equal("ListenerDisconnected", problem.EventId.Name);
    }

    [Fact]
    public async Task One_connection_serves_every_channel_and_client()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var (connectionString, countBackendsAsync) = postgres.TaggedConnection();
        await using var host = await NotifyTestHost.StartAsync(postgres, channelCount: 3, connectionString: connectionString);
        var audience = Names.Audience();
        var clients = (await host.ConnectManyAsync(Transport.SignalR, 10, audience)).Concat(await host.ConnectManyAsync(Transport.WebSocket, 10, audience)).ToArray();

        await postgres.NotifyManyAsync([.. host.Channels.Select(channel => (channel, Markers.Message(audience, channel)))], cancellationToken);

        foreach (var client in clients)
        {
            Assert.Equal(host.Channels, (await client.ReceiveAsync(host.Channels.Count)).Select(e => e.Channel));
        }

        Assert.Equal(1L, await countBackendsAsync());
    }

    [Fact]
    public async Task Startup_logs_the_effective_configuration_once_and_never_the_password()
    {
        const string Password = "not-for-logs-3f9a";
        await using var host = await NotifyTestHost.StartAsync(
            postgres,
            options => options.AllowedOrigins = ["https://app.example.com"],
            connectionString: postgres.ConnectionString + ";Password=" + Password);

        var starting = Assert.Single(host.Logs.Entries, e => e.EventId.Name == "Starting");
        Assert.Equal(LogLevel.Information, starting.Level);
        Assert.Contains(host.Channel, starting.Message, StringComparison.Ordinal);
        Assert.Contains("https://app.example.com", starting.Message, StringComparison.Ordinal);
        Assert.Contains("8192", starting.Message, StringComparison.Ordinal);
        Assert.Contains("then Close", starting.Message, StringComparison.Ordinal);
        Assert.Contains("unlimited connections", starting.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(host.Logs.Entries, e => e.ToString().Contains(Password, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Listener_uses_the_NpgsqlDataSource_registered_in_dependency_injection()
    {
        await using var dataSource = NpgsqlDataSource.Create(postgres.ConnectionString);
        await using var host = await NotifyTestHost.StartAsync(
            postgres,
            options => options.ConnectionString = null,
            configureServices: services => services.AddSingleton(dataSource));
        var audience = Names.Audience();
        var client = await host.ConnectWebSocketAsync(audience);

        await postgres.NotifyAsync(host.Channel, Markers.Message(audience, "via-data-source"), TestContext.Current.CancellationToken);

        Assert.True((await client.ReceiveAsync()).IsMessage("via-data-source"));
    }

    [Fact]
    public async Task Listener_reconnects_after_the_network_breaks()
    {
        var (targetHost, targetPort) = postgres.TcpEndpoint;
        await using var proxy = new TcpProxy(targetHost, targetPort, up: true);
        await using var host = await NotifyTestHost.StartAsync(postgres, connectionString: proxy.ConnectionStringFor(postgres.ConnectionString));
        var audience = Names.Audience();
        var signalR = await host.ConnectSignalRAsync(audience);
        // pgws sockets are closed when the listener reconnects (see ResyncAndReplayTests); sequenced ones stay.
        var webSocket = await host.ConnectSequencedAsync(Transport.WebSocket, audience);
        var backend = await host.ListeningBackendAsync();

        proxy.DropAll();
        await host.ReconnectedBackendAsync(backend);
        await postgres.NotifyAsync(host.Channel, Markers.Message(audience, "after-break"), TestContext.Current.CancellationToken);

        Assert.True((await signalR.ReceiveAsync()).IsMessage("after-break"));
        Assert.True((await webSocket.ReceiveAsync()).IsMessage("after-break"));
        Assert.True(signalR.IsConnected);
        Assert.True(webSocket.IsConnected);
    }

    [Fact]
    public async Task Heartbeat_detects_a_connection_that_died_silently()
    {
        var (targetHost, targetPort) = postgres.TcpEndpoint;
        await using var proxy = new TcpProxy(targetHost, targetPort, up: true);
        // Short command timeouts: the heartbeat's query gets no answer on the dead path and must give up quickly.
        var connectionString = proxy.ConnectionStringFor(postgres.ConnectionString) + ";Command Timeout=1;Cancellation Timeout=500";
        await using var host = await NotifyTestHost.StartAsync(postgres, options => options.HeartbeatInterval = TimeSpan.FromMilliseconds(500), connectionString: connectionString);
        var audience = Names.Audience();
        var client = await host.ConnectSequencedAsync(Transport.WebSocket, audience);
        var backend = await host.ListeningBackendAsync();

        proxy.BlackHoleExisting();
        await host.ReconnectedBackendAsync(backend, TimeSpan.FromSeconds(30));
        await postgres.NotifyAsync(host.Channel, Markers.Message(audience, "after-silence"), TestContext.Current.CancellationToken);

        Assert.True((await client.ReceiveAsync()).IsMessage("after-silence"));
    }

    [Fact]
    public async Task Host_starts_while_postgresql_is_unreachable_and_recovers_when_it_returns()
    {
        var (targetHost, targetPort) = postgres.TcpEndpoint;
        await using var proxy = new TcpProxy(targetHost, targetPort, up: false);
        await using var host = await NotifyTestHost.StartAsync(
            postgres,
            options => (options.ReconnectDelayMin, options.ReconnectDelayMax) = (TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(400)),
            connectionString: proxy.ConnectionStringFor(postgres.ConnectionString),
            waitUntilListening: false);

        // Several attempts fail: one Warning says so, the rest are Debug.
        await host.Logs.WaitForAsync(e => e.IsFromLibrary && e.EventId.Name == "ListenerRetryFailed", count: 2).OrTimeout();
        var listening = host.Listener.WaitUntilListeningAsync(TestContext.Current.CancellationToken);
        Assert.False(listening.IsCompleted);
        Assert.True(proxy.RefusedConnections >= 3, $"{proxy.RefusedConnections} connections reached the proxy");
        var problem = Assert.Single(host.Logs.Entries, e => e.IsFromLibrary && e.Level >= LogLevel.Warning);
        Assert.Equal("ListenerDisconnected", problem.EventId.Name);
        Assert.All(
            host.Logs.Entries.Where(e => e.IsFromLibrary && e.EventId.Name == "ListenerRetryFailed"),
            retry => Assert.Equal(LogLevel.Debug, retry.Level));

        var recoveredFrom = host.Logs.NextSequence;
        proxy.Up();
        await listening.OrTimeout();

        var recovered = await host.Logs.WaitForAsync(e => e.IsFromLibrary && e.EventId.Name == "ListenerRecovered", fromSequence: recoveredFrom).OrTimeout();
        Assert.Equal(LogLevel.Information, recovered.Level);
        Assert.Single(host.Logs.Entries, e => e.IsFromLibrary && e.Level >= LogLevel.Warning);

        var audience = Names.Audience();
        var signalR = await host.ConnectSignalRAsync(audience);
        // pgws sockets are closed when the listener reconnects (see ResyncAndReplayTests); sequenced ones stay.
        var webSocket = await host.ConnectSequencedAsync(Transport.WebSocket, audience);
        await postgres.NotifyAsync(host.Channel, Markers.Message(audience, "after-recovery"), TestContext.Current.CancellationToken);
        Assert.True((await signalR.ReceiveAsync()).IsMessage("after-recovery"));
        Assert.True((await webSocket.ReceiveAsync()).IsMessage("after-recovery"));
    }

    [Theory]
    [InlineData(Transport.SignalR)]
    [InlineData(Transport.WebSocket)]
    public async Task Invalid_payloads_are_dropped_with_a_warning_and_delivery_continues(Transport transport)
    {
        await using var host = await NotifyTestHost.StartAsync(postgres);
        var audience = Names.Audience();
        var client = await host.ConnectAsync(transport, audience);
        var secret = "secret-" + Guid.NewGuid().ToString("N");
        string[] invalid =
        [
            "no comma " + secret,
            ",{\"s\":\"" + secret + "\"}",
            audience + ",",
            audience + ",{\"s\":\"" + secret + "\"",
            audience + ",[\"" + secret + "\"]",
            audience + ",\"" + secret + "\"",
            audience + ",{\"s\":1} \"" + secret + "\"",
            audience + ",{\"s\":1}{\"t\":\"" + secret + "\"}",
        ];

        await postgres.NotifyManyAsync(host.Channel, [.. invalid, Markers.Message(audience, "valid")], TestContext.Current.CancellationToken);

        Assert.True((await client.ReceiveAsync()).IsMessage("valid"));
        var warnings = host.Logs.Entries.Where(e => e.IsFromLibrary && e.Level >= LogLevel.Warning).ToArray();
        Assert.Equal(invalid.Length, warnings.Length);
        Assert.All(warnings.Zip(invalid), pair =>
        {
            var (warning, payload) = pair;
            Assert.Equal(LogLevel.Warning, warning.Level);
            Assert.Equal("InvalidPayload", warning.EventId.Name);
            Assert.Contains(host.Channel, warning.Message, StringComparison.Ordinal);
            NotificationParser.TryParse(host.Channel, payload, timestampProperty: null, out _, out var reason);
            Assert.Contains(reason!, warning.Message, StringComparison.Ordinal);
        });
        Assert.DoesNotContain(host.Logs.Entries, e => e.Level > LogLevel.Debug && e.Message.Contains(secret, StringComparison.Ordinal));
        Assert.True(client.IsConnected);
    }
}
