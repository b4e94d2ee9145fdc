using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using PgNotifyHub.Diagnostics;
using PgNotifyHub.Parsing;

namespace PgNotifyHub.Sequencing;

/// <summary>
/// Numbers each notification within its route and stream, keeps the latest ones of each route for clients that
/// reconnect, and tells clients when notifications may have been lost. The only door to the fan-out
/// (<see cref="INotificationFanOut"/>): publishing, joining, subscribing to a topic, unsubscribing and leaving take one
/// lock, so a client that joins or subscribes gets what it missed and then every live notification, in order, with
/// nothing twice and nothing in between.
/// </summary>
internal sealed class NotificationSequencer
{
    // What a route holds besides its strings: its dictionary entry, its state and its node in the order of use.
    private const int RouteOverhead = 200;

    // At most this many routes are looked at per publish to find idle ones to forget, so a publish never walks
    // every route even when all of them have connections.
    private const int ForgetScanLimit = 16;

    private readonly Lock _lock = new();
    private readonly Dictionary<Route, RouteHistory> _routes = [];
    // Every joined sink, with the topics it subscribed to since (null until its first), so that leaving gives them back
    // and a subscription that arrives after the sink left registers nothing.
    private readonly Dictionary<INotificationSink, HashSet<Route>?> _topics = new(ReferenceEqualityComparer.Instance);
    // Least recently published first: over the budget, idle routes are forgotten from the front.
    private readonly LinkedList<RouteHistory> _byLastUse = new();
    private readonly INotificationFanOut _fanOut;
    private readonly PgNotifyHubMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly int _capacity;
    private readonly long _maxBytes;
    private readonly long _windowTicks;
    private string _stream = NewStream();
    private long _published;
    private long _keptBytes;
    private long _lastSweep;

    // No forgotten route numbered past this, and a new route numbers on from it, so a client that resumes a route
    // forgotten and made again never mistakes the new numbers for ones it has seen: see Replay.
    private long _sequenceFloor;

