using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.Extensions.DependencyInjection;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.IntegrationTests.HostileInput;

/// <summary>
/// The query string of a handshake is the client's to write: random parameters of every JSON type and shape, every
/// way of percent-encoding them, the <c>resume</c> parameter under other spellings or given several times, and request
/// lines up to and past Kestrel's 8 KiB. Each is accepted, or refused with 400 (an unreadable <c>resume</c>) or 414 (too
/// long), exactly as its content says, on every endpoint; and none of it costs the server a slot or an error.
/// </summary>
[Collection(SharedPostgres.Name)]
public sealed class HandshakeQueryFuzzTests(PostgresFixture postgres)
{
    private const int Slots = 2;
    private const int Cases = 60;

    // Kestrel's MaxRequestLineSize: the method, the target, the version and the CRLF.
    private const int MaxRequestLine = 8192;

    /// <summary>Where a handshake's query string is read.</summary>
    public enum Endpoint
    {
        /// <summary>The raw endpoint without a subprotocol: pgws's envelope, and no resume at all.</summary>
        RawPgws,

        /// <summary>The raw endpoint with <c>pgnotifyhub.v1</c>.</summary>
        RawSequenced,

        /// <summary>The hub's WebSocket, without negotiation.</summary>
        SignalRWebSocket,

        /// <summary>The hub's negotiation, which long polling starts with.</summary>
        SignalRNegotiate,
    }

    private enum ResumeVerdict
    {
        Absent,
        Readable,
        Unreadable,
    }

    [Theory]
    [InlineData(Endpoint.RawPgws)]
    [InlineData(Endpoint.RawSequenced)]
    [InlineData(Endpoint.SignalRWebSocket)]
    [InlineData(Endpoint.SignalRNegotiate)]
    public async Task Random_query_strings_are_accepted_or_refused_as_their_resume_and_length_say_and_cost_nothing(Endpoint endpoint)
    {
        var seed = FuzzInput.Seed(1 + (int)endpoint);
        var random = new Random(seed);
        await using var host = await NotifyTestHost.StartAsync(postgres, options => options.MaxConnections = Slots);
        using var meter = new MeterTotals(host.Services.GetRequiredService<IMeterFactory>());
        var cancellationToken = TestContext.Current.CancellationToken;
        var outcomes = new Dictionary<HttpStatusCode, int>();

        for (var i = 0; i < Cases; i++)
        {
            var (query, verdict, resumes) = RandomQuery(random, host.Channel);
            var (request, lineLength) = Request(endpoint, host.BaseUri, query);
            if (random.Next(5) == 0)
            {
                // Up to and past the request line's limit, by a few bytes either way.
                var padding = MaxRequestLine - lineLength - "&pad=".Length + random.Next(-40, 41);
                if (padding > 0)
                {
                    query += "&pad=" + new string('p', padding);
                    (request, lineLength) = Request(endpoint, host.BaseUri, query);
                }
            }

            var expected = Expected(endpoint, verdict, resumes, lineLength);
            outcomes[expected] = outcomes.GetValueOrDefault(expected) + 1;
            var answer = await RawWebSocket.SendRequestAsync(host.BaseUri, request, cancellationToken).OrTimeout();
            if (answer.Socket is { } socket)
            {
                // Given back before the next case, which would otherwise find the slots still taken.
                await socket.DisposeAsync();
                await StormAftermath.ConnectionsSettledAsync(host.Logs);
            }

            Assert.True(
                answer.Status == expected,
                $"Seed {seed}, case {i}, {endpoint}: {(int)answer.Status} for a request line of {lineLength} bytes with ?{Shorten(query)}; expected {(int)expected} ({resumes} resume parameter(s), {verdict}).");
        }

        var transport = endpoint is Endpoint.RawPgws or Endpoint.RawSequenced ? "websocket" : "signalr";
        Assert.Equal(outcomes.GetValueOrDefault(HttpStatusCode.BadRequest), meter["pgnotifyhub.connection.refused", transport, "invalid_resume"]);
        // The generator must exercise every outcome, or the test would prove less than it says.
        Assert.True(outcomes.Count == 3, $"Seed {seed}: outcomes were only {string.Join(", ", outcomes.Select(o => $"{(int)o.Key} ×{o.Value}"))}.");
        await StormAftermath.AssertServesExactlyItsSlotsAsync(host, meter, Slots, $"Seed {seed}, {endpoint}");
    }

