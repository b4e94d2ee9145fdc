namespace PgNotifyHub;

/// <summary>What a full send queue does to its connection; see <see cref="PgNotifyHubOptions.SlowConsumerPolicy"/>.</summary>
public enum PgNotifyHubSlowConsumerPolicy
{
    /// <summary>
    /// Close the connection (WebSocket close 1008 on the raw endpoint; the subscription's sequence throws), so the
    /// client knows it missed messages and can reconnect.
    /// </summary>
    Close,

    /// <summary>
    /// Keep the connection and discard the oldest queued message to make room for each new one: the client stays
    /// connected but silently misses messages, so use it only for data where the latest value is what matters.
    /// </summary>
    DropOldest,
}
