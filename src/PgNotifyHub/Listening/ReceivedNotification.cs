using System.Diagnostics;

namespace PgNotifyHub.Listening;

/// <summary>
/// A NOTIFY as PostgreSQL delivered it, before parsing; or, with <see cref="ListenerReconnected"/>, the mark that
/// the listener lost its connection and has a new one, queued before anything the new connection received.
/// </summary>
internal readonly record struct ReceivedNotification(string Channel, string Payload, bool ListenerReconnected = false)
{
    public static ReceivedNotification Reconnected { get; } = new("", "", ListenerReconnected: true);

    /// <summary>The span that received it (the listener's read, the outbox's); null while nobody traces.</summary>
    public Activity? Origin { get; init; }
}
