using System.Text.Json;

namespace PgNotifyHub.IntegrationTests.Infrastructure;

/// <summary>
/// The payload of a row-change feed message, <c>{"schema":…,"table":…,"at":…,"changes":[…]}</c>, keeping each change's
/// JSON text exactly as it was sent so that tests can compare it byte for byte.
/// </summary>
public sealed record RowChangeMessage(string Schema, string Table, DateTimeOffset At, IReadOnlyList<string> Changes)
{
    public static RowChangeMessage Parse(Envelope envelope) => Parse(envelope.PayloadJson);

    public static RowChangeMessage Parse(string payloadJson)
    {
        using var document = JsonDocument.Parse(payloadJson);
        var root = document.RootElement;
        var names = root.EnumerateObject().Select(property => property.Name).ToArray();
        if (!names.SequenceEqual(["schema", "table", "at", "changes"]))
        {
            throw new FormatException($"Row-change payload keys are [{string.Join(", ", names)}], not [schema, table, at, changes].");
        }

        return new RowChangeMessage(
            root.GetProperty("schema").GetString()!,
            root.GetProperty("table").GetString()!,
            root.GetProperty("at").GetDateTimeOffset(),
            [.. root.GetProperty("changes").EnumerateArray().Select(change => change.GetRawText())]);
    }

    /// <summary>Each change as (op, the key's JSON text, the change's JSON document).</summary>
    public IEnumerable<(string Op, string Key, JsonElement Change)> Parsed =>
        Changes.Select(text =>
        {
            var change = JsonElement.Parse(text);
            return (change.GetProperty("op").GetString()!, change.GetProperty("key").GetRawText(), change);
        });
}
