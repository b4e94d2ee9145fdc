using PgNotifyHub.Sequencing;

namespace PgNotifyHub.Tests.Sequencing;

/// <summary>
/// A message's encodings, one per transport, each made once and shared by every recipient of that transport, also
/// while transports' keys are still being created (each creates its keys when its static fields are first used).
/// </summary>
public sealed class EncodingsTests
{
    [Fact]
    public void An_encoding_whose_making_creates_another_transports_key_is_kept_and_made_once()
    {
        var message = new Message();
        var key = new EncodingKey<object>();
        var made = 0;

        object Encode(Message message)
        {
            made++;
            // As a transport whose encoder first touches another's (SSE's event holds the sequenced envelope).
            message.GetOrAddEncoding(new EncodingKey<object>(), message, static _ => new object());
            return new object();
        }

        var first = message.GetOrAddEncoding(key, message, Encode);
        var second = message.GetOrAddEncoding(key, message, Encode);

        Assert.Same(first, second);
        Assert.Equal(1, made);
    }

    [Fact]
    public void Encodings_made_at_once_on_many_threads_are_one_per_key()
    {
        var message = new Message();
        EncodingKey<object>[] keys = [new(), new(), new(), new()];

        var kept = keys.AsParallel().WithDegreeOfParallelism(4)
            .SelectMany(key => Enumerable.Range(0, 100).Select(_ => (key, encoding: message.GetOrAddEncoding(key, 0, static _ => new object()))))
            .ToList();

        Assert.All(kept.GroupBy(entry => entry.key), group => Assert.Single(group.Select(entry => entry.encoding).Distinct()));
    }

    private sealed class Message : Encodable;
}
