using System.Text.Json;
using System.Text.Json.Serialization;
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
internal static partial class ControlFrame
{
    public static ReadOnlyMemory<byte> Resync(ResyncNotice resync) =>
        Framed(JsonSerializer.SerializeToUtf8Bytes(new ResyncMessage(resync), FrameJson.Default.ResyncMessage));

    public static ReadOnlyMemory<byte> Position(StreamPosition position) =>
        Framed(JsonSerializer.SerializeToUtf8Bytes(new PositionMessage(position), FrameJson.Default.PositionMessage));

    public static ReadOnlyMemory<byte> Answer(TopicAnswer answer) =>
        Framed(JsonSerializer.SerializeToUtf8Bytes(new AnswerMessage(answer), FrameJson.Default.AnswerMessage));

    private static byte[] Framed(byte[] json)
    {
        var headerLength = WebSocketFrameHeader.LengthFor(json.Length);
        var frame = new byte[headerLength + json.Length];
        WebSocketFrameHeader.WriteText(frame.AsSpan(0, headerLength), json.Length);
        json.CopyTo(frame.AsSpan(headerLength));
        return frame;
    }

    // Classes rather than positional records: properties are written in declaration order, and type comes first.
    private sealed class ResyncMessage(ResyncNotice resync)
    {
        public string Type { get; } = "resync";

        public string Reason => resync.Reason;

        public string Stream => resync.Stream;

        [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
        public string? Channel => resync.Topic?.Channel;

        [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
        public string? Audience => resync.Topic?.Audience;
    }

    private sealed class PositionMessage(StreamPosition position)
    {
        public string Type { get; } = "position";

        public string Stream => position.Stream;

        public IReadOnlyList<RoutePosition> Positions => position.Positions;

        public string RouteSet => position.RouteSet;
    }

    // A refusal of a request that could not be read still names its channel and audience, as null.
    private sealed class AnswerMessage(TopicAnswer answer)
    {
        public string Type => answer.Type;

        public string? Channel => answer.Channel;

        public string? Audience => answer.Audience;

        [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
        public long? Seq => answer.Position?.Seq;

        [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
        public string? Stream => answer.Position?.Stream;

        [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
        public string? Reason => answer.Reason;
    }

    // Source-generated, so the frames are written the same under Native AOT, where reflection-based serialization is off.
    [JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
    [JsonSerializable(typeof(ResyncMessage))]
    [JsonSerializable(typeof(PositionMessage))]
    [JsonSerializable(typeof(AnswerMessage))]
    private sealed partial class FrameJson : JsonSerializerContext;
}
