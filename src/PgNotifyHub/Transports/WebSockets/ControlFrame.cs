using System.Text.Json;
using System.Text.Json.Serialization;
using PgNotifyHub.Sequencing;

namespace PgNotifyHub.Transports.WebSockets;

/// <summary>
/// The control frames of the sequenced subprotocol: <c>{"type":"resync","reason":…,"stream":…}</c> and
/// <c>{"type":"position","stream":…,"positions":[…],"routeSet":…}</c>. Envelopes never have a <c>type</c>, so clients tell them apart by it.
/// </summary>
internal static partial class ControlFrame
{
    public static ReadOnlyMemory<byte> Resync(string reason, string stream) =>
        Framed(JsonSerializer.SerializeToUtf8Bytes(new ResyncMessage(reason, stream), FrameJson.Default.ResyncMessage));

    public static ReadOnlyMemory<byte> Position(StreamPosition position) =>
        Framed(JsonSerializer.SerializeToUtf8Bytes(new PositionMessage(position), FrameJson.Default.PositionMessage));

    private static byte[] Framed(byte[] json)
    {
        var headerLength = WebSocketFrameHeader.LengthFor(json.Length);
        var frame = new byte[headerLength + json.Length];
        WebSocketFrameHeader.WriteText(frame.AsSpan(0, headerLength), json.Length);
        json.CopyTo(frame.AsSpan(headerLength));
        return frame;
    }

    // Classes rather than positional records: properties are written in declaration order, and type comes first.
    private sealed class ResyncMessage(string reason, string stream)
    {
        public string Type { get; } = "resync";

        public string Reason { get; } = reason;

        public string Stream { get; } = stream;
    }

    private sealed class PositionMessage(StreamPosition position)
    {
        public string Type { get; } = "position";

        public string Stream => position.Stream;

        public IReadOnlyList<RoutePosition> Positions => position.Positions;

        public string RouteSet => position.RouteSet;
    }

    // Source-generated, so the frames are written the same under Native AOT, where reflection-based serialization is off.
    [JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
    [JsonSerializable(typeof(ResyncMessage))]
    [JsonSerializable(typeof(PositionMessage))]
    private sealed partial class FrameJson : JsonSerializerContext;
}
