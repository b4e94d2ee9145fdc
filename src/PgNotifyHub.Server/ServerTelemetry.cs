using System.Reflection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace PgNotifyHub.Server;

/// <summary>
/// The server's telemetry, through OpenTelemetry. Metrics of the library's meter and the platform's own are served in
/// Prometheus's text format at <c>Paths:Metrics</c> (default <c>/metrics</c>), unless <c>Metrics:Enabled</c> is false,
/// in which case none is collected and the path answers 404. When <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (the
/// standard variable, or a setting of that name), traces of the <c>PgNotifyHub</c> activity source and of ASP.NET
/// Core, and the same metrics, are exported over OTLP as the standard <c>OTEL_*</c> variables say
/// (<c>OTEL_EXPORTER_OTLP_PROTOCOL</c>, <c>OTEL_EXPORTER_OTLP_HEADERS</c>, <c>OTEL_METRIC_EXPORT_INTERVAL</c>, …).
/// </summary>
internal static class ServerTelemetry
{
    /// <summary>The standard variable whose presence turns OTLP export on.</summary>
    public const string OtlpEndpointSetting = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>The resource's <c>service.name</c>, unless <c>OTEL_SERVICE_NAME</c> or <c>OTEL_RESOURCE_ATTRIBUTES</c> say otherwise.</summary>
    public const string ServiceName = "pgnotifyhub";

    // The library keeps its metrics and tracing types internal; the names are part of its documented contract.
    private const string LibraryMeter = "PgNotifyHub";
    private const string LibraryActivitySource = "PgNotifyHub";

    // Besides the library's own: HTTP request rates and errors, open and upgraded (WebSocket) connections, SignalR's
    // connections and their duration, and GC and thread-pool pressure, which .NET reports without extra packages.
    private static readonly string[] PlatformMeters =
    [
        "Microsoft.AspNetCore.Hosting",
        "Microsoft.AspNetCore.Server.Kestrel",
        "Microsoft.AspNetCore.Http.Connections",
        "System.Runtime",
    ];

    public static void AddServerTelemetry(this WebApplicationBuilder builder)
    {
        var metrics = MetricsEnabled(builder.Configuration);
        var otlp = !string.IsNullOrWhiteSpace(builder.Configuration[OtlpEndpointSetting]);
        if (!metrics && !otlp)
        {
            return;
        }

        var telemetry = builder.Services.AddOpenTelemetry().ConfigureResource(resource => resource
            .AddService(ServiceName, serviceVersion: Version(), autoGenerateServiceInstanceId: true)
            // Read again after the service, so the standard variables keep the last word.
            .AddEnvironmentVariableDetector());
        if (metrics)
        {
            telemetry.WithMetrics(meters => meters.AddMeter([LibraryMeter, .. PlatformMeters]).AddPrometheusExporter());
        }

        if (otlp)
        {
            // Probes and scrapes are not client traffic: traced, they would be most of the spans.
            string[] operational = [.. new[] { ("Health", "/healthz"), ("Ready", "/readyz"), ("Metrics", "/metrics") }
                .Select(path => builder.Configuration.GetSection("Paths")[path.Item1] ?? path.Item2)];
            telemetry.WithTracing(tracing => tracing
                .AddSource(LibraryActivitySource)
                .AddAspNetCoreInstrumentation(aspNetCore => aspNetCore.Filter = context => !operational.Contains(context.Request.Path.Value, StringComparer.OrdinalIgnoreCase)));
            // Every signal with a provider (traces, and metrics unless disabled); logs stay on the console.
            telemetry.UseOtlpExporter();
        }
    }

    public static void MapServerMetrics(this WebApplication app, string path)
    {
        if (MetricsEnabled(app.Configuration))
        {
            // Scrapes are not client traffic: left out of the request metrics they would otherwise dominate.
            app.MapPrometheusScrapingEndpoint(path).DisableHttpMetrics();
        }
    }

    private static bool MetricsEnabled(IConfiguration configuration) => configuration.GetValue("Metrics:Enabled", defaultValue: true);

    private static string? Version() =>
        typeof(ServerTelemetry).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
}
