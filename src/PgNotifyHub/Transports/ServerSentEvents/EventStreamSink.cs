using System.Buffers;
using System.IO.Pipelines;
using Microsoft.Extensions.Logging;
using PgNotifyHub.Diagnostics;
using PgNotifyHub.Sequencing;

namespace PgNotifyHub.Transports.ServerSentEvents;

/// <summary>
/// One event stream: a bounded queue filled by the dispatcher and drained by the request that owns the response, its
/// only writer. Every event carries the connection's position as its id, so the browser resumes by itself.
/// </summary>
internal sealed class EventStreamSink : INotificationSink, IDisposable
{
    public const string Transport = "sse";

    // A batch is flushed once this much is written, so what arrived together goes out together without piling up a
    // whole queue of large messages in the response's buffers.
    private const int FlushThreshold = 64 * 1024;

    private readonly SendQueue<QueuedEvent> _queue;
    private readonly SlowConsumer _slowConsumer;
    // Aborts the response once an end must not wait any longer for a client that stopped reading.
    private readonly CancellationTokenSource _deadline = new();
    private readonly EventStreamPosition _position = new();
    private readonly TimeSpan _closeTimeout;
    private readonly int _capacity;
    private readonly bool _closesWhenFull;
    private readonly string _connectionId;
    private readonly PgNotifyHubMetrics _metrics;
    private readonly ILogger _logger;
    private int _closeReason = (int)CloseReason.None;
    // Set by the sequencer's thread while the connection joins, before the stream is written: see Enqueue.
    private bool _joined;
    private bool _replayOverflowed;

    public EventStreamSink(
        IReadOnlyList<Route> routes,
        int capacity,
        PgNotifyHubSlowConsumerPolicy slowConsumerPolicy,
        TimeSpan closeTimeout,
        string connectionId,
        PgNotifyHubMetrics metrics,
        ILogger logger)
    {
        Routes = routes;
        _closeTimeout = closeTimeout;
        _capacity = capacity;
        _closesWhenFull = slowConsumerPolicy == PgNotifyHubSlowConsumerPolicy.Close;
        _connectionId = connectionId;
        _metrics = metrics;
        _logger = logger;
        _slowConsumer = new SlowConsumer(Transport, connectionId, capacity, metrics, logger);
        _queue = new SendQueue<QueuedEvent>(capacity, slowConsumerPolicy, static queued => queued.Item is SequencedNotification, _slowConsumer);
    }

    private enum CloseReason
    {
        None,
        ConnectionLost,
        SlowConsumer,
        ShuttingDown,
        AuthenticationExpired,
    }

    public IReadOnlyList<Route> Routes { get; }

    public int QueueDepth => _queue.Count;

    private CloseReason CurrentReason => (CloseReason)Volatile.Read(ref _closeReason);

    // Encoded here, under the sequencer's lock, by the first event stream that gets the notification.
    public void Post(SequencedNotification notification) => Enqueue(new(notification, EventStreamFormat.Message(notification)));

    public void Resync(ResyncNotice resync) => Enqueue(new(resync, EventStreamFormat.Resync(resync)));

    public void Position(StreamPosition position)
    {
        _joined = true;
        if (_replayOverflowed)
        {
            _metrics.Resynced(EventStreamPosition.ReplayTooLarge);
            Resync(new ResyncNotice(EventStreamPosition.ReplayTooLarge, position.Stream));
        }

        Enqueue(new(position, default));
    }

    private void Enqueue(QueuedEvent queued)
    {
        // A replay that does not fit the queue would close the stream before it wrote anything, and the browser would
        // come back with the same Last-Event-ID and be closed again until the replay window passed: it resyncs instead.
        if (!_joined && _closesWhenFull && (_replayOverflowed || _queue.Count == _capacity))
        {
            _replayOverflowed = true;
            while (_queue.Reader.TryRead(out _))
            {
            }

            return;
        }

        if (!_queue.TryEnqueue(queued) && Stop(CloseReason.SlowConsumer))
        {
            _slowConsumer.Closing();
        }
    }

    /// <summary>Writes queued events until the client leaves, falls behind, its authentication expires or the host stops.</summary>
    /// <param name="body">The response, whose headers are set.</param>
    /// <param name="retry">The <c>retry</c> field that opens the stream.</param>
    /// <param name="keepAlive">Ticks when a comment line is due, unless events are being written.</param>
    /// <param name="abort">Aborts the response.</param>
    /// <param name="connectionLost">Signals that the client went away.</param>
    /// <param name="stoppingToken">Signals the host's shutdown.</param>
    public async Task RunAsync(PipeWriter body, ReadOnlyMemory<byte> retry, PeriodicTimer keepAlive, Action abort, CancellationToken connectionLost, CancellationToken stoppingToken)
    {
        using var scope = ConnectionAdmission.BeginConnectionScope(_logger, Transport, _connectionId);
        using var onStopping = stoppingToken.UnsafeRegister(sink => ((EventStreamSink)sink!).Stop(CloseReason.ShuttingDown), this);
        using var onLost = connectionLost.UnsafeRegister(sink => ((EventStreamSink)sink!).Stop(CloseReason.ConnectionLost), this);
        using var onDeadline = _deadline.Token.UnsafeRegister(static abort => ((Action)abort!)(), abort);
        try
        {
            body.Write(retry.Span);
            if (!(await body.FlushAsync()).IsCompleted)
            {
                await WriteQueuedAsync(body, keepAlive);
            }

            Log.EventStreamEnded(_logger, _connectionId, CurrentReason == CloseReason.None ? nameof(CloseReason.ConnectionLost) : CurrentReason.ToString());
        }
        catch (Exception exception) when (exception is IOException or OperationCanceledException or ObjectDisposedException)
        {
            Log.EventStreamEnded(_logger, _connectionId, exception.Message);
        }
        finally
        {
            // Whatever ended the stream, what is still queued will never be sent.
            Stop(CloseReason.ConnectionLost);
            _queue.DiscardRemaining();
        }
    }

