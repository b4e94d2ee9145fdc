using System.Buffers;
using System.Net.WebSockets;
using Microsoft.Extensions.Logging;
using PgNotifyHub.Diagnostics;
using PgNotifyHub.Sequencing;

namespace PgNotifyHub.Transports.WebSockets;

/// <summary>
/// One raw WebSocket: a bounded queue filled by the dispatcher and drained by the request that owns the
/// socket, which is its only writer. A socket of the sequenced subprotocol reads its client's text messages as topic
/// requests and queues their answers among its notifications; any other message from a client is read and discarded.
/// </summary>
internal sealed class WebSocketSink : INotificationSink, IDisposable
{
    public const string Transport = "websocket";

    // Client frames are read in pieces through a small buffer, and only a topic request is kept whole, in a buffer
    // rented while it is read. It cannot be shared between sockets, because the WebSocket validates the UTF-8 of text
    // frames in this buffer after unmasking them.
    private const int ReceiveBufferSize = 256;

    // From the range RFC 6455 leaves to applications (4000-4999), so a client can tell it from the protocol's own
    // codes and reconnect with fresh credentials instead of retrying with the expired ones.
    public const WebSocketCloseStatus AuthenticationExpiredStatus = (WebSocketCloseStatus)4001;

    /// <summary>Service Restart (RFC 6455 registry): sent to pgws-compatible sockets when messages may have been lost.</summary>
    public const WebSocketCloseStatus ResyncStatus = (WebSocketCloseStatus)1012;

    /// <summary>The subprotocol of the sequenced envelope and control frames.</summary>
    public const string SequencedSubprotocol = "pgnotifyhub.v1";

    // Ready-made frames: the notifications' own, shared with every socket, and the odd control frame.
    private readonly SendQueue<QueuedFrame> _queue;
    private readonly SlowConsumer _slowConsumer;
    // Aborts the socket once a close must not wait any longer for a client that stopped reading. Sends are not
    // given its token: a cancelable send takes the WebSocket's slow path (a registration and a task per frame).
    private readonly CancellationTokenSource _sendDeadline = new();
    private readonly TimeSpan _closeTimeout;
    private readonly int _maxClientMessageSize;
    private readonly string _connectionId;
    private readonly PgNotifyHubMetrics _metrics;
    private readonly ILogger _logger;
    private readonly bool _sequenced;
    private int _closeReason = (int)CloseReason.None;

    public WebSocketSink(
        IReadOnlyList<Route> routes,
        int capacity,
        PgNotifyHubSlowConsumerPolicy slowConsumerPolicy,
        bool sequenced,
        int maxClientMessageSize,
        TimeSpan closeTimeout,
        string connectionId,
        PgNotifyHubMetrics metrics,
        ILogger logger)
    {
        Routes = routes;
        _maxClientMessageSize = maxClientMessageSize;
        _closeTimeout = closeTimeout;
        _connectionId = connectionId;
        _metrics = metrics;
        _logger = logger;
        _sequenced = sequenced;
        _slowConsumer = new SlowConsumer(Transport, connectionId, capacity, metrics, logger);
        _queue = new SendQueue<QueuedFrame>(capacity, slowConsumerPolicy, static frame => frame.IsNotification, _slowConsumer);
    }

    private enum CloseReason
    {
        None,
        ClientClosed,
        ConnectionLost,
        SlowConsumer,
        MessageTooBig,
        ShuttingDown,
        AuthenticationExpired,
        Resync,
    }

    public IReadOnlyList<Route> Routes { get; }

    public int QueueDepth => _queue.Count;

    public void Post(SequencedNotification notification) =>
        Enqueue(new(_sequenced ? WebSocketFrames.Sequenced(notification) : WebSocketFrames.Pgws(notification), IsNotification: true));

    // A pgws page knows nothing of numbering: closing with 1012 (service restart) makes it reconnect and load afresh.
    public void Resync(ResyncNotice resync)
    {
        if (!_sequenced)
        {
            if (Stop(CloseReason.Resync))
            {
                _metrics.ClosedByServer(Transport, PgNotifyHubMetrics.Reasons.Resync);
            }

            return;
        }

        Enqueue(new(WebSocketFrames.Resync(resync), IsNotification: false));
    }

    public void Position(StreamPosition position)
    {
        if (_sequenced)
        {
            Enqueue(new(ControlFrame.Position(position), IsNotification: false));
        }
    }

