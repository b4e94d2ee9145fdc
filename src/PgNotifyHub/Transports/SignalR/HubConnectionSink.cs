using Microsoft.AspNetCore.SignalR;
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
    PgNotifyHubMetrics metrics,
    ILogger logger) : INotificationSink
{
    public const string Transport = "signalr";

    private int _pending;
    private int _aborted;

    public IReadOnlyList<Route> Routes { get; } = routes;

    public void Post(PgNotification notification)
    {
        if (Interlocked.Increment(ref _pending) > capacity)
        {
            Interlocked.Decrement(ref _pending);
            if (Interlocked.Exchange(ref _aborted, 1) == 0)
            {
                Log.SlowConsumer(logger, Transport, connection.ConnectionId, capacity);
                metrics.SlowConsumerClosed(Transport);
                connection.Abort();
            }

            return;
        }

        _ = CompleteWriteAsync(connection.WriteAsync(notification.HubMessage));
    }

    // Completes synchronously, without allocating, when the write did; either way the ValueTask is consumed once.
    private async Task CompleteWriteAsync(ValueTask write)
    {
        try
        {
            await write;
            metrics.NotificationsDelivered(Transport, 1);
        }
        catch (Exception)
        {
            // HubConnectionContext logs write failures and aborts the connection itself.
        }
        finally
        {
            Interlocked.Decrement(ref _pending);
        }
    }
}
