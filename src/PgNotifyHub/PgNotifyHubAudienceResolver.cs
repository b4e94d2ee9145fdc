using Microsoft.AspNetCore.Http;

namespace PgNotifyHub;

/// <summary>
/// Decides, on the server, which audiences a connection belongs to, from the HTTP request that opened it
/// (claims, a cookie, a header set by a trusted reverse proxy…). Clients never choose their own audiences.
/// </summary>
/// <param name="context">The request that opened the WebSocket or the SignalR connection.</param>
/// <returns>
/// The connection's audiences. An empty list refuses the connection: the raw WebSocket endpoint answers 403
/// and a SignalR connection is closed. Throwing refuses the connection as well.
/// </returns>
public delegate ValueTask<IReadOnlyList<string>> PgNotifyHubAudienceResolver(HttpContext context);
