using System.Globalization;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PgNotifyHub.Listening;
using PgNotifyHub.Routing;
using PgNotifyHub.Sequencing;

namespace PgNotifyHub.IntegrationTests.Infrastructure;

/// <summary>
/// A real <see cref="WebApplication"/> on Kestrel at http://127.0.0.1:0 with PgNotifyHub at <c>/hub</c>, <c>/ws</c>
/// and <c>/events</c>, listening on channels of its own. The audience resolver reads the comma-separated request
/// header <c>X-Audience</c> (absent: <c>default</c>; present without a name, e.g. <c>","</c>: no audience, so refused).
/// </summary>
public sealed class NotifyTestHost : IAsyncDisposable
{
    public const string AudienceHeader = "X-Audience";

    private readonly WebApplication _app;
    private readonly PostgresFixture _postgres;
    private readonly List<NotifyTestClient> _clients = [];
    private readonly Dictionary<Route, int> _subscribersPerRoute = [];
    private readonly Lock _lock = new();
    private bool _stopped;

    private NotifyTestHost(WebApplication app, PostgresFixture postgres, IReadOnlyList<string> channels, InMemoryLoggerProvider logs)
    {
        _app = app;
        _postgres = postgres;
        Channels = channels;
        Logs = logs;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        BaseUri = new Uri(address);
    }

    /// <summary>http://127.0.0.1:port</summary>
    public Uri BaseUri { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>The channels listened on, unique to this host.</summary>
    public IReadOnlyList<string> Channels { get; }

    /// <summary>The first (usually only) channel.</summary>
    public string Channel => Channels[0];

    public InMemoryLoggerProvider Logs { get; }

    internal NotificationListener Listener => _app.Services.GetRequiredService<NotificationListener>();

    internal NotificationRouter Router => _app.Services.GetRequiredService<NotificationRouter>();

    internal ListenedChannels ListenedChannels => _app.Services.GetRequiredService<ListenedChannels>();

    /// <summary>The public listener, for in-process subscriptions.</summary>
    public PgNotificationSubscriber NotifyListener => _app.Services.GetRequiredService<PgNotificationSubscriber>();

    /// <summary>Subscribes in process; returns once the channel is LISTENed.</summary>
    public Task<PgNotificationSubscription> SubscribeAsync(string channel, string? audience = null, [CallerFilePath] string filePath = "", [CallerLineNumber] int lineNumber = 0) =>
        NotifyListener.SubscribeAsync(channel, audience, TestContext.Current.CancellationToken).OrTimeout(filePath: filePath, lineNumber: lineNumber);

    /// <summary>Returns once every change made so far to the set of channels is in effect on the listener's connection.</summary>
    public Task ChannelChangesAppliedAsync([CallerFilePath] string filePath = "", [CallerLineNumber] int lineNumber = 0) =>
        ListenedChannels.WaitUntilListeningAsync(ListenedChannels.Version, TestContext.Current.CancellationToken).OrTimeout(filePath: filePath, lineNumber: lineNumber);

    /// <param name="postgres">The server; the hub listens through <paramref name="connectionString"/> if given, else its connection string.</param>
    /// <param name="configure">Runs after the test defaults (unique channels, X-Audience resolver).</param>
    /// <param name="channelCount">How many unique channels to listen on.</param>
    /// <param name="connectionString">Another way to the server, e.g. through a <see cref="TcpProxy"/>.</param>
    /// <param name="waitUntilListening">Return only once LISTEN is in place, so no notification sent afterwards is missed.</param>
    /// <param name="configureServices">Adds or replaces services after PgNotifyHub's.</param>
    /// <param name="endpointConventions">Applied to every mapped endpoint, e.g. <c>RequireAuthorization()</c>.</param>
    /// <param name="mapEndpoints">Maps more endpoints, e.g. ones with channels of their own, given the host's channels.</param>
    /// <param name="configureEndpoints">Sets the options of both mapped endpoints, e.g. which topics their clients may choose.</param>
    public static async Task<NotifyTestHost> StartAsync(
        PostgresFixture postgres,
        Action<PgNotifyHubOptions>? configure = null,
        int channelCount = 1,
        string? connectionString = null,
        bool waitUntilListening = true,
        Action<IServiceCollection>? configureServices = null,
        Action<IEndpointConventionBuilder>? endpointConventions = null,
        Action<WebApplication, IReadOnlyList<string>>? mapEndpoints = null,
        Action<PgNotifyHubEndpointOptions>? configureEndpoints = null)
    {
        var channels = Enumerable.Range(0, channelCount).Select(_ => Names.Channel()).ToArray();
        var logs = new InMemoryLoggerProvider(TestContext.Current.TestOutputHelper);

        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(NotifyTestHost).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = Environments.Production,
        });
        // Configured in code only: the standalone server's appsettings.json, which its project reference copies
        // into this output directory, must not leak its log levels or channels into the test host.
        foreach (var file in builder.Configuration.Sources.OfType<FileConfigurationSource>().ToArray())
        {
            builder.Configuration.Sources.Remove(file);
        }

        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(logs);
        builder.Logging.SetMinimumLevel(LogLevel.Debug);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.Logging.AddFilter("Npgsql", LogLevel.Warning);

