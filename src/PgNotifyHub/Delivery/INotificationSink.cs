using PgNotifyHub.Parsing;

namespace PgNotifyHub.Delivery;

/// <summary>A recipient of notifications: a raw WebSocket or a SignalR connection.</summary>
internal interface INotificationSink
{
    /// <summary>The audiences the sink was registered for; fixed for its lifetime.</summary>
    IReadOnlyList<string> Audiences { get; }

    /// <summary>
    /// Hands a notification over without waiting. Never blocks the dispatcher: a sink that cannot keep up
    /// closes itself instead.
    /// </summary>
    void Post(Notification notification);
}
