using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PgNotifyHub.Diagnostics;
using PgNotifyHub.Listening;
using PgNotifyHub.Parsing;

namespace PgNotifyHub.Sequencing;

/// <summary>
/// The single loop that takes what the listener (and the outbox reader) received, parses each notification once and
/// hands it to the sequencer; whole-channel consumers (the outbox's doorbell, the backplane) get theirs unparsed.
/// </summary>
internal sealed class NotificationDispatcher(
    NotificationQueue queue,
    NotificationSequencer sequencer,
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

                    sequencer.Restart();
                    continue;
                }

                if (consumers.TryGet(received.Channel, out var channelConsumer))
                {
                    channelConsumer.OnNotification(received.Payload);
                    continue;
                }

                // Outbox messages count here too; doorbells and backplane frames, which are not notifications, do not.
                metrics.NotificationReceived();
                if (NotificationParser.TryParse(received.Channel, received.Payload, timestampProperty, out var parsed, out var error))
                {
                    sequencer.Publish(parsed);
                    if (parsed.SentAt is { } sentAt)
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
