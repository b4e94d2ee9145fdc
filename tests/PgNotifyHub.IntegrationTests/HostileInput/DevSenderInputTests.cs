using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.IntegrationTests.HostileInput;

/// <summary>
/// When the standalone server's development sender is on, <c>POST /dev/notify</c> takes any body a client sends: every
/// body is refused with a 4xx that says why, or accepted with 202 and then delivered; never a 500, never an error in the
/// log, never accepted and then dropped by the listener.
/// </summary>
[Collection(SharedPostgres.Name)]
public sealed class DevSenderInputTests(PostgresFixture postgres)
{
    private static readonly string[] Audiences = ["dev-a", "dev-b"];

    [Fact]
    public async Task Random_bodies_are_refused_with_a_4xx_or_accepted_and_delivered()
    {
        const int Bodies = 80;
        var seed = FuzzInput.Seed(20261281);
        var random = new Random(seed);
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var server = await StartAsync();
        var clients = await ConnectAsync(server);
        using var http = new HttpClient { BaseAddress = server.BaseUri };
        var expected = Audiences.ToDictionary(a => a, _ => new List<string>());
        var outcomes = new Dictionary<HttpStatusCode, int>();

        for (var i = 0; i < Bodies; i++)
        {
            var (body, contentType, delivered) = RandomBody(random, server.Channel, i);
            using var content = new StringContent(body, Encoding.UTF8, contentType);
            using var answer = await http.PostAsync("/dev/notify", content, cancellationToken).OrTimeout();
            var status = answer.StatusCode;
            outcomes[status] = outcomes.GetValueOrDefault(status) + 1;
            var context = $"Seed {seed}, body {i}: {(int)status} for {Shorten(body)} ({contentType})";
            Assert.True(status is HttpStatusCode.Accepted or HttpStatusCode.BadRequest or HttpStatusCode.UnsupportedMediaType, context);
            Assert.True((status == HttpStatusCode.Accepted) == (delivered is not null), $"{context}; expected {(delivered is null ? "a refusal" : "202")}.");
            if (delivered is { } notification)
            {
                expected[notification.Audience].Add(notification.Payload);
            }
        }

        var marker = Markers.NewId();
        await postgres.NotifyManyAsync(server.Channel, [.. Audiences.Select(a => Markers.Payload(a, marker))], cancellationToken);
        foreach (var audience in Audiences)
        {
            var received = await clients[audience].ReceiveUntilMarkerAsync(marker);
            Assert.True(
                received.Select(e => e.PayloadJson).SequenceEqual(expected[audience]),
                $"Seed {seed}, audience {audience}: received [{string.Join(", ", received.Select(e => Shorten(e.PayloadJson)))}], expected [{string.Join(", ", expected[audience].Select(Shorten))}].");
        }

        Assert.True(outcomes.Count >= 2, $"Seed {seed}: every body got {string.Join(", ", outcomes.Keys)}; the generator must reach both outcomes.");
        Assert.DoesNotContain(server.Logs.Entries, e => e.EventId.Name == "InvalidPayload");
        StormAftermath.AssertNoErrorLogged(server.Logs, $"Seed {seed}");
    }

    [Fact]
    public async Task A_body_whose_strings_hold_a_lone_surrogate_is_refused_with_400()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var server = await StartAsync();
        using var http = new HttpClient { BaseAddress = server.BaseUri };
        string[] bodies =
        [
            "{\"channel\":\"\\ud800\",\"audience\":\"dev-a\",\"payload\":{}}",
            "{\"channel\":\"" + server.Channel + "\",\"audience\":\"dev-\\udfff\",\"payload\":{}}",
            "{\"channel\":\"" + server.Channel + "\",\"audience\":\"dev-a\",\"payload\":\"{\\\"a\\\":1}\\ud83d\"}",
        ];

