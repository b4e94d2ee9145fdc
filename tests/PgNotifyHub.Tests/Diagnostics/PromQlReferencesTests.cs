using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using PgNotifyHub.Diagnostics;
using PgNotifyHub.Testing;

namespace PgNotifyHub.Tests.Diagnostics;

/// <summary>
/// Every metric and label that the Grafana dashboard (<c>docs/grafana-dashboard.json</c>) and the alerts of
/// <c>docs/OPERATIONS.md</c> query exists: each Prometheus name maps back to an instrument of the meter by the
/// exporter's rules (<see cref="PrometheusNames"/>), each label to an attribute, so a renamed instrument breaks here
/// rather than in an operator's empty panel.
/// </summary>
public sealed partial class PromQlReferencesTests
{
    // The labels Prometheus and the exporter add to every series, and the histogram's buckets.
    private static readonly string[] SeriesLabels = ["instance", "job", "otel_scope_name", "le"];

    private static readonly IReadOnlyDictionary<string, System.Diagnostics.Metrics.Instrument> Series = PrometheusNames.OfLibrary();

    private static readonly HashSet<string> Labels = new(
        new[] { PgNotifyHubMetrics.TransportAttribute, PgNotifyHubMetrics.ErrorTypeAttribute, PgNotifyHubMetrics.ResyncReasonAttribute }
            .Select(PrometheusNames.Label)
            .Concat(SeriesLabels),
        StringComparer.Ordinal);

    [Fact]
    public void Every_metric_and_label_the_dashboard_queries_exists()
    {
        var queries = DashboardQueries();

        Assert.NotEmpty(queries);
        AssertEveryReferenceExists(queries);
    }

    [Fact]
    public void The_dashboard_shows_deliveries_connections_queues_drops_resyncs_reconnects_the_NOTIFY_queue_the_outbox_replay_and_latency()
    {
        var metrics = DashboardQueries().SelectMany(query => Parse(query).Metrics).ToHashSet(StringComparer.Ordinal);

        Assert.Superset(
            new HashSet<string>(StringComparer.Ordinal)
            {
                "pgnotifyhub_notification_delivered_total",
                "pgnotifyhub_connection_active",
                "pgnotifyhub_send_queue_depth",
                "pgnotifyhub_notification_dropped_total",
                "pgnotifyhub_connection_resynced_total",
                "pgnotifyhub_listener_reconnects_total",
                "pgnotifyhub_notify_queue_utilization",
                "pgnotifyhub_outbox_lag_seconds",
                "pgnotifyhub_replay_usage_bytes",
                "pgnotifyhub_notification_latency_seconds_bucket",
            },
            metrics);
    }

    [Fact]
    public void Every_panel_has_a_place_a_data_source_and_queries()
    {
        var dashboard = JsonNode.Parse(File.ReadAllText(DashboardPath()))!;
        var panels = dashboard["panels"]!.AsArray().Select(panel => panel!).ToList();

        Assert.Equal(panels.Count, panels.Select(panel => (int)panel["id"]!).Distinct().Count());
        Assert.All(panels, panel =>
        {
            var place = panel["gridPos"]!;
            Assert.InRange((int)place["x"]! + (int)place["w"]!, 1, 24);
            if ((string?)panel["type"] != "row")
            {
                Assert.Equal("${datasource}", (string?)panel["datasource"]!["uid"]);
                Assert.NotEmpty(panel["targets"]!.AsArray());
            }
        });
    }

    [Fact]
    public void Every_metric_and_label_the_operations_guide_s_alerts_query_exists()
    {
        var alerts = Section(File.ReadAllText(Path.Combine(RepositoryRoot(), "docs", "OPERATIONS.md")), "## Alerting suggestions");
        var queries = CodeSpan().Matches(alerts).Select(match => match.Groups[1].Value).Where(code => code.Contains("pgnotifyhub_", StringComparison.Ordinal)).ToList();

        Assert.Contains(queries, query => query.Contains("histogram_quantile", StringComparison.Ordinal));
        AssertEveryReferenceExists(queries);
    }

    [Fact]
    public void The_operations_guide_s_metrics_table_lists_every_instrument_with_its_Prometheus_name()
    {
        var metrics = Section(File.ReadAllText(Path.Combine(RepositoryRoot(), "docs", "OPERATIONS.md")), "## Metrics");
        var rows = MetricsTableRow().Matches(metrics).ToDictionary(row => row.Groups[1].Value, row => row.Groups[2].Value, StringComparer.Ordinal);
        var instruments = PrometheusNames.LibraryInstruments();

        Assert.Equal(instruments.Select(instrument => instrument.Name).Order(StringComparer.Ordinal), rows.Keys.Order(StringComparer.Ordinal));
        Assert.All(instruments, instrument =>
            Assert.Equal(PrometheusNames.Family(PrometheusNames.Of(instrument)[0], instrument), rows[instrument.Name]));
    }

    [Theory]
    [InlineData("sum by (pgnotifyhub_transport) (rate(pgnotifyhub_notification_delivered_total{instance=~\"$instance\"}[$__rate_interval]))", "pgnotifyhub_notification_delivered_total", "pgnotifyhub_transport,instance")]
    [InlineData("histogram_quantile(0.99, sum by (le) (rate(pgnotifyhub_notification_latency_seconds_bucket[5m]))) > 1", "pgnotifyhub_notification_latency_seconds_bucket", "le")]
    [InlineData("sum(pgnotifyhub_connection_active{pgnotifyhub_transport!=\"subscription\"}) by (instance) > 0.9 * 10000", "pgnotifyhub_connection_active", "pgnotifyhub_transport,instance")]
    [InlineData("label_values(pgnotifyhub_connection_active, instance)", "pgnotifyhub_connection_active", "instance")]
    public void The_parser_tells_metrics_from_labels(string query, string metrics, string labels)
    {
        var parsed = Parse(query);

        Assert.Equal(metrics.Split(','), parsed.Metrics.Order(StringComparer.Ordinal));
        Assert.Equal(labels.Split(',').Order(StringComparer.Ordinal), parsed.Labels.Order(StringComparer.Ordinal));
    }

