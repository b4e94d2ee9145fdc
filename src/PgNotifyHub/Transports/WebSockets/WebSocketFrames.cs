using PgNotifyHub.Parsing;
using PgNotifyHub.Sequencing;

namespace PgNotifyHub.Transports.WebSockets;

/// <summary>
/// The raw endpoint's wire format: every message as one complete text frame, made once and written as it is to every
/// socket that gets it. A notification's frame header goes into the room kept before its envelope, so the frame is
/// the envelope's own array.
/// </summary>
internal static class WebSocketFrames
{
    private static readonly EncodingKey<Frame> PgwsKey = new();
    private static readonly EncodingKey<Frame> SequencedKey = new();
    private static readonly EncodingKey<Frame> ResyncKey = new();

    /// <summary>pgws's envelope, byte for byte, for sockets without a subprotocol.</summary>
    public static ReadOnlyMemory<byte> Pgws(SequencedNotification notification) =>
        notification.GetOrAddEncoding(PgwsKey, notification, static notification => InPlace(notification.EnvelopeWithHeaderRoom)).Bytes;

    /// <summary>The sequenced envelope, for sockets of the <c>pgnotifyhub.v1</c> subprotocol.</summary>
    public static ReadOnlyMemory<byte> Sequenced(SequencedNotification notification) =>
        notification.GetOrAddEncoding(SequencedKey, notification, static notification => InPlace(SequencedEnvelope.WithHeaderRoom(notification))).Bytes;

    /// <summary>The <c>{"type":"resync"}</c> control frame.</summary>
    public static ReadOnlyMemory<byte> Resync(ResyncNotice resync) =>
        resync.GetOrAddEncoding(ResyncKey, resync, static resync => new Frame(ControlFrame.Resync(resync))).Bytes;

    // The header ends where the room does, so header and message are one run of bytes.
    private static Frame InPlace(Memory<byte> withHeaderRoom)
    {
        var length = withHeaderRoom.Length - NotificationParser.HeaderRoom;
        var headerLength = WebSocketFrameHeader.LengthFor(length);
        var start = NotificationParser.HeaderRoom - headerLength;
        WebSocketFrameHeader.WriteText(withHeaderRoom.Span.Slice(start, headerLength), length);
        return new Frame(withHeaderRoom[start..]);
    }

    private sealed record Frame(ReadOnlyMemory<byte> Bytes);
}
