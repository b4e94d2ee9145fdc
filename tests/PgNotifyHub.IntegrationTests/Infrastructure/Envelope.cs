using System.Text.Json;

namespace PgNotifyHub.IntegrationTests.Infrastructure;

/// <summary>A received envelope <c>{"payload":…,"channel":…,"id":…}</c>, with the payload's raw JSON text as received.</summary>
public sealed record Envelope(string Raw, string Channel, Guid Id, string PayloadJson)
{
    public static Envelope Parse(string raw)
    {
        using var document = JsonDocument.Parse(raw);
        var root = document.RootElement;
        var names = root.EnumerateObject().Select(property => property.Name).ToArray();
        if (!names.SequenceEqual(["payload", "channel", "id"]))
        {
            throw new FormatException($"Envelope keys are [{string.Join(", ", names)}], not [payload, channel, id]: {raw}");
        }

        return new Envelope(
            raw,
            root.GetProperty("channel").GetString()!,
            Guid.Parse(root.GetProperty("id").GetString()!),
            root.GetProperty("payload").GetRawText());
    }

    /// <summary>A string property of the payload object, or null.</summary>
    public string? PayloadString(string name)
    {
        using var document = JsonDocument.Parse(PayloadJson);
        return document.RootElement.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
    }

    /// <summary>An integer property of the payload object, or null.</summary>
    public long? PayloadNumber(string name)
    {
        using var document = JsonDocument.Parse(PayloadJson);
        return document.RootElement.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetInt64() : null;
    }
}
