using System.Buffers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using PgNotifyHub.Client.Internal;

namespace PgNotifyHub.Tests.Client;

/// <summary>
/// The client's hub protocol reads the hub's invocations at any depth, where SignalR's JSON protocol stops at 64 levels,
/// and leaves every other message to SignalR's protocol.
/// </summary>
public sealed class DeepJsonHubProtocolTests
{
    private const char RecordSeparator = '\u001e';

    private static readonly Binder NotifyTakesOneElement = new(new() { ["notify"] = [typeof(JsonElement)] });

    [Theory]
    [InlineData(65)]
    [InlineData(10_000)]
    public void Reads_an_invocation_whose_argument_nests_deeper_than_SignalRs_protocol_can(int depth)
    {
        var payload = string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth);
        var frame = "{\"type\":1,\"target\":\"notify\",\"arguments\":[" + payload + "]}";

        var invocation = Assert.IsType<InvocationMessage>(Parse(frame, NotifyTakesOneElement, out var rest));

        Assert.Equal("notify", invocation.Target);
        Assert.Equal(payload, ((JsonElement)Assert.Single(invocation.Arguments)!).GetRawText());
        Assert.Equal(0, rest);
        Assert.ThrowsAny<Exception>(() => ParseWith(new JsonHubProtocol(), frame, NotifyTakesOneElement, out _));
    }

    [Fact]
    public void Reads_an_invocation_whose_arguments_come_before_its_target()
    {
        var invocation = Assert.IsType<InvocationMessage>(Parse("{\"arguments\":[{\"b\":2}],\"type\":1,\"target\":\"notify\"}", NotifyTakesOneElement, out _));

        Assert.Equal("{\"b\":2}", ((JsonElement)invocation.Arguments[0]!).GetRawText());
    }

    [Fact]
    public void Binds_arguments_to_the_handlers_types_with_case_insensitive_names()
    {
        var binder = new Binder(new() { ["resync"] = [typeof(Notice)] });

        var invocation = Assert.IsType<InvocationMessage>(Parse("{\"type\":1,\"target\":\"resync\",\"arguments\":[{\"reason\":\"gap_too_old\",\"stream\":\"s1\"}]}", binder, out _));

        Assert.Equal(new Notice("gap_too_old", "s1"), invocation.Arguments[0]);
    }

    [Fact]
    public void An_argument_count_that_does_not_match_is_a_binding_failure_and_not_a_broken_frame()
    {
        var failure = Assert.IsType<InvocationBindingFailureMessage>(Parse("{\"type\":1,\"target\":\"notify\",\"arguments\":[{},{}]}", NotifyTakesOneElement, out _));

        Assert.Equal("notify", failure.Target);
    }

    [Theory]
    [InlineData("{\"type\":6}", typeof(PingMessage))]
    [InlineData("{\"type\":7,\"error\":\"bye\",\"allowReconnect\":true}", typeof(CloseMessage))]
    [InlineData("{\"type\":1,\"invocationId\":\"1\",\"target\":\"notify\",\"arguments\":[{}]}", typeof(InvocationMessage))]
    public void Leaves_other_messages_to_SignalRs_protocol(string frame, Type expected)
    {
        var message = Parse(frame, NotifyTakesOneElement, out _);

        Assert.IsType(expected, message);
        if (message is InvocationMessage invocation)
        {
            Assert.Equal("1", invocation.InvocationId);
        }
    }

    [Fact]
    public void Reads_one_frame_at_a_time_and_waits_for_the_end_of_an_incomplete_one()
    {
        var protocol = new DeepJsonHubProtocol();
        var input = new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes("{\"type\":6}" + RecordSeparator + "{\"type\":1,\"target\":\"no"));

        Assert.True(protocol.TryParseMessage(ref input, NotifyTakesOneElement, out var first));
        Assert.IsType<PingMessage>(first);
        Assert.False(protocol.TryParseMessage(ref input, NotifyTakesOneElement, out _));
        Assert.Equal("{\"type\":1,\"target\":\"no", Encoding.UTF8.GetString(input.ToArray()));
    }

    [Fact]
    public void Writes_as_SignalRs_JSON_protocol_does()
    {
        var message = new InvocationMessage("Echo", ["x"]);

        var (json, deep) = (new JsonHubProtocol(), new DeepJsonHubProtocol());

        Assert.Equal(json.GetMessageBytes(message).ToArray(), deep.GetMessageBytes(message).ToArray());
        Assert.Equal((json.Name, json.Version, json.TransferFormat), (deep.Name, deep.Version, deep.TransferFormat));
    }

    private static HubMessage Parse(string frame, IInvocationBinder binder, out long rest) =>
        ParseWith(new DeepJsonHubProtocol(), frame, binder, out rest);

    private static HubMessage ParseWith(IHubProtocol protocol, string frame, IInvocationBinder binder, out long rest)
    {
        var input = new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(frame + RecordSeparator));
        Assert.True(protocol.TryParseMessage(ref input, binder, out var message));
        rest = input.Length;
        return message;
    }

    private sealed record Notice(string Reason, string Stream);

    private sealed class Binder(Dictionary<string, Type[]> targets) : IInvocationBinder
    {
        public IReadOnlyList<Type> GetParameterTypes(string methodName) => targets.GetValueOrDefault(methodName, Type.EmptyTypes);

        public Type GetReturnType(string invocationId) => typeof(object);

        public Type GetStreamItemType(string streamId) => typeof(object);
    }
}
