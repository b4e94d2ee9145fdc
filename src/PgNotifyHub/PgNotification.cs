using System.Text;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
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
    private SerializedHubMessage? _hubMessage;

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

    /// <summary>The whole pgws envelope, <c>{"payload":…,"channel":…,"id":…}</c>, as UTF-8: the raw endpoint's text message.</summary>
    public ReadOnlyMemory<byte> Envelope => _frame.AsMemory(_envelopeStart);

    /// <summary>The envelope as one complete WebSocket text frame: the same bytes go to every raw socket.</summary>
    internal ReadOnlyMemory<byte> WebSocketFrame => _frame;

    /// <summary>
    /// The <c>notify</c> invocation for SignalR. SerializedHubMessage caches its bytes per hub protocol, so
    /// every connection of a protocol shares one serialisation. Created on first use by the single dispatcher.
    /// </summary>
    internal SerializedHubMessage HubMessage =>
        _hubMessage ??= new SerializedHubMessage(new InvocationMessage(NotifyHub.NotifyMethod, [new EnvelopeArgument(Envelope)]));

    /// <summary>Returns the envelope as text.</summary>
    /// <returns>The JSON of <see cref="Envelope"/>.</returns>
    public override string ToString() => Encoding.UTF8.GetString(Envelope.Span);
}
