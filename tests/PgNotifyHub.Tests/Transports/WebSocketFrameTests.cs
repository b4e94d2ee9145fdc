using System.Net.WebSockets;
using PgNotifyHub.Parsing;
using PgNotifyHub.Sequencing;
using PgNotifyHub.Transports;
using PgNotifyHub.Transports.WebSockets;

namespace PgNotifyHub.Tests.Transports;

public sealed class WebSocketFrameTests
{
    [Theory]
    [InlineData(1)]       // envelope under 126 bytes: 7-bit length
    [InlineData(60)]      // envelope just over 125 bytes: 16-bit length
    [InlineData(7_999)]   // the largest NOTIFY
    [InlineData(70_000)]  // over 65,535 bytes: 64-bit length
    public async Task Frame_is_one_final_text_message_holding_exactly_the_envelope(int payloadLength)
    {
        var notification = Sequenced(payloadLength);

        var pgws = await ReceiveAsync(WebSocketFrames.Pgws(notification));
        var sequenced = await ReceiveAsync(WebSocketFrames.Sequenced(notification));

        Assert.Equal(notification.Notification.Envelope.ToArray(), pgws);
        Assert.Equal(SequencedEnvelope.Of(notification).ToArray(), sequenced);
    }

    [Fact]
    public void A_notifications_frames_are_made_once_and_shared()
    {
        var notification = Sequenced(100);

        Assert.True(WebSocketFrames.Pgws(notification).Equals(WebSocketFrames.Pgws(notification)));
        Assert.True(WebSocketFrames.Sequenced(notification).Equals(WebSocketFrames.Sequenced(notification)));
    }

    private static SequencedNotification Sequenced(int payloadLength)
    {
        var payload = "a,{\"s\":\"" + new string('x', payloadLength) + "\"}";
        Assert.True(NotificationParser.TryParse("orders", payload, timestampProperty: null, out var parsed, out _));
        return new SequencedNotification(parsed, sequence: 42, stream: "0123456789abcdef", published: 1, publishedAt: 0);
    }

    // What a client reads from the frame: one final text message, and nothing left over.
    private static async Task<byte[]> ReceiveAsync(ReadOnlyMemory<byte> frame)
    {
        using var wire = new MemoryStream(frame.ToArray());
        using var client = WebSocket.CreateFromStream(wire, new WebSocketCreationOptions { IsServer = false });
        var received = new byte[frame.Length];
        var result = await client.ReceiveAsync(received.AsMemory(), TestContext.Current.CancellationToken);
        Assert.Equal((WebSocketMessageType.Text, true), (result.MessageType, result.EndOfMessage));
        Assert.Equal(wire.Length, wire.Position);
        return received[..result.Count];
    }
}
