namespace PgNotifyHub.LoadTest;

/// <summary>How the benchmark's clients connect to the server.</summary>
internal enum Transport
{
    /// <summary>The raw endpoint: one text frame per message, as pgws sends.</summary>
    WebSocket,

    /// <summary>The SignalR hub over WebSockets, JSON protocol, method <c>notify</c>.</summary>
    SignalR,

    /// <summary>Server-Sent Events: one GET that stays open, one event per message, as the browser's <c>EventSource</c> reads it.</summary>
    EventStream,
}
