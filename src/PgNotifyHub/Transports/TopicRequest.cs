using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using PgNotifyHub.Sequencing;

namespace PgNotifyHub.Transports;

/// <summary>Whether a client asks to receive a topic or to stop.</summary>
internal enum TopicRequestKind
{
    Subscribe,
    Unsubscribe,
}

/// <summary>
/// What a client asks of its topics, the same on every transport: <c>{"audience":…,"channel"?:…,"seq"?:…,"stream"?:…}</c>,
/// with <c>"type":"subscribe"</c> or <c>"unsubscribe"</c> first on the raw endpoint, where the message itself does not
/// say which. <c>seq</c> and <c>stream</c> come together, on a subscription only: where the client left the topic off.
/// </summary>
internal sealed record TopicRequest(TopicRequestKind Kind, string Audience, string? Channel, RouteResume? From)
{
    // A flat object: nothing a request holds is deeper, so deeper input is refused while it is read.
    private static readonly JsonDocumentOptions ReadOptions = ClientJson.Options(maxDepth: 1);

    /// <summary>Whether a NOTIFY can name <paramref name="audience"/>: not empty, without a comma or NUL.</summary>
    public static bool IsAudience([NotNullWhen(true)] string? audience) =>
        audience is { Length: > 0 } && audience.AsSpan().IndexOfAny(',', '\0') < 0;

    /// <summary>
    /// Reads a request; false for anything else, whatever the client sent: another JSON type, a key a request does not
    /// have or has twice, a lone surrogate, a number out of range, an audience that no NOTIFY can carry (empty, or with a
    /// comma or NUL), a <c>seq</c> without its <c>stream</c>.
    /// </summary>
    /// <param name="json">The request's UTF-8 JSON.</param>
    /// <param name="kind">What the transport's own message says is asked; null when <c>type</c> must say it.</param>
    /// <param name="request">The request read.</param>
    public static bool TryParse(ReadOnlyMemory<byte> json, TopicRequestKind? kind, [NotNullWhen(true)] out TopicRequest? request)
    {
        request = null;
        try
        {
            using var document = JsonDocument.Parse(json, ReadOptions);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return false;
            }

            string? type = null, audience = null, channel = null, stream = null;
            long? seq = null;
            foreach (var property in root.EnumerateObject())
            {
                var value = property.Value;
                var read = property.Name switch
                {
                    "type" when kind is null => ClientJson.TryGetText(value, out type),
                    "audience" => ClientJson.TryGetText(value, out audience),
                    "channel" => value.ValueKind == JsonValueKind.Null || ClientJson.TryGetText(value, out channel),
                    "seq" => value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number) && (seq = number) >= 0,
                    "stream" => ClientJson.TryGetText(value, out stream) && ResumePosition.IsStream(stream),
                    _ => false,
                };
                if (!read)
                {
                    return false;
                }
            }

            var asked = kind ?? type switch
            {
                "subscribe" => TopicRequestKind.Subscribe,
                "unsubscribe" => TopicRequestKind.Unsubscribe,
                _ => (TopicRequestKind?)null,
            };
            if (asked is null
                || !IsAudience(audience)
                || (seq is null) != (stream is null)
                || (asked == TopicRequestKind.Unsubscribe && seq is not null))
            {
                return false;
            }

            request = new TopicRequest(asked.Value, audience, channel, seq is { } lastSeen ? new RouteResume(stream!, lastSeen) : null);
            return true;
        }
        // A property name that is half a surrogate pair cannot even be compared with the names looked for.
        catch (Exception exception) when (exception is JsonException or InvalidOperationException)
        {
            return false;
        }
    }
}
