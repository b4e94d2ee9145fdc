using System.Diagnostics.CodeAnalysis;
using System.Text.Json;

namespace PgNotifyHub.Delivery;

/// <summary>
/// Where a reconnecting client left off: the stream it was reading and the last sequence number it saw on each
/// route. Sent as the query parameter <c>resume</c>:
/// <c>{"stream":"…","positions":[{"channel":"…","audience":"…","seq":41}]}</c>.
/// </summary>
internal sealed record ResumePosition(string Stream, IReadOnlyDictionary<Route, long> LastSeen)
{
    public const string QueryParameter = "resume";

    // Enough for hundreds of routes; a request line is bounded by the server anyway.
    private const int MaxLength = 16 * 1024;

    public static bool TryParse(string? text, [NotNullWhen(true)] out ResumePosition? position)
    {
        position = null;
        if (string.IsNullOrEmpty(text) || text.Length > MaxLength)
        {
            return false;
        }

        try
        {
            using var document = JsonDocument.Parse(text);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("stream", out var stream) || stream.ValueKind != JsonValueKind.String
                || !root.TryGetProperty("positions", out var positions) || positions.ValueKind != JsonValueKind.Array)
            {
                return false;
            }

            var lastSeen = new Dictionary<Route, long>();
            foreach (var entry in positions.EnumerateArray())
            {
                if (entry.ValueKind != JsonValueKind.Object
                    || !entry.TryGetProperty("channel", out var channel) || channel.ValueKind != JsonValueKind.String
                    || !entry.TryGetProperty("audience", out var audience) || audience.ValueKind != JsonValueKind.String
                    || !entry.TryGetProperty("seq", out var seq) || !seq.TryGetInt64(out var sequence) || sequence < 0)
                {
                    return false;
                }

                lastSeen[new Route(channel.GetString()!, audience.GetString()!)] = sequence;
            }

            position = new ResumePosition(stream.GetString()!, lastSeen);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
