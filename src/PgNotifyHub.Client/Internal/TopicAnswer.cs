namespace PgNotifyHub.Client.Internal;

/// <summary>The result of the hub's <c>subscribe</c> method: <c>{channel, audience, seq, stream}</c>.</summary>
internal sealed record TopicAnswer(string Channel, string Audience, long Seq, string Stream);
