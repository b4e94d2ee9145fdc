using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PgNotifyHub.Diagnostics;

namespace PgNotifyHub.Transports.WebSockets;

/// <summary>
/// One mapped raw, pgws-compatible endpoint: each notification on one of its channels for one of the socket's
/// audiences is one text frame holding the envelope. The request lives as long as the socket.
/// </summary>
internal sealed class WebSocketEndpoint(
    EndpointSettings endpoint,
    HandshakeChecks checks,
    ConnectionAdmission admission,
    IOptions<PgNotifyHubOptions> options,
    IHostApplicationLifetime lifetime,
    PgNotifyHubMetrics metrics,
    TimeProvider timeProvider,
    ILogger<WebSocketEndpoint> logger)
{
    public async Task HandleAsync(HttpContext context)
    {
        var settings = options.Value;
        // pgws pages get pgws's envelope; clients that ask for the subprotocol get sequence numbers, resync and replay.
        var sequenced = context.WebSockets.WebSocketRequestedProtocols.Contains(WebSocketSink.SequencedSubprotocol);
        var handshake = await checks.CheckAsync(
            context,
            WebSocketSink.Transport,
            settings.CloseOnAuthenticationExpiration,
            sequenced ? null : $"The resume parameter needs the WebSocket subprotocol {WebSocketSink.SequencedSubprotocol}.");
        if (handshake is null)
        {
            return;
        }

        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsync("This endpoint accepts WebSocket requests only.", context.RequestAborted);
            return;
        }

        // Registered before the handshake completes, so a client that sees its socket open misses nothing.
        var admitted = await admission.AdmitAsync(
            context,
            endpoint,
            handshake,
            WebSocketSink.Transport,
            context.TraceIdentifier,
            routes => new WebSocketSink(
                routes, settings.SendQueueCapacity, settings.SlowConsumerPolicy, sequenced, settings.MaxClientMessageSize, settings.WebSocketCloseTimeout, context.TraceIdentifier, metrics, logger));
        if (admitted.Registration is not { } registration)
        {
            context.Response.StatusCode = admitted.StatusCode;
            return;
        }

        using (registration)
        using (var sink = registration.Sink)
        using (handshake.AuthenticationExpiresUtc is { } expires ? AuthenticationExpiry.Start(expires, timeProvider, sink.CloseForExpiredAuthentication) : null)
        {
            using var socket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext
            {
                KeepAliveInterval = settings.WebSocketKeepAliveInterval,
                KeepAliveTimeout = settings.WebSocketKeepAliveInterval,
                SubProtocol = sequenced ? WebSocketSink.SequencedSubprotocol : null,
            });
            var frames = FrameBatchingUpgrade.Of(context)?.Stream
                ?? throw new InvalidOperationException("The WebSocket was not accepted through the endpoint's own pipeline.");
            // A client that vanishes is noticed by the socket's own reads; only shutdown needs a token. pgws pages keep
            // the audiences they were given: what they send is discarded, as pgws does.
            await sink.RunAsync(socket, frames, sequenced ? registration.Topics : null, lifetime.ApplicationStopping);
        }
    }
}
