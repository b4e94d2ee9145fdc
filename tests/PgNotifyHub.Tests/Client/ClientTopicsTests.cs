using System.Text.Json;
using PgNotifyHub.Client.Internal;

namespace PgNotifyHub.Tests.Client;

/// <summary>
/// A topic's place in its stream, kept by the .NET client across connections. SignalR writes a call's result when the
/// hub method returns, while the messages it replays or delivers meanwhile go through the connection's queue: either may
/// reach the client first, and neither order may lose or repeat a message.
/// </summary>
public sealed class ClientTopicsTests
{
    private const string Stream = "s1";

    [Fact]
    public void An_answer_to_a_resumed_subscription_that_comes_before_its_replay_does_not_drop_the_replay()
    {
        var topics = new ClientTopics();
        var topic = Subscribed(topics, seq: 1);

        topics.Subscribed(topic, new TopicAnswer("c", "t", 4, Stream));

        Assert.Equal([true, true, true], new long[] { 2, 3, 4 }.Select(seq => Accepts(topics, seq)));
        Assert.False(Accepts(topics, 4));
    }

    [Fact]
    public void A_message_that_comes_before_the_answer_is_not_passed_on_again_after_it()
    {
        var topics = new ClientTopics();
        var topic = Subscribed(topics, seq: 1);

        Assert.True(Accepts(topics, 2));
        topics.Subscribed(topic, new TopicAnswer("c", "t", 2, Stream));

        Assert.False(Accepts(topics, 2));
        Assert.True(Accepts(topics, 3));
    }

    [Fact]
    public void An_answer_in_a_new_stream_takes_the_place_it_gives()
    {
        var topics = new ClientTopics();
        var topic = Subscribed(topics, seq: 7);

        topics.Subscribed(topic, new TopicAnswer("c", "t", 3, "s2"));

        Assert.False(Accepts(topics, 3, "s2"));
        Assert.True(Accepts(topics, 4, "s2"));
    }

    private static ClientTopics.Topic Subscribed(ClientTopics topics, long seq)
    {
        var (topic, _) = topics.Want("t", "c");
        topics.Subscribed(topic, new TopicAnswer("c", "t", seq, Stream));
        return topic;
    }

    private static bool Accepts(ClientTopics topics, long seq, string stream = Stream)
    {
        var accepted = topics.Accept(new Envelope(JsonDocument.Parse("{}").RootElement, "c", Guid.NewGuid(), "t", seq, stream), out var isTopic);
        Assert.True(isTopic);
        return accepted;
    }
}
