using System.Text.Json;
using PgNotifyHub.Sequencing;

namespace PgNotifyHub.Transports.WebSockets;

/// <summary>
/// The control frames of the sequenced subprotocol: <c>{"type":"resync","reason":…,"stream":…}</c> (with the
/// <c>channel</c> and <c>audience</c> of the topic it concerns, when it concerns one alone),
/// <c>{"type":"position","stream":…,"positions":[…],"routeSet":…}</c>, and the answers to topic requests,
/// <c>{"type":"subscribed","channel":…,"audience":…,"seq":…,"stream":…}</c>,
/// <c>{"type":"unsubscribed","channel":…,"audience":…}</c> and <c>{"type":"refused","channel":…,"audience":…,"reason":…}</c>.
/// Envelopes never have a <c>type</c>, so clients tell them apart by it.
/// </summary>
internal static class ControlFrame
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static ReadOnlyMemory<byte> Resync(ResyncNotice resync) =>
        Framed(resync.Topic is { } topic
            ? JsonSerializer.SerializeToUtf8Bytes(new { type = "resync", resync.Reason, resync.Stream, topic.Channel, topic.Audience }, Json)
            : JsonSerializer.SerializeToUtf8Bytes(new { type = "resync", resync.Reason, resync.Stream }, Json));

    public static ReadOnlyMemory<byte> Position(StreamPosition position) =>
        Framed(JsonSerializer.SerializeToUtf8Bytes(new { type = "position", position.Stream, position.Positions, position.RouteSet }, Json));

    public static ReadOnlyMemory<byte> Answer(TopicAnswer answer) =>
        Framed(answer switch
        {
            { Position: { } position } => JsonSerializer.SerializeToUtf8Bytes(new { answer.Type, answer.Channel, answer.Audience, position.Seq, position.Stream }, Json),
            { Reason: { } reason } => JsonSerializer.SerializeToUtf8Bytes(new { answer.Type, answer.Channel, answer.Audience, reason }, Json),
            _ => JsonSerializer.SerializeToUtf8Bytes(new { answer.Type, answer.Channel, answer.Audience }, Json),
        });

    private static byte[] Framed(byte[] json)
    {
        var headerLength = WebSocketFrameHeader.LengthFor(json.Length);
        var frame = new byte[headerLength + json.Length];
        WebSocketFrameHeader.WriteText(frame.AsSpan(0, headerLength), json.Length);
        json.CopyTo(frame.AsSpan(headerLength));
        return frame;
    }
}
