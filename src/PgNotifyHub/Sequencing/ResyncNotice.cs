namespace PgNotifyHub.Sequencing;

/// <summary>
/// What a client is told when it may have missed notifications: why, the stream numbering goes on in, and, when it
/// concerns a single topic the client subscribed to, which one. After a listener reconnect one notice goes to every
/// client, so each transport encodes it once and shares the bytes.
/// </summary>
internal sealed class ResyncNotice(string reason, string stream, Route? topic = null) : Encodable
{
    /// <summary>Why, one of <see cref="ResyncReason"/>.</summary>
    public string Reason { get; } = reason;

    /// <summary>The stream numbering goes on in.</summary>
    public string Stream { get; } = stream;

    /// <summary>The topic it concerns alone; null when it concerns every route of the connection.</summary>
    public Route? Topic { get; } = topic;
}
