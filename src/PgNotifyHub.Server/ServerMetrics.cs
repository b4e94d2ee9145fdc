using OpenTelemetry.Metrics;

namespace PgNotifyHub.Server;

/// <summary>
/// Serves the library's meter and the platform's own meters in Prometheus's text format at <c>Paths:Metrics</c>
/// (default <c>/metrics</c>), unless <c>Metrics:Enabled</c> is false, in which case nothing is collected and the
/// path answers 404.
/// </summary>
internal static class ServerMetrics
{
    // The library keeps its metrics type internal; the meter's name is part of its documented contract.
    private const string LibraryMeter = "PgNotifyHub";

    // Besides the library's own: HTTP request rates and errors, open and upgraded (WebSocket) connections, SignalR's
    // connections and their duration, and GC and thread-pool pressure, which .NET reports without extra packages.
    private static readonly string[] PlatformMeters =
    [
        "Microsoft.AspNetCore.Hosting",
        "Microsoft.AspNetCore.Server.Kestrel",
        "Microsoft.AspNetCore.Http.Connections",
        "System.Runtime",
    ];

    public static void AddServerMetrics(this WebApplicationBuilder builder)
    {
        if (Enabled(builder.Configuration))
        {
            builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics
                .AddMeter([LibraryMeter, .. PlatformMeters])
                .AddPrometheusExporter());
        }
    }

    public static void MapServerMetrics(this WebApplication app, string path)
    {
        if (Enabled(app.Configuration))
        {
            // Scrapes are not client traffic: left out of the request metrics they would otherwise dominate.
            app.MapPrometheusScrapingEndpoint(path).DisableHttpMetrics();
        }
    }

    private static bool Enabled(IConfiguration configuration) => configuration.GetValue("Metrics:Enabled", defaultValue: true);
}
