namespace PgNotifyHub.Client.Internal;

/// <summary>
/// What the hub's <c>position</c> method carries each time the client joins:
/// <c>{"stream":"…","positions":[{"channel":"…","audience":"…","seq":42}]}</c>, one entry per route of the connection,
/// 0 where nothing was sent yet. The client passes the same shape back as the query parameter <c>resume</c>.
/// </summary>
internal sealed record PositionNotice(string Stream, IReadOnlyList<RoutePosition> Positions);
