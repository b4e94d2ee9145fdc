using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Npgsql;
using PgNotifyHub.Client;
using PgNotifyHub.IntegrationTests.Infrastructure;
using PgNotifyHub.Sequencing;

namespace PgNotifyHub.IntegrationTests;

/// <summary>
/// The .NET client package, <c>PgNotifyHub.Client</c>, against a real server on Kestrel at 127.0.0.1 and a real
/// PostgreSQL: it receives, resumes after a cut connection with exactly what it missed, reports resyncs, renews an
/// expiring token, and reads payloads of any depth.
/// </summary>
[Collection(SharedPostgres.Name)]
public sealed class ClientLibraryTests(PostgresFixture postgres)
{
    private const string TenantClaim = "tenant";

    // The token lives between 2 and 3 s (exp has whole seconds): long enough to connect on a loaded machine, short
    // enough to wait for its expiry.
    private static readonly TimeSpan ShortLifetime = TimeSpan.FromSeconds(3);

    // Plain text, as an operator writes it in the settings: 64 characters, so 64 bytes.
    private readonly string _signingKey = Convert.ToHexString(RandomNumberGenerator.GetBytes(32));

    [Fact]
    public async Task Client_receives_a_notification_of_its_audience_with_its_channel_id_sequence_stream_and_payload()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await NotifyTestHost.StartAsync(postgres);
        var audience = Names.Audience();
        await using var client = CreateClient(new Uri(host.BaseUri, "/hub"), audience);
        var events = new ClientEvents(client);

        await client.StartAsync(cancellationToken).OrTimeout();
        await WaitUntilRegisteredAsync(host, audience);
        await postgres.NotifyManyAsync(host.Channel, [
            Markers.Message(Names.Audience("other"), "not-mine"),
            audience + ",{\"order\":42,\"lines\":[{\"sku\":\"a-1\"}]}",
        ], cancellationToken);
        var read = await events.ReadUntilAsync(item => item is PgNotifyHubMessage);

