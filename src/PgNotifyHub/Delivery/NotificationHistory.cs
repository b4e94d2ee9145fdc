using System.Security.Cryptography;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.Extensions.Options;
using PgNotifyHub.Internal;

namespace PgNotifyHub.Delivery;

/// <summary>
/// Numbers each notification within its route and stream, keeps the latest ones of each route for clients that
/// reconnect, and tells clients when notifications may have been lost. Sits in front of the
/// <see cref="NotificationRouter"/>: publishing and joining take one lock, so a joining client gets what it
/// missed and then every live notification, in order, with nothing twice and nothing in between.
/// </summary>
internal sealed class NotificationHistory
{
    private readonly Lock _lock = new();
    // Sequence counters outlive the buffered notifications: a route's numbers never restart within a stream.
    private readonly Dictionary<Route, RouteHistory> _routes = [];
    private readonly NotificationRouter _router;
    private readonly PgNotifyHubMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly int _capacity;
    private readonly long _maxBytes;
    private readonly long _windowTicks;
    private string _stream = NewStream();
    private long _published;
    private long _keptBytes;
    private long _lastSweep;

    public NotificationHistory(NotificationRouter router, PgNotifyHubMetrics metrics, TimeProvider time, IOptions<PgNotifyHubOptions> options)
    {
        _router = router;
        _metrics = metrics;
        _time = time;
        _capacity = options.Value.ReplayBufferSize;
        _maxBytes = options.Value.ReplayBufferMaxBytes;
        _windowTicks = (long)(options.Value.ReplayWindow.TotalSeconds * time.TimestampFrequency);
        _lastSweep = time.GetTimestamp();
    }

    public string Stream
    {
        get
        {
            lock (_lock)
            {
                return _stream;
            }
        }
    }

    public void Publish(PgNotification notification)
    {
        lock (_lock)
        {
            var now = _time.GetTimestamp();
            var route = new Route(notification.Channel, notification.Audience);
            if (!_routes.TryGetValue(route, out var history))
            {
                _routes[route] = history = new RouteHistory(notification.Audience);
            }

            notification.Sequenced(_stream, ++history.LastSequence, ++_published, now, history.EncodedAudience);
            if (_capacity > 0 && _maxBytes > 0)
            {
                history.Buffer ??= new Queue<PgNotification>();
                if (history.Buffer.Count == _capacity)
                {
                    _keptBytes -= KeptSize(history.Buffer.Dequeue());
                }

                history.Buffer.Enqueue(notification);
                _keptBytes += KeptSize(notification);
                // Over the budget, this route gives up its oldest: the budget holds without a global order to keep.
                while (_keptBytes > _maxBytes && history.Buffer.TryDequeue(out var oldest))
                {
                    _keptBytes -= KeptSize(oldest);
                }

                SweepExpired(now);
            }

            _router.Post(notification);
        }
    }

    /// <summary>
    /// Registers <paramref name="sink"/> for live notifications, first replaying what it missed since
    /// <paramref name="resume"/>, or telling it to resync when that is no longer possible (or its position was
    /// <paramref name="resumeInvalid"/>), and then telling it where it stands.
    /// </summary>
    public void Join(INotificationSink sink, ResumePosition? resume, bool resumeInvalid = false)
    {
        lock (_lock)
        {
            if (resumeInvalid)
            {
                Resync(sink, ResyncReason.InvalidResume);
            }
            else if (resume is not null)
            {
                Replay(sink, resume);
            }

            // After the replay, so what a client already has and what it is told it has agree.
            sink.Position(new StreamPosition(_stream, [.. sink.Routes
                .Where(route => route.Audience is not null)
                .Select(route => new RoutePosition(route.Channel, route.Audience!, _routes.TryGetValue(route, out var history) ? history.LastSequence : 0))]));
            _router.Register(sink);
        }
    }

    /// <summary>
    /// Starts a new stream after the listener reconnected: what was sent meanwhile is lost, so every client is told,
    /// and nothing of the old stream is replayed any more.
    /// </summary>
    public void Restart()
    {
        lock (_lock)
        {
            _stream = NewStream();
            _routes.Clear();
            _keptBytes = 0;
            var resync = new ResyncMessage(ResyncReason.ListenerReconnected, _stream);
            foreach (var sink in _router.Sinks())
            {
                Resync(sink, resync);
            }
        }
    }

    /// <summary>Tells one client, outside of any replay, that it must resync (e.g. its resume position was unreadable).</summary>
    public void Resync(INotificationSink sink, string reason)
    {
        lock (_lock)
        {
            Resync(sink, new ResyncMessage(reason, _stream));
        }
    }

    private void Resync(INotificationSink sink, ResyncMessage resync)
    {
        sink.Resync(resync);
        _metrics.Resynced(resync.Reason);
    }

    private void Replay(INotificationSink sink, ResumePosition resume)
    {
        if (resume.Stream != _stream)
        {
            Resync(sink, ResyncReason.StreamChanged);
            return;
        }

        var oldestKept = _time.GetTimestamp() - _windowTicks;
        var missed = new List<PgNotification>();
        foreach (var route in sink.Routes)
        {
            if (!resume.LastSeen.TryGetValue(route, out var lastSeen)
                || !_routes.TryGetValue(route, out var history)
                || lastSeen >= history.LastSequence)
            {
                continue;
            }

            // Every number after lastSeen must still be buffered and young enough, or the gap cannot be filled.
            if (history.Buffer is not { Count: > 0 } buffer || buffer.Peek().Sequence > lastSeen + 1)
            {
                Resync(sink, ResyncReason.GapTooOld);
                return;
            }

            foreach (var notification in buffer)
            {
                if (notification.Sequence <= lastSeen)
                {
                    continue;
                }

                if (notification.PublishedAt < oldestKept)
                {
                    Resync(sink, ResyncReason.GapTooOld);
                    return;
                }

                missed.Add(notification);
            }
        }

        missed.Sort(static (a, b) => a.Published.CompareTo(b.Published));
        foreach (var notification in missed)
        {
            sink.Post(notification);
        }

        _metrics.Replayed(missed.Count);
    }

    // Four times per window, so it costs nothing per message: frees what only age still held, in routes that went quiet.
    private void SweepExpired(long now)
    {
        if (now - _lastSweep < _windowTicks / 4)
        {
            return;
        }

        _lastSweep = now;
        foreach (var history in _routes.Values)
        {
            while (history.Buffer is { Count: > 0 } buffer && buffer.Peek().PublishedAt < now - _windowTicks)
            {
                _keptBytes -= KeptSize(buffer.Dequeue());
            }

            if (history.Buffer is { Count: 0 })
            {
                history.Buffer = null;
            }
        }
    }

    // The pgws frame and, once a SignalR or sequenced client wanted it, the sequenced one: about twice the payload.
    private static long KeptSize(PgNotification notification) => 2L * notification.WebSocketFrame.Length;

    // Random, so a client can never resume a stream of an earlier process or of another node by accident.
    private static string NewStream() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));

    private sealed class RouteHistory(string audience)
    {
        public long LastSequence;

        public Queue<PgNotification>? Buffer;

        // Relaxed escaping: an audience is data for the client, not HTML.
        public ReadOnlyMemory<byte> EncodedAudience { get; } = JsonEncodedText.Encode(audience, JavaScriptEncoder.UnsafeRelaxedJsonEscaping).EncodedUtf8Bytes.ToArray();
    }
}
