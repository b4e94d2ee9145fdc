using System.Net.WebSockets;
using PgNotifyHub.Parsing;

namespace PgNotifyHub.Tests.Parsing;

public sealed class WebSocketFrameTests
{
    [Theory]
    [InlineData(1)]       // envelope under 126 bytes: 7-bit length
    [InlineData(60)]      // envelope just over 125 bytes: 16-bit length
    [InlineData(7_999)]   // the largest NOTIFY
    [InlineData(70_000)]  // over 65,535 bytes: 64-bit length
    public async Task Frame_is_one_final_text_message_holding_exactly_the_envelope(int payloadLength)
    {
        var payload = "a,{\"s\":\"" + new string('x', payloadLength) + "\"}";
        Assert.True(NotificationParser.TryParse("orders", payload, timestampProperty: null, out var notification, out _));

        using var wire = new MemoryStream(notification.WebSocketFrame.ToArray());
        using var client = WebSocket.CreateFromStream(wire, new WebSocketCreationOptions { IsServer = false });
        var received = new byte[notification.Envelope.Length + 1];
        var result = await client.ReceiveAsync(received.AsMemory(), TestContext.Current.CancellationToken);

        Assert.Equal((WebSocketMessageType.Text, true), (result.MessageType, result.EndOfMessage));
        Assert.Equal(notification.Envelope.ToArray(), received[..result.Count]);
        Assert.Equal(wire.Length, wire.Position);
    }
}
