using System.Buffers.Text;
using System.Text;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using PgNotifyHub.Parsing;
using PgNotifyHub.Transports.SignalR;

namespace PgNotifyHub;

/// <summary>
/// One parsed NOTIFY, as every recipient gets it: sockets, hub connections and in-process subscriptions
/// share this instance and its <see cref="Id"/>. The pgws envelope is built once, as UTF-8 bytes, and is
/// never copied or re-serialised per recipient.
/// </summary>
public sealed class PgNotification
{
    // One array: the WebSocket frame header, then the envelope, whose payload is the NOTIFY's object verbatim.
    private readonly byte[] _frame;
    private readonly int _envelopeStart;
    private readonly Range _payload;
    private static ReadOnlySpan<byte> AudiencePrefix => ",\"audience\":\""u8;

    private static ReadOnlySpan<byte> SequencePrefix => "\",\"seq\":"u8;

    private static ReadOnlySpan<byte> StreamPrefix => ",\"stream\":\""u8;

    private static ReadOnlySpan<byte> SequencedSuffix => "\"}"u8;

    private SerializedHubMessage? _hubMessage;
    private byte[]? _sequencedFrame;
    private ReadOnlyMemory<byte> _encodedAudience;
    private int _sequencedEnvelopeStart;

    internal PgNotification(string channel, string audience, Guid id, byte[] frame, int envelopeStart, Range payload)
    {
        Channel = channel;
        Audience = audience;
        Id = id;
        _frame = frame;
        _envelopeStart = envelopeStart;
        _payload = payload;
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
    public ReadOnlyMemory<byte> Payload => _frame.AsMemory(_payload);

    /// <summary>
    /// When the payload says it was sent (<see cref="PgNotifyHubOptions.LatencyTimestampProperty"/>); null when it does not.
    /// </summary>
    internal DateTimeOffset? SentAt { get; init; }

    /// <summary>
    /// The notification's number among those of its channel and audience: 1, 2, 3… with no gap while the listener
    /// stays connected to PostgreSQL. Numbers restart in each <see cref="Stream"/>.
    /// </summary>
    public long Sequence { get; private set; }

    /// <summary>
    /// The stream the <see cref="Sequence"/> belongs to: a new one begins when the process starts and each time the
    /// listener reconnects, since notifications sent meanwhile may have been lost.
    /// </summary>
    public string Stream { get; private set; } = "";

    /// <summary>
    /// The place in the order of everything the dispatcher published, across channels and audiences, so replayed
    /// notifications of several routes go out in the order they first did.
    /// </summary>
    internal long Published { get; private set; }

    /// <summary>
    /// When the notification was published, as a <see cref="TimeProvider"/> timestamp, to let replay buffers expire it.
    /// </summary>
    internal long PublishedAt { get; private set; }

    /// <summary>The whole pgws envelope, <c>{"payload":…,"channel":…,"id":…}</c>, as UTF-8: the raw endpoint's text message.</summary>
    public ReadOnlyMemory<byte> Envelope => _frame.AsMemory(_envelopeStart);

    /// <summary>The envelope as one complete WebSocket text frame: the same bytes go to every raw socket.</summary>
    internal ReadOnlyMemory<byte> WebSocketFrame => _frame;

    /// <summary>
    /// The <c>notify</c> invocation for SignalR. SerializedHubMessage caches its bytes per hub protocol, so
    /// every connection of a protocol shares one serialisation. Created on first use by the single dispatcher.
    /// </summary>
    internal SerializedHubMessage HubMessage =>
        _hubMessage ??= new SerializedHubMessage(new InvocationMessage(NotifyHub.NotifyMethod, [new EnvelopeArgument(SequencedEnvelope)]));

    /// <summary>
    /// The envelope with the fields that let a client notice and repair a gap:
    /// <c>{"payload":…,"channel":…,"id":…,"audience":…,"seq":…,"stream":…}</c>. What SignalR clients and raw
    /// clients of the sequenced subprotocol receive. Built on first use, by the dispatcher, once for all recipients.
    /// </summary>
    internal ReadOnlyMemory<byte> SequencedEnvelope => SequencedFrame[_sequencedEnvelopeStart..];

    /// <summary>The sequenced envelope as one complete WebSocket text frame.</summary>
    internal ReadOnlyMemory<byte> SequencedFrame => _sequencedFrame ?? BuildSequencedFrame();

    /// <summary>Numbers the notification; called once, by the dispatcher, before any recipient sees it.</summary>
    /// <param name="stream">The stream the number belongs to.</param>
    /// <param name="sequence">The number within the channel and audience.</param>
    /// <param name="published">The place in the order of everything published.</param>
    /// <param name="publishedAt">The <see cref="TimeProvider"/> timestamp of publishing.</param>
    /// <param name="encodedAudience">The audience as JSON string content, encoded once per channel and audience.</param>
    internal void Sequenced(string stream, long sequence, long published, long publishedAt, ReadOnlyMemory<byte> encodedAudience)
    {
        _encodedAudience = encodedAudience;
        Stream = stream;
        Sequence = sequence;
        Published = published;
        PublishedAt = publishedAt;
    }

    // The pgws envelope without its closing brace, then the extra fields: the payload is copied once per message.
    private byte[] BuildSequencedFrame()
    {
        var envelope = Envelope.Span[..^1];
        var audience = _encodedAudience.Span;
        var length = envelope.Length + AudiencePrefix.Length + audience.Length + SequencePrefix.Length
            + SequenceDigits(Sequence) + StreamPrefix.Length + Stream.Length + SequencedSuffix.Length;
        var headerLength = WebSocketFrameHeader.LengthFor(length);
        var frame = new byte[headerLength + length];
        WebSocketFrameHeader.WriteText(frame.AsSpan(0, headerLength), length);
        var rest = frame.AsSpan(headerLength);
        Append(ref rest, envelope);
        Append(ref rest, AudiencePrefix);
        Append(ref rest, audience);
        Append(ref rest, SequencePrefix);
        Utf8Formatter.TryFormat(Sequence, rest, out var digits);
        rest = rest[digits..];
        Append(ref rest, StreamPrefix);
        rest = rest[Encoding.UTF8.GetBytes(Stream, rest)..];
        Append(ref rest, SequencedSuffix);
        _sequencedEnvelopeStart = headerLength;
        return _sequencedFrame = frame;
    }

    private static void Append(ref Span<byte> destination, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(destination);
        destination = destination[bytes.Length..];
    }

    private static int SequenceDigits(long sequence)
    {
        var digits = 1;
        for (; sequence >= 10; sequence /= 10)
        {
            digits++;
        }

        return digits;
    }

    /// <summary>Returns the envelope as text.</summary>
    /// <returns>The JSON of <see cref="Envelope"/>.</returns>
    public override string ToString() => Encoding.UTF8.GetString(Envelope.Span);
}
