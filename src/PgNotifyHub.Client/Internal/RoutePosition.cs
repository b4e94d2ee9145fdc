namespace PgNotifyHub.Client.Internal;

/// <summary>The last sequence number of one channel and audience within a stream; 0 before the first.</summary>
internal sealed record RoutePosition(string Channel, string Audience, long Seq);
