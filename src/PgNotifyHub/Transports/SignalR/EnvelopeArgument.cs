using System.Text.Json;
using System.Text.Json.Serialization;

namespace PgNotifyHub.Transports.SignalR;

/// <summary>
/// The argument of the <c>notify</c> invocation: the envelope bytes, written into the hub protocol's JSON
/// as they are, so SignalR clients get the same object, payload byte for byte, as raw WebSocket clients.
/// </summary>
[JsonConverter(typeof(EnvelopeArgumentConverter))]
internal sealed class EnvelopeArgument(ReadOnlyMemory<byte> envelope)
{
    public ReadOnlyMemory<byte> Envelope { get; } = envelope;
}

internal sealed class EnvelopeArgumentConverter : JsonConverter<EnvelopeArgument>
{
    public override EnvelopeArgument Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        throw new NotSupportedException("The notify envelope is only ever sent, never received.");

    // The parser has validated the payload object and built the envelope itself.
    public override void Write(Utf8JsonWriter writer, EnvelopeArgument value, JsonSerializerOptions options) =>
        writer.WriteRawValue(value.Envelope.Span, skipInputValidation: true);
}
