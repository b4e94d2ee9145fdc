using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using PgNotifyHub.IntegrationTests.Infrastructure;
using PgNotifyHub.Testing;

namespace PgNotifyHub.IntegrationTests;

/// <summary>The standalone server's Prometheus endpoint, scraped as Prometheus would.</summary>
[Collection(SharedPostgres.Name)]
public sealed class ServerMetricsTests(PostgresFixture postgres)
{
    // The exporter caches a scrape for 300 ms and counters are updated after the bytes are handed to the socket, so a
    // scrape can lag what the clients have seen: scrape until the values appear, within this bound.
    private static readonly TimeSpan ScrapeDeadline = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan ScrapeInterval = TimeSpan.FromMilliseconds(100);

    [Fact]
    public async Task Metrics_endpoint_exports_the_library_meter_by_transport()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var server = await StartServerAsync();
        var channel = server.Channel;
        using var http = new HttpClient { BaseAddress = server.BaseUri };

        var audience = Names.Audience();
        await using var webSocket = await WebSocketTestClient.ConnectAsync(server.BaseUri, audience, cancellationToken: cancellationToken).OrTimeout();
        await using var signalR = await SignalRTestClient.ConnectAsync(server.BaseUri, audience, cancellationToken).OrTimeout();
        await server.WaitUntilRegisteredAsync(audience, connections: 2);
        var marker = Markers.NewId();
        await postgres.NotifyManyAsync(channel, [Markers.Message(audience, "one"), "not a payload", Markers.Message(audience, "two"), Markers.Payload(audience, marker)], cancellationToken);
        await webSocket.ReceiveUntilMarkerAsync(marker);
        await signalR.ReceiveUntilMarkerAsync(marker);

        var scrape = await ScrapeUntilAsync(http, "/metrics", [
            ("pgnotifyhub_notification_received_total", null, 4),
            ("pgnotifyhub_notification_invalid_total", null, 1),
            ("pgnotifyhub_notification_delivered_total", "websocket", 3),
            ("pgnotifyhub_notification_delivered_total", "signalr", 3),
            ("pgnotifyhub_connection_active", "websocket", 1),
            ("pgnotifyhub_connection_active", "signalr", 1),
        ]);

        Assert.Contains("# TYPE pgnotifyhub_notification_received_total counter", scrape, StringComparison.Ordinal);
        Assert.Contains("# TYPE pgnotifyhub_connection_active gauge", scrape, StringComparison.Ordinal);
        Assert.Contains("pgnotifyhub_notification_last_received_age_seconds", scrape, StringComparison.Ordinal);
        Assert.Contains("pgnotifyhub_notify_queue_utilization", scrape, StringComparison.Ordinal);
        AssertFamiliesFollowTheExporterRules(scrape);
        Assert.Contains("kestrel_active_connections", scrape, StringComparison.Ordinal);
        TestContext.Current.TestOutputHelper?.WriteLine(scrape);
    }

    [Fact]
    public async Task Metrics_endpoint_is_not_mapped_when_metrics_are_disabled()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var server = await StartServerAsync(("Metrics:Enabled", "false"));
        using var http = new HttpClient { BaseAddress = server.BaseUri };

        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/metrics", cancellationToken).OrTimeout()).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/healthz", cancellationToken).OrTimeout()).StatusCode);
    }

    // The rules the dashboard's and the alerts' tests map instruments by (tests/Shared/PrometheusNames.cs) are the
    // exporter's: every family of the library in a real scrape is named and typed as they say.
    private static void AssertFamiliesFollowTheExporterRules(string scrape)
    {
        var expected = PrometheusNames.OfLibrary()
            .Select(series => (Family: PrometheusNames.Family(series.Key, series.Value), Type: PrometheusType(series.Value)))
            .ToHashSet();
        var families = scrape.Split('\n')
            .Where(line => line.StartsWith("# TYPE pgnotifyhub_", StringComparison.Ordinal))
            .Select(line => line.Split(' '))
            .Select(parts => (Family: parts[2], Type: parts[3]))
            .ToList();

        Assert.NotEmpty(families);
        Assert.All(families, family => Assert.Contains(family, expected));
    }

    private static string PrometheusType(Instrument instrument) => instrument.GetType().GetGenericTypeDefinition() switch
    {
        var type when type == typeof(Counter<>) => "counter",
        var type when type == typeof(Histogram<>) => "histogram",
        _ => "gauge",
    };

    private Task<StandaloneServer> StartServerAsync(params (string Key, string Value)[] settings) =>
        StandaloneServer.StartAsync(postgres, new Dictionary<string, string>(settings.Select(setting => KeyValuePair.Create(setting.Key, setting.Value)))
        {
            ["Audiences:Source"] = "Header",
            ["Audiences:Header"] = NotifyTestHost.AudienceHeader,
            ["Authentication:AllowAnonymous"] = "true",
        });

    /// <summary>Scrapes until every expected sample has its value; returns that scrape, or fails showing the last one.</summary>
    private static async Task<string> ScrapeUntilAsync(HttpClient http, string path, IReadOnlyList<(string Name, string? Transport, double Value)> expected)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var deadline = TimeProvider.System.GetTimestamp() + (long)(ScrapeDeadline.TotalSeconds * TimeProvider.System.TimestampFrequency);
        using var interval = new PeriodicTimer(ScrapeInterval);
        while (true)
        {
            var scrape = await http.GetStringAsync(path, cancellationToken).OrTimeout();
            var samples = Samples(scrape);
            var missing = expected.Where(sample => !samples.Contains((sample.Name, sample.Transport, sample.Value))).ToArray();
            if (missing.Length == 0)
            {
                return scrape;
            }

            if (TimeProvider.System.GetTimestamp() > deadline)
            {
                Assert.Fail(
                    $"After {ScrapeDeadline.TotalSeconds} s, {path} still lacks {string.Join(", ", missing)}. Its PgNotifyHub samples:{Environment.NewLine}"
                    + string.Join(Environment.NewLine, scrape.Split('\n').Where(line => line.StartsWith("pgnotifyhub_", StringComparison.Ordinal))));
            }

            await interval.WaitForNextTickAsync(cancellationToken);
        }
    }

    /// <summary>
    /// Each sample line of Prometheus's text format, <c>name{label="value",…} value [timestamp]</c>, as its name, its
    /// <c>pgnotifyhub_transport</c> label (null without one) and its value.
    /// </summary>
    private static HashSet<(string Name, string? Transport, double Value)> Samples(string scrape)
    {
        var samples = new HashSet<(string, string?, double)>();
        foreach (var line in scrape.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (line.StartsWith('#'))
            {
                continue;
            }

            var labelsStart = line.IndexOf('{', StringComparison.Ordinal);
            var labelsEnd = labelsStart < 0 ? -1 : line.LastIndexOf('}');
            var name = labelsStart < 0 ? line[..line.IndexOf(' ', StringComparison.Ordinal)] : line[..labelsStart];
            var labels = labelsStart < 0 ? "" : line[(labelsStart + 1)..labelsEnd];
            var value = line[((labelsEnd < 0 ? name.Length : labelsEnd + 1) + 1)..].Split(' ')[0];
            const string TransportLabel = "pgnotifyhub_transport=\"";
            var transportStart = labels.IndexOf(TransportLabel, StringComparison.Ordinal);
            var transport = transportStart < 0
                ? null
                : labels[(transportStart + TransportLabel.Length)..labels.IndexOf('"', transportStart + TransportLabel.Length)];
            if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
            {
                samples.Add((name, transport, number));
            }
        }

        return samples;
    }
}
