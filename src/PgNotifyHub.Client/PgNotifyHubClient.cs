using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PgNotifyHub.Client.Internal;

namespace PgNotifyHub.Client;

/// <summary>
/// A client of a PgNotifyHub server's SignalR hub. It receives every notification of the connection's audiences,
/// reconnects for as long as it takes, resumes where it left off so the server replays what was missed, passes each
/// message on once and in order, and raises <see cref="Resync"/> when messages may have been lost.
/// </summary>
/// <remarks>
/// <para>
/// Each connection is a new SignalR <see cref="HubConnection"/> whose URL carries the position reached so far (the query
/// parameter <c>resume</c>): SignalR's own automatic reconnect keeps the URL it started with, so it could not resume.
/// </para>
/// <para>
/// The events are raised one at a time, in the order the server sent what they report, and the next waits until every
/// handler of the current one has completed; a slow handler therefore slows the connection down, and a server that finds
/// the client too slow closes the connection, after which the client resumes. An exception thrown by a handler is logged
/// and does not stop the client; the message counts as passed on.
/// </para>
/// </remarks>
public sealed class PgNotifyHubClient : IAsyncDisposable
{
    private readonly Uri _hubUrl;
    private readonly string _loggedUrl;
    private readonly Func<CancellationToken, ValueTask<string?>>? _accessTokenProvider;
    private readonly Action<Microsoft.AspNetCore.Http.Connections.Client.HttpConnectionOptions>? _configureHttpConnection;
    private readonly ILoggerFactory? _loggerFactory;
    private readonly ILogger _logger;
    private readonly TimeSpan _reconnectDelayMin;
    private readonly TimeSpan _reconnectDelayMax;
    private readonly ReconnectBackoff _backoff;
    private readonly StreamPosition _position = new();
    private readonly ClientTopics _topics = new();
    private readonly DeepJsonHubProtocol _protocol = new();
    // Serialises StartAsync, StopAsync and DisposeAsync.
    private readonly SemaphoreSlim _lifecycle = new(1, 1);
    // Held while an event is raised, so handlers never run concurrently, whichever connection or loop raises them.
    private readonly SemaphoreSlim _dispatch = new(1, 1);
    private Task? _run;
    private CancellationTokenSource? _stopping;
    private volatile HubConnectionState _state = HubConnectionState.Disconnected;
    private bool _everConnected;
    private int _failedAttempts;
    private bool _disposed;
    // The established connection, which topic requests go through; null between connections.
    private volatile HubConnection? _connection;

    /// <summary>Creates a client of the hub at <paramref name="hubUrl"/>, with the default options and no access token.</summary>
    /// <param name="hubUrl">The hub's absolute http or https URL, e.g. <c>https://example.com/hub</c>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="hubUrl"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="hubUrl"/> is not an absolute http or https URL.</exception>
    public PgNotifyHubClient(Uri hubUrl)
        : this(hubUrl, new PgNotifyHubClientOptions())
    {
    }

