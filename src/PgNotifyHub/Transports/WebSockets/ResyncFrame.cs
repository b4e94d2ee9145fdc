using System.Text.Json;
using PgNotifyHub.Parsing;

namespace PgNotifyHub.Transports.WebSockets;

/// <summary>
/// The control frame of the sequenced subprotocol that tells a client to resync:
/// <c>{"type":"resync","reason":"…","stream":"…"}</c>. Envelopes never have a <c>type</c>, so clients tell them apart by it.
/// </summary>
internal static class ResyncFrame
{
    public static ReadOnlyMemory<byte> For(string reason, string stream)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string>
        {
            ["type"] = "resync",
            ["reason"] = reason,
            ["stream"] = stream,
        });
        var headerLength = WebSocketFrameHeader.LengthFor(json.Length);
        var frame = new byte[headerLength + json.Length];
        WebSocketFrameHeader.WriteText(frame.AsSpan(0, headerLength), json.Length);
        json.CopyTo(frame.AsSpan(headerLength));
        return frame;
    }
}
