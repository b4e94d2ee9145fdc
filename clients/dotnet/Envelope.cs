using System.Text.Json;

namespace PgNotifyHub.ConsoleClient;

/// <summary>
/// What the hub's <c>notify</c> method carries: <c>{"payload":{…},"channel":"…","id":"…"}</c>. The SignalR client
/// binds it by name, case-insensitively. The payload stays a <see cref="JsonElement"/> because each channel
/// carries its own shape; <see cref="JsonElement.Deserialize{TValue}(JsonSerializerOptions?)"/> turns it into a
/// type once you know which.
/// </summary>
internal sealed record Envelope(JsonElement Payload, string Channel, Guid Id);