    // What is queued together (the NOTIFYs of one transaction, a burst, a replay) is written as one batch and flushed
    // once. Stops at the first close reason: what is still queued is not worth delaying the end for, and a client that
    // reconnects is replayed it.
    private async Task WriteQueuedAsync(PipeWriter body, PeriodicTimer keepAlive)
    {
        var reader = _queue.Reader;
        Task<bool>? tick = null;
        while (CurrentReason == CloseReason.None)
        {
            // Only an idle stream waits: a busy one finds its next events queued, and costs no task per batch.
            if (reader.Count == 0)
            {
                var waiting = reader.WaitToReadAsync().AsTask();
                while (await Task.WhenAny(waiting, tick ??= keepAlive.WaitForNextTickAsync().AsTask()) != waiting)
                {
                    tick = null;
                    body.Write(EventStreamFormat.KeepAlive);
                    if ((await body.FlushAsync()).IsCompleted)
                    {
                        return;
                    }
                }

                if (!await waiting)
                {
                    return;
                }
            }

            var written = 0;
            var unflushed = 0;
            while (CurrentReason == CloseReason.None && reader.TryRead(out var queued))
            {
                unflushed += Write(body, queued);
                written += queued.Item is SequencedNotification ? 1 : 0;
                if (unflushed >= FlushThreshold)
                {
                    unflushed = 0;
                    if ((await body.FlushAsync()).IsCompleted)
                    {
                        return;
                    }
                }
            }

            if ((await body.FlushAsync()).IsCompleted)
            {
                return;
            }

            _metrics.NotificationsDelivered(Transport, written);
        }
    }

    // One event: the id line of the connection's position after it, then the event itself. A resync as the connection
    // joins has no id, so a browser that loses the connection before the position notice resumes as it did; one that
    // comes later follows a listener restart, after which every route numbers from 0 in the new stream.
    private int Write(PipeWriter body, QueuedEvent queued)
    {
        var bytes = queued.Bytes;
        var idLength = 0;
        switch (queued.Item)
        {
            case SequencedNotification notification:
                _position.Advance(notification);
                idLength = _position.WriteId(body);
                break;
            case ResyncNotice resync when _position.IsKnown:
                _position.Restart(resync.Stream);
                idLength = _position.WriteId(body);
                break;
            case StreamPosition position:
                _position.Join(position);
                idLength = _position.WriteId(body);
                bytes = EventStreamFormat.Position(position);
                break;
        }

        body.Write(bytes.Span);
        return idLength + bytes.Length;
    }

    // The first reason wins. Completing the queue wakes the writer; a write stuck on a client that stopped reading gets
    // the close timeout before the response is aborted.
    private bool Stop(CloseReason reason)
    {
        if (Interlocked.CompareExchange(ref _closeReason, (int)reason, (int)CloseReason.None) != (int)CloseReason.None)
        {
            return false;
        }

        _queue.Complete();
        if (reason is not CloseReason.ConnectionLost)
        {
            try
            {
                _deadline.CancelAfter(_closeTimeout);
            }
            catch (ObjectDisposedException)
            {
                // The request ended at the same moment: there is no write left to cut short.
            }
        }

        return true;
    }

    /// <summary>Ends the stream, unless it is ending already: the browser reconnects, and needs fresh credentials to be let in.</summary>
    /// <param name="expiresUtc">When the authentication of the request that opened the stream expired.</param>
    public void CloseForExpiredAuthentication(DateTimeOffset expiresUtc)
    {
        if (CurrentReason == CloseReason.None)
        {
            Log.EventStreamAuthenticationExpired(_logger, _connectionId, expiresUtc);
            if (Stop(CloseReason.AuthenticationExpired))
            {
                _metrics.ClosedByServer(Transport, PgNotifyHubMetrics.Reasons.AuthenticationExpired);
            }
        }
    }

    public void Dispose()
    {
        Stop(CloseReason.ConnectionLost);
        _deadline.Dispose();
    }

    /// <summary>A notification, resync notice or position, with its shared bytes (none for a position, which is the connection's own).</summary>
    private readonly record struct QueuedEvent(object Item, ReadOnlyMemory<byte> Bytes);
}
