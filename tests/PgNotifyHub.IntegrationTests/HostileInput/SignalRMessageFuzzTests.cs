using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.Extensions.DependencyInjection;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.IntegrationTests.HostileInput;

/// <summary>
/// What a SignalR client sends is SignalR's to read, and the hub has no methods: garbage before or instead of the
/// handshake, a MessagePack handshake (the hub offers JSON only), invocations of methods that do not exist, stream,
/// cancel and completion messages with junk, deep and huge JSON up to the size limit, broken record separators. Each is
/// ignored or closes only the connection that sent it, on WebSockets and long polling alike, never with an error, and
/// the server goes on serving everyone else.
/// </summary>
[Collection(SharedPostgres.Name)]
public sealed class SignalRMessageFuzzTests(PostgresFixture postgres)
{
    private const int MaxMessage = 1024;
    private const int Slots = 2;

    /// <summary>How the hub is reached: its WebSocket, or long polling.</summary>
    public enum HubTransport
    {
        WebSockets,
        LongPolling,
    }

    // Handshakes that are not SignalR's JSON protocol, each answered with an error.
    private static readonly string[] BadHandshakes =
    [
        "garbage\u001e",
        "\u001e",
        "{\"protocol\":\"messagepack\",\"version\":1}\u001e",
        "{\"protocol\":\"blazorpack\",\"version\":1}\u001e",
        "{\"protocol\":\"\\ud800\",\"version\":1}\u001e",
        "{\"version\":1}\u001e",
        "[\"json\",1]\u001e",
        "{\"protocol\":\"json\",\"version\":\"1\"}\u001e",
        "{\"protocol\":\"json\",\"version\":99999999999999999999}\u001e",
        new string('[', 200) + new string(']', 200) + "\u001e",
    ];

    [Theory]
    [InlineData(HubTransport.WebSockets)]
    [InlineData(HubTransport.LongPolling)]
    public async Task A_handshake_that_is_not_SignalRs_JSON_protocol_is_answered_with_an_error_and_the_connection_ends(HubTransport transport)
    {
        await using var host = await NotifyTestHost.StartAsync(postgres, options => options.MaxConnections = Slots);
        using var meter = new MeterTotals(host.Services.GetRequiredService<IMeterFactory>());
        var cancellationToken = TestContext.Current.CancellationToken;

        foreach (var handshake in BadHandshakes)
        {
            IReadOnlyList<string> records;
            if (transport == HubTransport.WebSockets)
            {
                var (_, hub) = await RawHubConnection.OpenAsync(host.BaseUri, "/hub", Array.Empty<(string, string)>(), cancellationToken, handshake).OrTimeout();
                await using (hub!)
                {
                    records = await hub!.ReceiveUntilClosedAsync(cancellationToken).OrTimeout();
                }
            }
            else
            {
                var (_, session) = await LongPollingSession.StartAsync(host.BaseUri, "/hub", [], cancellationToken).OrTimeout();
                await using (session!)
                {
                    await session!.SendAsync(handshake, cancellationToken).OrTimeout();
                    records = await session.PollUntilClosedAsync(cancellationToken).OrTimeout();
                }
            }

            Assert.True(
                records.Count == 1 && records[0].StartsWith("{\"error\":", StringComparison.Ordinal),
                $"{transport}, handshake {Shorten(handshake)}: the server sent [{string.Join(" | ", records)}], not one error.");
        }

        Assert.DoesNotContain(host.Logs.Entries, e => e.EventId.Name == "ConnectionOpened");
        await StormAftermath.AssertServesExactlyItsSlotsAsync(host, meter, Slots, transport.ToString());
    }

