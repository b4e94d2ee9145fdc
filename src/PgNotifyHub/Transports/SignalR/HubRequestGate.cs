using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PgNotifyHub.Internal;

namespace PgNotifyHub.Transports.SignalR;

/// <summary>
/// Runs ahead of SignalR on every request of one mapped hub (negotiate, WebSocket, polls): refuses foreign
/// origins, and hands the endpoint's settings to the <see cref="NotifyHubLifetimeManager"/>.
/// </summary>
internal sealed class HubRequestGate(EndpointSettings endpoint, IOptions<PgNotifyHubOptions> options, PgNotifyHubMetrics metrics, ILogger<HubRequestGate> logger)
{
    public RequestDelegate Wrap(RequestDelegate next) => context =>
    {
        if (!OriginPolicy.Allows(context, options.Value.AllowedOrigins, out var origin))
        {
            Log.OriginRefused(logger, HubConnectionSink.Transport, context.TraceIdentifier, origin);
            metrics.ConnectionRefused(HubConnectionSink.Transport, PgNotifyHubMetrics.Reasons.Origin);
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            return Task.CompletedTask;
        }

        context.Items[NotifyHubLifetimeManager.EndpointSettingsKey] = endpoint;
        return next(context);
    };
}
