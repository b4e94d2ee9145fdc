using PgNotifyHub.Backplane;

namespace PgNotifyHub.Tests.Backplane;

public sealed class BackplanePayloadTests
{
    [Fact]
    public void Largest_inline_frame_fits_a_notify_payload_and_one_byte_more_spills()
    {
        var largest = BackplanePayload.Inline(new byte[BackplanePayload.MaxInlineFrameBytes]);

        Assert.NotNull(largest);
        Assert.True(largest.Length <= BackplanePayload.MaxBytes);
        Assert.Null(BackplanePayload.Inline(new byte[BackplanePayload.MaxInlineFrameBytes + 1]));
    }

    [Fact]
    public void Frames_of_one_channel_share_one_payload_and_split_back_in_order()
    {
        string[] frames = [Frame(1, 100), BackplanePayload.Spilled(42), Frame(2, 10)];

        var (channels, payloads) = BackplanePayload.Pack(frames.Select(frame => ("hub", frame)));

        Assert.Equal(["hub"], channels);
        Assert.Equal(frames, BackplanePayload.Split(Assert.Single(payloads)));
    }

    [Fact]
    public void A_frame_that_would_overflow_the_payload_starts_the_next_one_and_order_holds_across_them()
    {
        // 2,000 Base64 characters each: three and their separators fit in 7,999, a fourth would not.
        var frames = Enumerable.Range(0, 10).Select(i => Frame(i, 1_500)).ToArray();

        var (channels, payloads) = BackplanePayload.Pack(frames.Select(frame => ("hub", frame)));

        Assert.All(channels, channel => Assert.Equal("hub", channel));
        Assert.All(payloads, payload => Assert.InRange(payload.Length, 1, BackplanePayload.MaxBytes));
        Assert.Equal(4, payloads.Length);
        Assert.Equal(frames, payloads.SelectMany(BackplanePayload.Split));
    }

    [Fact]
    public void Largest_inline_frames_each_take_a_payload_of_their_own()
    {
        var largest = BackplanePayload.Inline(new byte[BackplanePayload.MaxInlineFrameBytes])!;

        var (_, payloads) = BackplanePayload.Pack([("hub", largest), ("hub", "AA=="), ("hub", largest)]);

        Assert.Equal([largest, "AA==", largest], payloads);
    }

    [Fact]
    public void Channels_never_share_a_payload_and_each_keeps_its_order()
    {
        (string Channel, string Frame)[] frames = [("a", Frame(1, 8)), ("b", Frame(2, 8)), ("a", Frame(3, 8)), ("b", Frame(4, 8))];

        var (channels, payloads) = BackplanePayload.Pack(frames);

        var byChannel = channels.Zip(payloads).ToLookup(pair => pair.First, pair => BackplanePayload.Split(pair.Second));
        Assert.Equal([frames[0].Frame, frames[2].Frame], Assert.Single(byChannel["a"]));
        Assert.Equal([frames[1].Frame, frames[3].Frame], Assert.Single(byChannel["b"]));
    }

    [Fact]
    public void Spilled_frame_carries_its_row_id_and_an_inline_one_none()
    {
        Assert.Equal(9_007_199_254_740_993, BackplanePayload.SpilledId(BackplanePayload.Spilled(9_007_199_254_740_993)));
        Assert.Null(BackplanePayload.SpilledId(Frame(1, 30)));
    }

    private static string Frame(int marker, int bytes)
    {
        var frame = new byte[bytes];
        frame[0] = (byte)marker;
        return BackplanePayload.Inline(frame)!;
    }
}
