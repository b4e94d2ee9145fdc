using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using PgNotifyHub.Transports.SignalR;

namespace PgNotifyHub.Parsing;

/// <summary>
/// One parsed NOTIFY, prepared once for every recipient: the pgws envelope is already UTF-8 bytes and is
/// never copied or re-serialised per connection.
/// </summary>
internal sealed class Notification
{
    private readonly byte[] _envelope;
    private readonly Range _payload;
    private SerializedHubMessage? _hubMessage;

    public Notification(string channel, string audience, Guid id, byte[] envelope, Range payload)
    {
        Channel = channel;
        Audience = audience;
        Id = id;
        _envelope = envelope;
        _payload = payload;
    }

    public string Channel { get; }

    public string Audience { get; }

    public Guid Id { get; }

    /// <summary>The whole envelope, <c>{"payload":…,"channel":…,"id":…}</c>, as sent on the raw endpoint.</summary>
    public ReadOnlyMemory<byte> Envelope => _envelope;

    /// <summary>The JSON object exactly as it arrived in the NOTIFY payload.</summary>
    public ReadOnlyMemory<byte> Payload => _envelope.AsMemory(_payload);

    /// <summary>
    /// The <c>notify</c> invocation for SignalR. SerializedHubMessage caches its bytes per hub protocol, so
    /// every connection of a protocol shares one serialisation. Created on first use by the single dispatcher.
    /// </summary>
    public SerializedHubMessage HubMessage =>
        _hubMessage ??= new SerializedHubMessage(new InvocationMessage(NotifyHub.NotifyMethod, [new EnvelopeArgument(_envelope)]));
}
