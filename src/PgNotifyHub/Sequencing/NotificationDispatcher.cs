using System.Diagnostics;
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
/// <remarks>
/// It works in batches: whatever the queue holds when it wakes, up to <see cref="MaxBatch"/>, and only what one span
/// received (<see cref="ReceivedNotification.Origin"/>). A batch is one <c>pgnotifyhub.dispatch</c> span with a
/// <c>pgnotifyhub.publish</c> child per notification, never one per recipient; while nobody traces, it is just a loop.
/// An idle dispatcher runs on the listener's thread as each notification is written, so alone its batches hold one;
/// behind, they hold what queued meanwhile.
/// </remarks>
internal sealed class NotificationDispatcher(
    NotificationQueue queue,
    NotificationSequencer sequencer,
    ChannelConsumers consumers,
    PgNotifyHubMetrics metrics,
    IOptions<PgNotifyHubOptions> options,
    TimeProvider time,
    ILogger<NotificationDispatcher> logger) : BackgroundService
{
    /// <summary>The most notifications one batch takes, so a span ends under a steady flow.</summary>
    public const int MaxBatch = 256;

    private readonly byte[]? _timestampProperty = options.Value.LatencyTimestampProperty is { } property ? Encoding.UTF8.GetBytes(property) : null;

    // The audiences of the batch being traced, for its span; reused, and untouched while nobody traces.
    private readonly HashSet<string> _batchAudiences = new(StringComparer.Ordinal);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (await queue.Reader.WaitToReadAsync(stoppingToken))
            {
                while (DispatchBatch() > 0)
                {
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Dispatches one batch of what the queue holds now; returns how many it took (0: the queue is empty).</summary>
    internal int DispatchBatch()
    {
        var reader = queue.Reader;
        if (!reader.TryRead(out var received))
        {
            return 0;
        }

        var origin = received.Origin;
        using var batch = PgNotifyHubTracing.StartDispatch(origin);
        // The batch's channel, for its span: null once it holds two.
        string? channel = null;
        var mixed = false;
        var (count, recipients) = (0, 0);
        while (true)
        {
            recipients += Dispatch(received, batch);
            count++;
            if (batch is not null && !received.ListenerReconnected && !mixed)
            {
                mixed = channel is not null && channel != received.Channel;
                channel = mixed ? null : received.Channel;
            }

            if (count == MaxBatch || !reader.TryPeek(out var next) || next.Origin != origin || !reader.TryRead(out received))
            {
                break;
            }
        }

        if (batch is not null)
        {
            PgNotifyHubTracing.Dispatched(batch, count, channel, _batchAudiences.Count, recipients);
            _batchAudiences.Clear();
        }

        return count;
    }

    /// <summary>Dispatches one received notification; returns how many recipients it was handed to.</summary>
    private int Dispatch(in ReceivedNotification received, Activity? batch)
    {
        if (received.ListenerReconnected)
        {
            foreach (var consumer in consumers.All)
            {
                consumer.OnListenerReconnected();
            }

            sequencer.Restart();
            batch?.AddEvent(new ActivityEvent(PgNotifyHubTracing.ResyncEvent));
            return 0;
        }

        if (consumers.TryGet(received.Channel, out var channelConsumer))
        {
            channelConsumer.OnNotification(received.Payload, batch);
            return 0;
        }

        // Outbox messages count here too; doorbells and backplane frames, which are not notifications, do not.
        metrics.NotificationReceived();
        using var publish = PgNotifyHubTracing.StartPublish(batch, received.Channel);
        if (!NotificationParser.TryParse(received.Channel, received.Payload, _timestampProperty, out var parsed, out var error))
        {
            PgNotifyHubTracing.PayloadInvalid(publish, error);
            metrics.NotificationInvalid();
            Log.InvalidPayload(logger, received.Channel, error);
            Log.InvalidPayloadText(logger, received.Channel, received.Payload);
            return 0;
        }

        var (notification, recipients) = sequencer.Publish(parsed);
        if (publish is not null)
        {
            _batchAudiences.Add(parsed.Audience);
            PgNotifyHubTracing.Published(publish, parsed.Audience, parsed.Id, notification.Sequence, recipients);
        }

        if (parsed.SentAt is { } sentAt)
        {
            metrics.NotificationLatency(time.GetUtcNow() - sentAt);
        }

        return recipients;
    }
}
