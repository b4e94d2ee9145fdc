using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PgNotifyHub.Internal;
using PgNotifyHub.Parsing;

namespace PgNotifyHub.Delivery;

/// <summary>The single loop that parses each received notification once and fans it out.</summary>
internal sealed class NotificationDispatcher(
    NotificationQueue queue,
    NotificationRouter router,
    PgNotifyHubMetrics metrics,
    ILogger<NotificationDispatcher> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var received in queue.Reader.ReadAllAsync(stoppingToken))
            {
                metrics.NotificationReceived();
                if (NotificationParser.TryParse(received.Channel, received.Payload, out var notification, out var error))
                {
                    router.Post(notification);
                }
                else
                {
                    metrics.NotificationInvalid();
                    Log.InvalidPayload(logger, received.Channel, error);
                    Log.InvalidPayloadText(logger, received.Channel, received.Payload);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
