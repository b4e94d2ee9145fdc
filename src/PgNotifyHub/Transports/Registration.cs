using PgNotifyHub.Sequencing;

namespace PgNotifyHub.Transports;

/// <summary>A connection let in: disposing it stops its deliveries and gives its place back, once.</summary>
internal sealed class Registration<TSink>(ConnectionAdmission owner, TSink sink, string transport, string connectionId) : IDisposable
    where TSink : INotificationSink
{
    private int _released;

    public TSink Sink { get; } = sink;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            owner.Release(Sink, transport, connectionId);
        }
    }
}
