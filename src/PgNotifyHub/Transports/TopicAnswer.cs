using PgNotifyHub.Sequencing;

namespace PgNotifyHub.Transports;

/// <summary>
/// What a client is answered to a topic request, whatever its transport: <c>subscribed</c> with the topic's position,
/// <c>unsubscribed</c>, or <c>refused</c> with the reason (<see cref="Diagnostics.PgNotifyHubMetrics.TopicRefusals"/>).
/// The channel and audience are the topic's; either is null in a refusal of a request that could not be read.
/// </summary>
internal sealed record TopicAnswer(string Type, string? Channel, string? Audience, TopicPosition? Position = null, string? Reason = null)
{
    public const string SubscribedType = "subscribed";
    public const string UnsubscribedType = "unsubscribed";
    public const string RefusedType = "refused";

    public static TopicAnswer Subscribed(TopicPosition position) => new(SubscribedType, position.Channel, position.Audience, position);

    public static TopicAnswer Unsubscribed(Route topic) => new(UnsubscribedType, topic.Channel, topic.Audience);

    public static TopicAnswer Refused(string? channel, string? audience, string reason) => new(RefusedType, channel, audience, Reason: reason);
}
