using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Connections;

namespace PgNotifyHub.Transports.SignalR;

/// <summary>
/// Runs ahead of SignalR on every request of one mapped hub (negotiate, WebSocket, polls): applies the
/// <see cref="HandshakeChecks"/>, and hands the endpoint's settings and what the request asked for to the
/// <see cref="NotifyHubLifetimeManager"/>.
/// </summary>
internal sealed class HubRequestGate(EndpointSettings endpoint, HttpConnectionDispatcherOptions transports, HandshakeChecks checks)
{
    public RequestDelegate Wrap(RequestDelegate next) => async context =>
    {
        // SignalR closes a connection whose authentication expired, once a second: one that had already expired
        // would receive until then.
        if (await checks.CheckAsync(context, HubConnectionSink.Transport, transports.CloseOnAuthenticationExpiration, resumeRefusal: null) is not { } handshake)
        {
            return;
        }

        context.Items[NotifyHubLifetimeManager.EndpointSettingsKey] = endpoint;
        context.Items[NotifyHubLifetimeManager.HandshakeKey] = handshake;
        await next(context);
    };
}
