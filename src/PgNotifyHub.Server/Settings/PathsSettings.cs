using System.ComponentModel;

namespace PgNotifyHub.Server.Settings;

/// <summary>The <c>Paths</c> section: where the server maps its endpoints.</summary>
internal sealed class PathsSettings
{
    public const string SectionName = "Paths";

    [Description("The SignalR hub (client method notify).")]
    public string Hub { get; set; } = "/hub";

    [Description("The raw WebSocket endpoint: one text frame per message, as pgws sends.")]
    public string WebSocket { get; set; } = "/ws";

    [Description("The Server-Sent Events endpoint, for the browser's EventSource: one event per message, resumed with Last-Event-ID.")]
    public string Events { get; set; } = "/events";

    [Description("Liveness: 200 whenever the process answers.")]
    public string Health { get; set; } = "/healthz";

    [Description("Readiness: 503, with the failing checks, while the listener is not connected or PostgreSQL's NOTIFY queue is over PgNotifyHub:NotifyQueueUsageThreshold.")]
    public string Ready { get; set; } = "/readyz";

    [Description("Prometheus metrics, unless Metrics:Enabled is false.")]
    public string Metrics { get; set; } = "/metrics";
}
