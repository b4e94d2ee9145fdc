using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Threading.Channels;

namespace PgNotifyHub.IntegrationTests.Infrastructure;

/// <summary>How a raw WebSocket ended: the close frame's status and reason, or the error that ended it.</summary>
public sealed record WebSocketCloseResult(WebSocketCloseStatus? Status, string? Description, Exception? Error)
{
    public override string ToString() => Error is null ? $"close frame {Status} '{Description}'" : $"{Error.GetType().Name}: {Error.Message}";
}

/// <summary>
/// A raw <see cref="ClientWebSocket"/> whose receive loop queues every text frame; it answers a server's
/// close frame and records its status. It can also be made to not read at all, to play a slow consumer.
/// </summary>
public sealed class WebSocketTestClient : NotifyTestClient
{
    private readonly ClientWebSocket _socket;
    private readonly HttpMessageInvoker? _invoker;
    private readonly TaskCompletionSource<WebSocketCloseResult> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Channel<TopicReply> _topicAnswers = Channel.CreateUnbounded<TopicReply>();
    private Task? _receiveLoop;
    private int _binaryMessages;

    private WebSocketTestClient(ClientWebSocket socket, HttpMessageInvoker? invoker, string? audienceHeader)
        : base(Transport.WebSocket, audienceHeader)
    {
        _socket = socket;
        _invoker = invoker;
    }

    public ClientWebSocket Socket => _socket;

    /// <summary>Completes when the server's close frame arrives or the connection fails.</summary>
    public Task<WebSocketCloseResult> Closed => _closed.Task;

    public int BinaryMessagesReceived => Volatile.Read(ref _binaryMessages);

    public override bool IsConnected => _socket.State == WebSocketState.Open && !_closed.Task.IsCompleted;

    protected override string CloseDescription => _closed.Task.IsCompleted ? _closed.Task.Result.ToString() : _socket.State.ToString();

    /// <param name="baseUri">The server, http://host:port.</param>
    /// <param name="audienceHeader">The X-Audience header, or null to send none.</param>
    /// <param name="startReceiving">False to not read until <see cref="StartReceiving"/>: a slow consumer.</param>
    /// <param name="receiveBufferSize">A small socket receive buffer makes a slow consumer's TCP window fill quickly.</param>
    /// <param name="path">The endpoint: the raw one, or <c>/hub</c> to speak SignalR's protocol by hand.</param>
    /// <param name="origin">The Origin header a browser page would send; null to send none, as non-browser clients do.</param>
    /// <param name="accessToken">A bearer token for the Authorization header; null to send none.</param>
    /// <param name="subprotocol">A WebSocket subprotocol to ask for, e.g. <c>pgnotifyhub.v1</c> for the sequenced envelope.</param>
    /// <param name="host">The Host header, as a browser sends it for the name in the page's URL; null for the server's address.</param>
    /// <param name="cancellationToken">Cancels the connect.</param>
    public static async Task<WebSocketTestClient> ConnectAsync(
        Uri baseUri,
        string? audienceHeader,
        bool startReceiving = true,
        int? receiveBufferSize = null,
        string path = "/ws",
        string? origin = null,
        string? accessToken = null,
        string? subprotocol = null,
        string? host = null,
        CancellationToken cancellationToken = default)
    {
        var socket = CreateSocket(audienceHeader, origin, accessToken, host);
        if (subprotocol is not null)
        {
            socket.Options.AddSubProtocol(subprotocol);
        }

        var invoker = receiveBufferSize is { } size ? new HttpMessageInvoker(SmallBufferHandler(size)) : null;
        try
        {
            if (invoker is null)
            {
                await socket.ConnectAsync(WebSocketUri(baseUri, path), cancellationToken);
            }
            else
            {
                await socket.ConnectAsync(WebSocketUri(baseUri, path), invoker, cancellationToken);
            }
        }
        catch
        {
            socket.Dispose();
            invoker?.Dispose();
            throw;
        }

        var client = new WebSocketTestClient(socket, invoker, audienceHeader);
        if (startReceiving)
        {
            client.StartReceiving();
        }

        return client;
    }

