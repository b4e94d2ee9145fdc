namespace PgNotifyHub.Parsing;

/// <summary>
/// A NOTIFY payload once parsed: its audience, its id, and the envelope <c>{"payload":…,"channel":…,"id":…}</c>
/// written once, in an array that keeps <see cref="NotificationParser.HeaderRoom"/> bytes free before it, so that a
/// transport can put its frame's header there and send the whole without copying the envelope.
/// </summary>
internal sealed class ParsedNotification(string channel, string audience, Guid id, byte[] buffer, Range payload, DateTimeOffset? sentAt)
{
    public string Channel { get; } = channel;

    public string Audience { get; } = audience;

    public Guid Id { get; } = id;

    /// <summary>The room for a header, then the envelope, which ends the array.</summary>
    public byte[] Buffer { get; } = buffer;

    /// <summary>The envelope, after the header room.</summary>
    public ReadOnlyMemory<byte> Envelope => Buffer.AsMemory(NotificationParser.HeaderRoom);

    /// <summary>The JSON object of the payload, verbatim, inside the envelope.</summary>
    public ReadOnlyMemory<byte> Payload => Buffer.AsMemory(payload);

    /// <summary>When the payload says it was sent (<see cref="PgNotifyHubOptions.LatencyTimestampProperty"/>); null when it does not.</summary>
    public DateTimeOffset? SentAt { get; } = sentAt;
}
