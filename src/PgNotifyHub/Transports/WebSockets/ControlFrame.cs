using System.Text.Json;
using PgNotifyHub.Sequencing;

namespace PgNotifyHub.Transports.WebSockets;

/// <summary>
/// The control frames of the sequenced subprotocol: <c>{"type":"resync","reason":…,"stream":…}</c> and
/// <c>{"type":"position","stream":…,"positions":[…],"routeSet":…}</c>. Envelopes never have a <c>type</c>, so clients tell them apart by it.
/// </summary>
internal static class ControlFrame
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static ReadOnlyMemory<byte> Resync(string reason, string stream) =>
        Framed(JsonSerializer.SerializeToUtf8Bytes(new { type = "resync", reason, stream }, Json));

    public static ReadOnlyMemory<byte> Position(StreamPosition position) =>
        Framed(JsonSerializer.SerializeToUtf8Bytes(new { type = "position", position.Stream, position.Positions, position.RouteSet }, Json));

    private static byte[] Framed(byte[] json)
    {
        var headerLength = WebSocketFrameHeader.LengthFor(json.Length);
        var frame = new byte[headerLength + json.Length];
        WebSocketFrameHeader.WriteText(frame.AsSpan(0, headerLength), json.Length);
        json.CopyTo(frame.AsSpan(headerLength));
        return frame;
    }
}
