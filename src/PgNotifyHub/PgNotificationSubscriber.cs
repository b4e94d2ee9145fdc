using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PgNotifyHub.Diagnostics;
using PgNotifyHub.Listening;
using PgNotifyHub.Postgres;
using PgNotifyHub.Sequencing;

namespace PgNotifyHub;

/// <summary>
/// Subscribes application code to the notifications of the process's single PostgreSQL listener: those of a channel,
/// optionally of one audience, as the same <see cref="PgNotification"/> (same id) that the sockets and hub
/// connections get. Registered by <c>AddPgNotifyHub</c>; inject it.
/// </summary>
/// <remarks>
/// A channel that no endpoint or other subscription uses is LISTENed when its first subscription is made and
/// UNLISTENed when its last is disposed, on the listener's one connection, without a reconnect.
/// </remarks>
public sealed class PgNotificationSubscriber
{
    private readonly ListenedChannels _channels;
    private readonly NotificationSequencer _sequencer;
    private readonly PgNotifyHubOptions _options;
    private readonly PgNotifyHubMetrics _metrics;
    private readonly ILogger _logger;

    internal PgNotificationSubscriber(
        ListenedChannels channels,
        NotificationSequencer sequencer,
        IOptions<PgNotifyHubOptions> options,
        PgNotifyHubMetrics metrics,
        ILogger<PgNotificationSubscriber> logger)
    {
        _channels = channels;
        _sequencer = sequencer;
        _options = options.Value;
        _metrics = metrics;
        _logger = logger;
    }

    /// <summary>
    /// Subscribes to the notifications of <paramref name="channel"/>, for <paramref name="audience"/> or for every
    /// audience. Completes once the channel is LISTENed on the live connection: every notification committed
    /// afterwards is delivered. While PostgreSQL is unreachable it waits for the listener to reconnect.
    /// </summary>
    /// <param name="channel">The channel, used exactly as given (case-sensitive, as in <c>pg_notify</c>).</param>
    /// <param name="audience">Only this audience's notifications; <see langword="null"/> for all of them.</param>
    /// <param name="cancellationToken">Stops waiting for the LISTEN; the subscription is then disposed.</param>
    /// <returns>
    /// The subscription: enumerate it to receive notifications, dispose it to unsubscribe. Its queue holds
    /// <see cref="PgNotifyHubOptions.SendQueueCapacity"/> notifications; when a consumer falls that far behind,
    /// the subscription is closed as a slow socket would be, and its enumeration throws after the queued ones.
    /// </returns>
    /// <exception cref="ArgumentException"><paramref name="channel"/> is not a channel name, or <paramref name="audience"/> is empty.</exception>
    public async ValueTask<PgNotificationSubscription> SubscribeAsync(string channel, string? audience = null, CancellationToken cancellationToken = default)
    {
        if (!ChannelName.IsValid(channel))
        {
            throw new ArgumentException($"The channel is {ChannelName.Describe(channel)}.", nameof(channel));
        }

        if (audience is { Length: 0 })
        {
            throw new ArgumentException("The audience must not be empty; pass null for every audience.", nameof(audience));
        }

        var lease = _channels.Acquire([channel]);
        var subscription = new PgNotificationSubscription(new Route(channel, audience), _options, lease, _sequencer, _metrics, _logger);
        try
        {
            await _channels.WaitUntilListeningAsync(lease.Version, cancellationToken);
        }
        catch
        {
            subscription.Dispose();
            throw;
        }

        return subscription;
    }
}
