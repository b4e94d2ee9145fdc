using System.Text.Json;

namespace PgNotifyHub.IntegrationTests.Infrastructure;

/// <summary>
/// The server's answer to a topic request, on either transport: <c>subscribed</c> (with the topic's position),
/// <c>unsubscribed</c>, or <c>refused</c> with the reason. A raw socket's answer frame, or a SignalR call's result or
/// the reason its <c>HubException</c> carries.
/// </summary>
public sealed record TopicReply(string Type, string? Channel, string? Audience, long? Seq = null, string? Stream = null, string? Reason = null)
{
    public static TopicReply Parse(JsonElement answer, string? type = null) => new(
        type ?? answer.GetProperty("type").GetString()!,
        answer.TryGetProperty("channel", out var channel) ? channel.GetString() : null,
        answer.TryGetProperty("audience", out var audience) ? audience.GetString() : null,
        answer.TryGetProperty("seq", out var seq) ? seq.GetInt64() : null,
        answer.TryGetProperty("stream", out var stream) ? stream.GetString() : null,
        answer.TryGetProperty("reason", out var reason) ? reason.GetString() : null);

    public void AssertSubscribed(string audience, string channel)
    {
        Assert.True(Type == "subscribed", $"Expected subscribed to {channel}/{audience}, got {this}.");
        Assert.Equal((channel, audience), (Channel, Audience));
        Assert.NotNull(Stream);
    }

    public void AssertUnsubscribed(string audience, string channel) =>
        Assert.True(Type == "unsubscribed" && Channel == channel && Audience == audience, $"Expected unsubscribed from {channel}/{audience}, got {this}.");

    public void AssertRefused(string reason) => Assert.True(Type == "refused" && Reason == reason, $"Expected refused with {reason}, got {this}.");
}

/// <summary>A resync notice that names the one topic it concerns.</summary>
public sealed record TopicResync(string Reason, string Stream, string Channel, string Audience);
