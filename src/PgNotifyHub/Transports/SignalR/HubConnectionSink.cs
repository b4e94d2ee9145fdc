using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Logging;
using PgNotifyHub.Diagnostics;
using PgNotifyHub.Sequencing;

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
    bool asksForPosition,
    PgNotifyHubMetrics metrics,
    ILogger logger) : INotificationSink
{
    public const string Transport = "signalr";

    private readonly SlowConsumer _slowConsumer = new(Transport, connection.ConnectionId, capacity, metrics, logger);
    private int _pending;

    public IReadOnlyList<Route> Routes { get; } = routes;

    public int QueueDepth => Volatile.Read(ref _pending);

    public void Post(SequencedNotification notification) => Write(HubMessages.Notify(notification), isNotification: true);

    public void Resync(ResyncNotice resync) => Write(HubMessages.Resync(resync), isNotification: false);

    // Only to clients that asked for it: any other would log that it has no handler for the method.
    public void Position(StreamPosition position)
    {
        if (asksForPosition)
        {
            Write(HubMessages.Position(position), isNotification: false);
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
                _slowConsumer.Lost(1);
            }

            // A message handed to SignalR cannot be taken back, so a full queue always closes the connection.
            _slowConsumer.Closing();
            connection.Abort();
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
                _slowConsumer.Lost(1);
            }
        }
        finally
        {
            Interlocked.Decrement(ref _pending);
        }
    }
}
