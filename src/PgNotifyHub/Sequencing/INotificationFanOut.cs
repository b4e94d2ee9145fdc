namespace PgNotifyHub.Sequencing;

/// <summary>
/// Where the sequencer hands each numbered notification on: the one fan-out, which the sequencer alone registers sinks
/// and their topics with, under its lock, so a joining or subscribing client misses nothing and gets nothing twice.
/// </summary>
internal interface INotificationFanOut
{
    /// <summary>Delivers the routes <paramref name="sink"/> joined with (<see cref="INotificationSink.Routes"/>) to it.</summary>
    void Register(INotificationSink sink);

    /// <summary>Stops delivering the routes <paramref name="sink"/> joined with.</summary>
    void Unregister(INotificationSink sink);

    /// <summary>Delivers <paramref name="route"/> to <paramref name="sink"/> as well: a topic its client chose.</summary>
    void Add(INotificationSink sink, Route route);

    /// <summary>Stops delivering <paramref name="route"/> to <paramref name="sink"/>.</summary>
    void Remove(INotificationSink sink, Route route);

    /// <summary>Hands <paramref name="notification"/> to every sink of its route; returns how many took it.</summary>
    int Post(SequencedNotification notification);

    /// <summary>Every registered sink, once each.</summary>
    IReadOnlyCollection<INotificationSink> Sinks();

    /// <summary>How many sinks receive <paramref name="route"/>, not counting those of every audience.</summary>
    int SubscriberCount(Route route);
}
