using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.Json;

namespace PgNotifyHub.Sequencing;

/// <summary>
/// Where a reconnecting client left off: the stream it was reading and the last sequence number it saw on each
/// route. Sent as the query parameter <c>resume</c>, in one of two forms:
/// <list type="bullet">
/// <item>the position notice's numbers alone, in its order, after its stream and route set:
/// <c>stream.routeSet.41.0.7</c>, a few characters per route, so even a thousand routes fit in a request line;</item>
/// <item>JSON naming every route: <c>{"stream":"…","positions":[{"channel":"…","audience":"…","seq":41}]}</c>.</item>
/// </list>
/// </summary>
internal sealed class ResumePosition
{
    public const string QueryParameter = "resume";

    // Enough for hundreds of routes in JSON; a request line is bounded by the server anyway.
    private const int MaxLength = 16 * 1024;

    // {"stream", "positions": [{…}]}: nothing a position holds is deeper, so deeper input is refused while it is read.
    private static readonly JsonDocumentOptions ReadOptions = ClientJson.Options(maxDepth: 3);

    private const int MaxStreamLength = 64;

    private static readonly SearchValues<char> StreamCharacters = SearchValues.Create("abcdefghijklmnopqrstuvwxyz0123456789");
    private static readonly SearchValues<char> RouteSetCharacters =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");

    private readonly IReadOnlyDictionary<Route, long>? _lastSeen;
    private readonly string? _routeSet;
    private readonly long[] _sequences = [];

    public ResumePosition(string stream, IReadOnlyDictionary<Route, long> lastSeen)
    {
        Stream = stream;
        _lastSeen = lastSeen;
    }

    private ResumePosition(string stream, string routeSet, long[] sequences)
    {
        Stream = stream;
        _routeSet = routeSet;
        _sequences = sequences;
    }

    public string Stream { get; }

    /// <summary>
    /// The last number seen on each route it names, given the connection's routes in <see cref="RouteSet"/> order;
    /// false when it gives numbers for another set of routes, which cannot be put back on these.
    /// </summary>
    public bool TryGetLastSeen(IReadOnlyList<Route> ordered, [NotNullWhen(true)] out IReadOnlyDictionary<Route, long>? lastSeen)
    {
        lastSeen = _lastSeen;
        if (lastSeen is not null)
        {
            return true;
        }

        if (_sequences.Length != ordered.Count || _routeSet != RouteSet.Key(ordered))
        {
            return false;
        }

        var byRoute = new Dictionary<Route, long>(ordered.Count);
        for (var i = 0; i < ordered.Count; i++)
        {
            byRoute[ordered[i]] = _sequences[i];
        }

        lastSeen = byRoute;
        return true;
    }

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

        if (TryParseNumbers(text, out position))
        {
            return true;
        }

        try
        {
            using var document = JsonDocument.Parse(text, ReadOptions);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !ClientJson.TryGetText(root, "stream", out var stream)
                || !root.TryGetProperty("positions", out var positions) || positions.ValueKind != JsonValueKind.Array)
            {
                return false;
            }

            var lastSeen = new Dictionary<Route, long>();
            foreach (var entry in positions.EnumerateArray())
            {
                if (entry.ValueKind != JsonValueKind.Object
                    || !ClientJson.TryGetText(entry, "channel", out var channel)
                    || !ClientJson.TryGetText(entry, "audience", out var audience)
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

    /// <summary>Whether <paramref name="text"/> can be a stream as the server writes them: lowercase letters and digits.</summary>
    public static bool IsStream(string text) => text.Length is > 0 and <= MaxStreamLength && !text.AsSpan().ContainsAnyExcept(StreamCharacters);

    // stream "." routeSet *("." seq): the stream as the server writes it (lowercase letters and digits), the route set's
    // key (RouteSet.KeyLength URL-safe base64 characters), numbers of ASCII digits without a sign. Strict, so that no
    // JSON a client sends is ever read as numbers.
    private static bool TryParseNumbers(string text, [NotNullWhen(true)] out ResumePosition? position)
    {
        position = null;
        var parts = text.Split('.');
        if (parts.Length < 2
            || !IsStream(parts[0])
            || parts[1].Length != RouteSet.KeyLength || parts[1].AsSpan().ContainsAnyExcept(RouteSetCharacters))
        {
            return false;
        }

        var sequences = new long[parts.Length - 2];
        for (var i = 0; i < sequences.Length; i++)
        {
            // Digits alone: long.TryParse would also take trailing NUL characters.
            var number = parts[i + 2];
            if (number.Length == 0 || number.AsSpan().ContainsAnyExceptInRange('0', '9')
                || !long.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out sequences[i]))
            {
                return false;
            }
        }

        position = new ResumePosition(parts[0], parts[1], sequences);
        return true;
    }
}
