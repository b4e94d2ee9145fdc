using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace PgNotifyHub.Parsing;

/// <summary>
/// Turns a NOTIFY payload <c>audience,{json object}</c> into a <see cref="ParsedNotification"/> whose envelope is
/// written once, in one exact-size array that has room for a transport's frame header before it. The object is
/// validated with a forward-only reader (no DOM) and kept byte for byte.
/// </summary>
internal static class NotificationParser
{
    /// <summary>
    /// The bytes kept free before every envelope, for the longest frame header a transport writes in place: ten bytes
    /// say the length of any message.
    /// </summary>
    public const int HeaderRoom = 10;

    private static ReadOnlySpan<byte> PayloadPrefix => """{"payload":"""u8;
    private static ReadOnlySpan<byte> ChannelPrefix => ""","channel":"""u8;
    private static ReadOnlySpan<byte> IdPrefix => ",\"id\":\""u8;
    private static ReadOnlySpan<byte> EnvelopeSuffix => "\"}"u8;

    private const int GuidLength = 36;

    // Only JSON's own whitespace: string.Trim() would also remove characters JSON treats as garbage.
    private const string JsonWhitespace = " \t\r\n";

    // Any depth the payload can hold: the reader is iterative, and a durable message (jsonb, up to 1 MiB) as deep as
    // PostgreSQL accepted it must not be dropped here.
    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = int.MaxValue };

    // Channels are few: the listener's, and the outbox's, whose rows may name any channel. Past this many, a channel
    // is encoded with each message rather than kept.
    private const int MaxEncodedChannels = 1024;

    private static readonly ConcurrentDictionary<string, byte[]> EncodedChannels = new(StringComparer.Ordinal);

    /// <param name="channel">The channel the payload arrived on.</param>
    /// <param name="payload">The NOTIFY payload.</param>
    /// <param name="timestampProperty">The top-level property, as UTF-8, whose time becomes <see cref="ParsedNotification.SentAt"/>; null for none.</param>
    /// <param name="notification">The notification, when the payload is valid.</param>
    /// <param name="error">Why the payload is invalid, otherwise.</param>
    public static bool TryParse(
        string channel,
        string payload,
        byte[]? timestampProperty,
        [NotNullWhen(true)] out ParsedNotification? notification,
        [NotNullWhen(false)] out string? error)
    {
        notification = null;

        var comma = payload.IndexOf(',', StringComparison.Ordinal);
        if (comma < 0)
        {
            error = "no comma separates the audience from the JSON object";
            return false;
        }

        if (comma == 0)
        {
            error = "the audience before the first comma is empty";
            return false;
        }

        var json = payload.AsSpan(comma + 1).Trim(JsonWhitespace);
        if (json.IsEmpty)
        {
            error = "there is no JSON object after the first comma";
            return false;
        }

        var encodedChannel = EncodedChannels.TryGetValue(channel, out var cached) ? cached
            : EncodedChannels.Count < MaxEncodedChannels ? EncodedChannels.GetOrAdd(channel, EncodeChannel)
            : EncodeChannel(channel);
        var objectLength = Encoding.UTF8.GetByteCount(json);
        var envelopeLength = PayloadPrefix.Length + objectLength + ChannelPrefix.Length + encodedChannel.Length
            + IdPrefix.Length + GuidLength + EnvelopeSuffix.Length;
        var frame = new byte[HeaderRoom + envelopeLength];

        var payloadStart = HeaderRoom + PayloadPrefix.Length;
        var payloadRange = new Range(payloadStart, payloadStart + objectLength);
        Encoding.UTF8.GetBytes(json, frame.AsSpan(payloadRange));
        if (!IsSingleObject(frame.AsSpan(payloadRange), timestampProperty, out var sentAt, out error))
        {
            return false;
        }

        var id = NotificationId.Next();
        var writer = new SpanWriter(frame.AsSpan(HeaderRoom));
        writer.Write(PayloadPrefix);
        writer.Skip(objectLength);
        writer.Write(ChannelPrefix);
        writer.Write(encodedChannel);
        writer.Write(IdPrefix);
        writer.WriteGuid(id);
        writer.Write(EnvelopeSuffix);

        notification = new ParsedNotification(channel, payload[..comma], id, frame, payloadRange, sentAt);
        return true;
    }

    private static bool IsSingleObject(ReadOnlySpan<byte> json, byte[]? timestampProperty, out DateTimeOffset? sentAt, [NotNullWhen(false)] out string? error)
    {
        sentAt = null;
        var reader = new Utf8JsonReader(json, ReaderOptions);
        try
        {
            reader.Read();
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                error = $"the JSON after the first comma is {Describe(reader.TokenType)}, not an object";
                return false;
            }

            if (timestampProperty is null)
            {
                reader.Skip();
            }
            else
            {
                // The same single pass as Skip(), stopping at the top-level properties to look for the timestamp.
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var isTimestamp = sentAt is null && reader.ValueTextEquals(timestampProperty);
                    reader.Read();
                    if (isTimestamp)
                    {
                        sentAt = ReadTimestamp(ref reader);
                    }

                    reader.Skip();
                }
            }
            if (reader.BytesConsumed != json.Length)
            {
                error = "there is content after the end of the JSON object";
                return false;
            }
        }
        catch (JsonException exception)
        {
            error = $"the JSON after the first comma is not well-formed: {exception.Message}";
            return false;
        }

        error = null;
        return true;
    }

    // An ISO 8601 string (to_json(clock_timestamp())) or seconds since the Unix epoch (extract(epoch from …)).
    // Anything else is not a timestamp; the payload stays valid, it is just not measured.
    private static DateTimeOffset? ReadTimestamp(ref Utf8JsonReader reader) => reader.TokenType switch
    {
        JsonTokenType.String when reader.TryGetDateTimeOffset(out var time) => time,
        JsonTokenType.Number when reader.TryGetDouble(out var seconds) && double.IsFinite(seconds) && Math.Abs(seconds) < 1e11
            => DateTimeOffset.UnixEpoch.AddTicks((long)(seconds * TimeSpan.TicksPerSecond)),
        _ => null,
    };

    private static string Describe(JsonTokenType token) => token switch
    {
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        _ => token.ToString(),
    };

    // JSON string with quotes. Relaxed escaping: a channel name is data for the client, not HTML.
    private static byte[] EncodeChannel(string channel)
    {
        var encoded = JsonEncodedText.Encode(channel, JavaScriptEncoder.UnsafeRelaxedJsonEscaping).EncodedUtf8Bytes;
        var quoted = new byte[encoded.Length + 2];
        quoted[0] = (byte)'"';
        encoded.CopyTo(quoted.AsSpan(1));
        quoted[^1] = (byte)'"';
        return quoted;
    }

    private ref struct SpanWriter(Span<byte> destination)
    {
        private readonly Span<byte> _destination = destination;
        private int _position;

        public void Write(ReadOnlySpan<byte> bytes)
        {
            bytes.CopyTo(_destination[_position..]);
            _position += bytes.Length;
        }

        public void Skip(int count) => _position += count;

        public void WriteGuid(Guid id)
        {
            id.TryFormat(_destination[_position..], out var written, "D");
            _position += written;
        }
    }
}
