using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using PgNotifyHub.Sequencing;

namespace PgNotifyHub.Transports.ServerSentEvents;

/// <summary>
/// The event stream's wire format (the WHATWG HTML standard's <c>text/event-stream</c>): a notification is an event of
/// the default type, <c>message</c>, whose data is the sequenced envelope, so <c>EventSource.onmessage</c> receives
/// exactly the notifications; notices are named events, <c>resync</c> and <c>position</c>, which it does not. What is
/// the same for every connection is made once and shared; each event's <c>id</c> line, which is the connection's own
/// position (<see cref="EventStreamPosition"/>), is written before it.
/// </summary>
internal static partial class EventStreamFormat
{
    private static readonly EncodingKey<byte[]> MessageKey = new();
    private static readonly EncodingKey<byte[]> ResyncKey = new();

    /// <summary>The <c>Content-Type</c> of the stream.</summary>
    public const string ContentType = "text/event-stream";

    private static ReadOnlySpan<byte> Data => "data: "u8;

    private static ReadOnlySpan<byte> LineBreakThenData => "\ndata: "u8;

    private static ReadOnlySpan<byte> EventEnd => "\n\n"u8;

    /// <summary>A comment line: nothing for the client, bytes for the proxies that end a response that stays silent.</summary>
    public static ReadOnlySpan<byte> KeepAlive => ":\n"u8;

    /// <summary>The notification's event without its id: its data lines and the blank line that ends it, made once for every connection.</summary>
    public static ReadOnlyMemory<byte> Message(SequencedNotification notification) =>
        notification.GetOrAddEncoding(MessageKey, notification, static notification => Event(null, SequencedEnvelope.Of(notification).Span));

    /// <summary>The <c>resync</c> event, <c>{"reason":…,"stream":…}</c>, without its id, made once for every connection.</summary>
    public static ReadOnlyMemory<byte> Resync(ResyncNotice resync) =>
        resync.GetOrAddEncoding(ResyncKey, resync, static resync => Event("resync", JsonSerializer.SerializeToUtf8Bytes(new ResyncData(resync), EventJson.Default.ResyncData)));

    /// <summary>The <c>position</c> event without its id: the sequenced subprotocol's position frame, less its <c>type</c>.</summary>
    public static byte[] Position(StreamPosition position) =>
        Event("position", JsonSerializer.SerializeToUtf8Bytes(new PositionData(position), EventJson.Default.PositionData));

    /// <summary>The <c>retry</c> field: how long the browser waits before it reconnects, in whole milliseconds.</summary>
    public static byte[] Retry(TimeSpan delay) =>
        Encoding.ASCII.GetBytes("retry: " + ((long)delay.TotalMilliseconds).ToString(CultureInfo.InvariantCulture) + "\n\n");

    // A data line ends at CR, LF or CRLF, and the client joins the lines of an event with LF, so every line break of the
    // data starts a new data line. JSON has line breaks only as whitespace between tokens (raw ones inside a string are
    // invalid), so the client reads the same JSON, with LF for each CR or CRLF.
    private static byte[] Event(string? type, ReadOnlySpan<byte> data)
    {
        var typeLine = type is null ? [] : Encoding.ASCII.GetBytes("event: " + type + "\n");
        var breaks = data.Count((byte)'\n') + data.Count((byte)'\r');
        var bytes = new byte[typeLine.Length + Data.Length + data.Length + breaks * LineBreakThenData.Length + EventEnd.Length];
        var rest = bytes.AsSpan();
        Append(ref rest, typeLine);
        Append(ref rest, Data);
        while (data.IndexOfAny((byte)'\r', (byte)'\n') is var lineEnd and >= 0)
        {
            Append(ref rest, data[..lineEnd]);
            Append(ref rest, LineBreakThenData);
            data = data[(data[lineEnd] == '\r' && lineEnd + 1 < data.Length && data[lineEnd + 1] == '\n' ? lineEnd + 2 : lineEnd + 1)..];
        }

        Append(ref rest, data);
        Append(ref rest, EventEnd);
        // A CRLF counted as two breaks was written as one: the array ends where the writing did.
        return rest.IsEmpty ? bytes : bytes[..^rest.Length];
    }

    private static void Append(ref Span<byte> destination, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(destination);
        destination = destination[bytes.Length..];
    }

    // Classes rather than positional records: properties are written in declaration order.
    private sealed class ResyncData(ResyncNotice resync)
    {
        public string Reason => resync.Reason;

        public string Stream => resync.Stream;
    }

    private sealed class PositionData(StreamPosition position)
    {
        public string Stream => position.Stream;

        public IReadOnlyList<RoutePosition> Positions => position.Positions;

        public string RouteSet => position.RouteSet;
    }

    // Source-generated, so the events are written the same under Native AOT, where reflection-based serialization is off.
    [JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
    [JsonSerializable(typeof(ResyncData))]
    [JsonSerializable(typeof(PositionData))]
    private sealed partial class EventJson : JsonSerializerContext;
}
