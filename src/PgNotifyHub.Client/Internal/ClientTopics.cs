namespace PgNotifyHub.Client.Internal;

/// <summary>
/// The topics the application asked for, kept across connections: each new connection asks for every one again, from
/// where the client left it off, so the server authorizes it again and replays what was missed or resyncs that topic.
/// A topic keeps its own place with its own stream, apart from the <see cref="StreamPosition"/> of the routes the
/// connection joined with, which a position notice replaces.
/// </summary>
internal sealed class ClientTopics
{
    private readonly Lock _lock = new();
    private readonly Dictionary<(string? Asked, string Audience), Topic> _wanted = [];

    /// <summary>The topic, made if new, and the task of its next answer.</summary>
    public (Topic Topic, Task<PgNotifyHubTopicPosition> Answered) Want(string audience, string? channel)
    {
        var answered = new TaskCompletionSource<PgNotifyHubTopicPosition>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            if (!_wanted.TryGetValue((channel, audience), out var topic))
            {
                topic = new Topic(audience, channel);
                _wanted[(channel, audience)] = topic;
            }

            topic.Waiters.Add(answered);
            return (topic, answered.Task);
        }
    }

    /// <summary>Forgets the topic; a subscription still waiting for its answer is cancelled.</summary>
    public void Drop(string audience, string? channel)
    {
        List<TaskCompletionSource<PgNotifyHubTopicPosition>> waiters;
        lock (_lock)
        {
            if (!_wanted.Remove((channel, audience), out var topic))
            {
                return;
            }

            waiters = [.. topic.Waiters];
            topic.Waiters.Clear();
        }

        foreach (var waiter in waiters)
        {
            waiter.TrySetCanceled();
        }
    }

    public Topic[] All()
    {
        lock (_lock)
        {
            return [.. _wanted.Values];
        }
    }

    /// <summary>The argument of <c>subscribe</c>: where the topic was left off, once known.</summary>
    public Dictionary<string, object> Request(Topic topic)
    {
        lock (_lock)
        {
            var request = new Dictionary<string, object> { ["audience"] = topic.Audience };
            if (topic.Asked is { } channel)
            {
                request["channel"] = channel;
            }

            if (topic.Stream is { } stream)
            {
                request["seq"] = topic.Seq;
                request["stream"] = stream;
            }

            return request;
        }
    }

    /// <summary>
    /// Whether <paramref name="envelope"/> is of a topic (<paramref name="isTopic"/>), and if so whether to pass it on:
    /// false for one passed on already.
    /// </summary>
    public bool Accept(Envelope envelope, out bool isTopic)
    {
        lock (_lock)
        {
            isTopic = false;
            foreach (var topic in _wanted.Values)
            {
                // Before its first answer a topic is known by the channel it asked for, if any.
                if (topic.Audience != envelope.Audience || (topic.Channel ?? topic.Asked ?? envelope.Channel) != envelope.Channel)
                {
                    continue;
                }

                isTopic = true;
                if (topic.Stream == envelope.Stream && envelope.Seq <= topic.Seq)
                {
                    return false;
                }

                (topic.Stream, topic.Seq) = (envelope.Stream, envelope.Seq);
                return true;
            }

            return true;
        }
    }

    public void Subscribed(Topic topic, TopicAnswer answer)
    {
        List<TaskCompletionSource<PgNotifyHubTopicPosition>> waiters;
        lock (_lock)
        {
            if (!_wanted.TryGetValue((topic.Asked, topic.Audience), out var current) || current != topic)
            {
                return;
            }

            topic.Channel = answer.Channel;
            // On the same stream the messages keep the place: SignalR writes a call's result when it returns, so live or
            // replayed messages may come before or after the answer, and taking its later number would drop the replay.
            if (topic.Stream != answer.Stream)
            {
                topic.Seq = answer.Seq;
            }

            topic.Stream = answer.Stream;
            waiters = [.. topic.Waiters];
            topic.Waiters.Clear();
        }

        var position = new PgNotifyHubTopicPosition(answer.Channel, answer.Audience, answer.Seq, answer.Stream);
        foreach (var waiter in waiters)
        {
            waiter.TrySetResult(position);
        }
    }

    /// <summary>Forgets a topic the server refused; false when nobody waited for the answer, so the application must be told otherwise.</summary>
    public bool Refused(Topic topic, string reason)
    {
        List<TaskCompletionSource<PgNotifyHubTopicPosition>> waiters;
        lock (_lock)
        {
            if (!_wanted.TryGetValue((topic.Asked, topic.Audience), out var current) || current != topic)
            {
                return true;
            }

            _wanted.Remove((topic.Asked, topic.Audience));
            waiters = [.. topic.Waiters];
            topic.Waiters.Clear();
        }

        foreach (var waiter in waiters)
        {
            waiter.TrySetException(new PgNotifyHubTopicRefusedException(reason, topic.Audience));
        }

        return waiters.Count > 0;
    }

    /// <summary>One topic; its place is changed only under the set's lock.</summary>
    internal sealed class Topic(string audience, string? asked)
    {
        public string Audience { get; } = audience;

        /// <summary>The channel asked for; null for the endpoint's first.</summary>
        public string? Asked { get; } = asked;

        /// <summary>The channel the server answered with; null before its first answer.</summary>
        public string? Channel { get; set; }

        public long Seq { get; set; }

        /// <summary>The stream <see cref="Seq"/> is in; null before anything of the topic was seen.</summary>
        public string? Stream { get; set; }

        public List<TaskCompletionSource<PgNotifyHubTopicPosition>> Waiters { get; } = [];
    }
}
