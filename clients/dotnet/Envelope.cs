using System.Text.Json;

namespace PgNotifyHub.ConsoleClient;

/// <summary>
/// What the hub's <c>notify</c> method carries:
/// <c>{"payload":{…},"channel":"…","id":"…","audience":"…","seq":42,"stream":"…"}</c>. The SignalR client binds it by
/// name, case-insensitively. The payload stays a <see cref="JsonElement"/> because each channel carries its own shape;
/// <see cref="JsonElement.Deserialize{TValue}(JsonSerializerOptions?)"/> turns it into a type once you know which.
/// <see cref="Seq"/> counts 1, 2, 3… per channel and audience within the <see cref="Stream"/>, which changes when the
/// server restarts or its listener reconnects to PostgreSQL.
/// </summary>
internal sealed record Envelope(JsonElement Payload, string Channel, Guid Id, string Audience, long Seq, string Stream);
