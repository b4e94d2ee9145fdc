using System.Buffers.Text;
using System.Text.Json;

namespace PgNotifyHub.LoadTest;

/// <summary>
/// Reads the benchmark's payloads, <c>{"i":SEQ,"b":BATCH}</c>, <c>{"i":SEQ,"t":SENT,"p":"…"}</c>, <c>{"end":RUN}</c> and
/// <c>{"probe":RUN}</c>, from what each kind of client receives, with no allocation of its own. The batch of a batched
/// message follows from its sequence number (the generator records each batch's first sequence number and commit
/// time); a message sent one per transaction carries its send time.
/// </summary>
internal static class MessageReader
{
    /// <summary>
    /// A raw WebSocket frame: the envelope <c>{"payload":{…},"channel":"…","id":"…"}</c>. The server forwards the
    /// payload verbatim and writes it first, so the key that follows <c>{"payload":{"</c> tells the message apart.
    /// </summary>
    public static void ReadEnvelope(ReadOnlySpan<byte> frame, ClientRecorder recorder, long timestamp)
    {
        ReadOnlySpan<byte> prefix = "{\"payload\":{\""u8;
        if (!frame.StartsWith(prefix))
        {
            recorder.OnUnreadable();
            return;
        }

        var payload = frame[prefix.Length..];
        if (payload.StartsWith("i\":"u8) && Utf8Parser.TryParse(payload[3..], out long sequence, out var digits))
        {
            var rest = payload[(3 + digits)..];
            recorder.OnSequence(sequence, timestamp, rest.StartsWith(",\"t\":"u8) && Utf8Parser.TryParse(rest[5..], out long sentAt, out _) ? sentAt : 0);
        }
        else if (payload.StartsWith("end\":"u8) && Utf8Parser.TryParse(payload[5..], out long endRun, out _))
        {
            recorder.OnEnd(endRun);
        }
        else if (payload.StartsWith("probe\":"u8) && Utf8Parser.TryParse(payload[7..], out long probeRun, out _))
        {
            recorder.OnProbe(probeRun);
        }
        else
        {
            recorder.OnUnreadable();
        }
    }

    /// <summary>The argument of a SignalR <c>notify</c> call: the same envelope, already parsed by the client library.</summary>
    public static void ReadEnvelope(JsonElement envelope, ClientRecorder recorder, long timestamp)
    {
        if (envelope.ValueKind != JsonValueKind.Object || !envelope.TryGetProperty("payload"u8, out var payload) || payload.ValueKind != JsonValueKind.Object)
        {
            recorder.OnUnreadable();
        }
        else if (payload.TryGetProperty("i"u8, out var sequence) && sequence.TryGetInt64(out var sequenceValue))
        {
            recorder.OnSequence(sequenceValue, timestamp, payload.TryGetProperty("t"u8, out var sent) && sent.TryGetInt64(out var sentAt) ? sentAt : 0);
        }
        else if (payload.TryGetProperty("end"u8, out var endRun) && endRun.TryGetInt64(out var endRunValue))
        {
            recorder.OnEnd(endRunValue);
        }
        else if (payload.TryGetProperty("probe"u8, out var probeRun) && probeRun.TryGetInt64(out var probeRunValue))
        {
            recorder.OnProbe(probeRunValue);
        }
        else
        {
            recorder.OnUnreadable();
        }
    }

    /// <summary>A NOTIFY payload as a plain LISTEN connection gets it: <c>bench,{"i":…}</c>.</summary>
    public static void ReadNotifyPayload(string notifyPayload, ClientRecorder recorder, long timestamp)
    {
        var comma = notifyPayload.IndexOf(',', StringComparison.Ordinal);
        var payload = comma < 0 ? ReadOnlySpan<char>.Empty : notifyPayload.AsSpan(comma + 1);
        if (payload.StartsWith("{\"i\":", StringComparison.Ordinal) && TryParseLeadingInt64(payload[5..], out var sequence, out var digits))
        {
            var rest = payload[(5 + digits)..];
            recorder.OnSequence(sequence, timestamp, rest.StartsWith(",\"t\":", StringComparison.Ordinal) && TryParseLeadingInt64(rest[5..], out var sentAt, out _) ? sentAt : 0);
        }
        else if (payload.StartsWith("{\"end\":", StringComparison.Ordinal) && TryParseLeadingInt64(payload[7..], out var endRun, out _))
        {
            recorder.OnEnd(endRun);
        }
        else if (payload.StartsWith("{\"probe\":", StringComparison.Ordinal) && TryParseLeadingInt64(payload[9..], out var probeRun, out _))
        {
            recorder.OnProbe(probeRun);
        }
        else
        {
            recorder.OnUnreadable();
        }
    }

    private static bool TryParseLeadingInt64(ReadOnlySpan<char> text, out long value, out int length)
    {
        length = 0;
        while (length < text.Length && char.IsAsciiDigit(text[length]))
        {
            length++;
        }

        return long.TryParse(text[..length], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out value);
    }
}
