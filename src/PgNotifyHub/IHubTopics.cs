using System.Text.Json;

namespace PgNotifyHub;

/// <summary>
/// What a <see cref="PgNotificationHub"/> connection's topic calls are handed to: the SignalR transport puts one in the
/// connection's items as it admits it (<see cref="PgNotificationHub.TopicsKey"/>). An interface of the contract, so
/// that the hub, which the transport builds on, never uses the transport.
/// </summary>
internal interface IHubTopics
{
    /// <summary>Subscribes; returns <c>{channel, audience, seq, stream}</c>, or throws a <c>HubException</c> whose message is the reason.</summary>
    Task<object> SubscribeAsync(JsonElement request);

    /// <summary>Unsubscribes; returns <c>{channel, audience}</c>, or throws a <c>HubException</c> whose message is the reason.</summary>
    Task<object> UnsubscribeAsync(JsonElement request);
}
