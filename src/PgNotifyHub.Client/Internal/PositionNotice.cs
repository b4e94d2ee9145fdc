namespace PgNotifyHub.Client.Internal;

/// <summary>
/// What the hub's <c>position</c> method carries each time the client joins:
/// <c>{"stream":"…","positions":[{"channel":"…","audience":"…","seq":42}],"routeSet":"…"}</c>, one entry per route of
/// the connection, 0 where nothing was sent yet, and the key of that set of routes. The client passes back the stream,
/// the route set and the numbers, in the notice's order, as the query parameter <c>resume</c>:
/// <c>stream.routeSet.42.0</c>. A server that gives no route set takes the notice's own shape back instead.
/// </summary>
internal sealed record PositionNotice(string Stream, IReadOnlyList<RoutePosition> Positions, string? RouteSet = null);
