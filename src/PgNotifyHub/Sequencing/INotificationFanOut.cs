namespace PgNotifyHub.Sequencing;

/// <summary>
/// Where the sequencer hands each numbered notification on: the one fan-out, which the sequencer alone registers sinks
/// with, under its lock, so a joining client misses nothing and gets nothing twice.
/// </summary>
internal interface INotificationFanOut
{
    void Register(INotificationSink sink);

    void Unregister(INotificationSink sink);

    /// <summary>Hands <paramref name="notification"/> to every sink of its route; returns how many took it.</summary>
    int Post(SequencedNotification notification);

    /// <summary>Every registered sink, once each.</summary>
    IReadOnlyCollection<INotificationSink> Sinks();

    /// <summary>How many sinks receive <paramref name="route"/>, not counting those of every audience.</summary>
    int SubscriberCount(Route route);
}
