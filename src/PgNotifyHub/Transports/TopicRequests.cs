using Microsoft.AspNetCore.Http;
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

    /// <summary>
    /// Checks the topics a connection's request names as it connects (an event stream's, which sends nothing once open):
    /// each must be allowed on every channel of the endpoint, and with the resolved audiences they must stay within
    /// <see cref="PgNotifyHubOptions.MaxAudiencesPerConnection"/>. One refusal refuses the connection, so a client never
    /// gets fewer topics than it asked for without knowing it.
    /// </summary>
    /// <returns>The resolved audiences followed by the topics, or why the connection is refused (logged and counted).</returns>
    public async ValueTask<(IReadOnlyList<string> Audiences, string? Refusal)> AuthorizeAtConnectAsync(
        HttpContext context, EndpointSettings endpoint, IReadOnlyList<string> resolved, IReadOnlyList<string> topics, string transport, string connectionId)
    {
        var audiences = new List<string>(resolved);
        foreach (var audience in topics)
        {
            if (audiences.Contains(audience))
            {
                continue;
            }

            string? reason = null;
            if (!endpoint.Topics.Enabled)
            {
                reason = Refusals.TopicsDisabled;
            }
            else if (!TopicRequest.IsAudience(audience))
            {
                reason = Refusals.Invalid;
            }
            else if (audiences.Count >= options.Value.MaxAudiencesPerConnection)
            {
                reason = Refusals.TooManyAudiences;
            }
            else
            {
                foreach (var channel in endpoint.Channels)
                {
                    if (!await AllowsAsync(context, endpoint, new PgNotificationTopic(channel, audience), transport, connectionId))
                    {
                        reason = Refusals.NotAllowed;
                        break;
                    }
                }
            }

            if (reason is not null)
            {
                metrics.TopicRefused(transport, reason);
                Log.TopicRefused(logger, transport, connectionId, "subscribe to", channel: null, audience, reason);
                return (resolved, $"its topic '{audience}' is refused: {reason}");
            }

            audiences.Add(audience);
        }

        return (audiences, null);
    }

    private async ValueTask<TopicAnswer> SubscribeAsync(ConnectionTopics connection, TopicRequest request, Route topic, int maxAudiences, Action<TopicAnswer>? inOrder)
    {
        // An audience the connection was given is its own already: the answer only says where it stands.
        if (!connection.Sink.Routes.Contains(topic)
            && !await AllowsAsync(connection.Context, connection.Endpoint, new PgNotificationTopic(topic.Channel, request.Audience), connection.Transport, connection.ConnectionId))
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

    // An authorization that throws refuses the topic: the failure is the application's, logged at Error for it to see.
    private async ValueTask<bool> AllowsAsync(HttpContext context, EndpointSettings endpoint, PgNotificationTopic topic, string transport, string connectionId)
    {
        try
        {
            return await endpoint.Topics.AllowsAsync(context, topic);
        }
        catch (Exception exception)
        {
            Log.TopicAuthorizationFailed(logger, exception, transport, connectionId, topic.Channel, topic.Audience);
            return false;
        }
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
