using System.Security.Cryptography;
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
    private readonly TimeSpan _window;
    private string _stream = NewStream();
    private long _published;
    private long _lastSweep;

    public NotificationHistory(NotificationRouter router, PgNotifyHubMetrics metrics, TimeProvider time, IOptions<PgNotifyHubOptions> options)
    {
        _router = router;
        _metrics = metrics;
        _time = time;
        _capacity = options.Value.ReplayBufferSize;
        _window = options.Value.ReplayWindow;
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
                _routes[route] = history = new RouteHistory();
            }

            notification.Sequenced(_stream, ++history.LastSequence, ++_published, now);
            if (_capacity > 0)
            {
                history.Buffer ??= new Queue<PgNotification>();
                if (history.Buffer.Count == _capacity)
                {
                    history.Buffer.Dequeue();
                }

                history.Buffer.Enqueue(notification);
                SweepExpired(now);
            }

            _router.Post(notification);
        }
    }

    /// <summary>
    /// Registers <paramref name="sink"/> for live notifications, first replaying what it missed since
    /// <paramref name="resume"/>, or telling it to resync when that is no longer possible.
    /// </summary>
    public void Join(INotificationSink sink, ResumePosition? resume)
    {
        lock (_lock)
        {
            if (resume is not null)
            {
                Replay(sink, resume);
            }

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
            foreach (var sink in _router.Sinks())
            {
                Resync(sink, ResyncReason.ListenerReconnected);
            }
        }
    }

    /// <summary>Tells one client, outside of any replay, that it must resync (e.g. its resume position was unreadable).</summary>
    public void Resync(INotificationSink sink, string reason)
    {
        lock (_lock)
        {
            sink.Resync(reason, _stream);
            _metrics.Resynced(reason);
        }
    }

    private void Replay(INotificationSink sink, ResumePosition resume)
    {
        if (resume.Stream != _stream)
        {
            Resync(sink, ResyncReason.StreamChanged);
            return;
        }

        var oldestKept = _time.GetTimestamp() - (long)(_window.TotalSeconds * _time.TimestampFrequency);
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

    // At most once per window, so it costs nothing per message; what it frees is what only age still held.
    private void SweepExpired(long now)
    {
        var windowTicks = (long)(_window.TotalSeconds * _time.TimestampFrequency);
        if (now - _lastSweep < windowTicks)
        {
            return;
        }

        _lastSweep = now;
        foreach (var history in _routes.Values)
        {
            while (history.Buffer is { Count: > 0 } buffer && buffer.Peek().PublishedAt < now - windowTicks)
            {
                buffer.Dequeue();
            }

            if (history.Buffer is { Count: 0 })
            {
                history.Buffer = null;
            }
        }
    }

    // Random, so a client can never resume a stream of an earlier process or of another node by accident.
    private static string NewStream() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));

    private sealed class RouteHistory
    {
        public long LastSequence;

        public Queue<PgNotification>? Buffer;
    }
}
