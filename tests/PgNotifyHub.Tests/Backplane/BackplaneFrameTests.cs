using System.Text;
using Microsoft.AspNetCore.SignalR;
using PgNotifyHub.Backplane;

namespace PgNotifyHub.Tests.Backplane;

public sealed class BackplaneFrameTests
{
    private static readonly Guid Sender = Guid.NewGuid();
    private static readonly Guid Recipient = Guid.NewGuid();

    [Fact]
    public void Invocation_round_trips_with_its_audience_exclusions_and_every_protocol_message()
    {
        SerializedMessage[] messages = [new("json", Encoding.UTF8.GetBytes("{\"type\":1}\u001e")), new("messagepack", new byte[] { 0x95, 0x01, 0x80 })];

        var frame = BackplaneFrame.Read(BackplaneFrame.Invocation(Sender, 7, BackplaneAudience.Groups, ["red", "blue"], ["c1"], "node:1", messages));

        Assert.Equal(FrameKind.Invocation, frame.Kind);
        Assert.Equal(Sender, frame.Sender);
        Assert.Equal(BackplaneAudience.Groups, frame.Audience);
        Assert.Equal(["red", "blue"], frame.Targets);
        Assert.Equal(["c1"], frame.Excluded);
        Assert.Equal("node:1", frame.InvocationId);
        Assert.Equal(messages.Select(m => m.ProtocolName), frame.Messages.Select(m => m.ProtocolName));
        Assert.Equal(messages.Select(m => m.Serialized.ToArray()), frame.Messages.Select(m => m.Serialized.ToArray()));
    }

    [Fact]
    public void Invocation_without_result_or_exclusions_reads_back_as_none()
    {
        var frame = BackplaneFrame.Read(BackplaneFrame.Invocation(Sender, 1, BackplaneAudience.All, [], null, null, []));

        Assert.Null(frame.InvocationId);
        Assert.Empty(frame.Excluded);
        Assert.Empty(frame.Targets);
    }

    [Fact]
    public void Group_command_ack_and_completion_round_trip()
    {
        var command = BackplaneFrame.Read(BackplaneFrame.GroupCommand(Sender, 2, 42, GroupAction.Remove, "group é", "conn"));
        var ack = BackplaneFrame.Read(BackplaneFrame.Ack(Sender, 3, Recipient, 42));
        var completion = BackplaneFrame.Read(BackplaneFrame.Completion(Sender, 4, Recipient, "conn", "json", new byte[] { 1, 2, 3 }));

        Assert.Equal((FrameKind.GroupCommand, 42, GroupAction.Remove, "group é", "conn"), (command.Kind, command.AckId, command.GroupAction, command.Group, command.ConnectionId));
        Assert.Equal((FrameKind.Ack, Recipient, 42), (ack.Kind, ack.Recipient, ack.AckId));
        Assert.Equal((FrameKind.Completion, Recipient, "conn", "json"), (completion.Kind, completion.Recipient, completion.ConnectionId, completion.Protocol));
        Assert.Equal(new byte[] { 1, 2, 3 }, completion.Payload.ToArray());
    }

    [Fact]
    public void Identical_sends_differ_in_their_bytes_so_postgres_cannot_collapse_them()
    {
        var first = BackplaneFrame.Invocation(Sender, 1, BackplaneAudience.All, [], null, null, []);
        var second = BackplaneFrame.Invocation(Sender, 2, BackplaneAudience.All, [], null, null, []);

        Assert.NotEqual(Convert.ToBase64String(first), Convert.ToBase64String(second));
    }

    [Fact]
    public void Frame_of_another_version_is_refused_with_a_reason()
    {
        var bytes = BackplaneFrame.Ack(Sender, 1, Recipient, 1);
        bytes[0] = 99;

        var error = Assert.Throws<InvalidDataException>(() => BackplaneFrame.Read(bytes));

        Assert.Contains("version 99", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Truncated_frame_is_refused()
    {
        var bytes = BackplaneFrame.GroupCommand(Sender, 1, 1, GroupAction.Add, "group", "connection");

        Assert.Throws<InvalidDataException>(() => BackplaneFrame.Read(bytes[..^3]));
    }
}