    public NotificationSequencer(INotificationFanOut fanOut, PgNotifyHubMetrics metrics, TimeProvider time, IOptions<PgNotifyHubOptions> options)
    {
        _fanOut = fanOut;
        _metrics = metrics;
        _time = time;
        _capacity = options.Value.ReplayBufferSize;
        _maxBytes = options.Value.ReplayBufferMaxBytes;
        _windowTicks = (long)(options.Value.ReplayWindow.TotalSeconds * time.TimestampFrequency);
        _lastSweep = time.GetTimestamp();
        metrics.ObserveReplay(() => Footprint, _maxBytes);
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

    /// <summary>The memory counted against <see cref="PgNotifyHubOptions.ReplayBufferMaxBytes"/>, and the routes it holds.</summary>
    public (long Bytes, int Routes) Footprint
    {
        get
        {
            lock (_lock)
            {
                return (_keptBytes, _routes.Count);
            }
        }
    }

    /// <summary>Numbers <paramref name="parsed"/> and hands it to every sink of its route; returns it and how many sinks took it.</summary>
    public (SequencedNotification Notification, int Recipients) Publish(ParsedNotification parsed)
    {
        lock (_lock)
        {
            var now = _time.GetTimestamp();
            var history = Use(new Route(parsed.Channel, parsed.Audience));
            var notification = new SequencedNotification(parsed, ++history.LastSequence, _stream, ++_published, now);
            if (_capacity > 0 && _maxBytes > 0)
            {
                history.Buffer ??= new Queue<SequencedNotification>();
                if (history.Buffer.Count == _capacity)
                {
                    _keptBytes -= history.Buffer.Dequeue().KeptSize;
                }

                history.Buffer.Enqueue(notification);
                _keptBytes += notification.KeptSize;
            }

            SweepExpired(now);
            KeepWithinBudget(history);
            return (notification, _fanOut.Post(notification));
        }
    }

    /// <summary>
    /// Registers <paramref name="sink"/> for live notifications, first replaying what it missed since
    /// <paramref name="resume"/>, or telling it to resync when that is no longer possible, and then telling it where
    /// it stands.
    /// </summary>
    public void Join(INotificationSink sink, ResumePosition? resume)
    {
        lock (_lock)
        {
            var ordered = RouteSet.Ordered(sink.Routes);
            if (resume is not null)
            {
                Replay(sink, resume, ordered);
            }

            // After the replay, so what a client already has and what it is told it has agree.
            sink.Position(new StreamPosition(
                _stream,
                [.. ordered.Select(route => new RoutePosition(route.Channel, route.Audience!, LastSequence(route)))],
                RouteSet.Key(ordered)));
            _topics.TryAdd(sink, null);
            _fanOut.Register(sink);
        }
    }

    /// <summary>
    /// Adds <paramref name="topic"/> to what <paramref name="sink"/> receives, a route its client chose: first replays what
    /// the client missed on it since <paramref name="from"/>, or tells it to resync that topic when that is no longer
    /// possible, then confirms where the topic stands, and from then on delivers it as it does the routes the sink joined
    /// with, numbers and all. A route the sink already receives is only confirmed. Nothing is registered for a sink that
    /// has left.
    /// </summary>
    /// <param name="sink">A joined sink.</param>
    /// <param name="topic">The channel and audience.</param>
    /// <param name="from">Where the client left the topic off on an earlier connection; null when it has no past there.</param>
    /// <param name="maxTopics">How many topics the sink may hold at once.</param>
    /// <param name="confirm">Called with the position under the lock, so what it hands the client precedes every later notification.</param>
    /// <returns>The topic's position; null, with nothing changed, when the sink already holds <paramref name="maxTopics"/> topics.</returns>
    public TopicPosition? Subscribe(INotificationSink sink, Route topic, RouteResume? from, int maxTopics, Action<TopicPosition>? confirm)
    {
        lock (_lock)
        {
            if (_topics.TryGetValue(sink, out var topics) && !Receives(sink, topics, topic))
            {
                if ((topics?.Count ?? 0) >= maxTopics)
                {
                    return null;
                }

                if (from is { } resume)
                {
                    Replay(sink, topic, resume);
                }

                _topics[sink] = topics ??= [];
                topics.Add(topic);
                _fanOut.Add(sink, topic);
            }

            var position = new TopicPosition(topic.Channel, topic.Audience!, LastSequence(topic), _stream);
            confirm?.Invoke(position);
            return position;
        }
    }

    /// <summary>
    /// Stops delivering <paramref name="topic"/> to <paramref name="sink"/>: nothing of it follows what
    /// <paramref name="confirm"/> hands the client, under the lock. A topic the sink does not hold is only confirmed.
    /// </summary>
    /// <returns>False, with nothing changed, when <paramref name="topic"/> is one the sink joined with, which it cannot leave alone.</returns>
    public bool Unsubscribe(INotificationSink sink, Route topic, Action? confirm)
    {
        lock (_lock)
        {
            if (sink.Routes.Contains(topic))
            {
                return false;
            }

            if (_topics.TryGetValue(sink, out var topics) && topics is not null && topics.Remove(topic))
            {
                _fanOut.Remove(sink, topic);
                if (topics.Count == 0)
                {
                    // A set keeps the room of its largest size: after a storm of subscriptions, give it back.
                    _topics[sink] = null;
                }
            }

            confirm?.Invoke();
            return true;
        }
    }

    /// <summary>The topics <paramref name="sink"/> holds now.</summary>
    public IReadOnlyList<Route> TopicsOf(INotificationSink sink)
    {
        lock (_lock)
        {
            return _topics.TryGetValue(sink, out var topics) && topics is not null ? [.. topics] : [];
        }
    }

    /// <summary>Stops delivering to <paramref name="sink"/>: the routes it joined with and every topic it holds.</summary>
    public void Leave(INotificationSink sink)
    {
        lock (_lock)
        {
            if (_topics.Remove(sink, out var topics) && topics is not null)
            {
                foreach (var topic in topics)
                {
                    _fanOut.Remove(sink, topic);
                }
            }

            _fanOut.Unregister(sink);
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
            _byLastUse.Clear();
            _keptBytes = 0;
            _sequenceFloor = 0;
            var resync = new ResyncNotice(ResyncReason.ListenerReconnected, _stream);
            foreach (var sink in _fanOut.Sinks())
            {
                Resync(sink, resync);
            }
        }
    }

    private void Resync(INotificationSink sink, string reason, Route? topic = null) => Resync(sink, new ResyncNotice(reason, _stream, topic));

    private void Resync(INotificationSink sink, ResyncNotice resync)
    {
        // Counted first, so whoever sees the notice also sees it counted.
        _metrics.Resynced(resync.Reason);
        sink.Resync(resync);
    }

    private void Replay(INotificationSink sink, ResumePosition resume, Route[] ordered)
    {
        if (resume.Stream != _stream)
        {
            Resync(sink, ResyncReason.StreamChanged);
            return;
        }

        if (!resume.TryGetLastSeen(ordered, out var lastSeenByRoute))
        {
            Resync(sink, ResyncReason.RoutesChanged);
            return;
        }

        var oldestKept = _time.GetTimestamp() - _windowTicks;
        var missed = new List<SequencedNotification>();
        foreach (var route in sink.Routes)
        {
            if (lastSeenByRoute.TryGetValue(route, out var lastSeen) && !TryCollectMissed(route, lastSeen, oldestKept, missed))
            {
                Resync(sink, ResyncReason.GapTooOld);
                return;
            }
        }

        missed.Sort(static (a, b) => a.Published.CompareTo(b.Published));
        Post(sink, missed);
    }

    // One topic, as a route of a join: what cannot be replayed is told for that topic alone.
    private void Replay(INotificationSink sink, Route topic, RouteResume from)
    {
        var missed = new List<SequencedNotification>();
        if (from.Stream != _stream)
        {
            Resync(sink, ResyncReason.StreamChanged, topic);
        }
        else if (!TryCollectMissed(topic, from.LastSeen, _time.GetTimestamp() - _windowTicks, missed))
        {
            Resync(sink, ResyncReason.GapTooOld, topic);
        }
        else
        {
            Post(sink, missed);
        }
    }

    // Adds what was published on the route after lastSeen to missed, in order; false when some of it is no longer kept.
    private bool TryCollectMissed(Route route, long lastSeen, long oldestKept, List<SequencedNotification> missed)
    {
        if (!_routes.TryGetValue(route, out var history))
        {
            // Forgotten, or never published: numbers up to the floor may have gone unseen with a forgotten route.
            return lastSeen >= _sequenceFloor;
        }

        if (lastSeen >= history.LastSequence)
        {
            return true;
        }

        // Every number after lastSeen must still be buffered and young enough, or the gap cannot be filled.
        if (history.Buffer is not { Count: > 0 } buffer || buffer.Peek().Sequence > lastSeen + 1)
        {
            return false;
        }

        var start = missed.Count;
        foreach (var notification in buffer)
        {
            if (notification.Sequence <= lastSeen)
            {
                continue;
            }

            if (notification.PublishedAt < oldestKept)
            {
                missed.RemoveRange(start, missed.Count - start);
                return false;
            }

            missed.Add(notification);
        }

        return true;
    }

    private void Post(INotificationSink sink, List<SequencedNotification> missed)
    {
        foreach (var notification in missed)
        {
            sink.Post(notification);
        }

        _metrics.Replayed(missed.Count);
    }

    private long LastSequence(Route route) => _routes.TryGetValue(route, out var history) ? history.LastSequence : _sequenceFloor;

    private static bool Receives(INotificationSink sink, HashSet<Route>? topics, Route route) =>
        topics?.Contains(route) == true || sink.Routes.Contains(route);

    // Four times per window, so it costs nothing per message: frees what only age still held, in routes that went
    // quiet, and forgets the routes left with nothing to replay and no connection.
    private void SweepExpired(long now)
    {
        if (now - _lastSweep < _windowTicks / 4)
        {
            return;
        }

        _lastSweep = now;
        for (var node = _byLastUse.First; node is not null;)
        {
            var history = node.Value;
            node = node.Next;
            while (history.Buffer is { Count: > 0 } buffer && buffer.Peek().PublishedAt < now - _windowTicks)
            {
                _keptBytes -= buffer.Dequeue().KeptSize;
            }

            if (history.Buffer is not { Count: > 0 } && _fanOut.SubscriberCount(history.Route) == 0)
            {
                Forget(history);
            }
            else if (history.Buffer is { Count: 0 })
            {
                history.Buffer = null;
            }
        }
    }

    // Over the budget, idle routes go first, least recently published first: a route with connections is never
    // forgotten, since they count on its numbers. Then the route being published to gives up its oldest, so the
    // budget holds without a global order of notifications to keep.
    private void KeepWithinBudget(RouteHistory current)
    {
        var node = _byLastUse.First;
        for (var scanned = 0; _keptBytes > _maxBytes && node is not null && scanned < ForgetScanLimit; scanned++)
        {
            var history = node.Value;
            node = node.Next;
            if (history == current)
            {
                continue;
            }

            if (_fanOut.SubscriberCount(history.Route) == 0)
            {
                Forget(history);
            }
            else
            {
                // Looked at again only after every other route.
                _byLastUse.Remove(history.Node);
                _byLastUse.AddLast(history.Node);
            }
        }

        while (_keptBytes > _maxBytes && current.Buffer is { } buffer && buffer.TryDequeue(out var oldest))
        {
            _keptBytes -= oldest.KeptSize;
        }
    }

    private RouteHistory Use(Route route)
    {
        if (_routes.TryGetValue(route, out var history))
        {
            _byLastUse.Remove(history.Node);
            _byLastUse.AddLast(history.Node);
            return history;
        }

        history = new RouteHistory(route, _sequenceFloor);
        _routes.Add(route, history);
        _byLastUse.AddLast(history.Node);
        _keptBytes += history.Size;
        return history;
    }

    private void Forget(RouteHistory history)
    {
        while (history.Buffer is { } buffer && buffer.TryDequeue(out var kept))
        {
            _keptBytes -= kept.KeptSize;
        }

        _keptBytes -= history.Size;
        _routes.Remove(history.Route);
        _byLastUse.Remove(history.Node);
        _sequenceFloor = Math.Max(_sequenceFloor, history.LastSequence);
    }

    // Random, so a client can never resume a stream of an earlier process or of another node by accident.
    private static string NewStream() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));

    private sealed class RouteHistory
    {
        public RouteHistory(Route route, long lastSequence)
        {
            Route = route;
            LastSequence = lastSequence;
            Node = new LinkedListNode<RouteHistory>(this);
            Size = RouteOverhead + 2L * (route.Channel.Length + route.Audience!.Length);
        }

        public Route Route { get; }

        public LinkedListNode<RouteHistory> Node { get; }

        /// <summary>What the route holds while it has nothing buffered, as counted against the budget.</summary>
        public long Size { get; }

        public long LastSequence;

        public Queue<SequencedNotification>? Buffer;
    }
}
