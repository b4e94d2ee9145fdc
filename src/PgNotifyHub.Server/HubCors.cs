using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.Extensions.Options;

namespace PgNotifyHub.Server;

/// <summary>
/// The hub's CORS policy, made from <see cref="PgNotifyHubOptions.AllowedOrigins"/> so the two can never disagree:
/// a page of a listed origin may negotiate and long-poll with its cookies; every other origin gets no CORS headers,
/// and its requests are refused by PgNotifyHub's origin check anyway. The raw WebSocket endpoint needs no CORS:
/// browsers do not apply it to WebSocket handshakes, which is why the origin check exists.
/// </summary>
internal static class HubCors
{
    public const string PolicyName = "PgNotifyHub";

    public static IServiceCollection AddHubCors(this IServiceCollection services)
    {
        services.AddCors();
        services.AddOptions<CorsOptions>().Configure<IOptions<PgNotifyHubOptions>>((cors, hub) => cors.AddPolicy(PolicyName, policy =>
        {
            var origins = hub.Value.AllowedOrigins;
            if (origins.Contains("*"))
            {
                // AllowAnyOrigin cannot be combined with credentials; echoing each origin can.
                policy.SetIsOriginAllowed(_ => true);
            }
            else
            {
                policy.WithOrigins([.. origins.Select(origin => origin.TrimEnd('/'))]);
            }

            // GET and POST for negotiate and long polling, DELETE to end a long-polling connection; the SignalR
            // clients send X-Requested-With, X-SignalR-User-Agent, Authorization and Content-Type.
            policy.WithMethods(HttpMethods.Get, HttpMethods.Post, HttpMethods.Delete)
                .AllowAnyHeader()
                .AllowCredentials()
                .SetPreflightMaxAge(TimeSpan.FromMinutes(10));
        }));
        return services;
    }
}
