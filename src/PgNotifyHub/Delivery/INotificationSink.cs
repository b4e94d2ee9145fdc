namespace PgNotifyHub.Delivery;

/// <summary>A recipient of notifications: a raw WebSocket, a SignalR connection or an in-process subscription.</summary>
internal interface INotificationSink
{
    /// <summary>The channel and audience pairs the sink was registered for; fixed for its lifetime.</summary>
    IReadOnlyList<Route> Routes { get; }

    /// <summary>
    /// Hands a notification over without waiting. Never blocks the dispatcher: a sink that cannot keep up
    /// closes itself instead.
    /// </summary>
    void Post(PgNotification notification);
}
