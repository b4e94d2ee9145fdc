using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using PgNotifyHub.Diagnostics;
using PgNotifyHub.Sequencing;

namespace PgNotifyHub.Routing;

/// <summary>
/// The one place where notifications fan out: (channel, audience) → the sinks registered for it, plus the
/// sinks of the channel that take every audience.
/// </summary>
/// <remarks>
/// Posting happens for every message and registering only when a client connects, subscribes to a topic or leaves
/// one, so each route holds an immutable array that writers replace under a lock and the dispatcher reads without
/// one or any allocation. A route without sinks is removed, so topics that come and go leave nothing behind.
/// </remarks>
internal sealed class NotificationRouter(ILogger<NotificationRouter> logger) : INotificationFanOut
{
    private readonly ConcurrentDictionary<Route, INotificationSink[]> _sinks = new();
    private readonly Lock _writeLock = new();

    /// <summary>
    /// Raised after a sink was registered or unregistered, or a topic added or removed, on the thread that did it; never while posting. Nothing in
    /// the library needs it: it lets a caller wait until a client is registered.
    /// </summary>
    public event Action? Changed;

    public void Register(INotificationSink sink)
    {
        lock (_writeLock)
        {
            foreach (var route in sink.Routes)
            {
                AddLocked(sink, route);
            }
        }

        Changed?.Invoke();
    }

    public void Unregister(INotificationSink sink)
    {
        lock (_writeLock)
        {
            foreach (var route in sink.Routes)
            {
                RemoveLocked(sink, route);
            }
        }

        Changed?.Invoke();
    }

    public void Add(INotificationSink sink, Route route)
    {
        lock (_writeLock)
        {
            AddLocked(sink, route);
        }

        Changed?.Invoke();
    }

    public void Remove(INotificationSink sink, Route route)
    {
        lock (_writeLock)
        {
            RemoveLocked(sink, route);
        }

        Changed?.Invoke();
    }

    public int Post(SequencedNotification notification)
    {
        var (channel, audience) = (notification.Notification.Channel, notification.Notification.Audience);
        var recipients = 0;
        if (_sinks.TryGetValue(new Route(channel, audience), out var sinks))
        {
            recipients += Post(notification, sinks);
        }

        if (_sinks.TryGetValue(new Route(channel, null), out var everyAudience))
        {
            recipients += Post(notification, everyAudience);
        }

        return recipients;
    }

    public IReadOnlyCollection<INotificationSink> Sinks()
    {
        var sinks = new HashSet<INotificationSink>(ReferenceEqualityComparer.Instance);
        foreach (var routeSinks in _sinks.Values)
        {
            sinks.UnionWith(routeSinks);
        }

        return sinks;
    }

    public int SubscriberCount(Route route) => _sinks.TryGetValue(route, out var sinks) ? sinks.Length : 0;

    /// <summary>How many routes have sinks: each holds an entry here.</summary>
    public int RouteCount => _sinks.Count;

    private void AddLocked(INotificationSink sink, Route route) =>
        _sinks[route] = _sinks.TryGetValue(route, out var current) ? [.. current, sink] : [sink];

    private void RemoveLocked(INotificationSink sink, Route route)
    {
        if (!_sinks.TryGetValue(route, out var current))
        {
            return;
        }

        var remaining = Array.FindAll(current, s => !ReferenceEquals(s, sink));
        if (remaining.Length == 0)
        {
            _sinks.TryRemove(route, out _);
        }
        else
        {
            _sinks[route] = remaining;
        }
    }

    private int Post(SequencedNotification notification, INotificationSink[] sinks)
    {
        var posted = 0;
        foreach (var sink in sinks)
        {
            try
            {
                sink.Post(notification);
                posted++;
            }
            catch (Exception exception)
            {
                Log.SinkFailed(logger, exception, notification.Notification.Id);
            }
        }

        return posted;
    }
}
