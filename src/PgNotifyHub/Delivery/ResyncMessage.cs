using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using PgNotifyHub.Transports.SignalR;
using PgNotifyHub.Transports.WebSockets;

namespace PgNotifyHub.Delivery;

/// <summary>
/// A resync as clients are told it: after a listener reconnect, one for every client. Like a notification, each
/// transport's form is serialised on first use and shared by every client.
/// </summary>
internal sealed class ResyncMessage(string reason, string stream)
{
    private SerializedHubMessage? _hubMessage;
    private ReadOnlyMemory<byte>? _controlFrame;

    /// <summary>Why, one of <see cref="ResyncReason"/>.</summary>
    public string Reason { get; } = reason;

    /// <summary>The stream numbering goes on in.</summary>
    public string Stream { get; } = stream;

    /// <summary>The <c>resync</c> invocation for SignalR; SerializedHubMessage caches its bytes per hub protocol.</summary>
    public SerializedHubMessage HubMessage =>
        _hubMessage ??= new SerializedHubMessage(new InvocationMessage(NotifyHub.ResyncMethod, [new ResyncNotice(Reason, Stream)]));

    /// <summary>The <c>{"type":"resync"}</c> text frame of the <c>pgnotifyhub.v1</c> subprotocol.</summary>
    public ReadOnlyMemory<byte> ControlFrame => _controlFrame ??= Transports.WebSockets.ControlFrame.Resync(Reason, Stream);
}
