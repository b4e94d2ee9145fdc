using System.Text.Json;

namespace PgNotifyHub.Client.Internal;

/// <summary>
/// What the hub's <c>notify</c> method carries:
/// <c>{"payload":{…},"channel":"…","id":"…","audience":"…","seq":42,"stream":"…"}</c>, bound by name,
/// case-insensitively. <see cref="Seq"/> counts 1, 2, 3… per channel and audience within the <see cref="Stream"/>.
/// </summary>
internal sealed record Envelope(JsonElement Payload, string Channel, Guid Id, string Audience, long Seq, string Stream);