    [Theory]
    [InlineData(HubTransport.WebSockets)]
    [InlineData(HubTransport.LongPolling)]
    public async Task Random_hub_messages_are_ignored_or_close_only_their_own_connection(HubTransport transport)
    {
        const int Connections = 30;
        var seed = FuzzInput.Seed(20261241 + (int)transport);
        var random = new Random(seed);
        await using var host = await NotifyTestHost.StartAsync(
            postgres,
            options =>
            {
                options.MaxClientMessageSize = MaxMessage;
                options.MaxConnections = Slots;
            },
            // A long polling client that stops polling is let go of after this long, instead of SignalR's 15 s.
            configureServices: services => services.Configure<ConnectionOptions>(options => options.DisconnectTimeout = TimeSpan.FromSeconds(1)));
        using var meter = new MeterTotals(host.Services.GetRequiredService<IMeterFactory>());
        var outcomes = new Dictionary<bool, int>();

        for (var i = 0; i < Connections; i++)
        {
            var records = Enumerable.Range(0, random.Next(1, 5)).Select(_ => RandomRecord(random)).ToList();
            var closes = records.Any(r => r.Closes);
            outcomes[closes] = outcomes.GetValueOrDefault(closes) + 1;
            var description = $"Seed {seed}, connection {i}, {transport}: [{string.Join(" ", records.Select(r => (r.Closes ? "closing " : "ignored ") + Shorten(r.Text)))}]";

            TestContext.Current.TestOutputHelper?.WriteLine(description);
            var audience = Names.Audience();
            await using (var connection = await HandConnection.OpenAsync(host, transport, audience))
            {
                foreach (var (text, _) in records)
                {
                    await connection.SendAsync(text);
                }

                var marker = Markers.NewId();
                await postgres.NotifyAsync(host.Channel, Markers.Payload(audience, marker), TestContext.Current.CancellationToken);
                var (sawMarker, closed) = await connection.ReceiveMarkerOrCloseAsync(marker, untilClosed: closes);
                Assert.True(closes ? closed : sawMarker && !closed, $"{description}: {(closed ? "closed" : "still open")}, {(sawMarker ? "" : "no ")}marker.");
            }

            await StormAftermath.ConnectionsSettledAsync(host.Logs);
        }

        Assert.True(outcomes.Count == 2, $"Seed {seed}: every connection was {(outcomes.ContainsKey(true) ? "closed" : "left open")}; the generator must reach both outcomes.");
        await StormAftermath.AssertServesExactlyItsSlotsAsync(host, meter, Slots, $"Seed {seed}, {transport}");
    }

    [Theory]
    [InlineData(HubTransport.WebSockets)]
    [InlineData(HubTransport.LongPolling)]
    public async Task A_message_of_an_unknown_type_stalls_only_its_own_connections_reading_until_the_unread_bytes_pass_the_limit(HubTransport transport)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await NotifyTestHost.StartAsync(postgres, options =>
        {
            options.MaxClientMessageSize = MaxMessage;
            options.MaxConnections = Slots;
        });
        using var meter = new MeterTotals(host.Services.GetRequiredService<IMeterFactory>());
        var (staller, bystander) = (Names.Audience(), Names.Audience());
        var other = await host.ConnectSignalRAsync(bystander);

        await using (var connection = await HandConnection.OpenAsync(host, transport, staller))
        {
            // SignalR's JSON protocol reads an unknown type as nothing and never moves past it, so the close after it is
            // never read either (ASP.NET Core's HubConnectionHandler, not this library): the connection stays open and
            // still receives.
            await connection.SendAsync("{\"type\":99}\u001e");
            await connection.SendAsync("{\"type\":7}\u001e");
            var marker = Markers.NewId();
            await postgres.NotifyManyAsync(host.Channel, [Markers.Payload(staller, marker), Markers.Payload(bystander, marker)], cancellationToken);
            Assert.Equal((true, false), await connection.ReceiveMarkerOrCloseAsync(marker, untilClosed: false));
            Assert.Empty(await other.ReceiveUntilMarkerAsync(marker));

            // What it cannot read piles up only to MaxClientMessageSize; then the connection is closed.
            for (var sent = 0; sent <= MaxMessage; sent += 100)
            {
                await connection.SendAsync("{\"type\":6," + new string(' ', 88) + "}\u001e");
            }

            var closing = Markers.NewId();
            await postgres.NotifyAsync(host.Channel, Markers.Payload(staller, closing), cancellationToken);
            Assert.True((await connection.ReceiveMarkerOrCloseAsync(closing, untilClosed: true)).Closed);
        }

