using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.IntegrationTests;

/// <summary>
/// The standalone server exports over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set: traces of the library and of
/// ASP.NET Core, and metrics, to a receiver on 127.0.0.1 that looks into the protobuf bodies for the names it expects.
/// </summary>
[Collection(SharedPostgres.Name)]
public sealed class ServerTelemetryTests(PostgresFixture postgres)
{
    private const string Protobuf = "application/x-protobuf";

    [Fact]
    public async Task With_an_OTLP_endpoint_the_traces_and_metrics_of_a_NOTIFY_arrive_with_the_service_resource()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var receiver = await OtlpReceiver.StartAsync();
        await using var server = await StartServerAsync(
            ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.BaseUri.ToString()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            // Export within the test's patience rather than after the defaults' 5 s and 60 s.
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "200"));
        var audience = Names.Audience();
        await using var webSocket = await WebSocketTestClient.ConnectAsync(server.BaseUri, audience, cancellationToken: cancellationToken).OrTimeout();
        await server.WaitUntilRegisteredAsync(audience);
        using var http = new HttpClient { BaseAddress = server.BaseUri };

        await postgres.NotifyAsync(server.Channel, Markers.Message(audience, "exported"), cancellationToken);
        await webSocket.ReceiveAsync();
        // A probe, then a page: once the page's span is in, the probe's would have been too, had it been traced.
        (await http.GetAsync("/healthz", cancellationToken).OrTimeout()).EnsureSuccessStatusCode();
        (await http.GetAsync("/pgws.html", cancellationToken).OrTimeout()).EnsureSuccessStatusCode();

        var traces = await receiver.WaitForAsync(request => request.Path == "/v1/traces" && request.Holds("pgnotifyhub.publish") && request.Holds(server.Channel));
        var requestSpan = await receiver.WaitForAsync(request => request.Path == "/v1/traces" && request.Holds("/pgws.html"));
        var metrics = await receiver.WaitForAsync(request => request.Path == "/v1/metrics" && request.Holds("pgnotifyhub.notification.received"));

        Assert.All([traces, requestSpan, metrics], request => Assert.Equal(Protobuf, request.ContentType));
        Assert.True(traces.Holds("pgnotifyhub.receive") && traces.Holds("pgnotifyhub.dispatch"), "The publish span came without its batch and read.");
        Assert.True(requestSpan.Holds("http.request.method"), "ASP.NET Core's request span has no http.request.method.");
        Assert.All([traces, metrics], request =>
        {
            Assert.True(request.HoldsAttribute("service.name", "pgnotifyhub"), "No service.name pgnotifyhub.");
            Assert.True(request.HoldsAttribute("service.version", ServerVersion()), $"No service.version {ServerVersion()}.");
            Assert.True(request.Holds("service.instance.id"), "No service.instance.id.");
        });
        Assert.DoesNotContain(receiver.Requests, request => request.Path == "/v1/traces" && request.Holds("/healthz"));
    }

    [Fact]
    public async Task Without_an_OTLP_endpoint_nothing_is_traced_and_Prometheus_still_serves_the_metrics()
    {
        await using var server = await StartServerAsync();
        using var http = new HttpClient { BaseAddress = server.BaseUri };

        Assert.Null(server.Services.GetService<TracerProvider>());
        Assert.Contains("pgnotifyhub_", await http.GetStringAsync("/metrics", TestContext.Current.CancellationToken).OrTimeout(), StringComparison.Ordinal);
    }

    private static string ServerVersion() =>
        typeof(Program).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;

    private Task<StandaloneServer> StartServerAsync(params (string Key, string Value)[] settings) =>
        StandaloneServer.StartAsync(postgres, new Dictionary<string, string>(settings.Select(setting => KeyValuePair.Create(setting.Key, setting.Value)))
        {
            ["Audiences:Source"] = "Header",
            ["Audiences:Header"] = NotifyTestHost.AudienceHeader,
            ["Authentication:AllowAnonymous"] = "true",
        });
}
