using System.Buffers;
using System.Buffers.Text;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using PgNotifyHub.Parsing;
using PgNotifyHub.Sequencing;

namespace PgNotifyHub.Transports;

/// <summary>
/// The envelope with the fields that let a client notice and repair a gap,
/// <c>{"payload":…,"channel":…,"id":…,"audience":…,"seq":…,"stream":…}</c>: what SignalR clients and raw clients of
/// the sequenced subprotocol receive. Made once per notification, by the first transport that needs it, with the same
/// room for a frame header before it as the parser keeps.
/// </summary>
internal static class SequencedEnvelope
{
    private static readonly EncodingKey<byte[]> Key = new();

    private static ReadOnlySpan<byte> AudiencePrefix => ",\"audience\":\""u8;

    private static ReadOnlySpan<byte> SequencePrefix => "\",\"seq\":"u8;

    private static ReadOnlySpan<byte> StreamPrefix => ",\"stream\":\""u8;

    private static ReadOnlySpan<byte> Suffix => "\"}"u8;

    /// <summary>The header room, then the sequenced envelope, which ends the array.</summary>
    public static byte[] WithHeaderRoom(SequencedNotification notification) =>
        notification.GetOrAddEncoding(Key, notification.Notification, Build);

    /// <summary>The sequenced envelope alone.</summary>
    public static ReadOnlyMemory<byte> Of(SequencedNotification notification) =>
        WithHeaderRoom(notification).AsMemory(NotificationParser.HeaderRoom);

    // The pgws envelope without its closing brace, then the extra fields: the payload is copied once per message.
    private static byte[] Build(PgNotification notification)
    {
        var envelope = notification.Envelope.Span[..^1];
        var audience = EncodeAudience(notification.Audience, out var rented);
        try
        {
            var length = envelope.Length + AudiencePrefix.Length + audience.Length + SequencePrefix.Length
                + Digits(notification.Sequence) + StreamPrefix.Length + Encoding.UTF8.GetByteCount(notification.Stream) + Suffix.Length;
            var bytes = new byte[NotificationParser.HeaderRoom + length];
            var rest = bytes.AsSpan(NotificationParser.HeaderRoom);
            Append(ref rest, envelope);
            Append(ref rest, AudiencePrefix);
            Append(ref rest, audience);
            Append(ref rest, SequencePrefix);
            Utf8Formatter.TryFormat(notification.Sequence, rest, out var digits);
            rest = rest[digits..];
            Append(ref rest, StreamPrefix);
            rest = rest[Encoding.UTF8.GetBytes(notification.Stream, rest)..];
            Append(ref rest, Suffix);
            return bytes;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    // JSON string content. Relaxed escaping: an audience is data for the client, not HTML. Most need no escaping at
    // all, and are only transcoded.
    private static ReadOnlySpan<byte> EncodeAudience(string audience, out byte[]? rented)
    {
        var utf8 = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(audience.Length));
        var length = Encoding.UTF8.GetBytes(audience, utf8);
        if (JavaScriptEncoder.UnsafeRelaxedJsonEscaping.FindFirstCharacterToEncodeUtf8(utf8.AsSpan(0, length)) < 0)
        {
            rented = utf8;
            return utf8.AsSpan(0, length);
        }

        ArrayPool<byte>.Shared.Return(utf8);
        rented = null;
        return JsonEncodedText.Encode(audience, JavaScriptEncoder.UnsafeRelaxedJsonEscaping).EncodedUtf8Bytes;
    }

    private static void Append(ref Span<byte> destination, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(destination);
        destination = destination[bytes.Length..];
    }

    private static int Digits(long value)
    {
        var digits = 1;
        for (; value >= 10; value /= 10)
        {
            digits++;
        }

        return digits;
    }
}
