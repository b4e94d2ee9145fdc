using Microsoft.Extensions.Logging;
using PgNotifyHub.Diagnostics;

namespace PgNotifyHub.Transports;

/// <summary>
/// What one recipient's falling behind costs it, told the same way by every transport: each notification it will never
/// get is counted, and the first close or drop of the oldest is logged, so a burst does not fill the log.
/// </summary>
internal sealed class SlowConsumer(string transport, string connectionId, int capacity, PgNotifyHubMetrics metrics, ILogger logger)
{
    private int _closed;
    private int _dropping;

    public string Transport { get; } = transport;

    public string ConnectionId { get; } = connectionId;

    /// <summary>A notification queued for, or posted to, a connection that closed before sending it.</summary>
    public void Lost(int notifications) => metrics.NotificationsDropped(Transport, PgNotifyHubMetrics.DroppedConnectionClosed, notifications);

    /// <summary>The connection is closed because its queue is full: logged and counted once.</summary>
    public void Closing()
    {
        if (Interlocked.Exchange(ref _closed, 1) == 0)
        {
            Log.SlowConsumer(logger, Transport, ConnectionId, capacity);
            metrics.ClosedByServer(Transport, PgNotifyHubMetrics.Reasons.SlowConsumer);
        }
    }

    /// <summary>Under <see cref="PgNotifyHubSlowConsumerPolicy.DropOldest"/>, the oldest queued notification made room.</summary>
    public void DroppedOldest()
    {
        metrics.NotificationsDropped(Transport, PgNotifyHubMetrics.DroppedQueueFull, 1);
        if (Interlocked.Exchange(ref _dropping, 1) == 0)
        {
            Log.SlowConsumerDropping(logger, Transport, ConnectionId, capacity);
        }
    }
}
