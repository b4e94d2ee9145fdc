using System.Text.Json;
using Microsoft.AspNetCore.SignalR;

namespace PgNotifyHub;

/// <summary>
/// The SignalR hub mapped by <c>MapPgNotifyHub</c>. Each connection joins the groups of the audiences resolved from its
/// request, and receives every notification for them as the client method <c>notify</c>, with one argument, the
/// envelope <c>{payload, channel, id, audience, seq, stream}</c>. Clients may call <c>subscribe</c> and
/// <c>unsubscribe</c> to add topics, audiences the endpoint's topic policy or authorizer allows them, and to leave them.
/// </summary>
/// <remarks>
/// The hub offers only the JSON hub protocol (the default): the payload is embedded in it verbatim.
/// Application code may send to an audience through <see cref="IHubContext{THub}"/> of this hub and the
/// group named by <see cref="GroupName"/>.
/// </remarks>
public sealed class PgNotificationHub : Hub
{
    /// <summary>The client method that receives notifications: <c>notify</c>.</summary>
    public const string NotifyMethod = "notify";

    /// <summary>
    /// The client method that tells a connection it may have missed notifications and should reload what it shows:
    /// <c>resync</c>, with one argument <c>{reason, stream}</c>.
    /// </summary>
    public const string ResyncMethod = "resync";

    /// <summary>
    /// The client method that tells a client which passed the <c>resume</c> query parameter (empty on its first
    /// connection) where it stands after joining: <c>position</c>, with <c>{stream, positions: [{channel, audience, seq}]}</c>,
    /// what it passes back in <c>resume</c> when it reconnects.
    /// </summary>
    public const string PositionMethod = "position";

    /// <summary>
    /// The hub method a client calls to subscribe to a topic: <c>subscribe</c>, with one argument
    /// <c>{audience, channel?, seq?, stream?}</c>.
    /// </summary>
    public const string SubscribeMethod = "subscribe";

    /// <summary>The hub method a client calls to leave a topic: <c>unsubscribe</c>, with one argument <c>{audience, channel?}</c>.</summary>
    public const string UnsubscribeMethod = "unsubscribe";

    private const string GroupPrefix = "pgnotifyhub:";

    /// <summary>The key of <see cref="HubCallerContext.Items"/> under which each admitted connection keeps its <see cref="IHubTopics"/>.</summary>
    internal static readonly object TopicsKey = new();

    /// <summary>
    /// The SignalR group of an audience. Prefixed so that audiences cannot collide with an application's own groups.
    /// </summary>
    /// <param name="audience">The audience, as written before the first comma of the NOTIFY payload.</param>
    /// <returns>The group name, <c>pgnotifyhub:</c> followed by the audience.</returns>
    public static string GroupName(string audience)
    {
        ArgumentException.ThrowIfNullOrEmpty(audience);
        return GroupPrefix + audience;
    }

    /// <summary>
    /// Subscribes the calling connection to a topic: the audience on the endpoint's <c>channel</c> (its first when none
    /// is given), if the endpoint's topic policy or authorizer allows it. With <c>seq</c> and <c>stream</c>, where the
    /// client left the topic off on an earlier connection, what it missed since is replayed first, or a <c>resync</c>
    /// naming the topic says that it cannot be. The connection joins the audience's group (<see cref="GroupName"/>).
    /// </summary>
    /// <param name="request"><c>{"audience":…,"channel"?:…,"seq"?:…,"stream"?:…}</c>.</param>
    /// <returns><c>{channel, audience, seq, stream}</c>: where the topic stands, after anything replayed.</returns>
    /// <exception cref="HubException">
    /// Refused, with the reason as its message: <c>topics_disabled</c>, <c>not_allowed</c>, <c>too_many_audiences</c>,
    /// <c>rate_limited</c>, <c>unknown_channel</c> or <c>invalid</c>. A refusal changes nothing.
    /// </exception>
    [HubMethodName(SubscribeMethod)]
    public Task<object> Subscribe(JsonElement request) => Topics.SubscribeAsync(request);

    /// <summary>
    /// Stops delivering a topic to the calling connection, which leaves the audience's group unless another of its routes
    /// has that audience. A topic it does not hold is answered all the same; an audience it was given cannot be left.
    /// </summary>
    /// <param name="request"><c>{"audience":…,"channel"?:…}</c>.</param>
    /// <returns><c>{channel, audience}</c>: nothing of the topic follows.</returns>
    /// <exception cref="HubException">Refused, with the reason as its message, as for <see cref="Subscribe"/>; <c>not_allowed</c> for an audience it was given.</exception>
    [HubMethodName(UnsubscribeMethod)]
    public Task<object> Unsubscribe(JsonElement request) => Topics.UnsubscribeAsync(request);

    // Set for every connection MapPgNotifyHub admits; any other is aborted as it connects.
    private IHubTopics Topics => Context.Items.TryGetValue(TopicsKey, out var topics) && topics is IHubTopics admitted
        ? admitted
        : throw new HubException("The hub was not mapped with MapPgNotifyHub.");
}
