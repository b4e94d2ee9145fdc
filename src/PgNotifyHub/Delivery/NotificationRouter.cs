using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using PgNotifyHub.Internal;

namespace PgNotifyHub.Delivery;

/// <summary>
/// The one place where notifications fan out: (channel, audience) → the sinks registered for it, plus the
/// sinks of the channel that take every audience.
/// </summary>
/// <remarks>
/// Posting happens for every message and registering only when a client connects, so each route holds an
/// immutable array that writers replace under a lock and the dispatcher reads without one or any allocation.
/// </remarks>
internal sealed class NotificationRouter(ILogger<NotificationRouter> logger)
{
    private readonly ConcurrentDictionary<Route, INotificationSink[]> _sinks = new();
    private readonly Lock _writeLock = new();
    private event Action? Changed;

    public void Register(INotificationSink sink)
    {
        lock (_writeLock)
        {
            foreach (var route in sink.Routes)
            {
                _sinks[route] = _sinks.TryGetValue(route, out var current) ? [.. current, sink] : [sink];
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
                if (!_sinks.TryGetValue(route, out var current))
                {
                    continue;
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
        }

        Changed?.Invoke();
    }

    public void Post(PgNotification notification)
    {
        if (_sinks.TryGetValue(new Route(notification.Channel, notification.Audience), out var sinks))
        {
            Post(notification, sinks);
        }

        if (_sinks.TryGetValue(new Route(notification.Channel, null), out var everyAudience))
        {
            Post(notification, everyAudience);
        }
    }

    /// <summary>Every registered sink, once each.</summary>
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

    /// <summary>
    /// Completes once at least <paramref name="count"/> sinks are registered for the route. A SignalR
    /// client's start completes before the server registers it, so callers that must not miss the first
    /// message wait here.
    /// </summary>
    public async Task WaitForSubscribersAsync(Route route, int count, CancellationToken cancellationToken)
    {
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void Check()
        {
            if (SubscriberCount(route) >= count)
            {
                reached.TrySetResult();
            }
        }

        Changed += Check;
        try
        {
            Check();
            await reached.Task.WaitAsync(cancellationToken);
        }
        finally
        {
            Changed -= Check;
        }
    }

    private void Post(PgNotification notification, INotificationSink[] sinks)
    {
        foreach (var sink in sinks)
        {
            try
            {
                sink.Post(notification);
            }
            catch (Exception exception)
            {
                Log.SinkFailed(logger, exception, notification.Id);
            }
        }
    }
}
