namespace PgNotifyHub.Sequencing;

/// <summary>
/// What a client is told when it may have missed notifications: why, and the stream numbering goes on in. After a
/// listener reconnect one notice goes to every client, so each transport encodes it once and shares the bytes.
/// </summary>
internal sealed class ResyncNotice(string reason, string stream) : Encodable
{
    /// <summary>Why, one of <see cref="ResyncReason"/>.</summary>
    public string Reason { get; } = reason;

    /// <summary>The stream numbering goes on in.</summary>
    public string Stream { get; } = stream;
}
