using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.Extensions.Logging;
using PgNotifyHub.Delivery;
using PgNotifyHub.Internal;

namespace PgNotifyHub.Transports.SignalR;

/// <summary>
/// Delivers notifications to one SignalR connection. A connection's writes are serialised by SignalR in
/// arrival order; this sink only counts those still pending and aborts the connection when they exceed
/// the bound, since an unread connection would otherwise hold every message in memory.
/// </summary>
internal sealed class HubConnectionSink(
    HubConnectionContext connection,
    IReadOnlyList<Route> routes,
    int capacity,
    bool resumes,
    PgNotifyHubMetrics metrics,
    ILogger logger) : INotificationSink
{
    public const string Transport = "signalr";

    private int _pending;
    private int _aborted;

    public IReadOnlyList<Route> Routes { get; } = routes;

    public int QueueDepth => Volatile.Read(ref _pending);

    public void Post(PgNotification notification) => Write(notification.HubMessage, isNotification: true);

    public void Resync(ResyncMessage resync) => Write(resync.HubMessage, isNotification: false);

    // Only to clients that resume: any other would log that it has no handler for the method.
    public void Position(StreamPosition position)
    {
        if (resumes)
        {
            Write(new SerializedHubMessage(new InvocationMessage(NotifyHub.PositionMethod, [position])), isNotification: false);
        }
    }

    // Resync and position notices take their place in the queue, but the metrics count notifications only.
    private void Write(SerializedHubMessage message, bool isNotification)
    {
        if (Interlocked.Increment(ref _pending) > capacity)
        {
            Interlocked.Decrement(ref _pending);
            if (isNotification)
            {
                metrics.NotificationsDropped(Transport, PgNotifyHubMetrics.DroppedConnectionClosed, 1);
            }

            if (Interlocked.Exchange(ref _aborted, 1) == 0)
            {
                Log.SlowConsumer(logger, Transport, connection.ConnectionId, capacity);
                metrics.ClosedByServer(Transport, PgNotifyHubMetrics.Reasons.SlowConsumer);
                connection.Abort();
            }

            return;
        }

        _ = CompleteWriteAsync(connection.WriteAsync(message), isNotification);
    }

    // Completes synchronously, without allocating, when the write did; either way the ValueTask is consumed once.
    private async Task CompleteWriteAsync(ValueTask write, bool isNotification)
    {
        try
        {
            await write;
            if (isNotification)
            {
                metrics.NotificationsDelivered(Transport, 1);
            }
        }
        catch (Exception)
        {
            // HubConnectionContext logs write failures and aborts the connection itself.
            if (isNotification)
            {
                metrics.NotificationsDropped(Transport, PgNotifyHubMetrics.DroppedConnectionClosed, 1);
            }
        }
        finally
        {
            Interlocked.Decrement(ref _pending);
        }
    }
}

/// <summary>The argument of the <c>resync</c> invocation: why, and the stream numbering goes on in.</summary>
internal sealed record ResyncNotice(string Reason, string Stream);