        builder.Services.AddPgNotifyHub(options =>
        {
            options.ConnectionString = connectionString ?? postgres.ConnectionString;
            options.Channels = [.. channels];
            options.AudienceResolver = ResolveAudiencesFromHeader;
            configure?.Invoke(options);
        });
        configureServices?.Invoke(builder.Services);

        var app = builder.Build();
        IEndpointConventionBuilder[] endpoints =
        [
            app.MapPgNotifyHub("/hub", endpoint => configureEndpoints?.Invoke(endpoint)),
            app.MapPgNotifyWebSocket("/ws", endpoint => configureEndpoints?.Invoke(endpoint)),
            app.MapPgNotifyEventStream("/events", endpoint => configureEndpoints?.Invoke(endpoint)),
        ];
        foreach (var endpoint in endpoints)
        {
            endpointConventions?.Invoke(endpoint);
        }

        mapEndpoints?.Invoke(app, channels);

        await app.StartAsync(TestContext.Current.CancellationToken).OrTimeout();
        // The channels as configured: a test may replace the unique ones, e.g. to share them between hosts.
        var host = new NotifyTestHost(app, postgres, [.. app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<PgNotifyHubOptions>>().Value.Channels], logs);
        try
        {
            if (waitUntilListening)
            {
                await host.Listener.WaitUntilListeningAsync(TestContext.Current.CancellationToken).OrTimeout();
            }
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }

