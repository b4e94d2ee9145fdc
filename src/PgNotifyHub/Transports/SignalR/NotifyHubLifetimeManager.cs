using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PgNotifyHub.Diagnostics;
using PgNotifyHub.Sequencing;

namespace PgNotifyHub.Transports.SignalR;

/// <summary>
/// The lifetime manager of <see cref="PgNotificationHub"/>: the default in-memory one, plus the
/// <see cref="ConnectionAdmission"/> of each connection as it opens, and the <see cref="HubTopics"/> its topic calls go to.
/// </summary>
/// <remarks>
/// Notifications bypass group sends: a group send waits for its slowest member, so one unread connection
/// would stall every other. Each connection gets a <see cref="HubConnectionSink"/> with a bounded queue
/// instead; the groups are still joined so application code can address an audience through the hub context.
/// Registered for this hub only, so a scale-out backplane configured for the application's own hubs never
/// relays notifications that every node already receives from PostgreSQL.
/// </remarks>
internal sealed class NotifyHubLifetimeManager(
    ConnectionAdmission admission,
    NotificationSequencer sequencer,
    IOptions<PgNotifyHubOptions> options,
    PgNotifyHubMetrics metrics,
    ILogger<NotifyHubLifetimeManager> logger,
    ILogger<DefaultHubLifetimeManager<PgNotificationHub>> defaultLogger) : DefaultHubLifetimeManager<PgNotificationHub>(defaultLogger)
{
    private static readonly object RegistrationKey = new();

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
        if (httpContext?.Items[EndpointSettingsKey] is not EndpointSettings endpoint || httpContext.Items[HandshakeKey] is not Handshake handshake)
        {
            Log.ConnectionRefused(
                logger,
                HubConnectionSink.Transport,
                connection.ConnectionId,
                "the hub was mapped with MapHub<PgNotificationHub>; map it with MapPgNotifyHub, which gives it its channels.");
            metrics.ConnectionRefused(HubConnectionSink.Transport, PgNotifyHubMetrics.Reasons.Misconfigured);
            connection.Abort();
            return;
        }

        var admitted = await admission.AdmitAsync(
            httpContext,
            endpoint,
            handshake,
            HubConnectionSink.Transport,
            connection.ConnectionId,
            routes => new HubConnectionSink(connection, routes, options.Value.SendQueueCapacity, handshake.AsksForPosition, metrics, logger),
            async audiences =>
            {
                foreach (var audience in audiences)
                {
                    await AddToGroupAsync(connection.ConnectionId, PgNotificationHub.GroupName(audience), connection.ConnectionAborted);
                }
            });
        if (admitted.Registration is not { } registration)
        {
            connection.Abort();
            return;
        }

        // Given back on disconnect, which SignalR runs whatever happens from here on.
        connection.Items[RegistrationKey] = registration;
        connection.Items[PgNotificationHub.TopicsKey] = new HubTopics(registration.Topics, sequencer, this);
    }

    public override Task OnDisconnectedAsync(HubConnectionContext connection)
    {
        if (connection.Items.Remove(RegistrationKey, out var registration))
        {
            ((IDisposable)registration!).Dispose();
        }

        return base.OnDisconnectedAsync(connection);
    }
}
