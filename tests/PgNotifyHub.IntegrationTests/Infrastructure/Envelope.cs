using System.Text.Json;

namespace PgNotifyHub.IntegrationTests.Infrastructure;

/// <summary>
/// A received envelope with the payload's raw JSON text as received: pgws's <c>{"payload":…,"channel":…,"id":…}</c>,
/// or the sequenced one that goes on with <c>"audience":…,"seq":…,"stream":…</c>.
/// </summary>
public sealed record Envelope(string Raw, string Channel, Guid Id, string PayloadJson, string? Audience = null, long? Seq = null, string? Stream = null)
{
    public bool IsSequenced => Seq is not null;

    // Payloads may be nested as deep as PostgreSQL lets them be: the envelope is read at any depth.
    private static readonly JsonDocumentOptions AnyDepth = new() { MaxDepth = 100_000 };

    public static Envelope Parse(string raw)
    {
        using var document = JsonDocument.Parse(raw, AnyDepth);
        var root = document.RootElement;
        var names = root.EnumerateObject().Select(property => property.Name).ToArray();
        var sequenced = names.SequenceEqual(["payload", "channel", "id", "audience", "seq", "stream"]);
        if (!sequenced && !names.SequenceEqual(["payload", "channel", "id"]))
        {
            throw new FormatException($"Envelope keys are [{string.Join(", ", names)}], not [payload, channel, id] nor [payload, channel, id, audience, seq, stream]: {raw}");
        }

        return new Envelope(
            raw,
            root.GetProperty("channel").GetString()!,
            Guid.Parse(root.GetProperty("id").GetString()!),
            root.GetProperty("payload").GetRawText(),
            sequenced ? root.GetProperty("audience").GetString() : null,
            sequenced ? root.GetProperty("seq").GetInt64() : null,
            sequenced ? root.GetProperty("stream").GetString() : null);
    }

    /// <summary>A string property of the payload object, or null.</summary>
    public string? PayloadString(string name)
    {
        using var document = JsonDocument.Parse(PayloadJson, AnyDepth);
        return document.RootElement.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
    }

    /// <summary>An integer property of the payload object, or null.</summary>
    public long? PayloadNumber(string name)
    {
        using var document = JsonDocument.Parse(PayloadJson, AnyDepth);
        return document.RootElement.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetInt64() : null;
    }
}