    /// <summary>Queues the answer to a topic request; only a socket of the sequenced subprotocol makes them.</summary>
    public void Answer(TopicAnswer answer) => Enqueue(new(ControlFrame.Answer(answer), IsNotification: false));

    private void Enqueue(QueuedFrame frame)
    {
        if (!_queue.TryEnqueue(frame) && Stop(CloseReason.SlowConsumer))
        {
            _slowConsumer.Closing();
        }
    }

    /// <summary>Sends queued notifications until the client leaves, falls behind or the host stops; then closes.</summary>
    /// <param name="socket">The accepted WebSocket: it reads, answers pings and closes.</param>
    /// <param name="frames">The stream under it, which the notifications' ready-made frames are written to.</param>
    /// <param name="topics">Where the client's topic requests go; null for a pgws socket, whose messages are discarded.</param>
    /// <param name="stoppingToken">Signals the host's shutdown.</param>
    public async Task RunAsync(WebSocket socket, FrameBatchingStream frames, ConnectionTopics? topics, CancellationToken stoppingToken)
    {
        using var scope = ConnectionAdmission.BeginConnectionScope(_logger, Transport, _connectionId);
        using var onStopping = stoppingToken.UnsafeRegister(sink => ((WebSocketSink)sink!).Stop(CloseReason.ShuttingDown), this);
        using var onDeadline = _sendDeadline.Token.UnsafeRegister(stuck => ((WebSocket)stuck!).Abort(), socket);
        var receiving = ReceiveUntilClosedAsync(socket, topics);

        try
        {
            await SendQueuedAsync(frames);
            await CloseAsync(socket, receiving);
        }
        catch (Exception exception) when (exception is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
        {
            Log.WebSocketEnded(_logger, _connectionId, exception.Message);
        }
        finally
        {
            if (socket.State != WebSocketState.Closed)
            {
                socket.Abort();
            }

            await receiving;
            // Whatever ended the socket, what is still queued will never be sent.
            Stop(CloseReason.ConnectionLost);
            _queue.DiscardRemaining();
        }
    }

    // Each notification is already a complete text frame, shared by every socket: it is written as it is,
    // not copied through the WebSocket. What is queued together (the NOTIFYs of one transaction, a burst) goes
    // out as one batch. Stops at the first close reason: what is still queued is not worth delaying the close for.
    private async Task SendQueuedAsync(FrameBatchingStream frames)
    {
        var reader = _queue.Reader;
        while (CurrentReason == CloseReason.None && await reader.WaitToReadAsync())
        {
            var batch = reader.Count > 1;
            if (batch)
            {
                frames.BeginBatch();
            }

            var written = 0;
            while (CurrentReason == CloseReason.None && reader.TryRead(out var frame))
            {
                await frames.WriteAsync(frame.Bytes);
                written += frame.IsNotification ? 1 : 0;
            }

            if (batch)
            {
                await frames.EndBatchAsync();
            }

            _metrics.NotificationsDelivered(Transport, written);
        }
    }

    private async Task CloseAsync(WebSocket socket, Task receiving)
    {
        using var deadline = new CancellationTokenSource(_closeTimeout);
        switch (CurrentReason)
        {
            case CloseReason.ClientClosed when socket.State == WebSocketState.CloseReceived:
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, deadline.Token);
                break;
            case CloseReason.SlowConsumer:
                await socket.CloseOutputAsync(WebSocketCloseStatus.PolicyViolation, "send queue full: the client does not read fast enough", deadline.Token);
                await receiving.WaitAsync(deadline.Token);
                break;
            case CloseReason.MessageTooBig:
                await socket.CloseOutputAsync(WebSocketCloseStatus.MessageTooBig, $"client messages are limited to {_maxClientMessageSize} bytes", deadline.Token);
                await receiving.WaitAsync(deadline.Token);
                break;
            case CloseReason.ShuttingDown:
                await socket.CloseOutputAsync(WebSocketCloseStatus.EndpointUnavailable, "server shutting down", deadline.Token);
                await receiving.WaitAsync(deadline.Token);
                break;
            case CloseReason.Resync:
                await socket.CloseOutputAsync(ResyncStatus, "messages may have been lost: reconnect and reload", deadline.Token);
                await receiving.WaitAsync(deadline.Token);
                break;
            case CloseReason.AuthenticationExpired:
                await socket.CloseOutputAsync(AuthenticationExpiredStatus, "authentication expired", deadline.Token);
                await receiving.WaitAsync(deadline.Token);
                break;
        }

        Log.WebSocketEnded(_logger, _connectionId, CurrentReason.ToString());
    }