        await host.AssertHearsOnlyItsOwnAudienceAsync(other, bystander, staller);
        await host.DisconnectAsync(other, bystander);
        await StormAftermath.AssertServesExactlyItsSlotsAsync(host, meter, Slots, transport.ToString());
    }

    // A record (with its separator, or a broken one) and whether it makes SignalR close the connection.
    private static (string Text, bool Closes) RandomRecord(Random random)
    {
        const char Separator = RawHubConnection.RecordSeparator;
        // SignalR ends a connection whose completion, cancel or stream item names an empty invocation id.
        var id = random.Next(3) == 0 ? "\"i" + FuzzInput.JsonString(random, 3)[1..] : "\"" + random.Next().ToString(CultureInfo.InvariantCulture) + "\"";
        var arguments = "[" + string.Join(",", Enumerable.Range(0, random.Next(4)).Select(_ => FuzzInput.JsonValue(random, 3))) + "]";
        return random.Next(20) switch
        {
            // What SignalR reads and ignores: the hub has no methods, and nothing was invoked on the client.
            0 => ("{\"type\":1,\"invocationId\":" + id + ",\"target\":" + FuzzInput.JsonString(random, 4) + ",\"arguments\":" + arguments + "}" + Separator, false),
            1 => ("{\"type\":1,\"target\":\"notify\",\"arguments\":" + arguments + "}" + Separator, false),
            2 => ("{\"type\":4,\"invocationId\":" + id + ",\"target\":" + FuzzInput.JsonString(random, 4) + ",\"arguments\":" + arguments + "}" + Separator, false),
            3 => ("{\"type\":5,\"invocationId\":" + id + "}" + Separator, false),
            4 => ("{\"type\":3,\"invocationId\":" + id + ",\"result\":" + FuzzInput.JsonValue(random, 3) + "}" + Separator, false),
            5 => ("{\"type\":3,\"invocationId\":" + id + ",\"error\":" + FuzzInput.JsonString(random, 4) + "}" + Separator, false),
            6 => ("{\"type\":2,\"invocationId\":" + id + ",\"item\":" + FuzzInput.JsonValue(random, 2) + "}" + Separator, false),
            7 => ("{\"type\":6}" + Separator, false),
            8 => ("{\"type\":1,\"invocationId\":" + id + ",\"target\":\"" + (random.Next(2) == 0 ? "OnConnectedAsync" : "Dispose") + "\",\"arguments\":[]}" + Separator, false),
            9 => ("{\"type\":1,\"target\":\"x\",\"arguments\":[" + new string('[', 60) + new string(']', 60) + "]}" + Separator, false),
            // One byte under the limit with its separator: SignalR counts the separator.
            10 => (Padded(MaxMessage - 1) + Separator, false),

            // What ends the connection: not SignalR's protocol, too deep, too large, or a close.
            11 => (FuzzInput.JsonValue(random, 2, loneSurrogates: true) is var value && !value.StartsWith('{') ? value + Separator : "[]" + Separator, true),
            12 => ("garbage" + FuzzInput.Text(random, 4) + Separator, true),
            13 => ("{\"type\":\"1\"}" + Separator, true),
            14 => ("{\"type\":4,\"invocationId\":\"1\",\"target\":\"x\",\"arguments\":{}}" + Separator, true),
            15 => ("{\"type\":3}" + Separator, true),
            16 => ("{\"type\":1,\"target\":\"x\",\"arguments\":[" + new string('[', 500) + new string(']', 500) + "]}" + Separator, true),
            17 => (Padded(MaxMessage) + Separator, true),
            18 => (Separator.ToString(), true),
            _ => ("{\"type\":7,\"error\":" + FuzzInput.JsonString(random, 4) + "}" + Separator, true),
        };
    }

    // An invocation of a method that does not exist, exactly this many bytes long.
    private static string Padded(int bytes)
    {
        const string Head = "{\"type\":1,\"target\":\"x\",\"arguments\":[\"";
        const string Tail = "\"]}";
        return Head + new string('x', bytes - Head.Length - Tail.Length) + Tail;
    }

    private static string Shorten(string text) =>
        (text.Length <= 80 ? text : text[..80] + "…").Replace("\u001e", "\\x1e", StringComparison.Ordinal);

    /// <summary>A hub connection spoken by hand over either transport, registered with the server before it is returned.</summary>
    private sealed class HandConnection : IAsyncDisposable
    {
        private readonly RawHubConnection? _webSocket;
        private readonly LongPollingSession? _longPolling;

        private HandConnection(RawHubConnection? webSocket, LongPollingSession? longPolling) => (_webSocket, _longPolling) = (webSocket, longPolling);

        public static async Task<HandConnection> OpenAsync(NotifyTestHost host, HubTransport transport, string audience)
        {
            var cancellationToken = TestContext.Current.CancellationToken;
            HandConnection connection;
            if (transport == HubTransport.WebSockets)
            {
                var (status, hub) = await RawHubConnection.OpenAsync(host.BaseUri, "/hub", [(NotifyTestHost.AudienceHeader, audience)], cancellationToken).OrTimeout();
                connection = new HandConnection(hub ?? throw new InvalidOperationException($"Refused with {status}."), null);
                await hub.ReceiveUntilAsync("{}", cancellationToken).OrTimeout();
            }
            else
            {
                var (status, session) = await LongPollingSession.StartAsync(host.BaseUri, "/hub", [(NotifyTestHost.AudienceHeader, audience)], cancellationToken).OrTimeout();
                connection = new HandConnection(null, session ?? throw new InvalidOperationException($"Refused with {status}."));
                await session.SendAsync(RawHubConnection.JsonHandshake, cancellationToken).OrTimeout();
                await session.PollUntilAsync("{}", cancellationToken).OrTimeout();
            }

            await host.Router.WaitForSubscribersAsync(new PgNotifyHub.Sequencing.Route(host.Channel, audience), 1, cancellationToken).OrTimeout();
            return connection;
        }

        public async Task SendAsync(string text)
        {
            var cancellationToken = TestContext.Current.CancellationToken;
            if (_webSocket is not null)
            {
                try
                {
                    await _webSocket.SendAsync(text, cancellationToken).OrTimeout();
                }
                catch (IOException)
                {
                    // The server closed the connection after an earlier record.
                }
            }
            else
            {
                var status = await _longPolling!.SendAsync(text, cancellationToken).OrTimeout();
                // A send to a connection the server has just closed finds it gone; anything else is a refusal.
                Assert.True(status is HttpStatusCode.OK or HttpStatusCode.NotFound or HttpStatusCode.NoContent, $"A long polling send got {status}.");
            }
        }

        /// <summary>Whether the marker's <c>notify</c> arrived, and whether the server ended the connection.</summary>
        public async Task<(bool SawMarker, bool Closed)> ReceiveMarkerOrCloseAsync(string markerId, bool untilClosed)
        {
            using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
            cancellation.CancelAfter(TimeoutExtensions.DefaultTimeout);
            var sawMarker = false;
            while (true)
            {
                string[] records;
                if (_webSocket is not null)
                {
                    records = await _webSocket.ReceiveRecordAsync(cancellation.Token) is { } record ? [record] : [];
                }
                else
                {
                    var (status, body) = await _longPolling!.PollAsync(cancellation.Token);
                    records = status == HttpStatusCode.OK ? body.Split(RawHubConnection.RecordSeparator, StringSplitOptions.RemoveEmptyEntries) : [];
                }

                if (records.Length == 0 || records.Any(r => r.StartsWith("{\"type\":7", StringComparison.Ordinal)))
                {
                    return (sawMarker, true);
                }

                sawMarker |= records.Any(r => RawEnvelopes.FromHubRecord(r)?.IsMarker(markerId) == true);
                if (sawMarker && !untilClosed)
                {
                    return (true, false);
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (_webSocket is not null)
            {
                await _webSocket.DisposeAsync();
            }

            if (_longPolling is not null)
            {
                await _longPolling.DisposeAsync();
            }
        }
    }
}