        var connected = Assert.IsType<PgNotifyHubConnectedEventArgs>(read[0]);
        Assert.False(connected.IsResuming);
        var message = Assert.IsType<PgNotifyHubMessage>(Assert.Single(read, item => item is PgNotifyHubMessage));
        Assert.Equal((host.Channel, audience, 1L), (message.Channel, message.Audience, message.Sequence));
        Assert.Equal("{\"order\":42,\"lines\":[{\"sku\":\"a-1\"}]}", message.Payload.GetRawText());
        Assert.Equal(new OrderPayload(42), message.Deserialize<OrderPayload>());
        Assert.NotEqual(Guid.Empty, message.Id);
        Assert.Matches("^[0-9a-f]{16}$", message.Stream);
        Assert.Equal(HubConnectionState.Connected, client.State);
    }

    [Fact]
    public async Task Client_resumes_after_its_connection_is_cut_and_gets_exactly_what_it_missed_once_each_in_order_without_a_resync()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await NotifyTestHost.StartAsync(postgres);
        await using var proxy = new TcpProxy("127.0.0.1", host.BaseUri.Port, up: true);
        var audience = Names.Audience();
        await using var client = CreateClient(new Uri($"http://127.0.0.1:{proxy.Port}/hub"), audience);
        var events = new ClientEvents(client);
        await client.StartAsync(cancellationToken).OrTimeout();
        await WaitUntilRegisteredAsync(host, audience);
        // A live message comes after the position notice of the join, so once it is here the client knows its position.
        await postgres.NotifyAsync(host.Channel, Markers.Message(audience, "before"), cancellationToken);
        await events.ReadUntilMessageAsync("msg", "before");

        proxy.Down();
        proxy.DropAll();
        await events.WaitForAsync<PgNotifyHubReconnectingEventArgs>(reconnecting => reconnecting.ConnectionLost);
        string[] missed = [Markers.NewId(), Markers.NewId(), Markers.NewId(), Markers.NewId(), Markers.NewId()];
        await postgres.NotifyManyAsync(host.Channel, [.. missed.Select(id => Markers.Message(audience, id))], cancellationToken);
        proxy.Up();
        var resumed = await events.WaitForAsync<PgNotifyHubConnectedEventArgs>();
        var marker = Markers.NewId();
        await postgres.NotifyAsync(host.Channel, Markers.Payload(audience, marker), cancellationToken);
        var after = await events.ReadUntilMessageAsync("marker", marker);

        Assert.True(resumed.IsResuming);
        var messages = after.OfType<PgNotifyHubMessage>().ToList();
        Assert.Equal([.. missed, marker], messages.Select(message => ClientEvents.PayloadString(message, "msg") ?? ClientEvents.PayloadString(message, "marker")));
        Assert.Equal([2L, 3, 4, 5, 6, 7], messages.Select(message => message.Sequence));
        Assert.DoesNotContain(events.All, item => item is PgNotifyHubResync);
    }

    [Fact]
    public async Task Client_subscribes_to_a_topic_the_server_allows_is_refused_one_it_denies_and_after_a_cut_gets_what_the_topic_missed_once_each_in_order()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await NotifyTestHost.StartAsync(
            postgres, configureEndpoints: endpoint => endpoint.TopicAuthorizer = (_, topic) => new(topic.Audience.StartsWith("topic_", StringComparison.Ordinal)));
        await using var proxy = new TcpProxy("127.0.0.1", host.BaseUri.Port, up: true);
        var (audience, topic) = (Names.Audience(), Names.Audience("topic"));
        await using var client = CreateClient(new Uri($"http://127.0.0.1:{proxy.Port}/hub"), audience);
        var events = new ClientEvents(client);
        await client.StartAsync(cancellationToken).OrTimeout();
        await WaitUntilRegisteredAsync(host, audience);

        var position = await client.SubscribeAsync(topic, cancellationToken: cancellationToken).OrTimeout();
        var refused = await Assert.ThrowsAsync<PgNotifyHubTopicRefusedException>(() => client.SubscribeAsync(Names.Audience("secret"), cancellationToken: cancellationToken).OrTimeout());
        await postgres.NotifyAsync(host.Channel, Markers.Message(topic, "before"), cancellationToken);
        await events.ReadUntilMessageAsync("msg", "before");
        proxy.Down();
        proxy.DropAll();
        await events.WaitForAsync<PgNotifyHubReconnectingEventArgs>(reconnecting => reconnecting.ConnectionLost);
        string[] missed = [Markers.NewId(), Markers.NewId(), Markers.NewId()];
        await postgres.NotifyManyAsync(host.Channel, [.. missed.Select(id => Markers.Message(topic, id))], cancellationToken);
        proxy.Up();
        await events.WaitForAsync<PgNotifyHubConnectedEventArgs>();
        var marker = Markers.NewId();
        await postgres.NotifyAsync(host.Channel, Markers.Message(topic, marker), cancellationToken);
        var after = (await events.ReadUntilMessageAsync("msg", marker)).OfType<PgNotifyHubMessage>().ToList();
        await client.UnsubscribeAsync(topic, cancellationToken: cancellationToken).OrTimeout();
        var ownMarker = Markers.NewId();
        await postgres.NotifyManyAsync(host.Channel, [Markers.Message(topic, "left"), Markers.Message(audience, ownMarker)], cancellationToken);
        var last = (await events.ReadUntilMessageAsync("msg", ownMarker)).OfType<PgNotifyHubMessage>();

        Assert.Equal((host.Channel, topic, 0L), (position.Channel, position.Audience, position.Sequence));
        Assert.Equal("not_allowed", refused.Reason);
        Assert.Equal([.. missed, marker], after.Select(message => ClientEvents.PayloadString(message, "msg")));
        Assert.Equal([2L, 3, 4, 5], after.Select(message => message.Sequence));
        Assert.Equal([ownMarker], last.Select(message => ClientEvents.PayloadString(message, "msg")));
        Assert.DoesNotContain(events.All, item => item is PgNotifyHubResync);
    }

    [Fact]
    public async Task Client_raises_a_resync_before_the_first_message_after_the_servers_listener_reconnects_and_keeps_its_own_connection()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await NotifyTestHost.StartAsync(postgres);
        var audience = Names.Audience();
        await using var client = CreateClient(new Uri(host.BaseUri, "/hub"), audience);
        var events = new ClientEvents(client);
        await client.StartAsync(cancellationToken).OrTimeout();
        await WaitUntilRegisteredAsync(host, audience);
        await postgres.NotifyAsync(host.Channel, Markers.Message(audience, "before"), cancellationToken);
        var before = (PgNotifyHubMessage)(await events.ReadUntilMessageAsync("msg", "before"))[^1];

        var backend = await host.ListeningBackendAsync();
        await postgres.TerminateBackendAsync(backend, cancellationToken);
        await host.ReconnectedBackendAsync(backend);
        await postgres.NotifyAsync(host.Channel, Markers.Message(audience, "after"), cancellationToken);
        var read = await events.ReadUntilMessageAsync("msg", "after");

        var resync = Assert.IsType<PgNotifyHubResync>(Assert.Single(read, item => item is PgNotifyHubResync));
        Assert.Equal(PgNotifyHubResync.ListenerReconnected, resync.Reason);
        Assert.NotEqual(before.Stream, resync.Stream);
        Assert.Same(resync, read[^2]);
        var after = (PgNotifyHubMessage)read[^1];
        Assert.Equal((1L, resync.Stream), (after.Sequence, after.Stream));
        Assert.DoesNotContain(events.All, item => item is PgNotifyHubReconnectingEventArgs);
    }

    [Fact]
    public async Task Client_asks_for_a_fresh_token_on_every_connect_and_resumes_after_the_server_closes_its_connection_as_the_token_expires()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var server = await StandaloneServer.StartAsync(postgres, JwtSettings());
        var tenant = Names.Audience("tenant");
        var issued = new ConcurrentQueue<DateTimeOffset>();
        await using var client = new PgNotifyHubClient(new Uri(server.BaseUri, "/hub"), new PgNotifyHubClientOptions
        {
            AccessTokenProvider = _ =>
            {
                var token = Token(tenant, ShortLifetime);
                issued.Enqueue(new JsonWebToken(token).ValidTo);
                return ValueTask.FromResult<string?>(token);
            },
            ReconnectDelayMin = TimeSpan.FromMilliseconds(50),
            ReconnectDelayMax = TimeSpan.FromMilliseconds(500),
        });
        var events = new ClientEvents(client);
        await client.StartAsync(cancellationToken).OrTimeout();
        await server.WaitUntilRegisteredAsync(tenant);
        await postgres.NotifyAsync(server.Channel, Markers.Message(tenant, "first"), cancellationToken);
        await events.ReadUntilMessageAsync("msg", "first");

        // SignalR checks expiry once a second and closes the connection; the client connects again with a new token.
        await events.WaitForAsync<PgNotifyHubReconnectingEventArgs>(reconnecting => reconnecting.ConnectionLost);
        var firstExpiry = issued.First();
        var reconnected = await events.WaitForAsync<PgNotifyHubConnectedEventArgs>();
        await postgres.NotifyAsync(server.Channel, Markers.Message(tenant, "second"), cancellationToken);
        await events.ReadUntilMessageAsync("msg", "second");

        Assert.True(DateTimeOffset.UtcNow >= firstExpiry, "The connection was lost before its token expired.");
        Assert.True(reconnected.IsResuming);
        Assert.True(issued.Count >= 2, $"The token provider was called {issued.Count} time(s).");
        Assert.Contains(issued, expiry => expiry > firstExpiry);
        Assert.DoesNotContain(events.All, item => item is PgNotifyHubResync);
        Assert.Single(events.All, item => item is PgNotifyHubMessage message && ClientEvents.PayloadString(message, "msg") == "first");
    }

    [Fact]
    public async Task Client_delivers_a_payload_nested_as_deep_as_jsonb_accepts_and_keeps_its_connection()
    {
        const int depth = 10_000;
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await NotifyTestHost.StartAsync(postgres, options =>
        {
            options.Outbox.Enabled = true;
            options.Outbox.InstallSchema = true;
            options.Outbox.ReaderName = "node-" + Guid.NewGuid().ToString("N");
        });
        await host.Logs.WaitForAsync(entry => entry.EventId.Name == "OutboxReading").OrTimeout();
        var audience = Names.Audience();
        await using var client = CreateClient(new Uri(host.BaseUri, "/hub"), audience);
        var events = new ClientEvents(client);
        await client.StartAsync(cancellationToken).OrTimeout();
        await WaitUntilRegisteredAsync(host, audience);
        // Already in jsonb's own text form, so what arrives can be compared byte for byte.
        var payload = string.Concat(Enumerable.Repeat("{\"a\": ", depth)) + "1" + new string('}', depth);
        var marker = Markers.NewId();

        await using (var connection = await postgres.DataSource.OpenConnectionAsync(cancellationToken))
        {
            await SendAsync(connection, host.Channel, audience, payload, cancellationToken);
            await SendAsync(connection, host.Channel, audience, "{\"marker\": \"" + marker + "\"}", cancellationToken);
        }

        // SignalR's own JSON protocol cannot read a frame deeper than 64 levels and closes the connection: stop there too.
        var read = await events.ReadUntilAsync(item => item is PgNotifyHubReconnectingEventArgs
            || (item is PgNotifyHubMessage message && ClientEvents.PayloadString(message, "marker") == marker));

        Assert.IsType<PgNotifyHubMessage>(read[^1]);
        var messages = read.OfType<PgNotifyHubMessage>().ToList();
        Assert.Equal(2, messages.Count);
        Assert.Equal(payload, messages[0].Payload.GetRawText());
        var level = messages[0].Payload;
        var levels = 0;
        while (level.ValueKind == JsonValueKind.Object)
        {
            level = level.GetProperty("a");
            levels++;
        }

        Assert.Equal(depth, levels);
        Assert.DoesNotContain(events.All, item => item is PgNotifyHubReconnectingEventArgs);
    }

    [Fact]
    public async Task Client_started_while_the_server_is_unreachable_keeps_retrying_and_connects_once_it_is_reachable()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await NotifyTestHost.StartAsync(postgres);
        await using var proxy = new TcpProxy("127.0.0.1", host.BaseUri.Port, up: false);
        var audience = Names.Audience();
        await using var client = CreateClient(new Uri($"http://127.0.0.1:{proxy.Port}/hub"), audience);
        var events = new ClientEvents(client);

        var start = client.StartAsync(cancellationToken);
        var failed = await events.WaitForAsync<PgNotifyHubReconnectingEventArgs>();
        Assert.False(failed.ConnectionLost);
        Assert.NotNull(failed.Error);
        Assert.False(start.IsCompleted);
        Assert.Equal(HubConnectionState.Connecting, client.State);
        proxy.Up();
        await start.OrTimeout();
        await WaitUntilRegisteredAsync(host, audience);
        await postgres.NotifyAsync(host.Channel, Markers.Message(audience, "hello"), cancellationToken);
        await events.ReadUntilMessageAsync("msg", "hello");

        Assert.True(proxy.RefusedConnections >= 1);
        Assert.False(Assert.Single(events.All.OfType<PgNotifyHubConnectedEventArgs>()).IsResuming);
        Assert.DoesNotContain(events.All, item => item is PgNotifyHubResync);
    }

    [Fact]
    public async Task Client_stopped_and_started_again_resumes_with_what_was_sent_while_it_was_stopped()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await NotifyTestHost.StartAsync(postgres);
        var audience = Names.Audience();
        await using var client = CreateClient(new Uri(host.BaseUri, "/hub"), audience);
        var events = new ClientEvents(client);
        await client.StartAsync(cancellationToken).OrTimeout();
        await WaitUntilRegisteredAsync(host, audience);
        await postgres.NotifyAsync(host.Channel, Markers.Message(audience, "before"), cancellationToken);
        await events.ReadUntilMessageAsync("msg", "before");

        await client.StopAsync(cancellationToken).OrTimeout();
        Assert.Equal(HubConnectionState.Disconnected, client.State);
        await postgres.NotifySeriesAsync(host.Channel, audience, 3, cancellationToken);
        await client.StartAsync(cancellationToken).OrTimeout();
        var marker = Markers.NewId();
        await postgres.NotifyAsync(host.Channel, Markers.Payload(audience, marker), cancellationToken);
        var read = await events.ReadUntilMessageAsync("marker", marker);

        Assert.True(Assert.IsType<PgNotifyHubConnectedEventArgs>(read[0]).IsResuming);
        Assert.Equal([2L, 3, 4, 5], read.OfType<PgNotifyHubMessage>().Select(message => message.Sequence));
        Assert.DoesNotContain(events.All, item => item is PgNotifyHubResync or PgNotifyHubReconnectingEventArgs);
    }

    [Fact]
    public async Task A_handler_that_throws_is_logged_and_the_next_message_is_still_received()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await NotifyTestHost.StartAsync(postgres);
        var audience = Names.Audience();
        using var logs = new InMemoryLoggerProvider(TestContext.Current.TestOutputHelper);
        using var loggerFactory = LoggerFactory.Create(logging => logging.AddProvider(logs).AddFilter("Microsoft", LogLevel.Warning));
        await using var client = CreateClient(new Uri(host.BaseUri, "/hub"), audience, loggerFactory);
        client.Received += message => ClientEvents.PayloadString(message, "msg") == "throws"
            ? throw new InvalidOperationException("The application's handler failed.")
            : Task.CompletedTask;
        var events = new ClientEvents(client);
        await client.StartAsync(cancellationToken).OrTimeout();
        await WaitUntilRegisteredAsync(host, audience);

        await postgres.NotifyManyAsync(host.Channel, [Markers.Message(audience, "throws"), Markers.Message(audience, "next")], cancellationToken);
        var read = await events.ReadUntilMessageAsync("msg", "next");

        Assert.Equal(2, read.OfType<PgNotifyHubMessage>().Count());
        var failure = await logs.WaitForAsync(entry => entry.EventId.Name == "HandlerFailed").OrTimeout();
        Assert.Equal(LogLevel.Error, failure.Level);
        Assert.DoesNotContain(events.All, item => item is PgNotifyHubReconnectingEventArgs);
    }

    private static PgNotifyHubClient CreateClient(Uri hubUrl, string audience, ILoggerFactory? loggerFactory = null) =>
        new(hubUrl, new PgNotifyHubClientOptions
        {
            // The test host's audience resolver reads this header.
            ConfigureHttpConnection = options => options.Headers[NotifyTestHost.AudienceHeader] = audience,
            ReconnectDelayMin = TimeSpan.FromMilliseconds(50),
            ReconnectDelayMax = TimeSpan.FromMilliseconds(500),
            LoggerFactory = loggerFactory,
        });

    // The client's first connection has no position to resume from, so it receives only what is sent once the server
    // has registered it.
    private static Task WaitUntilRegisteredAsync(NotifyTestHost host, string audience) =>
        host.Router.WaitForSubscribersAsync(new Route(host.Channel, audience), 1, TestContext.Current.CancellationToken).OrTimeout();

    private static async Task SendAsync(NpgsqlConnection connection, string channel, string audience, string payload, CancellationToken cancellationToken)
    {
        await using var send = new NpgsqlCommand("SELECT pgnotifyhub.send($1, $2, $3::jsonb)", connection);
        send.Parameters.Add(new NpgsqlParameter<string> { TypedValue = channel });
        send.Parameters.Add(new NpgsqlParameter<string> { TypedValue = audience });
        send.Parameters.Add(new NpgsqlParameter<string> { TypedValue = payload });
        await send.ExecuteNonQueryAsync(cancellationToken);
    }

    private Dictionary<string, string> JwtSettings() => new()
    {
        ["Authentication:Jwt:SigningKey"] = _signingKey,
        ["Authentication:Jwt:ClockSkew"] = "00:00:00",
        ["Audiences:Source"] = "Claim",
        ["Audiences:Claim"] = TenantClaim,
    };

    private string Token(string tenant, TimeSpan lifetime)
    {
        var now = DateTime.UtcNow;
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            IssuedAt = now,
            NotBefore = now,
            Expires = now + lifetime,
            Claims = new Dictionary<string, object> { ["sub"] = "test-user", [TenantClaim] = tenant },
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(_signingKey)), SecurityAlgorithms.HmacSha256),
        });
    }

    private sealed record OrderPayload(int Order);
}