    private async Task ReceiveUntilClosedAsync(WebSocket socket, ConnectionTopics? topics)
    {
        var buffer = new byte[ReceiveBufferSize];
        var messageLength = 0;
        byte[]? request = null;
        try
        {
            while (true)
            {
                var result = await socket.ReceiveAsync(buffer.AsMemory(), CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    Stop(CloseReason.ClientClosed);
                    return;
                }

                // Once closing, reading goes on until the client's close frame, so ours is not cut off by an abort.
                var start = messageLength;
                messageLength += result.Count;
                if (messageLength > _maxClientMessageSize && CurrentReason == CloseReason.None)
                {
                    // Logged first: stopping sends the close frame, and the client may act on it at once.
                    Log.ClientMessageTooBig(_logger, _connectionId, _maxClientMessageSize);
                    if (Stop(CloseReason.MessageTooBig))
                    {
                        _metrics.ClosedByServer(Transport, PgNotifyHubMetrics.Reasons.MessageTooBig);
                    }
                }

                var isRequest = topics is not null && result.MessageType == WebSocketMessageType.Text && messageLength <= _maxClientMessageSize;
                if (isRequest)
                {
                    request ??= ArrayPool<byte>.Shared.Rent(_maxClientMessageSize);
                    buffer.AsSpan(0, result.Count).CopyTo(request.AsSpan(start));
                }

                if (result.EndOfMessage)
                {
                    if (isRequest && CurrentReason == CloseReason.None)
                    {
                        // One at a time, in the order sent, so that answers come back in that order.
                        var answer = await topics!.HandleAsync(request.AsMemory(0, messageLength), kind: null, inOrder: Answer);
                        if (answer.Type == TopicAnswer.RefusedType)
                        {
                            // A refusal changes nothing, so its place among the notifications does not matter.
                            Answer(answer);
                        }
                    }

                    Return(ref request);
                    messageLength = 0;
                }
            }
        }
        catch (Exception)
        {
            // However the socket broke, the client is gone; the sending side learns it from the reason.
            Stop(CloseReason.ConnectionLost);
        }
        finally
        {
            Return(ref request);
        }
    }

    // Between requests a socket holds no buffer for them: most never send one.
    private static void Return(ref byte[]? rented)
    {
        if (rented is not null)
        {
            ArrayPool<byte>.Shared.Return(rented);
            rented = null;
        }
    }

    private CloseReason CurrentReason => (CloseReason)Volatile.Read(ref _closeReason);

    // The first reason wins. Completing the queue wakes the sending loop; a send that is stuck on a client
    // that stopped reading gets the close timeout before the socket is aborted.
    private bool Stop(CloseReason reason)
    {
        if (Interlocked.CompareExchange(ref _closeReason, (int)reason, (int)CloseReason.None) != (int)CloseReason.None)
        {
            return false;
        }

        _queue.Complete();
        if (reason is CloseReason.SlowConsumer or CloseReason.ShuttingDown or CloseReason.AuthenticationExpired or CloseReason.Resync)
        {
            try
            {
                _sendDeadline.CancelAfter(_closeTimeout);
            }
            catch (ObjectDisposedException)
            {
                // The request ended at the same moment: there is no send left to cut short.
            }
        }

        return true;
    }

    /// <summary>Closes the socket with <see cref="AuthenticationExpiredStatus"/>, unless it is closing already.</summary>
    /// <param name="expiresUtc">When the authentication of the request that opened the socket expired.</param>
    public void CloseForExpiredAuthentication(DateTimeOffset expiresUtc)
    {
        // Logged first, as for an oversized message: the client may act on the close frame at once.
        if (CurrentReason == CloseReason.None)
        {
            Log.AuthenticationExpired(_logger, _connectionId, expiresUtc);
            if (Stop(CloseReason.AuthenticationExpired))
            {
                _metrics.ClosedByServer(Transport, PgNotifyHubMetrics.Reasons.AuthenticationExpired);
            }
        }
    }

    public void Dispose()
    {
        Stop(CloseReason.ConnectionLost);
        _sendDeadline.Dispose();
    }

    /// <summary>A ready-made text frame, and whether it is a notification rather than a control frame, which the metrics do not count.</summary>
    private readonly record struct QueuedFrame(ReadOnlyMemory<byte> Bytes, bool IsNotification);
}