    /// <summary>Creates a client of the hub at <paramref name="hubUrl"/>. It connects when <see cref="StartAsync"/> is called.</summary>
    /// <param name="hubUrl">The hub's absolute http or https URL, e.g. <c>https://example.com/hub</c>.</param>
    /// <param name="options">How to connect; read now, so later changes do not apply.</param>
    /// <exception cref="ArgumentNullException"><paramref name="hubUrl"/> or <paramref name="options"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="hubUrl"/> is not an absolute http or https URL.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A reconnect delay of <paramref name="options"/> is out of range; the message names it.</exception>
    public PgNotifyHubClient(Uri hubUrl, PgNotifyHubClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(hubUrl);
        ArgumentNullException.ThrowIfNull(options);
        if (!hubUrl.IsAbsoluteUri || (hubUrl.Scheme != Uri.UriSchemeHttp && hubUrl.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException($"The hub URL must be an absolute http or https URL, e.g. https://example.com/hub, not '{hubUrl}'.", nameof(hubUrl));
        }

        if (options.ReconnectDelayMin <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.ReconnectDelayMin, "PgNotifyHubClientOptions.ReconnectDelayMin must be positive.");
        }

        if (options.ReconnectDelayMax < options.ReconnectDelayMin)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.ReconnectDelayMax, $"PgNotifyHubClientOptions.ReconnectDelayMax must be at least ReconnectDelayMin ({options.ReconnectDelayMin}).");
        }

        _hubUrl = hubUrl;
        // Without the query string, which may hold an access token.
        _loggedUrl = hubUrl.GetLeftPart(UriPartial.Path);
        _accessTokenProvider = options.AccessTokenProvider;
        _configureHttpConnection = options.ConfigureHttpConnection;
        _loggerFactory = options.LoggerFactory;
        _logger = options.LoggerFactory?.CreateLogger<PgNotifyHubClient>() ?? NullLogger<PgNotifyHubClient>.Instance;
        _reconnectDelayMin = options.ReconnectDelayMin;
        _reconnectDelayMax = options.ReconnectDelayMax;
        _backoff = new ReconnectBackoff(options.ReconnectDelayMin, options.ReconnectDelayMax);
    }

    /// <summary>
    /// A notification arrived. Each is raised once, in the server's order per channel and audience, also when it was
    /// replayed after a reconnect.
    /// </summary>
    public event Func<PgNotifyHubMessage, Task>? Received;

    /// <summary>
    /// Messages may have been lost: reload what the application shows, then apply the messages that follow. Raised before
    /// any message it concerns. See <see cref="PgNotifyHubResync.Reason"/> for the reasons.
    /// </summary>
    public event Func<PgNotifyHubResync, Task>? Resync;

    /// <summary>A connection was established; raised before any message it carries.</summary>
    public event Func<PgNotifyHubConnectedEventArgs, Task>? Connected;

    /// <summary>
    /// A connection was lost, or an attempt to connect failed: the client tries again after
    /// <see cref="PgNotifyHubReconnectingEventArgs.RetryDelay"/>. It never gives up; <see cref="StopAsync"/> stops it.
    /// </summary>
    public event Func<PgNotifyHubReconnectingEventArgs, Task>? Reconnecting;

    /// <summary>The hub's URL, as given to the constructor.</summary>
    public Uri HubUrl => _hubUrl;

    /// <summary>
    /// <see cref="HubConnectionState.Disconnected"/> before <see cref="StartAsync"/> and after <see cref="StopAsync"/>;
    /// <see cref="HubConnectionState.Connecting"/> until the first connection is established;
    /// <see cref="HubConnectionState.Connected"/>; <see cref="HubConnectionState.Reconnecting"/> after a connection was
    /// lost, until the next one is established.
    /// </summary>
    public HubConnectionState State => _state;

    /// <summary>
    /// Subscribes to a topic: an audience the server's topic policy allows this client, on <paramref name="channel"/> or
    /// the endpoint's first. Kept across connections: each new one asks for it again from where the client left it off,
    /// so the server authorizes it again and replays what was missed, or raises a <see cref="Resync"/> for that topic
    /// alone (<see cref="PgNotifyHubResync.Audience"/>), or <see cref="PgNotifyHubResync.TopicRefused"/> when it is
    /// refused then. Its messages are raised by <see cref="Received"/> like the others, once each, in order.
    /// </summary>
    /// <param name="audience">The topic's audience.</param>
    /// <param name="channel">One of the endpoint's channels; <see langword="null"/> for its first.</param>
    /// <param name="cancellationToken">Gives up waiting for the answer; the topic is still asked for until <see cref="UnsubscribeAsync"/>.</param>
    /// <returns>Where the topic stands, once the server answered: when connected, or else on the next connection.</returns>
    /// <exception cref="ArgumentException"><paramref name="audience"/> is <see langword="null"/> or empty, or <paramref name="channel"/> is empty.</exception>
    /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
    /// <exception cref="PgNotifyHubTopicRefusedException">The server refused it; the topic is forgotten.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled, or <see cref="UnsubscribeAsync"/> called before the answer.</exception>
    public async Task<PgNotifyHubTopicPosition> SubscribeAsync(string audience, string? channel = null, CancellationToken cancellationToken = default)
    {
        CheckTopic(audience, channel);
        var (topic, answered) = _topics.Want(audience, channel);
        if (_connection is { } connection)
        {
            _ = SubscribeOnAsync(connection, topic);
        }

        return await answered.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Leaves a topic: it is no longer asked for, and nothing of it is raised once the server answered. When the client
    /// is not connected it completes at once, since the next connection does not ask for the topic.
    /// </summary>
    /// <param name="audience">The topic's audience.</param>
    /// <param name="channel">The channel it was subscribed on; <see langword="null"/> for the endpoint's first.</param>
    /// <param name="cancellationToken">Gives up waiting for the answer.</param>
    /// <returns>A task that completes once the server answered.</returns>
    /// <exception cref="ArgumentException"><paramref name="audience"/> is <see langword="null"/> or empty, or <paramref name="channel"/> is empty.</exception>
    /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
    /// <exception cref="PgNotifyHubTopicRefusedException">The server refused, e.g. <c>not_allowed</c> for an audience the connection was given.</exception>
    public async Task UnsubscribeAsync(string audience, string? channel = null, CancellationToken cancellationToken = default)
    {
        CheckTopic(audience, channel);
        _topics.Drop(audience, channel);
        if (_connection is not { } connection)
        {
            return;
        }

        var request = new Dictionary<string, object> { ["audience"] = audience };
        if (channel is not null)
        {
            request["channel"] = channel;
        }

        try
        {
            await connection.InvokeAsync<JsonElement>(PgNotifyHubMethods.Unsubscribe, request, cancellationToken);
        }
        catch (HubException refused) when (RefusalOf(refused) is { } reason)
        {
            throw new PgNotifyHubTopicRefusedException(reason, audience);
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            // Lost with its connection: the next one does not ask for the topic, so it is left all the same.
        }
    }

    /// <summary>
    /// Connects, and keeps connecting after every loss until <see cref="StopAsync"/>. Completes once the first connection
    /// is established; attempts that fail meanwhile raise <see cref="Reconnecting"/> and are retried with a growing delay,
    /// for as long as it takes. The first connection has no position to resume from, so it receives what is sent once
    /// the server has registered it, a moment after this returns; every later connection resumes. After
    /// <see cref="StopAsync"/> it may be called again, and then resumes where the client left off. An exception thrown by
    /// <see cref="PgNotifyHubClientOptions.ConfigureHttpConnection"/> is thrown from here.
    /// </summary>
    /// <param name="cancellationToken">Gives up waiting for the first connection, and stops the client.</param>
    /// <returns>A task that completes once connected.</returns>
    /// <exception cref="InvalidOperationException">The client is started already.</exception>
    /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
    /// <exception cref="OperationCanceledException">
    /// <paramref name="cancellationToken"/> was cancelled, or <see cref="StopAsync"/> was called, before a connection was
    /// established.
    /// </exception>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task run;
        await _lifecycle.WaitAsync(cancellationToken);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_run is { IsCompleted: false })
            {
                throw new InvalidOperationException("The client is started already; call StopAsync before starting it again.");
            }

            _stopping?.Dispose();
            _stopping = new CancellationTokenSource();
            _state = HubConnectionState.Connecting;
            var stopping = _stopping.Token;
            run = _run = Task.Run(() => RunAsync(connected, stopping), CancellationToken.None);
        }
        finally
        {
            _lifecycle.Release();
        }

        try
        {
            await connected.Task.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await StopCoreAsync(run, CancellationToken.None);
            throw;
        }
    }

    /// <summary>
    /// Stops the client: closes the connection, or ends the wait between attempts. Does nothing when it is not started.
    /// The position reached is kept, so a later <see cref="StartAsync"/> resumes from it.
    /// </summary>
    /// <param name="cancellationToken">Gives up waiting for the connection to close; it then still closes in the background.</param>
    /// <returns>A task that completes once the client has stopped.</returns>
    public Task StopAsync(CancellationToken cancellationToken = default) => StopCoreAsync(expectedRun: null, cancellationToken);

    /// <summary>Stops the client (see <see cref="StopAsync"/>); it cannot be started again.</summary>
    /// <returns>A task that completes once the client has stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        await _lifecycle.WaitAsync(CancellationToken.None);
        try
        {
            _disposed = true;
        }
        finally
        {
            _lifecycle.Release();
        }

        await StopAsync(CancellationToken.None);
    }

    private void CheckTopic(string audience, string? channel)
    {
        ArgumentException.ThrowIfNullOrEmpty(audience);
        if (channel is not null)
        {
            ArgumentException.ThrowIfNullOrEmpty(channel);
        }

        ObjectDisposedException.ThrowIf(_disposed, this);
    }

    // The server's HubException message is the reason; SignalR puts its own words before it.
    private static string? RefusalOf(HubException exception)
    {
        const string Marker = "HubException: ";
        var at = exception.Message.LastIndexOf(Marker, StringComparison.Ordinal);
        return at < 0 ? null : exception.Message[(at + Marker.Length)..];
    }

    // Runs apart from the caller: a call lost with its connection is made again on the next one, and only the server's
    // refusal ends a topic.
    private async Task SubscribeOnAsync(HubConnection connection, ClientTopics.Topic topic)
    {
        try
        {
            var answer = await connection.InvokeAsync<TopicAnswer>(PgNotifyHubMethods.Subscribe, _topics.Request(topic), CancellationToken.None);
            _topics.Subscribed(topic, answer);
        }
        catch (HubException refused) when (RefusalOf(refused) is { } reason)
        {
            Log.TopicRefused(_logger, topic.Audience, reason);
            if (!_topics.Refused(topic, reason) && !_disposed)
            {
                await DispatchAsync(() => RaiseResyncAsync(new PgNotifyHubResync(PgNotifyHubResync.TopicRefused, stream: null, topic.Channel ?? topic.Asked, topic.Audience)), CancellationToken.None);
            }
        }
        catch (Exception)
        {
            // The connection was lost meanwhile: the next one asks for the topic again.
        }
    }

    // Stops the current run, or only expectedRun if given (a start that gave up must not stop a later one).
    private async Task StopCoreAsync(Task? expectedRun, CancellationToken cancellationToken)
    {
        await _lifecycle.WaitAsync(cancellationToken);
        try
        {
            var run = _run;
            if (run is null || (expectedRun is not null && run != expectedRun))
            {
                return;
            }

            await _stopping!.CancelAsync();
            try
            {
                await run.WaitAsync(cancellationToken);
            }
            finally
            {
                if (run.IsCompleted)
                {
                    _run = null;
                    _stopping.Dispose();
                    _stopping = null;
                }
            }
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    private async Task RunAsync(TaskCompletionSource connected, CancellationToken stopping)
    {
        try
        {
            var delay = TimeSpan.Zero;
            while (true)
            {
                await Task.Delay(delay, stopping);
                delay = await ConnectOnceAsync(connected, stopping);
            }
        }
        catch (Exception) when (stopping.IsCancellationRequested)
        {
            // Stopping is not an error, wherever it interrupted the loop.
        }
        catch (Exception exception)
        {
            // A bug, such as a ConfigureHttpConnection callback that throws: StartAsync reports it, or else the log.
            if (!connected.TrySetException(exception))
            {
                Log.Failed(_logger, exception);
            }
        }
        finally
        {
            _state = HubConnectionState.Disconnected;
            connected.TrySetCanceled(stopping);
            Log.Stopped(_logger);
        }
    }

    // One connection, from its attempt until it is lost; returns the delay before the next attempt.
    private async Task<TimeSpan> ConnectOnceAsync(TaskCompletionSource connected, CancellationToken stopping)
    {
        var (number, resume) = _position.BeginConnection();
        // Only a connection lost before the server said where it stood leaves nothing to resume from: what was sent to it
        // meanwhile cannot be replayed.
        var attempt = new Attempt(number, isResuming: resume is not null, unknownPosition: _everConnected && resume is null, stopping);
        await using var connection = CreateConnection(resume, stopping);
        var closed = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.Closed += error =>
        {
            closed.TrySetResult(error);
            return Task.CompletedTask;
        };
        connection.On<Envelope>("notify", envelope => OnNotifyAsync(attempt, envelope));
        connection.On<ResyncNotice>("resync", notice => OnResyncAsync(attempt, notice));
        connection.On<PositionNotice>("position", notice => _position.Positioned(notice, attempt.Number));

        try
        {
            await connection.StartAsync(stopping);
        }
        catch (Exception exception) when (!stopping.IsCancellationRequested)
        {
            _position.EndConnection(attempt.Number);
            var retryDelay = _backoff.NextDelay();
            if (_failedAttempts++ == 0)
            {
                Log.CannotConnect(_logger, exception, _loggedUrl, _reconnectDelayMin, _reconnectDelayMax);
            }
            else
            {
                Log.ConnectRetryFailed(_logger, _failedAttempts, _loggedUrl, exception.Message, retryDelay);
            }

            await RaiseAsync(Reconnecting, new PgNotifyHubReconnectingEventArgs(exception, retryDelay, connectionLost: false), nameof(Reconnecting), stopping);
            return retryDelay;
        }

        _backoff.Connected();
        _everConnected = true;
        _state = HubConnectionState.Connected;
        if (_failedAttempts > 0)
        {
            Log.Recovered(_logger, _loggedUrl, _failedAttempts);
            _failedAttempts = 0;
        }

        Log.Connected(_logger, _loggedUrl, attempt.IsResuming ? ", resuming" : "");
        connected.TrySetResult();
        await DispatchAsync(() => AnnounceAsync(attempt), stopping);
        _connection = connection;
        foreach (var topic in _topics.All())
        {
            _ = SubscribeOnAsync(connection, topic);
        }

        Exception? error;
        try
        {
            error = await closed.Task.WaitAsync(stopping);
        }
        catch (OperationCanceledException)
        {
            _connection = null;
            _position.EndConnection(attempt.Number);
            await connection.StopAsync(CancellationToken.None); // not cancelled: it only says goodbye to the server
            throw;
        }

        _connection = null;
        _position.EndConnection(attempt.Number);
        _state = HubConnectionState.Reconnecting;
        var delay = _backoff.NextDelay();
        Log.ConnectionLost(_logger, _loggedUrl, error?.Message ?? "closed by the server", delay);
        await RaiseAsync(Reconnecting, new PgNotifyHubReconnectingEventArgs(error, delay, connectionLost: true), nameof(Reconnecting), stopping);
        return delay;
    }

    private HubConnection CreateConnection(string? resume, CancellationToken stopping)
    {
        // The hub sends its position notice only to clients that pass resume, so until there is a position it is empty.
        var query = _hubUrl.Query.Length > 1 ? _hubUrl.Query[1..] + "&" : "";
        var url = new UriBuilder(_hubUrl) { Query = query + "resume=" + Uri.EscapeDataString(resume ?? "") }.Uri;
        var builder = new HubConnectionBuilder().WithUrl(url, options =>
        {
            _configureHttpConnection?.Invoke(options);
            if (_accessTokenProvider is { } provider)
            {
                // SignalR asks for the token on every request that opens this connection (negotiate, then the transport).
                options.AccessTokenProvider = () => provider(stopping).AsTask();
            }
        });
        builder.Services.RemoveAll<IHubProtocol>();
        builder.Services.AddSingleton<IHubProtocol>(_protocol);
        if (_loggerFactory is not null)
        {
            builder.Services.AddSingleton(_loggerFactory);
        }

        return builder.Build();
    }

    private async Task OnNotifyAsync(Attempt attempt, Envelope envelope)
    {
        if (!await EnterDispatchAsync(attempt.Stopping))
        {
            return;
        }

        try
        {
            // A topic keeps its own place, with its stream: it is resumed by subscribing again, not through resume.
            var isCurrent = _position.IsCurrent(attempt.Number);
            var topicAccepted = _topics.Accept(envelope, out var isTopic);
            var routeAccepted = _position.Accept(envelope, attempt.Number, out var unannouncedStream);
            if (!isCurrent || !(isTopic ? topicAccepted : routeAccepted))
            {
                return; // replayed after a reconnect and passed on already, or from a connection that has ended
            }

            await AnnounceAsync(attempt);
            if (unannouncedStream)
            {
                // The server announces every new stream with a resync or a position notice; one without means messages
                // may have been lost all the same.
                await RaiseResyncAsync(new PgNotifyHubResync(PgNotifyHubResync.StreamChanged, envelope.Stream));
            }

            await InvokeAsync(Received, new PgNotifyHubMessage(envelope.Channel, envelope.Audience, envelope.Id, envelope.Seq, envelope.Stream, envelope.Payload), nameof(Received));
        }
        finally
        {
            _dispatch.Release();
        }
    }

    private async Task OnResyncAsync(Attempt attempt, ResyncNotice notice)
    {
        if (!await EnterDispatchAsync(attempt.Stopping))
        {
            return;
        }

        try
        {
            // One topic alone, as it was asked for again: the answer that follows says where it stands now.
            if (notice.Audience is not null ? _position.IsCurrent(attempt.Number) : _position.Resynced(notice, attempt.Number))
            {
                await AnnounceAsync(attempt);
                await RaiseResyncAsync(new PgNotifyHubResync(notice.Reason, notice.Stream, notice.Channel, notice.Audience));
            }
        }
        finally
        {
            _dispatch.Release();
        }
    }

    // Raises Connected, and the resync of a connection that had nothing to resume from, before anything else the
    // connection carries: whichever comes first, its first message or the end of its start, does it. Holds the dispatch.
    private async Task AnnounceAsync(Attempt attempt)
    {
        if (attempt.Announced)
        {
            return;
        }

        attempt.Announced = true;
        await InvokeAsync(Connected, new PgNotifyHubConnectedEventArgs(attempt.IsResuming), nameof(Connected));
        if (attempt.UnknownPosition)
        {
            await RaiseResyncAsync(new PgNotifyHubResync(PgNotifyHubResync.UnknownPosition, stream: null));
        }
    }

    private Task RaiseResyncAsync(PgNotifyHubResync resync)
    {
        Log.Resync(_logger, resync.Reason);
        return InvokeAsync(Resync, resync, nameof(Resync));
    }

    private Task RaiseAsync<T>(Func<T, Task>? handlers, T argument, string name, CancellationToken stopping) =>
        DispatchAsync(() => InvokeAsync(handlers, argument, name), stopping);

    private async Task DispatchAsync(Func<Task> raise, CancellationToken stopping)
    {
        await _dispatch.WaitAsync(stopping);
        try
        {
            await raise();
        }
        finally
        {
            _dispatch.Release();
        }
    }

    // False when the client stops meanwhile: a handler that stops the client holds the dispatch while it waits.
    private async Task<bool> EnterDispatchAsync(CancellationToken stopping)
    {
        try
        {
            await _dispatch.WaitAsync(stopping);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    // Each handler in turn, so that every one completes before the next event; one that throws does not stop the others.
    private async Task InvokeAsync<T>(Func<T, Task>? handlers, T argument, string name)
    {
        if (handlers is null)
        {
            return;
        }

        foreach (var handler in handlers.GetInvocationList())
        {
            try
            {
                await ((Func<T, Task>)handler)(argument);
            }
            catch (Exception exception)
            {
                Log.HandlerFailed(_logger, exception, name);
            }
        }
    }

    // One connection attempt: its number in the position's eyes, and what it announces when it is established.
    private sealed class Attempt(int number, bool isResuming, bool unknownPosition, CancellationToken stopping)
    {
        public int Number { get; } = number;

        public bool IsResuming { get; } = isResuming;

        public bool UnknownPosition { get; } = unknownPosition;

        public CancellationToken Stopping { get; } = stopping;

        // Changed only while holding the dispatch.
        public bool Announced { get; set; }
    }
}
