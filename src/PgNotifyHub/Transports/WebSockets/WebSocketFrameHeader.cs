using System.Buffers.Binary;

namespace PgNotifyHub.Transports.WebSockets;

/// <summary>
/// The header of an unmasked, unfragmented WebSocket text frame (RFC 6455 §5.2), as a server sends it, so a
/// message can be framed once and the same bytes written to every socket.
/// </summary>
internal static class WebSocketFrameHeader
{
    private const byte FinalTextFrame = 0x81;
    private const int MaxShortLength = 125;
    private const byte TwoByteLength = 126;
    private const byte EightByteLength = 127;

    public static int LengthFor(int payloadLength) => payloadLength switch
    {
        <= MaxShortLength => 2,
        <= ushort.MaxValue => 4,
        _ => 10,
    };

    public static void WriteText(Span<byte> header, int payloadLength)
    {
        header[0] = FinalTextFrame;
        switch (header.Length)
        {
            case 2:
                header[1] = (byte)payloadLength;
                break;
            case 4:
                header[1] = TwoByteLength;
                BinaryPrimitives.WriteUInt16BigEndian(header[2..], (ushort)payloadLength);
                break;
            default:
                header[1] = EightByteLength;
                BinaryPrimitives.WriteUInt64BigEndian(header[2..], (ulong)payloadLength);
                break;
        }
    }
}
