using System.Diagnostics.CodeAnalysis;
using System.Text.Json;

namespace PgNotifyHub.Sequencing;

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

    // {"stream", "positions": [{…}]}: nothing a position holds is deeper, so deeper input is refused while it is read.
    private static readonly JsonDocumentOptions ReadOptions = new() { MaxDepth = 3, AllowDuplicateProperties = false };

    /// <summary>
    /// Reads a position; false for anything else, whatever the client sent: other JSON types in any place, lone
    /// surrogates, numbers out of range, repeated keys, more depth or length than a position has.
    /// </summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out ResumePosition? position)
    {
        position = null;
        if (string.IsNullOrEmpty(text) || text.Length > MaxLength)
        {
            return false;
        }

        try
        {
            using var document = JsonDocument.Parse(text, ReadOptions);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !TryGetText(root, "stream", out var stream)
                || !root.TryGetProperty("positions", out var positions) || positions.ValueKind != JsonValueKind.Array)
            {
                return false;
            }

            var lastSeen = new Dictionary<Route, long>();
            foreach (var entry in positions.EnumerateArray())
            {
                if (entry.ValueKind != JsonValueKind.Object
                    || !TryGetText(entry, "channel", out var channel)
                    || !TryGetText(entry, "audience", out var audience)
                    || !entry.TryGetProperty("seq", out var seq) || seq.ValueKind != JsonValueKind.Number
                    || !seq.TryGetInt64(out var sequence) || sequence < 0)
                {
                    return false;
                }

                lastSeen[new Route(channel, audience)] = sequence;
            }

            position = new ResumePosition(stream, lastSeen);
            return true;
        }
        // A property name that is half a surrogate pair cannot even be compared with the names looked for.
        catch (Exception exception) when (exception is JsonException or InvalidOperationException)
        {
            return false;
        }
    }

    // A string that is valid UTF-16: JSON lets "\ud800" escape half a surrogate pair, which no .NET string can hold.
    private static bool TryGetText(JsonElement element, string name, [NotNullWhen(true)] out string? text)
    {
        text = null;
        if (!element.TryGetProperty(name, out var value) || value.ValueKind != JsonValueKind.String)
        {
            return false;
        }

        try
        {
            text = value.GetString()!;
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}
