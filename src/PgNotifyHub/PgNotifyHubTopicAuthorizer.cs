using Microsoft.AspNetCore.Http;

namespace PgNotifyHub;

/// <summary>
/// Decides, on the server, whether a connection may subscribe to a topic its client asked for (see
/// <see cref="PgNotifyHubEndpointOptions.TopicAuthorizer"/>). Asked on every subscription, also when a client subscribes
/// again after reconnecting, so a topic is only ever held with credentials that allow it now.
/// </summary>
/// <param name="context">The request that opened the connection: its <c>User</c> holds the connection's claims.</param>
/// <param name="topic">The channel and audience asked for.</param>
/// <returns>
/// Whether to allow it. False refuses the subscription with the reason <c>not_allowed</c>; throwing refuses it as well,
/// and is logged as an error.
/// </returns>
public delegate ValueTask<bool> PgNotifyHubTopicAuthorizer(HttpContext context, PgNotificationTopic topic);