    /// <summary>Connects expecting the server to refuse the upgrade; returns the HTTP status it answered with.</summary>
    public static Task<HttpStatusCode> ConnectExpectingRefusalAsync(Uri baseUri, string? audienceHeader, CancellationToken cancellationToken) =>
        ConnectExpectingRefusalAsync(baseUri, audienceHeader, origin: null, cancellationToken);

    /// <summary>Connects from a browser page of <paramref name="origin"/>, expecting a refusal; returns the HTTP status.</summary>
    public static Task<HttpStatusCode> ConnectExpectingRefusalAsync(Uri baseUri, string? audienceHeader, string? origin, CancellationToken cancellationToken) =>
        RefusalStatusAsync(baseUri, "/ws", audienceHeader, origin, accessToken: null, subprotocol: null, host: null, cancellationToken);

    /// <summary>
    /// Connects to <paramref name="path"/> as a page at <paramref name="origin"/> whose URL names <paramref name="host"/>
    /// (the Host header) would, expecting a refusal; returns the HTTP status.
    /// </summary>
    public static Task<HttpStatusCode> ConnectAsPageExpectingRefusalAsync(Uri baseUri, string path, string origin, string host, CancellationToken cancellationToken) =>
        RefusalStatusAsync(baseUri, path, audienceHeader: null, origin, accessToken: null, subprotocol: null, host, cancellationToken);

    /// <summary>
    /// Connects to <paramref name="path"/> (which may carry a query string) with a bearer token in the Authorization
    /// header (null: none), expecting a refusal; returns the HTTP status.
    /// </summary>
    public static Task<HttpStatusCode> ConnectWithTokenExpectingRefusalAsync(Uri baseUri, string path, string? accessToken, CancellationToken cancellationToken) =>
        RefusalStatusAsync(baseUri, path, audienceHeader: null, origin: null, accessToken, subprotocol: null, host: null, cancellationToken);

    /// <summary>Connects to <paramref name="path"/> asking for <paramref name="subprotocol"/>, expecting a refusal; returns the HTTP status.</summary>
    public static Task<HttpStatusCode> ConnectWithSubprotocolExpectingRefusalAsync(Uri baseUri, string path, string subprotocol, CancellationToken cancellationToken) =>
        RefusalStatusAsync(baseUri, path, audienceHeader: null, origin: null, accessToken: null, subprotocol, host: null, cancellationToken);

    private static async Task<HttpStatusCode> RefusalStatusAsync(
        Uri baseUri, string path, string? audienceHeader, string? origin, string? accessToken, string? subprotocol, string? host, CancellationToken cancellationToken)
    {
        using var socket = CreateSocket(audienceHeader, origin, accessToken, host);
        socket.Options.CollectHttpResponseDetails = true;
        if (subprotocol is not null)
        {
            socket.Options.AddSubProtocol(subprotocol);
        }

        try
        {
            await socket.ConnectAsync(WebSocketUri(baseUri, path), cancellationToken);
        }
        catch (WebSocketException)
        {
            return socket.HttpStatusCode;
        }

        throw new InvalidOperationException("The WebSocket connection was accepted, but a refusal was expected.");
    }

    public void StartReceiving() => _receiveLoop ??= Task.Run(ReceiveLoopAsync);

    /// <summary>The next answer to a topic request.</summary>
    private Task<TopicReply> ReceiveTopicAnswerAsync() =>
        _topicAnswers.Reader.ReadAsync(TestContext.Current.CancellationToken).AsTask().OrTimeout();

    // Answers come back one per request, in the order sent.
    public override async Task<TopicReply> RequestAsync(string method, string request)
    {
        await SendAsync(request, TestContext.Current.CancellationToken);
        return await ReceiveTopicAnswerAsync();
    }

    public Task SendAsync(string text, CancellationToken cancellationToken) =>
        _socket.SendAsync(Encoding.UTF8.GetBytes(text).AsMemory(), WebSocketMessageType.Text, endOfMessage: true, cancellationToken).AsTask();

    public Task SendAsync(ReadOnlyMemory<byte> bytes, WebSocketMessageType type, bool endOfMessage, CancellationToken cancellationToken) =>
        _socket.SendAsync(bytes, type, endOfMessage, cancellationToken).AsTask();

