using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.IntegrationTests.HostileInput;

/// <summary>
/// Whoever can log in to the database writes NOTIFY payloads: random valid and invalid ones, to audiences with quotes,
/// backslashes, control characters, multi-byte characters and emoji, or thousands of bytes long, up to NOTIFY's 7,999
/// bytes. Every valid payload reaches exactly the clients of its audience on every transport, byte for byte and in
/// order, with its audience correctly escaped in the sequenced envelope; every invalid one is dropped with the documented
/// Warning and counted; nothing reaches another audience.
/// </summary>
[Collection(SharedPostgres.Name)]
public sealed class NotifyPayloadFuzzTests(PostgresFixture postgres)
{
    private const int MaxNotifyBytes = 7_999;

    // JSON's own whitespace, which the parser trims around the object.
    private static readonly char[] JsonWhitespace = [' ', '\t', '\r', '\n'];

    [Fact]
    public async Task Random_payloads_reach_exactly_their_audience_byte_for_byte_and_invalid_ones_are_dropped_counted_and_logged()
    {
        const int Payloads = 300;
        var seed = FuzzInput.Seed(20261251);
        var random = new Random(seed);
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await NotifyTestHost.StartAsync(postgres, options => options.AudienceResolver = EncodedAudience.Resolve);
        using var meter = new MeterTotals(host.Services.GetRequiredService<IMeterFactory>());
        var audiences = new List<string>
        {
            "q\"b\\s'",
            "c\u0001\u001e\u007fx",
            "é中😀👩‍👩‍👧",
            "\u2028<>&\u2029",
            " lead and trail ",
            new('l', 7_000),
            FuzzInput.Audience(random),
        }.Distinct().ToList();
        var clients = new Dictionary<string, List<NotifyTestClient>>();
        foreach (var audience in audiences)
        {
            clients[audience] = await ConnectEveryTransportAsync(host, audience);
        }

        // The payloads, and what each audience must receive of them, in order.
        var sent = new List<string>();
        var expected = audiences.ToDictionary(a => a, _ => new List<string>());
        var invalid = 0;
        for (var i = 0; i < Payloads; i++)
        {
            var kind = random.Next(10);
            if (kind < 7)
            {
                var audience = audiences[random.Next(audiences.Count)];
                var json = ValidObject(random, i, audience, fillToLimit: random.Next(12) == 0);
                sent.Add(audience + "," + json);
                expected[audience].Add(json.Trim(JsonWhitespace));
            }
            else if (kind < 8)
            {
                // Valid, to an audience nobody is in.
                sent.Add(FuzzInput.Audience(random) + "\u0002" + i.ToString(CultureInfo.InvariantCulture) + "," + ValidObject(random, i, "", fillToLimit: false));
            }
            else
            {
                sent.Add(InvalidPayload(random, i, audiences[random.Next(audiences.Count)]));
                invalid++;
            }
        }

        foreach (var batch in sent.Chunk(50))
        {
            await postgres.NotifyManyAsync(host.Channel, batch, cancellationToken);
        }

        var marker = Markers.NewId();
        await postgres.NotifyManyAsync(host.Channel, [.. audiences.Select(a => Markers.Payload(a, marker))], cancellationToken);

        foreach (var audience in audiences)
        {
            foreach (var client in clients[audience])
            {
                var received = await client.ReceiveUntilMarkerAsync(marker);
                var context = $"Seed {seed}, {client.Transport} client of audience {Describe(audience)}";
                Assert.True(received.Count == expected[audience].Count, $"{context}: {received.Count} envelopes, expected {expected[audience].Count}.");
                for (var n = 0; n < received.Count; n++)
                {
                    var envelope = received[n];
                    Assert.True(envelope.PayloadJson == expected[audience][n], $"{context}, envelope {n}: payload {Describe(envelope.PayloadJson)}, expected {Describe(expected[audience][n])}.");
                    Assert.Equal(host.Channel, envelope.Channel);
                    if (envelope.IsSequenced)
                    {
                        Assert.True(envelope.Audience == audience, $"{context}, envelope {n}: audience {Describe(envelope.Audience ?? "null")}.");
                    }
                }
            }
        }

        Assert.Equal(invalid, meter["pgnotifyhub.notification.invalid"]);
        Assert.Equal(sent.Count + audiences.Count, meter["pgnotifyhub.notification.received"]);
        var warnings = host.Logs.Entries.Where(e => e.Level >= LogLevel.Warning).ToList();
        Assert.True(warnings.All(e => e.EventId.Name == "InvalidPayload" && (string?)e["Channel"] == host.Channel), $"Seed {seed}: {warnings.FirstOrDefault(e => e.EventId.Name != "InvalidPayload")}");
        Assert.Equal(invalid, warnings.Count);
        Assert.Equal(invalid, host.Logs.Entries.Count(e => e.EventId.Name == "InvalidPayloadText" && e.Level == LogLevel.Debug));
    }