        foreach (var body in bodies)
        {
            using var content = new StringContent(body, Encoding.UTF8, "application/json");
            using var answer = await http.PostAsync("/dev/notify", content, cancellationToken).OrTimeout();

            Assert.True(answer.StatusCode == HttpStatusCode.BadRequest, $"{(int)answer.StatusCode} for {body}");
        }

        StormAftermath.AssertNoErrorLogged(server.Logs, "lone surrogates");
    }

    private Task<StandaloneServer> StartAsync() => StandaloneServer.StartAsync(postgres, new Dictionary<string, string>
    {
        ["Authentication:AllowAnonymous"] = "true",
        ["DevNotify:Enabled"] = "true",
        ["Audiences:Source"] = "Header",
        ["Audiences:Header"] = NotifyTestHost.AudienceHeader,
    });

    private static async Task<Dictionary<string, NotifyTestClient>> ConnectAsync(StandaloneServer server)
    {
        var clients = new Dictionary<string, NotifyTestClient>();
        foreach (var audience in Audiences)
        {
            clients[audience] = await WebSocketTestClient.ConnectAsync(server.BaseUri, audience, cancellationToken: TestContext.Current.CancellationToken).OrTimeout();
            await server.WaitUntilRegisteredAsync(audience);
        }

        return clients;
    }

    // A body, its content type, and the notification it must deliver (null when it must be refused), known by construction.
    private static (string Body, string ContentType, (string Audience, string Payload)? Delivered) RandomBody(Random random, string channel, int number)
    {
        var unique = "\"n\":" + number.ToString(CultureInfo.InvariantCulture);
        var objectPayload = "{" + unique + ",\"v\":" + FuzzInput.JsonValue(random, 3, loneSurrogates: true) + "}";
        var audience = Audiences[random.Next(Audiences.Length)];
        var members = new List<string>();
        var refused = false;

        switch (random.Next(6))
        {
            case 0:
                members.Add("\"channel\":" + NotAString(random));
                refused = true;
                break;
            case 1:
                members.Add("\"channel\":\"" + new string('c', 64) + "\"");
                refused = true;
                break;
            default:
                members.Add("\"channel\":\"" + channel + "\"");
                break;
        }

        switch (random.Next(6))
        {
            case 0:
                members.Add("\"audience\":" + (random.Next(2) == 0 ? "\"\"" : NotAString(random)));
                refused = true;
                break;
            case 1:
                members.Add("\"audience\":\"" + audience + ",other\"");
                refused = true;
                break;
            default:
                members.Add("\"audience\":\"" + audience + "\"");
                break;
        }

        string? delivered = null;
        switch (random.Next(5))
        {
            case 0:
                // Not an object, nor a string holding exactly one.
                members.Add("\"payload\":" + (random.Next(2) == 0 ? "[" + FuzzInput.JsonValue(random, 1) + "]" : JsonSerializer.Serialize(FuzzInput.NotAnObject(random))));
                refused = true;
                break;
            case 1:
                // A string holding an object, as the demo page's text area sends it; whitespace around it is kept.
                var text = FuzzInput.Space(random) + objectPayload + FuzzInput.Space(random);
                members.Add("\"payload\":" + JsonSerializer.Serialize(text));
                delivered = text.Trim(' ', '\t', '\r', '\n');
                break;
            default:
                members.Add("\"payload\":" + objectPayload);
                delivered = objectPayload;
                break;
        }

        FuzzInput.Shuffle(random, members);
        var body = "{" + string.Join(",", members) + "}";
        return random.Next(10) switch
        {
            0 => (body, "text/plain", null),
            1 => ("[" + body + "]", "application/json", null),
            2 => (body[..^1], "application/json", null),
            _ => (body, "application/json", refused ? null : (audience, delivered!)),
        };
    }

    private static string NotAString(Random random) => FuzzInput.JsonValue(random, 1) is var value && !value.StartsWith('"') ? value : "null";

    private static string Shorten(string text) => text.Length <= 140 ? text : text[..140] + "…";
}