    public override async ValueTask DisposeAsync()
    {
        try
        {
            if (_receiveLoop is not null && _socket.State == WebSocketState.Open)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "test done", timeout.Token);
                await _receiveLoop.WaitAsync(timeout.Token);
            }
        }
        catch (Exception exception) when (exception is WebSocketException or OperationCanceledException or TimeoutException)
        {
            // Cleanup only: the test has its result already.
        }
        finally
        {
            _socket.Abort();
            _socket.Dispose();
            _invoker?.Dispose();
        }
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        try
        {
            while (true)
            {
                var result = await _socket.ReceiveAsync(new ArraySegment<byte>(buffer), CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    _closed.TrySetResult(new WebSocketCloseResult(result.CloseStatus, result.CloseStatusDescription, null));
                    if (_socket.State == WebSocketState.CloseReceived)
                    {
                        await _socket.CloseOutputAsync(result.CloseStatus ?? WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                    }

                    return;
                }

                message.Write(buffer, 0, result.Count);
                if (result.EndOfMessage)
                {
                    if (result.MessageType == WebSocketMessageType.Text)
                    {
                        var text = Encoding.UTF8.GetString(message.GetBuffer(), 0, (int)message.Length);
                        if (!IsControlFrame(text))
                        {
                            OnMessage(text);
                        }
                    }
                    else
                    {
                        Interlocked.Increment(ref _binaryMessages);
                    }

                    message.SetLength(0);
                }
            }
        }
        catch (Exception exception)
        {
            _closed.TrySetResult(new WebSocketCloseResult(null, null, exception));
        }
        finally
        {
            OnConnectionEnded();
        }
    }

    // The sequenced subprotocol's control frames; envelopes never have a "type", and SignalR frames spoken by hand
    // (the socket may be connected to the hub) are not JSON documents.
    private bool IsControlFrame(string text)
    {
        if (!text.StartsWith("{\"type\":\"", StringComparison.Ordinal))
        {
            return false;
        }

        using var document = System.Text.Json.JsonDocument.Parse(text);
        var root = document.RootElement;
        switch (root.GetProperty("type").GetString())
        {
            case "resync" when root.TryGetProperty("audience", out var audience):
                OnTopicResync(new TopicResync(root.GetProperty("reason").GetString()!, root.GetProperty("stream").GetString()!, root.GetProperty("channel").GetString()!, audience.GetString()!));
                break;
            case "resync":
                OnResync(root.GetProperty("reason").GetString()!, root.GetProperty("stream").GetString()!);
                break;
            case "subscribed" or "unsubscribed" or "refused":
                _topicAnswers.Writer.TryWrite(TopicReply.Parse(root));
                break;
            case "position":
                OnPosition(System.Text.Json.JsonSerializer.Serialize(new { stream = root.GetProperty("stream"), positions = root.GetProperty("positions"), routeSet = root.GetProperty("routeSet") }));
                break;
            default:
                throw new FormatException("Unknown control frame: " + text);
        }

        return true;
    }

    private static ClientWebSocket CreateSocket(string? audienceHeader, string? origin, string? accessToken, string? host)
    {
        var socket = new ClientWebSocket();
        if (host is not null)
        {
            socket.Options.SetRequestHeader("Host", host);
        }

        if (accessToken is not null)
        {
            socket.Options.SetRequestHeader("Authorization", "Bearer " + accessToken);
        }

        if (audienceHeader is not null)
        {
            socket.Options.SetRequestHeader("X-Audience", audienceHeader);
        }

        if (origin is not null)
        {
            socket.Options.SetRequestHeader("Origin", origin);
        }

        return socket;
    }

    private static Uri WebSocketUri(Uri baseUri, string path) => new UriBuilder(new Uri(baseUri, path)) { Scheme = "ws" }.Uri;

    // The receive buffer must be set before connecting: it caps the TCP window the client advertises.
    internal static SocketsHttpHandler SmallBufferHandler(int receiveBufferSize) => new()
    {
        ConnectCallback = async (context, cancellationToken) =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)
            {
                NoDelay = true,
                ReceiveBufferSize = receiveBufferSize,
            };
            try
            {
                await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    };
}
