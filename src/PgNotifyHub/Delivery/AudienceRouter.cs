using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using PgNotifyHub.Internal;
using PgNotifyHub.Parsing;

namespace PgNotifyHub.Delivery;

/// <summary>
/// The one place where notifications fan out: audience → the sinks registered for it.
/// </summary>
/// <remarks>
/// Posting happens for every message and registering only when a client connects, so each audience holds
/// an immutable array that writers replace under a lock and the dispatcher reads without one.
/// </remarks>
internal sealed class AudienceRouter(ILogger<AudienceRouter> logger)
{
    private readonly ConcurrentDictionary<string, INotificationSink[]> _sinks = new(StringComparer.Ordinal);
    private readonly Lock _writeLock = new();
    private event Action? Changed;

    public void Register(INotificationSink sink)
    {
        lock (_writeLock)
        {
            foreach (var audience in sink.Audiences)
            {
                _sinks[audience] = _sinks.TryGetValue(audience, out var current) ? [.. current, sink] : [sink];
            }
        }

        Changed?.Invoke();
    }

    public void Unregister(INotificationSink sink)
    {
        lock (_writeLock)
        {
            foreach (var audience in sink.Audiences)
            {
                if (!_sinks.TryGetValue(audience, out var current))
                {
                    continue;
                }

                var remaining = Array.FindAll(current, s => !ReferenceEquals(s, sink));
                if (remaining.Length == 0)
                {
                    _sinks.TryRemove(audience, out _);
                }
                else
                {
                    _sinks[audience] = remaining;
                }
            }
        }

        Changed?.Invoke();
    }

    public void Post(Notification notification)
    {
        if (!_sinks.TryGetValue(notification.Audience, out var sinks))
        {
            return;
        }

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

    public int SubscriberCount(string audience) => _sinks.TryGetValue(audience, out var sinks) ? sinks.Length : 0;

    /// <summary>
    /// Completes once at least <paramref name="count"/> sinks are registered for the audience. A SignalR
    /// client's start completes before the server registers it, so callers that must not miss the first
    /// message wait here.
    /// </summary>
    public async Task WaitForSubscribersAsync(string audience, int count, CancellationToken cancellationToken)
    {
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void Check()
        {
            if (SubscriberCount(audience) >= count)
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
}