        return host;
    }

    /// <summary>The listener's backend process id, once LISTEN is in place.</summary>
    public Task<int> ListeningBackendAsync([CallerFilePath] string filePath = "", [CallerLineNumber] int lineNumber = 0) =>
        Listener.WaitUntilListeningAsync(TestContext.Current.CancellationToken).OrTimeout(filePath: filePath, lineNumber: lineNumber);

    /// <summary>The new backend's process id, once LISTEN is in place on a connection other than <paramref name="previousBackend"/>'s.</summary>
    public Task<int> ReconnectedBackendAsync(int previousBackend, TimeSpan? timeout = null, [CallerFilePath] string filePath = "", [CallerLineNumber] int lineNumber = 0) =>
        Listener.WaitUntilReconnectedAsync(previousBackend, TestContext.Current.CancellationToken).OrTimeout(timeout, filePath, lineNumber);

    /// <summary>
    /// Connects a client in the given audiences (none: no header, so <c>default</c>) and returns once the server
    /// has registered it, so it receives every notification sent afterwards. Disposed with the host.
    /// </summary>
    public Task<NotifyTestClient> ConnectAsync(Transport transport, params string[] audiences) =>
        ConnectToAsync(transport, path: null, Channel, audiences);

    /// <summary>
    /// Connects a client to the endpoint at <paramref name="path"/> (null: the transport's default endpoint) and
    /// returns once the server has registered it for <paramref name="channel"/>, one of that endpoint's channels.
    /// </summary>
    public async Task<NotifyTestClient> ConnectToAsync(Transport transport, string? path, string channel, params string[] audiences)
    {
        var header = audiences.Length == 0 ? null : string.Join(',', audiences);
        var cancellationToken = TestContext.Current.CancellationToken;
        NotifyTestClient client = transport switch
        {
            Transport.SignalR => await SignalRTestClient.ConnectAsync(BaseUri, header, cancellationToken, path ?? "/hub").OrTimeout(),
            Transport.SignalRLongPolling => await SignalRTestClient.ConnectAsync(BaseUri, header, cancellationToken, path ?? "/hub", HttpTransportType.LongPolling).OrTimeout(),
            Transport.WebSocket => await WebSocketTestClient.ConnectAsync(BaseUri, header, path: path ?? "/ws", cancellationToken: cancellationToken).OrTimeout(),
            Transport.EventStream => await EventStreamTestClient.ConnectAsync(BaseUri, header, path: path ?? "/events", cancellationToken: cancellationToken).OrTimeout(),
            _ => throw new ArgumentOutOfRangeException(nameof(transport)),
        };
        Track(client);
        await WaitUntilRegisteredAsync(channel, audiences.Length == 0 ? [PgNotifyHubOptions.DefaultAudience] : audiences.Distinct());
        return client;
    }

    /// <summary>Connects <paramref name="count"/> clients at once.</summary>
    public async Task<IReadOnlyList<NotifyTestClient>> ConnectManyAsync(Transport transport, int count, params string[] audiences) =>
        await Task.WhenAll(Enumerable.Range(0, count).Select(_ => ConnectAsync(transport, audiences)));

    public async Task<SignalRTestClient> ConnectSignalRAsync(params string[] audiences) =>
        (SignalRTestClient)await ConnectAsync(Transport.SignalR, audiences);

    public async Task<WebSocketTestClient> ConnectWebSocketAsync(params string[] audiences) =>
        (WebSocketTestClient)await ConnectAsync(Transport.WebSocket, audiences);

    public async Task<EventStreamTestClient> ConnectEventStreamAsync(params string[] audiences) =>
        (EventStreamTestClient)await ConnectAsync(Transport.EventStream, audiences);

    /// <summary>
    /// Connects an event stream as a browser reconnects one, sending <paramref name="lastEventId"/> as
    /// <c>Last-Event-ID</c>; returns once registered, so what it missed has been queued to it.
    /// </summary>
    public async Task<EventStreamTestClient> ReconnectEventStreamAsync(string lastEventId, params string[] audiences)
    {
        var client = await EventStreamTestClient.ConnectAsync(
            BaseUri, string.Join(',', audiences), lastEventId: lastEventId, cancellationToken: TestContext.Current.CancellationToken).OrTimeout();
        Track(client);
        await WaitUntilRegisteredAsync(Channel, audiences);
        return client;
    }

    /// <summary>An event stream that does not read until told to, with a tiny receive buffer: a slow consumer.</summary>
    public async Task<EventStreamTestClient> ConnectNonReadingEventStreamAsync(string audience)
    {
        var client = await EventStreamTestClient.ConnectAsync(
            BaseUri, audience, startReceiving: false, receiveBufferSize: 4096, cancellationToken: TestContext.Current.CancellationToken).OrTimeout();
        Track(client);
        await WaitUntilRegisteredAsync(Channel, [audience]);
        return client;
    }

    /// <summary>
    /// Connects a client that receives sequenced envelopes and resync notices (SignalR, a raw WebSocket of the
    /// <c>pgnotifyhub.v1</c> subprotocol, or an event stream), resuming from <paramref name="resume"/> if given; returns once registered,
    /// so what it missed has been queued to it.
    /// </summary>
    public async Task<NotifyTestClient> ConnectSequencedAsync(Transport transport, string audience, string? resume = null)
    {
        // An empty resume asks only for the position notice; raw clients of the subprotocol always get it.
        var query = "?resume=" + Uri.EscapeDataString(resume ?? "");
        var cancellationToken = TestContext.Current.CancellationToken;
        NotifyTestClient client = transport switch
        {
            Transport.SignalR => await SignalRTestClient.ConnectAsync(BaseUri, audience, cancellationToken, "/hub" + query).OrTimeout(),
            Transport.WebSocket => await WebSocketTestClient.ConnectAsync(BaseUri, audience, path: "/ws" + query, subprotocol: "pgnotifyhub.v1", cancellationToken: cancellationToken).OrTimeout(),
            Transport.EventStream => await EventStreamTestClient.ConnectAsync(BaseUri, audience, path: "/events" + query, cancellationToken: cancellationToken).OrTimeout(),
            _ => throw new ArgumentOutOfRangeException(nameof(transport)),
        };
        Track(client);
        await WaitUntilRegisteredAsync(Channel, [audience]);
        return client;
    }

    /// <summary>The <c>resume</c> parameter of a client that last saw <paramref name="seq"/> of the host's channel and <paramref name="audience"/>.</summary>
    public string ResumeFrom(string stream, string audience, long seq) =>
        System.Text.Json.JsonSerializer.Serialize(new { stream, positions = new[] { new { channel = Channel, audience, seq } } });

    /// <summary>The compact <c>resume</c> of a position notice: its stream, route set and numbers in its order, as the clients send it.</summary>
    public static string CompactResume(string positionJson)
    {
        using var notice = System.Text.Json.JsonDocument.Parse(positionJson);
        var root = notice.RootElement;
        return string.Join('.', [
            root.GetProperty("stream").GetString(),
            root.GetProperty("routeSet").GetString(),
            .. root.GetProperty("positions").EnumerateArray().Select(route => route.GetProperty("seq").GetInt64().ToString(CultureInfo.InvariantCulture))]);
    }

    /// <summary>A raw WebSocket that does not read until told to, with a tiny receive buffer: a slow consumer.</summary>
    public async Task<WebSocketTestClient> ConnectNonReadingWebSocketAsync(string audience)
    {
        var client = await WebSocketTestClient.ConnectAsync(
            BaseUri, audience, startReceiving: false, receiveBufferSize: 4096, cancellationToken: TestContext.Current.CancellationToken).OrTimeout();
        Track(client);
        await WaitUntilRegisteredAsync(Channel, [audience]);
        return client;
    }

    /// <summary>
    /// A SignalR connection that completes the JSON protocol handshake and then never reads, with a tiny
    /// receive buffer: a slow SignalR consumer, which the .NET client cannot be made into.
    /// </summary>
    public async Task<WebSocketTestClient> ConnectNonReadingSignalRAsync(string audience)
    {
        var client = await WebSocketTestClient.ConnectAsync(
            BaseUri, audience, startReceiving: false, receiveBufferSize: 4096, path: "/hub", cancellationToken: TestContext.Current.CancellationToken).OrTimeout();
        Track(client);
        await client.SendAsync("{\"protocol\":\"json\",\"version\":1}\u001e", TestContext.Current.CancellationToken).OrTimeout();
        await WaitUntilRegisteredAsync(Channel, [audience]);
        return client;
    }

    /// <summary>
    /// Proves that <paramref name="client"/> hears its own audience and not <paramref name="foreign"/>: one
    /// message to each and then a marker to its own, in one transaction; only its own message may precede the marker.
    /// </summary>
    public async Task AssertHearsOnlyItsOwnAudienceAsync(NotifyTestClient client, string own, string foreign)
    {
        var marker = Markers.NewId();
        await _postgres.NotifyManyAsync(Channel, [
            Markers.Message(foreign, "for-foreign"),
            Markers.Message(own, "for-own"),
            Markers.Payload(own, marker),
        ], TestContext.Current.CancellationToken);

        Assert.Equal(["for-own"], (await client.ReceiveUntilMarkerAsync(marker)).Select(e => e.PayloadString("msg")));
    }

    /// <summary>
    /// Sends 2,000 messages of 7 KB (14 MB) to <paramref name="audience"/> in batches of 50, each received by
    /// <paramref name="fast"/> before the next is sent, and proves it got all of them, in order, and stayed
    /// connected. A burst of all of them at once would outrun any queue; batched, only a client that does not
    /// read falls behind.
    /// </summary>
    public async Task AssertFastClientGetsEveryMessageOfAFloodAsync(NotifyTestClient fast, string audience)
    {
        const int batches = 40;
        const int batchSize = 50;
        var padding = new string('p', 7_000);
        var received = new List<Envelope>();
        for (var batch = 0; batch < batches; batch++)
        {
            var payloads = Enumerable.Range(batch * batchSize + 1, batchSize).Select(i => audience + ",{\"i\":" + i + ",\"pad\":\"" + padding + "\"}");
            await _postgres.NotifyManyAsync(Channel, [.. payloads], TestContext.Current.CancellationToken);
            received.AddRange(await fast.ReceiveAsync(batchSize));
        }

        var marker = Markers.NewId();
        await _postgres.NotifyAsync(Channel, Markers.Payload(audience, marker), TestContext.Current.CancellationToken);
        Assert.Empty(await fast.ReceiveUntilMarkerAsync(marker));
        Assert.Equal(Enumerable.Range(1, batches * batchSize).Select(i => (long?)i), received.Select(e => e.PayloadNumber("i")));
        Assert.True(fast.IsConnected);
    }

    /// <summary>Adds a client connected elsewhere, so that it is disposed with the host.</summary>
    public void Track(NotifyTestClient client)
    {
        lock (_lock)
        {
            _clients.Add(client);
        }
    }

    public HttpClient CreateHttpClient() => new() { BaseAddress = BaseUri };

    /// <summary>Stops the host as a deployment would (graceful shutdown). Returns how long it took.</summary>
    public async Task<TimeSpan> StopAsync()
    {
        var started = TimeProvider.System.GetTimestamp();
        _stopped = true;
        await _app.StopAsync(CancellationToken.None).OrTimeout(TimeSpan.FromSeconds(60));
        return TimeProvider.System.GetElapsedTime(started);
    }

    public async ValueTask DisposeAsync()
    {
        NotifyTestClient[] clients;
        lock (_lock)
        {
            clients = [.. _clients];
        }

        await Task.WhenAll(clients.Select(client => client.DisposeAsync().AsTask()));
        if (!_stopped)
        {
            await _app.StopAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(40), CancellationToken.None);
        }

        await _app.DisposeAsync();
        Logs.Dispose();
    }

    /// <summary>Disconnects a client of the host's channel and <paramref name="audience"/>; returns once the server let go of it.</summary>
    public async Task DisconnectAsync(NotifyTestClient client, string audience)
    {
        var route = new Route(Channel, audience);
        int expected;
        lock (_lock)
        {
            expected = _subscribersPerRoute[route] -= 1;
        }

        await client.DisposeAsync();
        await Task.Run(
            async () =>
            {
                while (Router.SubscriberCount(route) > expected)
                {
                    await Task.Delay(20, TestContext.Current.CancellationToken);
                }
            },
            TestContext.Current.CancellationToken).OrTimeout();
    }

    public async Task WaitUntilRegisteredAsync(string channel, IEnumerable<string> audiences)
    {
        foreach (var audience in audiences)
        {
            var route = new Route(channel, audience);
            int expected;
            lock (_lock)
            {
                expected = _subscribersPerRoute[route] = _subscribersPerRoute.GetValueOrDefault(route) + 1;
            }

            await Router.WaitForSubscribersAsync(route, expected, TestContext.Current.CancellationToken).OrTimeout();
        }
    }

    private static ValueTask<IReadOnlyList<string>> ResolveAudiencesFromHeader(HttpContext context) =>
        context.Request.Headers.TryGetValue(AudienceHeader, out var header)
            ? new(header.ToString().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            : new([PgNotifyHubOptions.DefaultAudience]);
}
