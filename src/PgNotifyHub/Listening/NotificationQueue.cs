using System.Threading.Channels;

namespace PgNotifyHub.Listening;

/// <summary>
/// Hands notifications from the listener to the dispatcher. Bounded: when the dispatcher falls behind, the
/// listener stops reading from its connection, so notifications wait in PostgreSQL's own queue instead of
/// in this process's memory, and none is dropped. Written by the listener and, in durable mode, the outbox reader.
/// </summary>
internal sealed class NotificationQueue
{
    private const int Capacity = 4096;

    // Synchronous continuations: a write to the idle dispatcher runs it on the writer's thread, rather than queueing
    // it behind the thread pool's other work; the dispatcher never blocks, so the writer only waits for the fan-out.
    private readonly Channel<ReceivedNotification> _channel = Channel.CreateBounded<ReceivedNotification>(
        new BoundedChannelOptions(Capacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait, AllowSynchronousContinuations = true });

    public ChannelWriter<ReceivedNotification> Writer => _channel.Writer;

    public ChannelReader<ReceivedNotification> Reader => _channel.Reader;
}
