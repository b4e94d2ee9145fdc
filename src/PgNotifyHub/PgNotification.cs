using System.Text;

namespace PgNotifyHub;

/// <summary>
/// One parsed and numbered NOTIFY, as every recipient gets it: sockets, hub connections and in-process subscriptions
/// share it, and its <see cref="Id"/>. Immutable: its bytes are written once, when it is received, and never copied or
/// re-serialised per recipient.
/// </summary>
public sealed class PgNotification
{
    internal PgNotification(string channel, string audience, Guid id, ReadOnlyMemory<byte> envelope, ReadOnlyMemory<byte> payload, long sequence, string stream)
    {
        Channel = channel;
        Audience = audience;
        Id = id;
        Envelope = envelope;
        Payload = payload;
        Sequence = sequence;
        Stream = stream;
    }

    /// <summary>The PostgreSQL channel the notification was sent on, exactly as named in <c>pg_notify</c>.</summary>
    public string Channel { get; }

    /// <summary>The audience: the text before the first comma of the NOTIFY payload.</summary>
    public string Audience { get; }

    /// <summary>The id given to the notification when it was received; the same for every recipient.</summary>
    public Guid Id { get; }

    /// <summary>
    /// The JSON object exactly as it arrived in the NOTIFY payload, as UTF-8 (already validated). Deserialise
    /// it with <c>JsonSerializer.Deserialize&lt;T&gt;(notification.Payload.Span)</c>.
    /// </summary>
    public ReadOnlyMemory<byte> Payload { get; }

    /// <summary>
    /// The pgws envelope, <c>{"payload":…,"channel":…,"id":…}</c>, as UTF-8: what a pgws page receives from the raw
    /// endpoint.
    /// </summary>
    public ReadOnlyMemory<byte> Envelope { get; }

    /// <summary>
    /// The notification's number among those of its channel and audience: 1, 2, 3… with no gap while the listener
    /// stays connected to PostgreSQL. Numbers restart in each <see cref="Stream"/>. A channel and audience that was
    /// forgotten to stay within <see cref="PgNotifyHubOptions.ReplayBufferMaxBytes"/> numbers on from past every number
    /// it could have had, so its numbers never repeat within a stream.
    /// </summary>
    public long Sequence { get; }

    /// <summary>
    /// The stream the <see cref="Sequence"/> belongs to: a new one begins when the process starts and each time the
    /// listener reconnects, since notifications sent meanwhile may have been lost.
    /// </summary>
    public string Stream { get; }

    /// <summary>Returns the envelope as text.</summary>
    /// <returns>The JSON of <see cref="Envelope"/>.</returns>
    public override string ToString() => Encoding.UTF8.GetString(Envelope.Span);
}
