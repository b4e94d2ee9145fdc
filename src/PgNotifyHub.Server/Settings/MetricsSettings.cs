using System.ComponentModel;

namespace PgNotifyHub.Server.Settings;

/// <summary>The <c>Metrics</c> section, read by <see cref="ServerMetrics"/>; described here for <c>--help</c>.</summary>
internal sealed class MetricsSettings
{
    public const string SectionName = "Metrics";

    [Description("Serves Prometheus metrics at Paths:Metrics; false collects nothing and the path answers 404.")]
    public bool Enabled { get; set; } = true;
}
