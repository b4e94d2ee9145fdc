namespace PgNotifyHub.Client.Internal;

/// <summary>
/// What the hub's <c>resync</c> method carries: messages may have been lost, for <see cref="Reason"/>, and numbering
/// goes on in <see cref="Stream"/>; with <see cref="Channel"/> and <see cref="Audience"/> when it concerns one topic alone.
/// </summary>
internal sealed record ResyncNotice(string Reason, string Stream, string? Channel = null, string? Audience = null);
