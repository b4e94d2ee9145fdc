namespace PgNotifyHub.Sequencing;

/// <summary>
/// Where a connection stands when it joins: the stream, and the last sequence number of each of its routes. Sent to
/// clients that resume, in the very shape they pass back as <see cref="ResumePosition"/>, so a client knows every one
/// of its routes even before the first message of each.
/// </summary>
internal sealed record StreamPosition(string Stream, IReadOnlyList<RoutePosition> Positions);

/// <summary>The last sequence number published on one channel and audience; 0 before the first.</summary>
internal sealed record RoutePosition(string Channel, string Audience, long Seq);
