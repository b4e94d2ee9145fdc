using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PgNotifyHub.Delivery;
using PgNotifyHub.Internal;

namespace PgNotifyHub.Transports.SignalR;

/// <summary>
/// The lifetime manager of <see cref="NotifyHub"/>: the default in-memory one, plus audience resolution and
/// registration with the <see cref="NotificationRouter"/> when a connection opens.
/// </summary>
/// <remarks>
/// Notifications bypass group sends: a group send waits for its slowest member, so one unread connection
/// would stall every other. Each connection gets a <see cref="HubConnectionSink"/> with a bounded queue
/// instead; the groups are still joined so application code can address an audience through the hub context.
/// Registered for this hub only, so a scale-out backplane configured for the application's own hubs never
/// relays notifications that every node already receives from PostgreSQL.
/// </remarks>
internal sealed class NotifyHubLifetimeManager(
    NotificationRouter router,
    NotificationHistory history,
    ConnectionLimit limit,
    IOptions<PgNotifyHubOptions> options,
    PgNotifyHubMetrics metrics,
    ILogger<NotifyHubLifetimeManager> logger,
    ILogger<DefaultHubLifetimeManager<NotifyHub>> defaultLogger) : DefaultHubLifetimeManager<NotifyHub>(defaultLogger)
{
    private static readonly object SinkKey = new();

    /// <summary>
    /// The <see cref="HttpContext.Items"/> key of the mapped endpoint's <see cref="EndpointSettings"/>. Items, unlike
    /// endpoint metadata, survive SignalR's copy of the request for long polling.
    /// </summary>
    public static readonly object EndpointSettingsKey = new();

    /// <summary>The <see cref="HttpContext.Items"/> key of the request's <see cref="Handshake"/>, set with the endpoint's settings.</summary>
    public static readonly object HandshakeKey = new();

    public override async Task OnConnectedAsync(HubConnectionContext connection)
    {
        await base.OnConnectedAsync(connection);

        var httpContext = connection.GetHttpContext();
        if (httpContext is null)
        {
            Refuse(connection, "it was not opened by an HTTP request.", PgNotifyHubMetrics.Reasons.Misconfigured);
            return;
        }

        if (httpContext.Items[EndpointSettingsKey] is not EndpointSettings endpoint || httpContext.Items[HandshakeKey] is not Handshake handshake)
        {
            Refuse(connection, "the hub was mapped with MapHub<NotifyHub>; map it with MapPgNotifyHub, which gives it its channels.", PgNotifyHubMetrics.Reasons.Misconfigured);
            return;
        }

        IReadOnlyList<string> audiences;
        string? refusal;
        try
        {
            (audiences, refusal) = await AudienceResolution.ResolveAsync(endpoint.AudienceResolver, httpContext, options.Value.MaxAudiencesPerConnection);
        }
        catch (Exception exception)
        {
            Log.AudienceResolverFailed(logger, exception, HubConnectionSink.Transport, connection.ConnectionId);
            metrics.ConnectionRefused(HubConnectionSink.Transport, PgNotifyHubMetrics.Reasons.ResolverFailed);
            connection.Abort();
            return;
        }

        if (refusal is not null)
        {
            Refuse(connection, refusal, PgNotifyHubMetrics.Reasons.Audiences);
            return;
        }

        foreach (var audience in audiences)
        {
            await AddToGroupAsync(connection.ConnectionId, NotifyHub.GroupName(audience), connection.ConnectionAborted);
        }

        // Taken last: once the sink is stored in the connection's items, the disconnect gives it back.
        if (!limit.TryAcquire())
        {
            Refuse(connection, limit.Refusal, PgNotifyHubMetrics.Reasons.MaxConnections);
            return;
        }

        HubConnectionSink? sink = null;
        try
        {
            sink = new HubConnectionSink(connection, endpoint.RoutesFor(audiences), options.Value.SendQueueCapacity, handshake.AsksForPosition, metrics, logger);
            history.Join(sink, handshake.Resume);
            connection.Items[SinkKey] = sink;
        }
        catch
        {
            if (sink is not null)
            {
                router.Unregister(sink);
            }

            limit.Release();
            throw;
        }

        metrics.ConnectionOpened(HubConnectionSink.Transport, sink);
        Log.ConnectionOpened(logger, HubConnectionSink.Transport, connection.ConnectionId, string.Join(", ", audiences), string.Join(", ", endpoint.Channels));
    }

    public override Task OnDisconnectedAsync(HubConnectionContext connection)
    {
        if (connection.Items.Remove(SinkKey, out var sink))
        {
            limit.Release();
            router.Unregister((HubConnectionSink)sink!);
            metrics.ConnectionClosed(HubConnectionSink.Transport, (HubConnectionSink)sink!);
            Log.ConnectionClosed(logger, HubConnectionSink.Transport, connection.ConnectionId);
        }

        return base.OnDisconnectedAsync(connection);
    }

    private void Refuse(HubConnectionContext connection, string reason, string metricReason)
    {
        Log.ConnectionRefused(logger, HubConnectionSink.Transport, connection.ConnectionId, reason);
        metrics.ConnectionRefused(HubConnectionSink.Transport, metricReason);
        connection.Abort();
    }
}
