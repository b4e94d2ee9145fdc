namespace PgNotifyHub.LoadTest;

/// <summary>The names used on the command line, in the tables and in the JSON.</summary>
internal static class TransportNames
{
    public static string Name(this Transport transport) => transport switch
    {
        Transport.WebSocket => "websocket",
        Transport.SignalR => "signalr",
        Transport.EventStream => "sse",
        _ => throw new ArgumentOutOfRangeException(nameof(transport), transport, null),
    };

    public static Transport Parse(string text) => text.ToLowerInvariant() switch
    {
        "websocket" or "ws" => Transport.WebSocket,
        "signalr" => Transport.SignalR,
        "sse" => Transport.EventStream,
        _ => throw new UsageException($"Unknown transport '{text}': use websocket, signalr, sse, both (websocket and signalr) or all."),
    };
}
