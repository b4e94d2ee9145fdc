namespace PgNotifyHub.LoadTest;

/// <summary>The names used on the command line, in the tables and in the JSON.</summary>
internal static class TransportNames
{
    public static string Name(this Transport transport) => transport switch
    {
        Transport.WebSocket => "websocket",
        Transport.SignalR => "signalr",
        _ => throw new ArgumentOutOfRangeException(nameof(transport), transport, null),
    };

    public static Transport Parse(string text) => text.ToLowerInvariant() switch
    {
        "websocket" or "ws" => Transport.WebSocket,
        "signalr" => Transport.SignalR,
        _ => throw new UsageException($"Unknown transport '{text}': use websocket, signalr or both."),
    };
}