    private static void AssertEveryReferenceExists(IEnumerable<string> queries)
    {
        var unknown = new List<string>();
        foreach (var query in queries)
        {
            var (metrics, labels) = Parse(query);
            unknown.AddRange(metrics.Where(metric => !Series.ContainsKey(metric)).Select(metric => $"metric {metric} in {query}"));
            unknown.AddRange(labels.Where(label => !Labels.Contains(label)).Select(label => $"label {label} in {query}"));
        }

        Assert.True(unknown.Count == 0, "Not exported by the meter:" + Environment.NewLine + string.Join(Environment.NewLine, unknown)
            + Environment.NewLine + "Exported: " + string.Join(", ", Series.Keys.Order(StringComparer.Ordinal)));
    }

    /// <summary>Every PromQL expression of the dashboard: its panels' targets and its variables' queries.</summary>
    private static List<string> DashboardQueries()
    {
        var queries = new List<string>();
        Collect(JsonNode.Parse(File.ReadAllText(DashboardPath())), queries);
        return queries;

        static void Collect(JsonNode? node, List<string> queries)
        {
            switch (node)
            {
                case JsonObject json:
                    foreach (var (name, value) in json)
                    {
                        if (name is "expr" or "query" or "definition" && value is JsonValue text && text.TryGetValue<string>(out var query) && query.Contains("pgnotifyhub_", StringComparison.Ordinal))
                        {
                            queries.Add(query);
                        }
                        else
                        {
                            Collect(value, queries);
                        }
                    }

                    break;
                case JsonArray array:
                    foreach (var item in array)
                    {
                        Collect(item, queries);
                    }

                    break;
            }
        }
    }

    /// <summary>
    /// The metric names and label names a PromQL expression uses: labels of matchers (<c>{label="…"}</c>), of grouping
    /// and matching clauses (<c>by (…)</c>, <c>without</c>, <c>on</c>, <c>ignoring</c>, <c>group_left</c>,
    /// <c>group_right</c>) and the second argument of Grafana's <c>label_values</c>; metrics are the identifiers that
    /// remain.
    /// </summary>
    private static (HashSet<string> Metrics, HashSet<string> Labels) Parse(string query)
    {
        var labels = new HashSet<string>(StringComparer.Ordinal);
        var text = StringLiteral().Replace(query, "\"\"");
        foreach (Match matcher in Matchers().Matches(text))
        {
            labels.UnionWith(MatcherLabel().Matches(matcher.Groups[1].Value).Select(label => label.Groups[1].Value));
        }

        text = Matchers().Replace(text, " ");
        foreach (Match clause in Grouping().Matches(text))
        {
            labels.UnionWith(clause.Groups[1].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries));
        }

        text = Grouping().Replace(text, " ");
        foreach (Match values in LabelValues().Matches(text))
        {
            labels.Add(values.Groups[2].Value);
            text = text.Replace(values.Value, values.Groups[1].Value, StringComparison.Ordinal);
        }

        text = RangeSelector().Replace(text, " ");
        var metrics = Identifier().Matches(text).Select(identifier => identifier.Value)
            .Where(identifier => identifier.StartsWith("pgnotifyhub_", StringComparison.Ordinal))
            .ToHashSet(StringComparer.Ordinal);
        return (metrics, labels);
    }

    // From the heading to the next one of its level.
    private static string Section(string markdown, string heading)
    {
        var start = markdown.IndexOf(heading + "\n", StringComparison.Ordinal);
        Assert.True(start >= 0, $"No section '{heading}'.");
        var end = markdown.IndexOf("\n## ", start + heading.Length, StringComparison.Ordinal);
        return end < 0 ? markdown[start..] : markdown[start..end];
    }

    private static string DashboardPath() => Path.Combine(RepositoryRoot(), "docs", "grafana-dashboard.json");

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "PgNotifyHub.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("The repository root (with PgNotifyHub.sln) is not above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex(@"""(?:[^""\\]|\\.)*""")]
    private static partial Regex StringLiteral();

    [GeneratedRegex(@"\{([^}]*)\}")]
    private static partial Regex Matchers();

    [GeneratedRegex(@"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")]
    private static partial Regex MatcherLabel();

    [GeneratedRegex(@"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")]
    private static partial Regex Grouping();

    [GeneratedRegex(@"\blabel_values\(\s*([^,()]+?)\s*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)")]
    private static partial Regex LabelValues();

    [GeneratedRegex(@"\[[^\]]*\]")]
    private static partial Regex RangeSelector();

    [GeneratedRegex(@"[a-zA-Z_:][a-zA-Z0-9_:]*")]
    private static partial Regex Identifier();

    [GeneratedRegex(@"`([^`\n]+)`")]
    private static partial Regex CodeSpan();

    [GeneratedRegex(@"^\| `(pgnotifyhub\.[^`]+)` → `(pgnotifyhub_[^`]+)`", RegexOptions.Multiline)]
    private static partial Regex MetricsTableRow();
}
