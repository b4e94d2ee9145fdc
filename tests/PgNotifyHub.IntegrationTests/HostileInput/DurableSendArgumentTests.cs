using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.IntegrationTests.HostileInput;

/// <summary>
/// <c>pgnotifyhub.send(channel, audience, payload)</c> takes whatever a database user passes: NULLs, empty and long
/// text, commas, control characters and emoji, JSON that is not an object or not JSON, deep JSON, payloads at and over
/// the size limit. Every call either raises a clear error with a SQLSTATE, or its message is read and delivered to the
/// clients of its audience: a durable message is never accepted and then dropped.
/// </summary>
[Collection(SharedPostgres.Name)]
public sealed class DurableSendArgumentTests(PostgresFixture postgres)
{
    private const int MaxPayloadBytes = 1_048_576;

    // invalid_parameter_value (send's own checks), invalid_text_representation and untranslatable_character (the jsonb
    // cast), character_not_in_repertoire, program_limit_exceeded (the size limit).
    private static readonly string[] ClearErrors = ["22023", "22P02", "22P05", "22021", "54000"];

    [Fact]
    public async Task Every_send_raises_a_clear_error_or_its_message_reaches_its_audience()
    {
        var seed = FuzzInput.Seed(20261261);
        var random = new Random(seed);
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await NotifyTestHost.StartAsync(postgres, options =>
        {
            options.AudienceResolver = EncodedAudience.Resolve;
            options.Outbox.Enabled = true;
            options.Outbox.InstallSchema = true;
            options.Outbox.ReaderName = "node-" + Guid.NewGuid().ToString("N");
        });
        await host.Logs.WaitForAsync(e => e.EventId.Name == "OutboxReading").OrTimeout();
        using var meter = new MeterTotals(host.Services.GetRequiredService<IMeterFactory>());
        var channel = host.Channel;

        // (channel, audience, payload as text to cast to jsonb, whether it must be accepted; null: either, but if accepted, delivered)
        var calls = new List<(string? Channel, string? Audience, string? Payload, bool? Accepted)>
        {
            (null, "a", "{}", false),
            (channel, null, "{}", false),
            (channel, "a", null, false),
            ("", "a", "{}", false),
            (new string('c', 64), "a", "{}", false),
            (new string('é', 32), "a", "{}", false),
            (channel, "", "{}", false),
            (channel, "a,b", "{}", false),
            (channel, ",", "{}", false),
            (channel, "a", "[]", false),
            (channel, "a", "\"a string\"", false),
            (channel, "a", "42", false),
            (channel, "a", "null", false),
            (channel, "a", "true", false),
            (channel, "a", "not json", false),
            (channel, "a", "{\"a\":1} trailing", false),
            (channel, "a", "{\"nul\":\"\\u0000\"}", false),
            (channel, "a", "{\"lone\":\"\\ud800\"}", false),
            (channel, "a", PayloadOfBytes(MaxPayloadBytes + 1), false),
            (channel, "q\"b\\s'", "{}", true),
            (channel, "c\u0001\u001e\u007fx", "{\"a\":[1,{\"b\":null}]}", true),
            (channel, "é中😀👩‍👩‍👧", "{\"e\":\"é😀\\u00e9\"}", true),
            (channel, "\u2028<>&\u2029", "{\"dup\":1,\"dup\":2}", true),
            (channel, " lead and trail ", "{\"n\":1e400,\"z\":-0,\"big\":123456789012345678901234567890}", true),
            (channel, new string('l', 20_000), "{\"long\":\"audience\"}", true),
            // Deeper than SignalR clients read (see NotifyPayloadFuzzTests): refusing it here would be as right as delivering it.
            (channel, "deep", string.Concat(Enumerable.Repeat("{\"a\":", 1_000)) + "1" + new string('}', 1_000), null),
            (channel, "limit", PayloadOfBytes(MaxPayloadBytes), true),
            // Read by the node like any other, though no endpoint here listens on its channel.
            (new string('c', 63), "a", "{}", true),
        };
        for (var i = 0; i < 60; i++)
        {
            calls.Add(RandomCall(random, channel));
        }

        // One client per audience that must receive something, of the sequenced subprotocol, and SignalR for two of them.
        var audiences = calls.Where(c => c.Accepted != false && c.Channel == channel).Select(c => c.Audience!).Append("marker").Distinct().ToList();
        var clients = new Dictionary<string, List<NotifyTestClient>>();
        foreach (var audience in audiences)
        {
            var header = EncodedAudience.Header(audience);
            clients[audience] = [await WebSocketTestClient.ConnectAsync(host.BaseUri, header, path: "/ws?resume=", subprotocol: "pgnotifyhub.v1", cancellationToken: cancellationToken).OrTimeout()];
            if (clients.Count <= 2)
            {
                clients[audience].Add(await SignalRTestClient.ConnectAsync(host.BaseUri, header, cancellationToken).OrTimeout());
            }

            clients[audience].ForEach(host.Track);
            await host.Router.WaitForSubscribersAsync(new PgNotifyHub.Sequencing.Route(channel, audience), clients[audience].Count, cancellationToken).OrTimeout();
        }

        var expected = audiences.ToDictionary(a => a, _ => new List<string>());
        var accepted = 0;
        await using var connection = await postgres.DataSource.OpenConnectionAsync(cancellationToken);
        foreach (var (callChannel, audience, payload, mustBeAccepted) in calls)
        {
            var description = $"Seed {seed}: send({Describe(callChannel)}, {Describe(audience)}, {Describe(payload)})";
            var error = await Record.ExceptionAsync(() => SendAsync(connection, callChannel, audience, payload, cancellationToken));
            if (error is null)
            {
                Assert.True(mustBeAccepted != false, $"{description} was accepted; it should have raised an error.");
                accepted++;
                if (callChannel == channel)
                {
                    expected[audience!].Add(await CanonicalAsync(connection, payload!, cancellationToken));
                }

                continue;
            }

            var state = (error as PostgresException)?.SqlState;
            Assert.True(state is not null && ClearErrors.Contains(state), $"{description} failed with {error.GetType().Name} {state}: {error.Message}");
            Assert.True(mustBeAccepted != true, $"{description} raised {state} ({((PostgresException)error).MessageText}); it should have been accepted.");
        }

        var marker = Markers.NewId();
        await SendAsync(connection, channel, "marker", "{\"marker\":\"" + marker + "\"}", cancellationToken);
        foreach (var audience in audiences.Where(a => a != "marker"))
        {
            await SendAsync(connection, channel, audience, "{\"marker\":\"" + marker + "\"}", cancellationToken);
        }

        foreach (var audience in audiences)
        {
            foreach (var client in clients[audience])
            {
                var received = await client.ReceiveUntilMarkerAsync(marker);
                var context = $"Seed {seed}, {client.Transport} client of {Describe(audience)}";
                Assert.True(
                    received.Select(e => e.PayloadJson).SequenceEqual(expected[audience]),
                    $"{context}: received [{string.Join(", ", received.Select(e => Describe(e.PayloadJson)))}], expected [{string.Join(", ", expected[audience].Select(p => Describe(p)))}].");
                Assert.All(received, e => Assert.Equal(audience, e.Audience));
            }
        }

        // Every accepted message and marker was read and parsed: none dropped on the way.
        Assert.Equal(accepted + audiences.Count, meter["pgnotifyhub.notification.received"]);
        Assert.Equal(0, meter["pgnotifyhub.notification.invalid"]);
        Assert.DoesNotContain(host.Logs.Entries, e => e.Level >= LogLevel.Warning);
        Assert.True(accepted > 10 && calls.Count - accepted > 10, $"Seed {seed}: {accepted} of {calls.Count} calls accepted; the generator must reach both outcomes.");
    }

