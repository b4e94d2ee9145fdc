using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using PgNotifyHub.Sequencing;

namespace PgNotifyHub.Transports.SignalR;

/// <summary>
/// The topic calls of one <see cref="PgNotificationHub"/> connection: the answer is the call's result, a refusal a
/// <see cref="HubException"/> whose message is the reason. A topic's audience group is joined as it is subscribed to and
/// left once no route of the connection has that audience, so application code reaches topics through the hub context
/// as it reaches resolved audiences.
/// </summary>
/// <remarks>
/// The answer follows the call's replayed notifications, but a live one may overtake it: SignalR writes the result only
/// once the call returns. Its numbers are after the answer's, so clients keep the later of the two.
/// </remarks>
internal sealed class HubTopics(ConnectionTopics topics, NotificationSequencer sequencer, HubLifetimeManager<PgNotificationHub> groups) : IHubTopics
{
    public async Task<object> SubscribeAsync(JsonElement request)
    {
        var answer = await HandleAsync(request, TopicRequestKind.Subscribe);
        await groups.AddToGroupAsync(topics.ConnectionId, PgNotificationHub.GroupName(answer.Audience!));
        return answer.Position!;
    }

    public async Task<object> UnsubscribeAsync(JsonElement request)
    {
        var answer = await HandleAsync(request, TopicRequestKind.Unsubscribe);
        var audience = answer.Audience!;
        if (!topics.Sink.Routes.Any(route => route.Audience == audience) && !sequencer.TopicsOf(topics.Sink).Any(route => route.Audience == audience))
        {
            await groups.RemoveFromGroupAsync(topics.ConnectionId, PgNotificationHub.GroupName(audience));
        }

        return new PgNotificationTopic(answer.Channel!, audience);
    }

    // The request as the client wrote it, so it is read with the same rules as on the raw endpoint.
    private async Task<TopicAnswer> HandleAsync(JsonElement request, TopicRequestKind kind)
    {
        var answer = await topics.HandleAsync(Encoding.UTF8.GetBytes(request.GetRawText()), kind, inOrder: null);
        return answer.Reason is { } refusal ? throw new HubException(refusal) : answer;
    }
}
