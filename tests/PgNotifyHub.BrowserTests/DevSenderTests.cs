using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using PgNotifyHub.BrowserTests.Infrastructure;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.BrowserTests;

/// <summary>The standalone server's development sender, <c>POST /dev/notify</c>, over plain HTTP.</summary>
[Collection(SharedBrowser.Name)]
public sealed class DevSenderTests(PostgresFixture postgres)
{
    [Fact]
    public async Task Dev_sender_forwards_the_payload_verbatim_and_answers_bad_input_with_a_clear_400()
    {
        var channel = Names.Channel();
        await using var server = await ServerProcess.StartAsync(Settings.Server(postgres, channel, devSender: true));
        using var http = new HttpClient { BaseAddress = server.BaseUri };

        await using var socket = await WebSocketTestClient.ConnectAsync(server.BaseUri, audienceHeader: null, cancellationToken: TestContext.Current.CancellationToken);
        var probe = Markers.NewId();
        await Probes.SendUntilAsync(
            n => postgres.NotifyAsync(channel, Probes.Payload(PgNotifyHubOptions.DefaultAudience, probe, n), TestContext.Current.CancellationToken),
            socket.ReceiveRawAsync());

        // As an object (curl) and as a string holding one (the demo page): both exactly as written.
        var asObject = "{ \"msg\": \"object\", \"n\": 1.50 }";
        var asString = "{\"msg\":\"string\",  \"big\": 12345678901234567890}";
        Assert.Equal(HttpStatusCode.Accepted, (await PostAsync(http, Body(channel, "default", asObject))).Status);
        Assert.Equal(HttpStatusCode.Accepted, (await PostAsync(http, Body(channel, "default", JsonSerializer.Serialize(asString)))).Status);
        var marker = Markers.NewId();
        await postgres.NotifyAsync(channel, Markers.Payload(PgNotifyHubOptions.DefaultAudience, marker), TestContext.Current.CancellationToken);
        var received = (await socket.ReceiveUntilMarkerAsync(marker)).Where(envelope => envelope.PayloadString("probe") is null).ToList();
        Assert.Equal([asObject, asString], received.Select(envelope => envelope.PayloadJson));

        (string Body, string Detail)[] invalid =
        [
            ("{\"message\": ", "The body is not valid JSON"),
            ("[1]", "The body must be a JSON object"),
            (Body(null, "default", "{}"), "channel is missing"),
            (Body(channel, null, "{}"), "audience is missing or contains a comma"),
            (Body(channel, "a,b", "{}"), "audience is missing or contains a comma"),
            (Body(channel, "default", null), "payload must be a JSON object"),
            (Body(channel, "default", "[1]"), "payload must be a JSON object"),
            (Body(channel, "default", JsonSerializer.Serialize("[1]")), "payload must be a JSON object"),
            (Body(channel, "default", JsonSerializer.Serialize("{\"a\":")), "payload is not valid JSON"),
            (Body(channel, "default", "{\"text\":\"" + new string('x', 8000) + "\"}"), "PostgreSQL refused it: payload string too long"),
            (Body("a\u0000b", "default", "{}"), "channel must be at most 63 bytes of UTF-8, without NUL"),
            (Body(new string('c', 64), "default", "{}"), "channel must be at most 63 bytes of UTF-8, without NUL"),
            (Body(channel, "de\u0000fault", "{}"), "audience must not contain NUL"),
        ];
        foreach (var (body, detail) in invalid)
        {
            var (status, problem) = await PostAsync(http, body);
            Assert.True(status == HttpStatusCode.BadRequest, $"{status} for {body[..Math.Min(body.Length, 80)]}");
            Assert.StartsWith(detail, problem, StringComparison.Ordinal);
        }

        // Only JSON: a cross-site form or text/plain post is refused without touching the database.
        using var plain = new StringContent(Body(channel, "default", "{}"), Encoding.UTF8, "text/plain");
        var response = await http.PostAsync("/dev/notify", plain, TestContext.Current.CancellationToken).OrTimeout();
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
    }

    [Fact]
    public async Task Dev_sender_refuses_to_start_in_production_unless_forced()
    {
        var settings = Settings.Server(postgres, Names.Channel(), devSender: true);
        settings["ASPNETCORE_ENVIRONMENT"] = "Production";

        var refusal = await Assert.ThrowsAsync<InvalidOperationException>(() => ServerProcess.StartAsync(settings));
        Assert.Contains("DevNotify:Enabled is true in the Production environment", refusal.Message, StringComparison.Ordinal);

        settings["DevNotify:AllowInProduction"] = "true";
        await using var forced = await ServerProcess.StartAsync(settings);
        Assert.Contains("The development sender is enabled", forced.Output, StringComparison.Ordinal);
    }

    private static async Task<(HttpStatusCode Status, string Detail)> PostAsync(HttpClient http, string body)
    {
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await http.PostAsync("/dev/notify", content, TestContext.Current.CancellationToken).OrTimeout();
        if (response.IsSuccessStatusCode)
        {
            return (response.StatusCode, "");
        }

        var problem = await response.Content.ReadFromJsonAsync<ProblemBody>(TestContext.Current.CancellationToken).OrTimeout();
        return (response.StatusCode, problem?.Detail ?? "");
    }

    // {"channel":…,"audience":…,"payload":…} without the fields given as null; the payload as JSON text.
    private static string Body(string? channel, string? audience, string? payloadJson)
    {
        var fields = new List<string>();
        if (channel is not null)
        {
            fields.Add("\"channel\":" + JsonSerializer.Serialize(channel));
        }

        if (audience is not null)
        {
            fields.Add("\"audience\":" + JsonSerializer.Serialize(audience));
        }

        if (payloadJson is not null)
        {
            fields.Add("\"payload\":" + payloadJson);
        }

        return "{" + string.Join(',', fields) + "}";
    }

    private sealed record ProblemBody(string? Detail);
}
