using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PgNotifyHub.Internal;
using PgNotifyHub.Parsing;

namespace PgNotifyHub.Delivery;

/// <summary>The single loop that parses each received notification once and fans it out.</summary>
internal sealed class NotificationDispatcher(
    NotificationQueue queue,
    NotificationHistory history,
    ChannelConsumers consumers,
    PgNotifyHubMetrics metrics,
    IOptions<PgNotifyHubOptions> options,
    TimeProvider time,
    ILogger<NotificationDispatcher> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var timestampProperty = options.Value.LatencyTimestampProperty is { } property ? Encoding.UTF8.GetBytes(property) : null;
        try
        {
            await foreach (var received in queue.Reader.ReadAllAsync(stoppingToken))
            {
                if (received.ListenerReconnected)
                {
                    foreach (var consumer in consumers.All)
                    {
                        consumer.OnListenerReconnected();
                    }

                    history.Restart();
                    continue;
                }

                if (consumers.TryGet(received.Channel, out var channelConsumer))
                {
                    channelConsumer.OnNotification(received.Payload);
                    continue;
                }

                // Outbox messages count here too; doorbells and backplane frames, which are not notifications, do not.
                metrics.NotificationReceived();
                if (NotificationParser.TryParse(received.Channel, received.Payload, timestampProperty, out var notification, out var error))
                {
                    history.Publish(notification);
                    if (notification.SentAt is { } sentAt)
                    {
                        metrics.NotificationLatency(time.GetUtcNow() - sentAt);
                    }
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
