using Microsoft.AspNetCore.Http;
using PgNotifyHub.Sequencing;

namespace PgNotifyHub.Transports;

/// <summary>
/// One connection as its topic requests see it: the request that opened it (its user), its endpoint, its sink, how many
/// audiences it was given, and its allowance of requests. Made by the <see cref="ConnectionAdmission"/>; requests go
/// through the one <see cref="TopicRequests"/> of the application.
/// </summary>
internal sealed class ConnectionTopics(
    TopicRequests requests,
    HttpContext context,
    EndpointSettings endpoint,
    INotificationSink sink,
    int resolvedAudiences,
    string transport,
    string connectionId)
{
    private TopicRequestRate? _rate;

    public HttpContext Context { get; } = context;

    public EndpointSettings Endpoint { get; } = endpoint;

    public INotificationSink Sink { get; } = sink;

    /// <summary>The audiences its resolver gave it, which count against <see cref="PgNotifyHubOptions.MaxAudiencesPerConnection"/> too.</summary>
    public int ResolvedAudiences { get; } = resolvedAudiences;

    public string Transport { get; } = transport;

    public string ConnectionId { get; } = connectionId;

    /// <summary>Takes one request from the connection's allowance; false when it has none left.</summary>
    public bool TryTakeRequest(PgNotifyHubOptions settings, TimeProvider time) =>
        // Made at the first request, so that a connection that never asks costs nothing.
        LazyInitializer.EnsureInitialized(ref _rate, () => new TopicRequestRate(settings.TopicRequestsPerSecond, settings.TopicRequestBurst, time)).TryTake();

    /// <inheritdoc cref="TopicRequests.HandleAsync"/>
    public ValueTask<TopicAnswer> HandleAsync(ReadOnlyMemory<byte> json, TopicRequestKind? kind, Action<TopicAnswer>? inOrder) =>
        requests.HandleAsync(this, json, kind, inOrder);
}