    [Theory]
    [InlineData(Endpoint.RawSequenced)]
    [InlineData(Endpoint.SignalRWebSocket)]
    [InlineData(Endpoint.SignalRNegotiate)]
    public async Task Unreadable_resumes_with_a_lone_surrogate_in_a_property_name_are_refused_with_400(Endpoint endpoint)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await NotifyTestHost.StartAsync(postgres);
        string[] resumes =
        [
            "{\"\\ud800\":0}",
            "{\"stream\":\"x\",\"positions\":[],\"\\udc00\":1}",
            "{\"stream\":\"x\",\"positions\":[{\"channel\":\"" + host.Channel + "\",\"audience\":\"a\",\"seq\":1,\"\\ud83d\":2}]}",
            "[{\"a\\ud800\":0,\"b\":1}]",
        ];

        foreach (var resume in resumes)
        {
            var (request, _) = Request(endpoint, host.BaseUri, "resume=" + Uri.EscapeDataString(resume));
            var status = (await RawWebSocket.SendRequestAsync(host.BaseUri, request, cancellationToken).OrTimeout()).Status;

            Assert.True(status == HttpStatusCode.BadRequest, $"{endpoint}: {(int)status} for resume {resume}.");
        }

        StormAftermath.AssertNoErrorLogged(host.Logs, endpoint.ToString());
    }

    // The position notice lists every route, but what comes back is only the numbers: JSON naming 1,000 routes would
    // be over 100 KB, past Kestrel's 8 KiB request line.
    [Theory]
    [InlineData(Transport.WebSocket)]
    [InlineData(Transport.SignalR)]
    [InlineData(Transport.SignalRLongPolling)]
    public async Task A_client_in_as_many_audiences_as_a_connection_may_have_resumes_from_the_position_it_was_given(Transport transport)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await NotifyTestHost.StartAsync(postgres);
        var audiences = Enumerable.Range(0, new PgNotifyHubOptions().MaxAudiencesPerConnection).Select(i => "tenant-" + i.ToString("D4", CultureInfo.InvariantCulture)).ToList();
        var first = await ConnectAsync(host, transport, string.Join(',', audiences), resume: "");
        var resume = NotifyTestHost.CompactResume(await first.ReceivePositionAsync());
        await first.DisposeAsync();
        var marker = Markers.NewId();
        await postgres.NotifyAsync(host.Channel, Markers.Payload(audiences[^1], marker), cancellationToken);

        var resumed = await ConnectAsync(host, transport, string.Join(',', audiences), resume);
        host.Track(resumed);

        Assert.True(resume.Length < 4096, $"{resume.Length} characters");
        var replayed = await resumed.ReceiveAsync();
        Assert.True(replayed.IsMarker(marker), replayed.Raw);
        Assert.Equal((audiences[^1], 1L), (replayed.Audience, replayed.Seq));
        Assert.Equal(0, resumed.PendingResyncs);
    }

    private static async Task<NotifyTestClient> ConnectAsync(NotifyTestHost host, Transport transport, string audiences, string resume)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var query = "?resume=" + Uri.EscapeDataString(resume);
        return transport switch
        {
            Transport.WebSocket => await WebSocketTestClient.ConnectAsync(host.BaseUri, audiences, path: "/ws" + query, subprotocol: "pgnotifyhub.v1", cancellationToken: cancellationToken).OrTimeout(),
            Transport.SignalR => await SignalRTestClient.ConnectAsync(host.BaseUri, audiences, cancellationToken, "/hub" + query).OrTimeout(),
            _ => await SignalRTestClient.ConnectAsync(host.BaseUri, audiences, cancellationToken, "/hub" + query, HttpTransportType.LongPolling).OrTimeout(),
        };
    }

    private static HttpStatusCode Expected(Endpoint endpoint, ResumeVerdict verdict, int resumes, int lineLength)
    {
        if (lineLength > MaxRequestLine)
        {
            return HttpStatusCode.RequestUriTooLong;
        }

        var refused = endpoint == Endpoint.RawPgws ? resumes > 0 : resumes > 1 || verdict == ResumeVerdict.Unreadable;
        return refused ? HttpStatusCode.BadRequest
            : endpoint == Endpoint.SignalRNegotiate ? HttpStatusCode.OK
            : HttpStatusCode.SwitchingProtocols;
    }

    private static (byte[] Request, int LineLength) Request(Endpoint endpoint, Uri baseUri, string query)
    {
        var line = endpoint switch
        {
            Endpoint.SignalRNegotiate => "POST /hub/negotiate?negotiateVersion=1" + (query.Length > 0 ? "&" + query : "") + " HTTP/1.1\r\n",
            Endpoint.SignalRWebSocket => "GET /hub?" + query + " HTTP/1.1\r\n",
            _ => "GET /ws?" + query + " HTTP/1.1\r\n",
        };
        var headers = new StringBuilder("Host: ").Append(baseUri.Authority).Append("\r\n");
        if (endpoint == Endpoint.SignalRNegotiate)
        {
            headers.Append("Content-Length: 0\r\n");
        }
        else
        {
            headers.Append("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n");
        }

        if (endpoint == Endpoint.RawSequenced)
        {
            headers.Append("Sec-WebSocket-Protocol: pgnotifyhub.v1\r\n");
        }

        return (Encoding.ASCII.GetBytes(line + headers + "\r\n"), line.Length);
    }

    // A few parameters: junk of every kind, and now and then resume, under one of its spellings, once or more.
    private static (string Query, ResumeVerdict Verdict, int Resumes) RandomQuery(Random random, string channel)
    {
        var parameters = new List<string>();
        var verdict = ResumeVerdict.Absent;
        var resumes = random.Next(10) switch
        {
            < 4 => 0,
            < 9 => 1,
            _ => 2 + random.Next(2),
        };
        for (var i = 0; i < resumes; i++)
        {
            var (value, readable) = RandomResume(random, channel);
            verdict = i == 0 ? (readable ? ResumeVerdict.Readable : ResumeVerdict.Unreadable) : verdict;
            parameters.Add(ResumeName(random) + "=" + Encode(random, value));
        }

        for (var i = random.Next(4); i > 0; i--)
        {
            parameters.Add(JunkParameter(random));
        }

        FuzzInput.Shuffle(random, parameters);
        return (string.Join('&', parameters), verdict, resumes);
    }

    // Every spelling ASP.NET Core reads as "resume": query keys are decoded and compared ignoring case.
    private static string ResumeName(Random random) => random.Next(6) switch
    {
        0 => "RESUME",
        1 => "Resume",
        2 => "re%73ume",
        3 => "%72%65%73%75%6D%65",
        _ => "resume",
    };

    private static (string Value, bool Readable) RandomResume(Random random, string channel)
    {
        var unreadable = ResumeInputTests.UnreadableResumes(channel);
        return random.Next(8) switch
        {
            0 => ("", true),
            1 => (ReadablePosition(random, channel), true),
            2 => (CompactPosition(random), true),
            3 => (unreadable[random.Next(unreadable.Count)], false),
            4 => NotAPosition(random) is var value ? (value, ResumeInputTests.IsCompact(value)) : default,
            // Text that is no JSON at all.
            5 => "x" + FuzzInput.Text(random, 6) is var text ? (text, ResumeInputTests.IsCompact(text)) : default,
            _ => (BrokenPosition(random, channel), false),
        };
    }

    // The compact form: a stream, a route set's key and up to a few hundred numbers up to long.MaxValue.
    private static string CompactPosition(Random random)
    {
        const string KeyCharacters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        var stream = Convert.ToHexStringLower(BitConverter.GetBytes(random.NextInt64()));
        var key = new string([.. Enumerable.Range(0, 12).Select(_ => KeyCharacters[random.Next(KeyCharacters.Length)])]);
        var numbers = Enumerable.Range(0, random.Next(4) == 0 ? random.Next(300) : random.Next(4))
            .Select(_ => random.Next(3) switch { 0 => "0", 1 => random.Next(1, 1000).ToString(CultureInfo.InvariantCulture), _ => long.MaxValue.ToString(CultureInfo.InvariantCulture) });
        return string.Join('.', [stream, key, .. numbers]);
    }

    // The shape of a position with any strings, any whitespace, members in any order, numbers up to long.MaxValue.
    private static string ReadablePosition(Random random, string channel)
    {
        var positions = Enumerable.Range(0, random.Next(4)).Select(_ => Members(random,
            "\"channel\":" + (random.Next(2) == 0 ? "\"" + channel + "\"" : FuzzInput.JsonString(random, 4)),
            "\"audience\":" + FuzzInput.JsonString(random, 4),
            "\"seq\":" + (random.Next(3) switch { 0 => "0", 1 => random.Next(1, 1000).ToString(CultureInfo.InvariantCulture), _ => long.MaxValue.ToString(CultureInfo.InvariantCulture) })));
        return Members(random, "\"stream\":" + FuzzInput.JsonString(random, 4), "\"positions\":[" + string.Join(",", positions) + "]");
    }

    // A readable position with one thing wrong.
    private static string BrokenPosition(Random random, string channel)
    {
        var seq = random.Next(6) switch
        {
            0 => "-1",
            1 => "1.5",
            2 => "1e3",
            3 => "9223372036854775808",
            4 => "\"1\"",
            _ => FuzzInput.JsonValue(random, 1) is var value && value.All(char.IsAsciiDigit) ? "null" : value,
        };
        var entry = Members(random, "\"channel\":\"" + channel + "\"", "\"audience\":\"a\"", "\"seq\":" + seq);
        return random.Next(5) switch
        {
            0 => Members(random, "\"stream\":\"\\ud800\"", "\"positions\":[]"),
            // Another member, ignored if it were readable, whose name holds a lone surrogate.
            4 => Members(random, "\"stream\":\"x\"", "\"positions\":[]", "\"k" + (random.Next(2) == 0 ? "\\ud800" : "\\udfff") + "\":" + FuzzInput.JsonValue(random, 1)),
            1 => Members(random, "\"stream\":\"x\"", "\"stream\":\"y\"", "\"positions\":[]"),
            2 => Members(random, "\"stream\":\"x\"", "\"positions\":[" + entry + "]"),
            _ => Members(random, "\"stream\":\"x\"", "\"positions\":[" + entry + "]") + FuzzInput.Space(random) + "x",
        };
    }

    // Any JSON value but an object, so never a position.
    private static string NotAPosition(Random random)
    {
        string value;
        do
        {
            value = FuzzInput.JsonValue(random, 3, loneSurrogates: true);
        }
        while (value.StartsWith('{'));

        return value;
    }

    private static string Members(Random random, params string[] members)
    {
        FuzzInput.Shuffle(random, members);
        return "{" + FuzzInput.Space(random) + string.Join("," + FuzzInput.Space(random), members) + FuzzInput.Space(random) + "}";
    }

    private static string JunkParameter(Random random)
    {
        var name = random.Next(6) switch
        {
            0 => "",
            1 => "access_token",
            2 => "audience",
            3 => "resume_",
            4 => "%00%ff%zz",
            _ => Uri.EscapeDataString(FuzzInput.Text(random, 3)),
        };
        var value = random.Next(5) switch
        {
            0 => Encode(random, FuzzInput.JsonValue(random, 2, loneSurrogates: true)),
            1 => "%ED%A0%80%C0%80%FF%",
            2 => "%zz%%%2",
            3 => "",
            _ => Encode(random, FuzzInput.Text(random, 5)),
        };
        return random.Next(6) == 0 ? name : name + "=" + value;
    }

    // Each way a client may encode a value: RFC 3986 escapes, form encoding (space as '+'), lower-case hex.
    private static string Encode(Random random, string value) => random.Next(3) switch
    {
        0 => Uri.EscapeDataString(value),
        1 => WebUtility.UrlEncode(value),
        _ => LowerHex(Uri.EscapeDataString(value)),
    };

    private static string LowerHex(string escaped)
    {
        var text = new StringBuilder(escaped.Length);
        for (var i = 0; i < escaped.Length; i++)
        {
            var lower = i >= 1 && escaped[i - 1] == '%' || i >= 2 && escaped[i - 2] == '%';
            text.Append(lower ? char.ToLowerInvariant(escaped[i]) : escaped[i]);
        }

        return text.ToString();
    }

    private static string Shorten(string text) =>
        text.Length <= 160 ? text : text[..160] + "… (" + text.Length.ToString(CultureInfo.InvariantCulture) + " characters)";
}
