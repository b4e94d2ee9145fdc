using System.Diagnostics.CodeAnalysis;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using PgNotifyHub.Transports.WebSockets;

namespace PgNotifyHub;

/// <summary>Maps PgNotifyHub's endpoints.</summary>
public static class PgNotifyHubEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps the SignalR hub <see cref="NotifyHub"/> with SignalR's default transport options.
    /// See <see cref="MapPgNotifyHub(IEndpointRouteBuilder, string, Action{HttpConnectionDispatcherOptions})"/>.
    /// </summary>
    /// <param name="endpoints">The application's endpoints.</param>
    /// <param name="pattern">The route, e.g. <c>/hub</c>.</param>
    /// <returns>A builder to add conventions such as <c>RequireAuthorization()</c> to the endpoint.</returns>
    /// <exception cref="InvalidOperationException"><c>AddPgNotifyHub</c> was not called.</exception>
    public static HubEndpointConventionBuilder MapPgNotifyHub(this IEndpointRouteBuilder endpoints, [StringSyntax("Route")] string pattern) =>
        endpoints.MapPgNotifyHub(pattern, static _ => { });

    /// <summary>
    /// Maps the SignalR hub <see cref="NotifyHub"/>: every notification for one of a connection's audiences
    /// arrives as the client method <c>notify</c>.
    /// </summary>
    /// <param name="endpoints">The application's endpoints.</param>
    /// <param name="pattern">The route, e.g. <c>/hub</c>.</param>
    /// <param name="configure">Configures the hub's transports, as for <c>MapHub</c>.</param>
    /// <returns>A builder to add conventions such as <c>RequireAuthorization()</c> to the endpoint.</returns>
    /// <exception cref="InvalidOperationException"><c>AddPgNotifyHub</c> was not called.</exception>
    public static HubEndpointConventionBuilder MapPgNotifyHub(
        this IEndpointRouteBuilder endpoints,
        [StringSyntax("Route")] string pattern,
        Action<HttpConnectionDispatcherOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentException.ThrowIfNullOrEmpty(pattern);
        ArgumentNullException.ThrowIfNull(configure);
        EnsureAdded(endpoints);
        return endpoints.MapHub<NotifyHub>(pattern, configure);
    }

    /// <summary>
    /// Maps the raw WebSocket endpoint, compatible with pgws: every notification for one of the socket's
    /// audiences is one text frame holding the envelope. Requests that are not WebSocket requests get 400.
    /// </summary>
    /// <param name="endpoints">The application's endpoints.</param>
    /// <param name="pattern">The route, e.g. <c>/ws</c>.</param>
    /// <returns>A builder to add conventions such as <c>RequireAuthorization()</c> to the endpoint.</returns>
    /// <exception cref="InvalidOperationException"><c>AddPgNotifyHub</c> was not called.</exception>
    public static IEndpointConventionBuilder MapPgNotifyWebSocket(this IEndpointRouteBuilder endpoints, [StringSyntax("Route")] string pattern)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentException.ThrowIfNullOrEmpty(pattern);
        var endpoint = EnsureAdded(endpoints).GetRequiredService<WebSocketEndpoint>();

        // The endpoint brings its own WebSocket middleware, as SignalR does, so the application needs no UseWebSockets().
        var pipeline = endpoints.CreateApplicationBuilder();
        pipeline.UseWebSockets();
        pipeline.Run(endpoint.HandleAsync);
        return endpoints.Map(pattern, pipeline.Build()).WithDisplayName("PgNotifyHub WebSocket " + pattern);
    }

    private static IServiceProvider EnsureAdded(IEndpointRouteBuilder endpoints)
    {
        var services = endpoints.ServiceProvider;
        if (services.GetService<WebSocketEndpoint>() is null)
        {
            throw new InvalidOperationException(
                "PgNotifyHub's services are not registered: call builder.Services.AddPgNotifyHub(...) before mapping its endpoints.");
        }

        return services;
    }
}