    private static async Task SendAsync(NpgsqlConnection connection, string? channel, string? audience, string? payload, CancellationToken cancellationToken)
    {
        await using var send = new NpgsqlCommand("SELECT pgnotifyhub.send($1, $2, $3::jsonb)", connection);
        send.Parameters.Add(new NpgsqlParameter<string?> { TypedValue = channel, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        send.Parameters.Add(new NpgsqlParameter<string?> { TypedValue = audience, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        send.Parameters.Add(new NpgsqlParameter<string?> { TypedValue = payload, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        await send.ExecuteNonQueryAsync(cancellationToken);
    }

    // The text clients get: PostgreSQL's own rendering of the jsonb.
    private static async Task<string> CanonicalAsync(NpgsqlConnection connection, string payload, CancellationToken cancellationToken)
    {
        await using var canonical = new NpgsqlCommand("SELECT $1::jsonb::text", connection);
        canonical.Parameters.Add(new NpgsqlParameter<string> { TypedValue = payload });
        return (string)(await canonical.ExecuteScalarAsync(cancellationToken))!;
    }

    // A random call whose fate is known from its arguments alone.
    private static (string? Channel, string? Audience, string? Payload, bool? Accepted) RandomCall(Random random, string channel)
    {
        var callChannel = random.Next(8) switch
        {
            0 => "",
            1 => new string('x', 64),
            _ => channel,
        };
        var audience = random.Next(4) == 0 ? FuzzInput.Text(random, 4) : FuzzInput.Audience(random, 5);
        var payload = random.Next(6) switch
        {
            0 => FuzzInput.JsonValue(random, 3),
            1 => FuzzInput.Text(random, 5),
            _ => FuzzInput.JsonObject(random, 3),
        };
        var isObject = IsJson(payload, out var kind, out var hasNul) && kind == JsonValueKind.Object && !hasNul;
        var accepted = callChannel.Length is > 0 and <= 63 && audience.Length > 0 && !audience.Contains(',', StringComparison.Ordinal) && isObject;
        return (callChannel, audience, payload, accepted);
    }

    // Whether the text is one JSON value (jsonb allows JSON whitespace around it), its kind, and whether a string in it
    // decodes to a NUL, which jsonb refuses.
    private static bool IsJson(string text, out JsonValueKind kind, out bool hasNul)
    {
        (kind, hasNul) = (JsonValueKind.Undefined, false);
        try
        {
            using var document = JsonDocument.Parse(text);
            kind = document.RootElement.ValueKind;
            var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(text));
            while (reader.Read())
            {
                if (reader.TokenType is JsonTokenType.String or JsonTokenType.PropertyName && reader.GetString()!.Contains('\0', StringComparison.Ordinal))
                {
                    hasNul = true;
                }
            }

            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    // A payload already in jsonb's own rendering ({"s": "…"}) of exactly this many UTF-8 bytes, multi-byte throughout.
    private static string PayloadOfBytes(int bytes)
    {
        const string Prefix = "{\"s\": \"";
        var text = new StringBuilder(Prefix);
        var room = bytes - Encoding.UTF8.GetByteCount(Prefix) - 2;
        for (; room >= 3; room -= room % 5 == 0 ? 3 : 2)
        {
            text.Append(room % 5 == 0 ? '€' : 'é');
        }

        return text.Append('x', room).Append("\"}").ToString();
    }

    private static string Describe(string? text)
    {
        if (text is null)
        {
            return "NULL";
        }

        var shown = new StringBuilder();
        foreach (var c in text.Length > 60 ? text[..60] : text)
        {
            shown.Append(c < ' ' || c == '\u007f' || c is '\u2028' or '\u2029' ? "\\u" + ((int)c).ToString("x4", CultureInfo.InvariantCulture) : c.ToString());
        }

        return "'" + shown + (text.Length > 60 ? $"…' ({text.Length} characters)" : "'");
    }
}
