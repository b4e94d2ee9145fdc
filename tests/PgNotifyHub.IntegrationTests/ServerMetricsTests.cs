using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using PgNotifyHub.Delivery;
using PgNotifyHub.IntegrationTests.Infrastructure;
using PgNotifyHub.Listening;

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
        var channel = Names.Channel();
        await using var server = StartServer(channel, out var baseUri);
        await server.Services.GetRequiredService<NotificationListener>().WaitUntilListeningAsync(cancellationToken).OrTimeout();
        using var http = new HttpClient { BaseAddress = baseUri };

        var audience = Names.Audience();
        await using var webSocket = await WebSocketTestClient.ConnectAsync(baseUri, audience, cancellationToken: cancellationToken).OrTimeout();
        await using var signalR = await SignalRTestClient.ConnectAsync(baseUri, audience, cancellationToken).OrTimeout();
        await server.Services.GetRequiredService<NotificationRouter>().WaitForSubscribersAsync(new Route(channel, audience), 2, cancellationToken).OrTimeout();
        var marker = Markers.NewId();
        await postgres.NotifyManyAsync(channel, [Markers.Message(audience, "one"), "not a payload", Markers.Message(audience, "two"), Markers.Payload(audience, marker)], cancellationToken);
        await webSocket.ReceiveUntilMarkerAsync(marker);
        await signalR.ReceiveUntilMarkerAsync(marker);

        var scrape = await ScrapeUntilAsync(http, "/metrics", [
            ("pgnotifyhub_notifications_received_total", null, 4),
            ("pgnotifyhub_notifications_invalid_total", null, 1),
            ("pgnotifyhub_notifications_delivered_total", "websocket", 3),
            ("pgnotifyhub_notifications_delivered_total", "signalr", 3),
            ("pgnotifyhub_connections_active", "websocket", 1),
            ("pgnotifyhub_connections_active", "signalr", 1),
        ]);

        Assert.Contains("# TYPE pgnotifyhub_notifications_received_total counter", scrape, StringComparison.Ordinal);
        Assert.Contains("# TYPE pgnotifyhub_connections_active gauge", scrape, StringComparison.Ordinal);
        Assert.Contains("pgnotifyhub_notifications_last_received_age_seconds", scrape, StringComparison.Ordinal);
        Assert.Contains("kestrel_active_connections", scrape, StringComparison.Ordinal);
        TestContext.Current.TestOutputHelper?.WriteLine(scrape);
    }

    [Fact]
    public async Task Metrics_endpoint_is_not_mapped_when_metrics_are_disabled()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var server = StartServer(Names.Channel(), out var baseUri, ("Metrics:Enabled", "false"));
        using var http = new HttpClient { BaseAddress = baseUri };

        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/metrics", cancellationToken).OrTimeout()).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/healthz", cancellationToken).OrTimeout()).StatusCode);
    }

    private WebApplicationFactory<Program> StartServer(string channel, out Uri baseUri, params (string Key, string Value)[] settings)
    {
        var server = new WebApplicationFactory<Program>().WithWebHostBuilder(web =>
        {
            web.UseSetting("ConnectionStrings:Postgres", postgres.ConnectionString)
                .UseSetting("PgNotifyHub:Channels:0", channel)
                .UseSetting("Audiences:Source", "Header")
                .UseSetting("Audiences:Header", NotifyTestHost.AudienceHeader)
                .UseSetting("Authentication:AllowAnonymous", "true")
                // Without it the server also binds its default http://localhost:8080, which another server on this
                // machine (a developer's, a parallel run) may already hold.
                .UseSetting("urls", "http://127.0.0.1:0");
            foreach (var (key, value) in settings)
            {
                web.UseSetting(key, value);
            }
        });
        server.UseKestrel(0);
        server.StartServer();
        baseUri = new Uri(server.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return server;
    }

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
    /// <c>transport</c> label (null without one) and its value.
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
            const string TransportLabel = "transport=\"";
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
