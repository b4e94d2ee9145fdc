namespace PgNotifyHub.Sequencing;

/// <summary>
/// Where a connection stands when it joins: the stream, and the last sequence number of each of its routes, in
/// <see cref="RouteSet"/> order, with the key of that set. Sent to clients that resume, so a client knows every one of
/// its routes even before the first message of each, and can pass back either this very shape or only the numbers
/// (see <see cref="ResumePosition"/>).
/// </summary>
internal sealed record StreamPosition(string Stream, IReadOnlyList<RoutePosition> Positions, string RouteSet);

/// <summary>The last sequence number published on one channel and audience; 0 before the first.</summary>
internal sealed record RoutePosition(string Channel, string Audience, long Seq);
