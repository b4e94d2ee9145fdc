using PgNotifyHub.Diagnostics;

namespace PgNotifyHub.Sequencing;

/// <summary>A recipient of notifications: a raw WebSocket, a SignalR connection or an in-process subscription.</summary>
internal interface INotificationSink : IQueueDepth
{
    /// <summary>
    /// The channel and audience pairs the sink joined with, from its resolved audiences; fixed for its lifetime. Topics its
    /// client subscribes to are added and removed beside them by the sequencer.
    /// </summary>
    IReadOnlyList<Route> Routes { get; }

    /// <summary>
    /// Hands a notification over without waiting. Never blocks the dispatcher: a sink that cannot keep up
    /// closes itself or drops its oldest notifications instead, as <see cref="PgNotifyHubOptions.SlowConsumerPolicy"/> says.
    /// </summary>
    void Post(SequencedNotification notification);

    /// <summary>
    /// Tells the client that it may have missed notifications and in which stream numbering goes on. Called in order
    /// with <see cref="Post"/>, never concurrently with it.
    /// </summary>
    void Resync(ResyncNotice resync);

    /// <summary>
    /// Tells a client that asked for it where it stands as it joins: what it was sent so far, replayed or not, is up to
    /// these numbers. Clients that did not ask (pgws sockets, plain SignalR clients, subscriptions) ignore it.
    /// </summary>
    void Position(StreamPosition position);
}
