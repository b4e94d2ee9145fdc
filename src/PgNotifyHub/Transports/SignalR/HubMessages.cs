using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using PgNotifyHub.Sequencing;

namespace PgNotifyHub.Transports.SignalR;

/// <summary>
/// The hub's wire format: the invocations of <c>notify</c>, <c>resync</c> and <c>position</c>; the answers to
/// <c>subscribe</c> and <c>unsubscribe</c> are those calls' results (<see cref="HubTopics"/>). A notification's or a
/// shared resync's invocation is made once, and <see cref="SerializedHubMessage"/> serialises it once per hub protocol
/// for every connection.
/// </summary>
internal static partial class HubMessages
{
    private static readonly EncodingKey<SerializedHubMessage> NotifyKey = new();
    private static readonly EncodingKey<SerializedHubMessage> ResyncKey = new();

    /// <summary>The <c>notify</c> invocation, whose one argument is the sequenced envelope's bytes, embedded as they are.</summary>
    public static SerializedHubMessage Notify(SequencedNotification notification) =>
        notification.GetOrAddEncoding(
            NotifyKey,
            notification,
            static notification => new SerializedHubMessage(new InvocationMessage(PgNotificationHub.NotifyMethod, [new EnvelopeArgument(SequencedEnvelope.Of(notification))])));

    /// <summary>The <c>resync</c> invocation, with <c>{reason, stream}</c>, and <c>channel</c> and <c>audience</c> when it concerns one topic alone.</summary>
    public static SerializedHubMessage Resync(ResyncNotice resync) =>
        resync.GetOrAddEncoding(
            ResyncKey,
            resync,
            static resync => new SerializedHubMessage(new InvocationMessage(
                PgNotificationHub.ResyncMethod,
                [new ResyncArgument(resync.Reason, resync.Stream, resync.Topic?.Channel, resync.Topic?.Audience)])));

    /// <summary>The <c>position</c> invocation: one client's own, so never shared.</summary>
    public static SerializedHubMessage Position(StreamPosition position) =>
        new(new InvocationMessage(PgNotificationHub.PositionMethod, [position]));

    /// <summary>The argument of the <c>resync</c> invocation: why, the stream numbering goes on in, and the topic it concerns, if one.</summary>
    internal sealed record ResyncArgument(
        string Reason,
        string Stream,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Channel,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Audience);

    /// <summary>
    /// The JSON contracts of the invocations' arguments and of the topic calls' request and results, source-generated:
    /// the JSON hub protocol finds them through its <see cref="JsonSerializerOptions.TypeInfoResolverChain"/> under
    /// Native AOT, where reflection-based serialization is off. Web defaults give the hub protocol's own camelCase names.
    /// </summary>
    [JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
    [JsonSerializable(typeof(EnvelopeArgument))]
    [JsonSerializable(typeof(ResyncArgument))]
    [JsonSerializable(typeof(StreamPosition))]
    [JsonSerializable(typeof(JsonElement))]
    [JsonSerializable(typeof(TopicPosition))]
    [JsonSerializable(typeof(PgNotificationTopic))]
    internal sealed partial class ArgumentJson : JsonSerializerContext;
}
