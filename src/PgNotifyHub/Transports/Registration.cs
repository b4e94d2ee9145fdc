using PgNotifyHub.Sequencing;

namespace PgNotifyHub.Transports;

/// <summary>A connection let in: disposing it stops its deliveries, topics included, and gives its place back, once.</summary>
internal sealed class Registration<TSink>(ConnectionAdmission owner, TSink sink, ConnectionTopics topics, string transport, string connectionId) : IDisposable
    where TSink : INotificationSink
{
    private int _released;

    public TSink Sink { get; } = sink;

    /// <summary>Where the connection's topic requests go.</summary>
    public ConnectionTopics Topics { get; } = topics;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            owner.Release(Sink, transport, connectionId);
        }
    }
}
