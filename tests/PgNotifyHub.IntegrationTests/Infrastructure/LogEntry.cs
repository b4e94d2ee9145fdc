using Microsoft.Extensions.Logging;

namespace PgNotifyHub.IntegrationTests.Infrastructure;

/// <summary>One captured log message, with its structured values.</summary>
public sealed record LogEntry(
    long Sequence,
    string Category,
    LogLevel Level,
    EventId EventId,
    string Message,
    Exception? Exception,
    IReadOnlyList<KeyValuePair<string, object?>> State)
{
    public bool IsFromLibrary => Category.StartsWith("PgNotifyHub", StringComparison.Ordinal);

    public object? this[string name] => State.FirstOrDefault(pair => pair.Key == name).Value;

    public override string ToString() =>
        $"#{Sequence} {Level} {Category}[{EventId.Id} {EventId.Name}] {Message}{(Exception is null ? "" : " | " + Exception.GetType().Name + ": " + Exception.Message)}";
}
