using System.Diagnostics.CodeAnalysis;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using PgNotifyHub.Listening;
using PgNotifyHub.Transports;
using PgNotifyHub.Transports.ServerSentEvents;
using PgNotifyHub.Transports.SignalR;
using PgNotifyHub.Transports.WebSockets;

namespace PgNotifyHub;

/// <summary>Maps PgNotifyHub's endpoints.</summary>
public static class PgNotifyHubEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps the SignalR hub <see cref="PgNotificationHub"/> on the application's default channels, with SignalR's default
    /// transport options.
    /// See <see cref="MapPgNotifyHub(IEndpointRouteBuilder, string, Action{PgNotifyHubEndpointOptions}, Action{HttpConnectionDispatcherOptions})"/>.
    /// </summary>
    /// <param name="endpoints">The application's endpoints.</param>
    /// <param name="pattern">The route, e.g. <c>/hub</c>.</param>
    /// <returns>A builder to add conventions such as <c>RequireAuthorization()</c> to the endpoint.</returns>
    /// <exception cref="InvalidOperationException"><c>AddPgNotifyHub</c> was not called.</exception>
    public static HubEndpointConventionBuilder MapPgNotifyHub(this IEndpointRouteBuilder endpoints, [StringSyntax("Route")] string pattern) =>
        endpoints.MapPgNotifyHub(pattern, static _ => { }, static _ => { });

    /// <summary>
    /// Maps the SignalR hub <see cref="PgNotificationHub"/> on the application's default channels.
    /// See <see cref="MapPgNotifyHub(IEndpointRouteBuilder, string, Action{PgNotifyHubEndpointOptions}, Action{HttpConnectionDispatcherOptions})"/>.
    /// </summary>
    /// <param name="endpoints">The application's endpoints.</param>
    /// <param name="pattern">The route, e.g. <c>/hub</c>.</param>
    /// <param name="configure">
    /// Configures the hub's transports, as for <c>MapHub</c>. <c>CloseOnAuthenticationExpiration</c> is already set
    /// from <see cref="PgNotifyHubOptions.CloseOnAuthenticationExpiration"/>.
    /// </param>
    /// <returns>A builder to add conventions such as <c>RequireAuthorization()</c> to the endpoint.</returns>
    /// <exception cref="InvalidOperationException"><c>AddPgNotifyHub</c> was not called.</exception>
    public static HubEndpointConventionBuilder MapPgNotifyHub(
        this IEndpointRouteBuilder endpoints,
        [StringSyntax("Route")] string pattern,
        Action<HttpConnectionDispatcherOptions> configure) =>
        endpoints.MapPgNotifyHub(pattern, static _ => { }, configure);

    /// <summary>
    /// Maps the SignalR hub <see cref="PgNotificationHub"/> with its own channels, e.g.
    /// <c>MapPgNotifyHub("/hub/orders", o =&gt; o.Channels = ["orders"])</c>.
    /// See <see cref="MapPgNotifyHub(IEndpointRouteBuilder, string, Action{PgNotifyHubEndpointOptions}, Action{HttpConnectionDispatcherOptions})"/>.
    /// </summary>
    /// <param name="endpoints">The application's endpoints.</param>
    /// <param name="pattern">The route, e.g. <c>/hub/orders</c>.</param>
    /// <param name="configure">Sets the endpoint's channels and, optionally, its audience resolver.</param>
    /// <returns>A builder to add conventions such as <c>RequireAuthorization()</c> to the endpoint.</returns>
    /// <exception cref="InvalidOperationException"><c>AddPgNotifyHub</c> was not called.</exception>
    /// <exception cref="ArgumentException">A channel name is invalid or repeated.</exception>
    public static HubEndpointConventionBuilder MapPgNotifyHub(
        this IEndpointRouteBuilder endpoints,
        [StringSyntax("Route")] string pattern,
        Action<PgNotifyHubEndpointOptions> configure) =>
        endpoints.MapPgNotifyHub(pattern, configure, static _ => { });

    /// <summary>
    /// Maps the SignalR hub <see cref="PgNotificationHub"/>: every notification on one of the endpoint's channels for one
    /// of a connection's audiences arrives as the client method <c>notify</c>. The hub can be mapped several
    /// times with different channels; all share the single listener connection.
    /// </summary>
    /// <param name="endpoints">The application's endpoints.</param>
    /// <param name="pattern">The route, e.g. <c>/hub</c>.</param>
    /// <param name="configure">Sets the endpoint's channels and, optionally, its audience resolver.</param>
    /// <param name="configureTransports">
    /// Configures the hub's transports, as for <c>MapHub</c>. <c>CloseOnAuthenticationExpiration</c> is already set
    /// from <see cref="PgNotifyHubOptions.CloseOnAuthenticationExpiration"/>.
    /// </param>
    /// <returns>A builder to add conventions such as <c>RequireAuthorization()</c> to the endpoint.</returns>
    /// <exception cref="InvalidOperationException"><c>AddPgNotifyHub</c> was not called.</exception>
    /// <exception cref="ArgumentException">A channel name is invalid or repeated.</exception>
    public static HubEndpointConventionBuilder MapPgNotifyHub(
        this IEndpointRouteBuilder endpoints,
        [StringSyntax("Route")] string pattern,
        Action<PgNotifyHubEndpointOptions> configure,
        Action<HttpConnectionDispatcherOptions> configureTransports)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentException.ThrowIfNullOrEmpty(pattern);
        ArgumentNullException.ThrowIfNull(configure);
        ArgumentNullException.ThrowIfNull(configureTransports);
        var settings = CreateEndpointSettings(endpoints, configure, "MapPgNotifyHub(\"" + pattern + "\")");

        // Set before the application's own transport settings, which may override it.
        var closeOnAuthenticationExpiration = endpoints.ServiceProvider.GetRequiredService<IOptions<PgNotifyHubOptions>>().Value.CloseOnAuthenticationExpiration;
        HttpConnectionDispatcherOptions? transportOptions = null;
        var hub = endpoints.MapHub<PgNotificationHub>(pattern, transports =>
        {
            transports.CloseOnAuthenticationExpiration = closeOnAuthenticationExpiration;
            configureTransports(transports);
            transportOptions = transports;
        });
        var gate = ActivatorUtilities.CreateInstance<HubRequestGate>(endpoints.ServiceProvider, settings, transportOptions!);
        hub.Add(endpoint => endpoint.RequestDelegate = gate.Wrap(endpoint.RequestDelegate!));
        return hub;
    }

    /// <summary>
    /// Maps the raw WebSocket endpoint on the application's default channels.
    /// See <see cref="MapPgNotifyWebSocket(IEndpointRouteBuilder, string, Action{PgNotifyHubEndpointOptions})"/>.
    /// </summary>
    /// <param name="endpoints">The application's endpoints.</param>
    /// <param name="pattern">The route, e.g. <c>/ws</c>.</param>
    /// <returns>A builder to add conventions such as <c>RequireAuthorization()</c> to the endpoint.</returns>
    /// <exception cref="InvalidOperationException"><c>AddPgNotifyHub</c> was not called.</exception>
    public static IEndpointConventionBuilder MapPgNotifyWebSocket(this IEndpointRouteBuilder endpoints, [StringSyntax("Route")] string pattern) =>
        endpoints.MapPgNotifyWebSocket(pattern, static _ => { });

    /// <summary>
    /// Maps the raw WebSocket endpoint, compatible with pgws: every notification on one of the endpoint's channels
    /// for one of the socket's audiences is one text frame holding the envelope. Requests that are not WebSocket
    /// requests get 400. Several endpoints with different channels share the single listener connection, e.g.
    /// <c>MapPgNotifyWebSocket("/ws/orders", o =&gt; o.Channels = ["orders"])</c>.
    /// </summary>
    /// <param name="endpoints">The application's endpoints.</param>
    /// <param name="pattern">The route, e.g. <c>/ws</c>.</param>
    /// <param name="configure">Sets the endpoint's channels and, optionally, its audience resolver.</param>
    /// <returns>A builder to add conventions such as <c>RequireAuthorization()</c> to the endpoint.</returns>
    /// <exception cref="InvalidOperationException"><c>AddPgNotifyHub</c> was not called.</exception>
    /// <exception cref="ArgumentException">A channel name is invalid or repeated.</exception>
    public static IEndpointConventionBuilder MapPgNotifyWebSocket(
        this IEndpointRouteBuilder endpoints,
        [StringSyntax("Route")] string pattern,
        Action<PgNotifyHubEndpointOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentException.ThrowIfNullOrEmpty(pattern);
        ArgumentNullException.ThrowIfNull(configure);
        var settings = CreateEndpointSettings(endpoints, configure, "MapPgNotifyWebSocket(\"" + pattern + "\")");
        var endpoint = ActivatorUtilities.CreateInstance<WebSocketEndpoint>(endpoints.ServiceProvider, settings);

        // The endpoint brings its own WebSocket middleware, as SignalR does, so the application needs no UseWebSockets().
        var pipeline = endpoints.CreateApplicationBuilder();
        pipeline.Use(static (context, next) =>
        {
            FrameBatchingUpgrade.Install(context);
            return next(context);
        });
        pipeline.UseWebSockets();
        pipeline.Run(endpoint.HandleAsync);
        return endpoints.Map(pattern, pipeline.Build()).WithDisplayName("PgNotifyHub WebSocket " + pattern);
    }

    /// <summary>
    /// Maps the Server-Sent Events endpoint on the application's default channels.
    /// See <see cref="MapPgNotifyEventStream(IEndpointRouteBuilder, string, Action{PgNotifyHubEndpointOptions})"/>.
    /// </summary>
    /// <param name="endpoints">The application's endpoints.</param>
    /// <param name="pattern">The route, e.g. <c>/events</c>.</param>
    /// <returns>A builder to add conventions such as <c>RequireAuthorization()</c> to the endpoint.</returns>
    /// <exception cref="InvalidOperationException"><c>AddPgNotifyHub</c> was not called.</exception>
    public static IEndpointConventionBuilder MapPgNotifyEventStream(this IEndpointRouteBuilder endpoints, [StringSyntax("Route")] string pattern) =>
        endpoints.MapPgNotifyEventStream(pattern, static _ => { });

    /// <summary>
    /// Maps a Server-Sent Events endpoint for the browser's <c>EventSource</c>: a GET answered with a
    /// <c>text/event-stream</c> in which every notification on one of the endpoint's channels for one of the connection's
    /// audiences is one event of the default type, <c>message</c>, holding the sequenced envelope. Every event's id is the
    /// connection's position, so a browser that reconnects by itself sends it back as <c>Last-Event-ID</c> and is replayed
    /// what it missed, or told to resync (the event <c>resync</c>). Origins, credentials, limits and the slow-consumer
    /// policy are those of the other endpoints; a refused request gets 400, 401, 403, 500 or 503 and no stream.
    /// Several endpoints with different channels share the single listener connection.
    /// </summary>
    /// <param name="endpoints">The application's endpoints.</param>
    /// <param name="pattern">The route, e.g. <c>/events</c>.</param>
    /// <param name="configure">Sets the endpoint's channels and, optionally, its audience resolver.</param>
    /// <returns>A builder to add conventions such as <c>RequireAuthorization()</c> to the endpoint.</returns>
    /// <exception cref="InvalidOperationException"><c>AddPgNotifyHub</c> was not called.</exception>
    /// <exception cref="ArgumentException">A channel name is invalid or repeated.</exception>
    public static IEndpointConventionBuilder MapPgNotifyEventStream(
        this IEndpointRouteBuilder endpoints,
        [StringSyntax("Route")] string pattern,
        Action<PgNotifyHubEndpointOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentException.ThrowIfNullOrEmpty(pattern);
        ArgumentNullException.ThrowIfNull(configure);
        var settings = CreateEndpointSettings(endpoints, configure, "MapPgNotifyEventStream(\"" + pattern + "\")");
        var endpoint = ActivatorUtilities.CreateInstance<EventStreamEndpoint>(endpoints.ServiceProvider, settings);
        return endpoints.MapGet(pattern, endpoint.HandleAsync).WithDisplayName("PgNotifyHub Server-Sent Events " + pattern);
    }

    private static EndpointSettings CreateEndpointSettings(IEndpointRouteBuilder endpoints, Action<PgNotifyHubEndpointOptions> configure, string endpointName)
    {
        var services = endpoints.ServiceProvider;
        var listened = services.GetService<ListenedChannels>() ?? throw new InvalidOperationException(
            "PgNotifyHub's services are not registered: call builder.Services.AddPgNotifyHub(...) before mapping its endpoints.");
        var endpointOptions = new PgNotifyHubEndpointOptions();
        configure(endpointOptions);
        return EndpointSettings.Create(endpointOptions, endpointName, listened, services);
    }
}