    // The server forwards any depth PostgreSQL accepts. SignalR's own .NET client cannot read a frame deeper than 64
    // levels (a documented limit); PgNotifyHub.Client can, which ClientLibraryTests pins down over the hub.
    [Fact]
    public async Task A_payload_nested_a_hundred_levels_deep_reaches_raw_sockets_byte_for_byte()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await NotifyTestHost.StartAsync(postgres, options => options.AudienceResolver = EncodedAudience.Resolve);
        var audience = Names.Audience("deep");
        var header = EncodedAudience.Header(audience);
        List<NotifyTestClient> clients =
        [
            await WebSocketTestClient.ConnectAsync(host.BaseUri, header, cancellationToken: cancellationToken).OrTimeout(),
            await WebSocketTestClient.ConnectAsync(host.BaseUri, header, path: "/ws?resume=", subprotocol: "pgnotifyhub.v1", cancellationToken: cancellationToken).OrTimeout(),
        ];
        clients.ForEach(host.Track);
        await host.Router.WaitForSubscribersAsync(new PgNotifyHub.Sequencing.Route(host.Channel, audience), clients.Count, cancellationToken).OrTimeout();
        var deep = "{\"a\":" + new string('[', 100) + new string(']', 100) + "}";

        var marker = Markers.NewId();
        await postgres.NotifyManyAsync(host.Channel, [audience + "," + deep, Markers.Payload(audience, marker)], cancellationToken);

        foreach (var client in clients)
        {
            Assert.Equal([deep], (await client.ReceiveUntilMarkerAsync(marker)).Select(e => e.PayloadJson));
            Assert.True(client.IsConnected);
        }

        Assert.DoesNotContain(host.Logs.Entries, e => e.EventId.Name == "InvalidPayload");
    }

    // A pgws raw socket, a pgnotifyhub.v1 socket, SignalR over WebSockets and over long polling, all registered.
    private static async Task<List<NotifyTestClient>> ConnectEveryTransportAsync(NotifyTestHost host, string audience)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var header = EncodedAudience.Header(audience);
        List<NotifyTestClient> clients =
        [
            await WebSocketTestClient.ConnectAsync(host.BaseUri, header, cancellationToken: cancellationToken).OrTimeout(),
            await WebSocketTestClient.ConnectAsync(host.BaseUri, header, path: "/ws?resume=", subprotocol: "pgnotifyhub.v1", cancellationToken: cancellationToken).OrTimeout(),
            await SignalRTestClient.ConnectAsync(host.BaseUri, header, cancellationToken).OrTimeout(),
            await SignalRTestClient.ConnectAsync(host.BaseUri, header, cancellationToken, transport: HttpTransportType.LongPolling).OrTimeout(),
        ];
        clients.ForEach(host.Track);
        await host.Router.WaitForSubscribersAsync(new PgNotifyHub.Sequencing.Route(host.Channel, audience), clients.Count, cancellationToken).OrTimeout();
        return clients;
    }

    // A well-formed object identified by its number, with JSON whitespace around it; filled to exactly NOTIFY's limit
    // with its audience when asked, with multi-byte characters where they fit.
    private static string ValidObject(Random random, int number, string audience, bool fillToLimit)
    {
        var room = MaxNotifyBytes - Encoding.UTF8.GetByteCount(audience) - 1;
        string json;
        do
        {
            json = FuzzInput.Space(random) + "{\"n\"" + FuzzInput.Space(random) + ":" + number.ToString(CultureInfo.InvariantCulture) + ",\"v\":" + FuzzInput.JsonValue(random, 3, loneSurrogates: true) + FuzzInput.Space(random) + "}" + FuzzInput.Space(random);
        }
        while (Encoding.UTF8.GetByteCount(json) > Math.Min(room, 600));

        var left = room - Encoding.UTF8.GetByteCount(json) - ",\"pad\":\"\"".Length;
        if (!fillToLimit || left < 0)
        {
            return json;
        }

        var pad = new StringBuilder();
        for (; left >= 3; left -= 3)
        {
            pad.Append('€');
        }

        pad.Append('p', left);
        var end = json.LastIndexOf('}');
        return json[..end] + ",\"pad\":\"" + pad + "\"" + json[end..];
    }

    // Each form is invalid by construction, and unique, so PostgreSQL folds none of them into another.
    private static string InvalidPayload(Random random, int number, string audience)
    {
        var unique = number.ToString(CultureInfo.InvariantCulture);
        return random.Next(5) switch
        {
            0 => "no comma at all " + FuzzInput.Text(random, 4).Replace(",", "", StringComparison.Ordinal) + unique,
            1 => ",{\"empty audience\":" + unique + "}",
            2 => audience + ",second," + "{\"n\":" + unique + "}",
            _ => audience + "," + FuzzInput.NotAnObject(random) + unique,
        };
    }

    private static string Describe(string text)
    {
        var shown = new StringBuilder();
        foreach (var c in text.Length > 120 ? text[..120] : text)
        {
            shown.Append(c < ' ' || c == '\u007f' || char.IsSurrogate(c) || c is '\u2028' or '\u2029' ? "\\u" + ((int)c).ToString("x4", CultureInfo.InvariantCulture) : c.ToString());
        }

        return "\"" + shown + (text.Length > 120 ? $"…\" ({text.Length} characters)" : "\"");
    }
}
