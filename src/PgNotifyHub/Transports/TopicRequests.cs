using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PgNotifyHub.Diagnostics;
using PgNotifyHub.Sequencing;
using Refusals = PgNotifyHub.Diagnostics.PgNotifyHubMetrics.TopicRefusals;

namespace PgNotifyHub.Transports;

/// <summary>
/// The one way a client's topic request is answered, on every transport: read as a <see cref="TopicRequest"/>, held to
/// the connection's rate, checked against the endpoint's channels and its <see cref="TopicAuthorization"/>, then handed
/// to the sequencer, which keeps <see cref="PgNotifyHubOptions.MaxAudiencesPerConnection"/> for the connection's
/// resolved audiences and topics together. A refusal changes nothing, and is logged at Debug and counted.
/// </summary>
internal sealed class TopicRequests(
    NotificationSequencer sequencer,
    IOptions<PgNotifyHubOptions> options,
    TimeProvider time,
    PgNotifyHubMetrics metrics,
    ILogger<TopicRequests> logger)
{
    /// <summary>Answers one request of <paramref name="connection"/>.</summary>
    /// <param name="connection">The connection that asks.</param>
    /// <param name="json">The request's UTF-8 JSON.</param>
    /// <param name="kind">What the transport's message asks for; null when the request's <c>type</c> says it.</param>
    /// <param name="inOrder">
    /// Called with a <c>subscribed</c> or <c>unsubscribed</c> answer under the sequencer's lock, so that what it hands the
    /// client comes after every replayed notification and before every later one; null when the order does not matter.
    /// </param>
    /// <returns>The answer, also when <paramref name="inOrder"/> had it already.</returns>
    public async ValueTask<TopicAnswer> HandleAsync(ConnectionTopics connection, ReadOnlyMemory<byte> json, TopicRequestKind? kind, Action<TopicAnswer>? inOrder)
    {
        var settings = options.Value;
        TopicRequest.TryParse(json, kind, out var request);
        if (!connection.TryTakeRequest(settings, time))
        {
            return Refuse(connection, request, kind, Refusals.RateLimited);
        }

        if (request is null)
        {
            return Refuse(connection, request, kind, Refusals.Invalid);
        }

        if (!connection.Endpoint.Topics.Enabled)
        {
            return Refuse(connection, request, kind, Refusals.TopicsDisabled);
        }

        if (connection.Endpoint.ChannelOf(request.Channel) is not { } channel)
        {
            return Refuse(connection, request, kind, Refusals.UnknownChannel);
        }

        var topic = new Route(channel, request.Audience);
        return request.Kind == TopicRequestKind.Subscribe
            ? await SubscribeAsync(connection, request, topic, settings.MaxAudiencesPerConnection, inOrder)
            : Unsubscribe(connection, request, topic, inOrder);
    }

    private async ValueTask<TopicAnswer> SubscribeAsync(ConnectionTopics connection, TopicRequest request, Route topic, int maxAudiences, Action<TopicAnswer>? inOrder)
    {
        // An audience the connection was given is its own already: the answer only says where it stands.
        bool allowed;
        try
        {
            allowed = connection.Sink.Routes.Contains(topic)
                || await connection.Endpoint.Topics.AllowsAsync(connection.Context, new PgNotificationTopic(topic.Channel, request.Audience));
        }
        catch (Exception exception)
        {
            Log.TopicAuthorizationFailed(logger, exception, connection.Transport, connection.ConnectionId, topic.Channel, request.Audience);
            allowed = false;
        }

        if (!allowed)
        {
            return Refuse(connection, request.Kind, topic.Channel, request.Audience, Refusals.NotAllowed);
        }

        TopicAnswer? answer = null;
        var position = sequencer.Subscribe(
            connection.Sink,
            topic,
            request.From,
            Math.Max(0, maxAudiences - connection.ResolvedAudiences),
            position =>
            {
                answer = TopicAnswer.Subscribed(position);
                inOrder?.Invoke(answer);
            });
        if (position is null)
        {
            return Refuse(connection, request.Kind, topic.Channel, request.Audience, Refusals.TooManyAudiences);
        }

        Log.TopicSubscribed(logger, connection.Transport, connection.ConnectionId, topic.Channel, request.Audience);
        return answer!;
    }

    private TopicAnswer Unsubscribe(ConnectionTopics connection, TopicRequest request, Route topic, Action<TopicAnswer>? inOrder)
    {
        var answer = TopicAnswer.Unsubscribed(topic);
        if (!sequencer.Unsubscribe(connection.Sink, topic, () => inOrder?.Invoke(answer)))
        {
            // An audience the connection was given, which it keeps for its life.
            return Refuse(connection, request.Kind, topic.Channel, request.Audience, Refusals.NotAllowed);
        }

        Log.TopicUnsubscribed(logger, connection.Transport, connection.ConnectionId, topic.Channel, request.Audience);
        return answer;
    }

    // What could be read of the request goes back with the refusal, so a client can tell which of its requests it answers.
    private TopicAnswer Refuse(ConnectionTopics connection, TopicRequest? request, TopicRequestKind? kind, string reason) =>
        Refuse(connection, request?.Kind ?? kind, request?.Channel, request?.Audience, reason);

    private TopicAnswer Refuse(ConnectionTopics connection, TopicRequestKind? kind, string? channel, string? audience, string reason)
    {
        // Counted first, so whoever sees the answer also sees it counted.
        metrics.TopicRefused(connection.Transport, reason);
        Log.TopicRefused(logger, connection.Transport, connection.ConnectionId, kind is TopicRequestKind.Unsubscribe ? "unsubscribe from" : "subscribe to", channel, audience, reason);
        return TopicAnswer.Refused(channel, audience, reason);
    }
}
