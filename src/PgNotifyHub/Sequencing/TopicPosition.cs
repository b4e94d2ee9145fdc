namespace PgNotifyHub.Sequencing;

/// <summary>
/// Where a topic stands once a client subscribed to it: the last number published on its channel and audience in the
/// stream, after anything replayed to the client, as a position notice says it for the routes a connection joined with.
/// </summary>
internal sealed record TopicPosition(string Channel, string Audience, long Seq, string Stream);

/// <summary>Where a client that subscribes again left a topic off: the stream and the last number it saw there.</summary>
internal readonly record struct RouteResume(string Stream, long LastSeen);
