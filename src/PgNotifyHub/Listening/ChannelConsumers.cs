using System.Collections.Concurrent;

namespace PgNotifyHub.Listening;

/// <summary>
/// A consumer of a whole channel whose payloads are not <c>audience,{json object}</c> (the durable outbox's doorbell,
/// the SignalR backplane): its notifications bypass the parser and the routes, but share the listener's connection.
/// </summary>
internal interface IChannelConsumer
{
    /// <summary>Called by the dispatcher, in order, for each notification of the channel. Must not block it.</summary>
    /// <param name="payload">The notification's payload.</param>
    /// <param name="trace">The dispatcher's span for the batch it is part of; null while nobody traces.</param>
    void OnNotification(string payload, System.Diagnostics.Activity? trace);

    /// <summary>Called by the dispatcher when the listener reconnected: notifications of the channel may have been lost.</summary>
    void OnListenerReconnected();
}

/// <summary>The registered <see cref="IChannelConsumer"/>s, one per channel, each holding its channel LISTENed.</summary>
internal sealed class ChannelConsumers(ListenedChannels listened)
{
    private readonly ConcurrentDictionary<string, IChannelConsumer> _consumers = new(StringComparer.Ordinal);

    public ICollection<IChannelConsumer> All => _consumers.Values;

    /// <summary>Routes <paramref name="channel"/> to <paramref name="consumer"/> and LISTENs on it until the result is disposed.</summary>
    /// <exception cref="InvalidOperationException">Another consumer has the channel.</exception>
    public IDisposable Register(string channel, IChannelConsumer consumer)
    {
        if (!_consumers.TryAdd(channel, consumer))
        {
            throw new InvalidOperationException($"Channel '{channel}' already has a consumer.");
        }

        return new Registration(this, channel, listened.Acquire([channel]));
    }

    public bool TryGet(string channel, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IChannelConsumer? consumer) =>
        _consumers.TryGetValue(channel, out consumer);

    private sealed class Registration(ChannelConsumers owner, string channel, ListenedChannels.Lease lease) : IDisposable
    {
        public void Dispose()
        {
            owner._consumers.TryRemove(channel, out _);
            lease.Dispose();
        }
    }
}
