using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.IntegrationTests.HostileInput;

/// <summary>
/// The headers of a handshake are the client's to write: subprotocol lists of any shape, Host and Origin naming anyone
/// (DNS rebinding), a header given twice, bytes that are not UTF-8, control characters and emoji in the audience, and
/// headers up to and past Kestrel's limits. Each is served or refused cleanly, never with a 500 or an error, and an
/// audience is either refused or served to exactly that audience.
/// </summary>
[Collection(SharedPostgres.Name)]
public sealed class HandshakeHeaderFuzzTests(PostgresFixture postgres)
{
    private const string Subprotocol = "pgnotifyhub.v1";

    // Header lines of Sec-WebSocket-Protocol, and whether they offer the sequenced subprotocol.
    private static readonly (string[] Lines, bool Offered)[] SubprotocolLists =
    [
        (["pgnotifyhub.v1, pgnotifyhub.v1"], true),
        ([", pgnotifyhub.v1"], true),
        (["pgnotifyhub.v1,"], true),
        (["x, pgnotifyhub.v1, y"], true),
        (["x", "pgnotifyhub.v1"], true),
        (["pgnotifyhub.v1", "pgnotifyhub.v1"], true),
        ([""], false),
        ([" , ,,"], false),
        (["", ""], false),
        (["PGNOTIFYHUB.V1"], false),
        (["pgnotifyhub.v1;q=1"], false),
        (["pgnotifyhub.v2"], false),
        (["pgnotifyhub.v1x"], false),
    ];

    [Fact]
    public async Task Subprotocol_lists_choose_the_sequenced_envelope_exactly_when_they_offer_it()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await NotifyTestHost.StartAsync(postgres);

        foreach (var (lines, offered) in SubprotocolLists)
        {
            var context = "Sec-WebSocket-Protocol " + string.Join(" | ", lines.Select(line => "'" + line + "'"));
            var audience = Names.Audience();
            var headers = lines.Select(line => ("Sec-WebSocket-Protocol", line)).Append((NotifyTestHost.AudienceHeader, audience)).ToArray();
            var answer = await RawWebSocket.OpenAsync(host.BaseUri, "/ws", headers, cancellationToken).OrTimeout();
            var withResume = await RawWebSocket.OpenAsync(host.BaseUri, "/ws?resume=", headers, cancellationToken).OrTimeout();
            await using var socket = answer.Socket ?? throw new InvalidOperationException($"{context}: refused with {answer.Status}.");
            await using var resumed = withResume.Socket;

            Assert.True(answer.Header("Sec-WebSocket-Protocol") == (offered ? Subprotocol : null), $"{context}: answered with the subprotocol {answer.Header("Sec-WebSocket-Protocol")}.");
            // resume needs the subprotocol: without it, the handshake is refused.
            Assert.True(withResume.Status == (offered ? HttpStatusCode.SwitchingProtocols : HttpStatusCode.BadRequest), $"{context}: {withResume.Status} with resume.");
            // The raw endpoint registers a socket before it answers 101, so the socket hears all that follows.
            var marker = Markers.NewId();
            await postgres.NotifyManyAsync(host.Channel, [Markers.Message(audience, "first"), Markers.Payload(audience, marker)], cancellationToken);
            var envelope = Assert.Single(await socket.ReceiveUntilMarkerAsync(marker));
            Assert.True(envelope.IsSequenced == offered, $"{context}: the envelope is {(envelope.IsSequenced ? "" : "not ")}sequenced.");
        }

        StormAftermath.AssertNoErrorLogged(host.Logs, "subprotocol lists");
    }

    [Fact]
    public async Task Hosts_and_origins_that_are_not_the_servers_own_are_refused_on_every_endpoint_and_its_own_names_connect()
    {
        const int Slots = 2;
        var seed = FuzzInput.Seed(20261211);
        var random = new Random(seed);
        await using var host = await NotifyTestHost.StartAsync(postgres, options => options.MaxConnections = Slots);
        using var meter = new MeterTotals(host.Services.GetRequiredService<IMeterFactory>());
        var port = host.BaseUri.Port.ToString(CultureInfo.InvariantCulture);
        var own = "http://127.0.0.1:" + port;

        // A rebinding page: its Host and Origin agree on a name the attacker made resolve to this server.
        var rebound = Enumerable.Range(0, 12).Select(_ => RandomForeignName(random)).Concat(
            ["localhost.evil.example", "evil.localhost", "127.0.0.1.nip.io", "localhost.", "xn--80ak6aa92e.com", "EVIL.EXAMPLE"])
            .Select(name => (Host: random.Next(3) == 0 ? name : name + ":" + port, Origin: ""))
            .Select(page => (page.Host, Origin: "http://" + page.Host));
        // Its own names, with an origin that is not its own page's.
        var forgedOrigins = new[] { own + "/", "null", "https://127.0.0.1:" + port, "http://127.0.0.1:1", own + "@evil.example", "http://127.0.0.1:" + port + ".evil.example", own + ", " + own, "ws://127.0.0.1:" + port }
            .Select(origin => (Host: "127.0.0.1:" + port, Origin: origin));
        var refused = rebound.Concat(forgedOrigins).ToList();

        foreach (var (hostHeader, origin) in refused)
        {
            var statuses = await HandshakesAsync(host, hostHeader, [origin]);
            Assert.True(statuses.All(status => status == HttpStatusCode.Forbidden), $"Seed {seed}: Host {hostHeader}, Origin {origin}: {string.Join(", ", statuses)}, not 403 on /ws, /hub and /hub/negotiate.");
        }

        // The same origin twice, as separate lines: no one page sends that.
        Assert.All(await HandshakesAsync(host, "127.0.0.1:" + port, [own, own]), status => Assert.Equal(HttpStatusCode.Forbidden, status));

        foreach (var name in new[] { "127.0.0.1", "localhost", "LOCALHOST", "[::1]" })
        {
            var page = name + ":" + port;
            var statuses = await HandshakesAsync(host, page, ["http://" + page]);
            Assert.True(
                statuses.SequenceEqual([HttpStatusCode.SwitchingProtocols, HttpStatusCode.SwitchingProtocols, HttpStatusCode.OK]),
                $"A page of http://{page} got {string.Join(", ", statuses)} on /ws, /hub and /hub/negotiate.");
            await StormAftermath.ConnectionsSettledAsync(host.Logs);
        }

        Assert.Equal(refused.Count + 1, meter["pgnotifyhub.connection.refused", "websocket", "origin"]);
        Assert.Equal(2 * (refused.Count + 1), meter["pgnotifyhub.connection.refused", "signalr", "origin"]);
        Assert.All(host.Logs.Entries.Where(e => e.EventId.Name == "OriginRefused"), e => Assert.Equal(LogLevel.Warning, e.Level));
        await StormAftermath.AssertServesExactlyItsSlotsAsync(host, meter, Slots, $"Seed {seed}");
    }

    [Fact]
    public async Task An_audience_header_given_twice_is_one_list_to_the_test_hosts_resolver_on_every_transport()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await NotifyTestHost.StartAsync(postgres);
        var (first, second, foreign) = (Names.Audience(), Names.Audience(), Names.Audience());
        (string, string)[] twice = [(NotifyTestHost.AudienceHeader, first), (NotifyTestHost.AudienceHeader, second)];

        var pgws = (await RawWebSocket.OpenAsync(host.BaseUri, "/ws", twice, cancellationToken).OrTimeout()).Socket!;
        var sequenced = (await RawWebSocket.OpenAsync(host.BaseUri, "/ws", [.. twice, ("Sec-WebSocket-Protocol", Subprotocol)], cancellationToken).OrTimeout()).Socket!;
        var (_, hub) = await RawHubConnection.OpenAsync(host.BaseUri, "/hub", twice, cancellationToken).OrTimeout();
        await using (pgws)
        await using (sequenced)
        await using (hub!)
        {
            foreach (var audience in new[] { first, second })
            {
                await host.Router.WaitForSubscribersAsync(new PgNotifyHub.Sequencing.Route(host.Channel, audience), 3, cancellationToken).OrTimeout();
            }

            var marker = Markers.NewId();
            await postgres.NotifyManyAsync(host.Channel, [Markers.Message(foreign, "foreign"), Markers.Message(first, "first"), Markers.Message(second, "second"), Markers.Payload(first, marker)], cancellationToken);

            // The test host's resolver reads the header's values as one comma-separated list, so the client is in both.
            Assert.Equal(["first", "second"], (await pgws.ReceiveUntilMarkerAsync(marker)).Select(e => e.PayloadString("msg")));
            Assert.Equal(["first", "second"], (await sequenced.ReceiveUntilMarkerAsync(marker)).Select(e => e.PayloadString("msg")));
            Assert.Equal(["first", "second"], (await hub!.ReceiveUntilMarkerAsync(marker)).Select(e => e.PayloadString("msg")));
        }

        StormAftermath.AssertNoErrorLogged(host.Logs, "X-Audience twice");
    }

    [Fact]
    public async Task An_audience_header_given_twice_is_refused_by_the_standalone_server_on_every_transport()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var server = await StandaloneServer.StartAsync(postgres, new Dictionary<string, string>
        {
            ["Audiences:Source"] = "Header",
            ["Audiences:Header"] = NotifyTestHost.AudienceHeader,
            ["Authentication:AllowAnonymous"] = "true",
        });
        var audience = Names.Audience();
        (string, string)[] twice = [(NotifyTestHost.AudienceHeader, "someone-else"), (NotifyTestHost.AudienceHeader, audience)];

        var raw = await RawWebSocket.OpenAsync(server.BaseUri, "/ws", twice, cancellationToken).OrTimeout();
        var sequenced = await RawWebSocket.OpenAsync(server.BaseUri, "/ws?resume=", [.. twice, ("Sec-WebSocket-Protocol", Subprotocol)], cancellationToken).OrTimeout();
        var (_, hub) = await RawHubConnection.OpenAsync(server.BaseUri, "/hub", twice, cancellationToken).OrTimeout();
        await using (hub!)
        {
            // SignalR accepts the transport and the handshake; the hub then closes the connection that has no audience.
            var records = await hub!.ReceiveUntilClosedAsync(cancellationToken).OrTimeout();
            Assert.DoesNotContain(records, record => RawEnvelopes.FromHubRecord(record) is not null);
        }

        Assert.Equal((HttpStatusCode.Forbidden, HttpStatusCode.Forbidden), (raw.Status, sequenced.Status));
        await server.Logs.WaitForAsync(e => e.EventId.Name == "AudienceHeaderRepeated", 3).OrTimeout();
        Assert.All(server.Logs.Entries.Where(e => e.EventId.Name == "AudienceHeaderRepeated"), e => Assert.Equal(LogLevel.Warning, e.Level));
        StormAftermath.AssertNoErrorLogged(server.Logs, "X-Audience twice");
    }

    // Header values as raw bytes: not UTF-8 (refused by Kestrel), or UTF-8 of anything a header line may hold.
    private static readonly (string Description, byte[] Value, bool Served)[] AudienceHeaderBytes =
    [
        ("a lone 0xFF", [0x61, 0xFF], false),
        ("a UTF-8-encoded surrogate", [0x61, 0xED, 0xA0, 0x80], false),
        ("an overlong NUL", [0x61, 0xC0, 0x80], false),
        ("a lone continuation byte", [0x61, 0x80, 0x62], false),
        ("a truncated sequence", [0x61, 0xE2, 0x82], false),
        ("Latin-1 é", [0x61, 0xE9], false),
        ("NUL", [0x61, 0x00, 0x62], false),
        ("multi-byte and emoji", Encoding.UTF8.GetBytes("é中😀👩‍👩‍👧"), true),
        ("control characters", Encoding.UTF8.GetBytes("a\u0001\u001e\u001fb\u007f"), true),
        ("quotes and backslashes", Encoding.UTF8.GetBytes("q\"b\\s'"), true),
        ("line separators", Encoding.UTF8.GetBytes("a\u2028\u2029b"), true),
        ("7,900 bytes", Encoding.UTF8.GetBytes(new string('l', 7_900)), true),
    ];

    [Fact]
    public async Task An_audience_header_that_is_not_UTF8_is_refused_and_any_other_reaches_exactly_that_audience()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await NotifyTestHost.StartAsync(postgres);

        foreach (var (description, value, served) in AudienceHeaderBytes)
        {
            var opened = host.Logs.Entries.Count(e => e.EventId.Name == "ConnectionOpened");
            var headers = new[] { (NotifyTestHost.AudienceHeader, value) };
            var raw = await RawWebSocket.OpenAsync(host.BaseUri, "/ws"u8.ToArray(), headers, cancellationToken).OrTimeout();
            var sequenced = await RawWebSocket.OpenAsync(host.BaseUri, "/ws?resume="u8.ToArray(), [.. headers, ("Sec-WebSocket-Protocol", Encoding.ASCII.GetBytes(Subprotocol))], cancellationToken).OrTimeout();
            var (hubStatus, hub) = await RawHubConnection.OpenAsync(host.BaseUri, "/hub", headers, cancellationToken).OrTimeout();
            await using var rawSocket = raw.Socket;
            await using var sequencedSocket = sequenced.Socket;
            await using var hubConnection = hub;

            var statuses = new[] { raw.Status, sequenced.Status, hubStatus };
            if (!served)
            {
                Assert.True(statuses.All(status => status == HttpStatusCode.BadRequest), $"{description}: {string.Join(", ", statuses)}, not 400 on every transport.");
                Assert.Equal(opened, host.Logs.Entries.Count(e => e.EventId.Name == "ConnectionOpened"));
                continue;
            }

            var audience = Encoding.UTF8.GetString(value);
            Assert.True(statuses.All(status => status == HttpStatusCode.SwitchingProtocols), $"{description}: {string.Join(", ", statuses)}, not 101 on every transport.");
            await host.Router.WaitForSubscribersAsync(new PgNotifyHub.Sequencing.Route(host.Channel, audience), 3, cancellationToken).OrTimeout();
            var neighbour = audience + "x";
            var marker = Markers.NewId();
            await postgres.NotifyManyAsync(host.Channel, [Markers.Message(neighbour, "neighbour"), Markers.Message(audience, "own"), Markers.Payload(audience, marker)], cancellationToken);

            Assert.Equal(["own"], (await rawSocket!.ReceiveUntilMarkerAsync(marker)).Select(e => e.PayloadString("msg")));
            var fromSequenced = Assert.Single(await sequencedSocket!.ReceiveUntilMarkerAsync(marker));
            var fromHub = Assert.Single(await hubConnection!.ReceiveUntilMarkerAsync(marker));
            Assert.True((fromSequenced.Audience, fromHub.Audience) == (audience, audience), $"{description}: the envelopes name the audience {fromSequenced.Audience} and {fromHub.Audience}.");
        }

        StormAftermath.AssertNoErrorLogged(host.Logs, "audience header bytes");
    }

    [Fact]
    public async Task Headers_past_Kestrels_limits_are_refused_with_431_and_one_just_under_them_is_served()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await NotifyTestHost.StartAsync(postgres);
        var large = new string('h', 30_000);

        var underLimit = await RawWebSocket.OpenAsync(host.BaseUri, "/ws?resume=", [(NotifyTestHost.AudienceHeader, large), ("Sec-WebSocket-Protocol", Subprotocol)], cancellationToken).OrTimeout();
        var overLimit = await RawWebSocket.OpenAsync(host.BaseUri, "/ws", [(NotifyTestHost.AudienceHeader, new string('h', 40_000))], cancellationToken).OrTimeout();
        var manyHeaders = await RawWebSocket.OpenAsync(host.BaseUri, "/ws", [.. Enumerable.Range(0, 400).Select(i => ("X-Junk-" + i, new string('j', 100)))], cancellationToken).OrTimeout();
        var (hubStatus, hub) = await RawHubConnection.OpenAsync(host.BaseUri, "/hub", [(NotifyTestHost.AudienceHeader, new string('h', 40_000))], cancellationToken).OrTimeout();
        await using var socket = underLimit.Socket ?? throw new InvalidOperationException($"A 30,000-byte header was refused with {underLimit.Status}.");

        Assert.Equal((HttpStatusCode.RequestHeaderFieldsTooLarge, HttpStatusCode.RequestHeaderFieldsTooLarge, HttpStatusCode.RequestHeaderFieldsTooLarge, (RawHubConnection?)null), (overLimit.Status, manyHeaders.Status, hubStatus, hub));
        // The 30,000-byte audience is served: the client is told its position on it.
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cancellation.CancelAfter(TimeoutExtensions.DefaultTimeout);
        var position = await socket.ReceiveTextAsync(cancellation.Token);
        Assert.Contains(large, position, StringComparison.Ordinal);
        StormAftermath.AssertNoErrorLogged(host.Logs, "large headers");
    }

    // Requests to /ws, /hub and /hub/negotiate as a page whose URL names hostHeader and whose origin is origins.
    private static async Task<HttpStatusCode[]> HandshakesAsync(NotifyTestHost host, string hostHeader, string[] origins)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        (string, string)[] headers = [("Host", hostHeader), .. origins.Select(origin => ("Origin", origin))];
        var statuses = new List<HttpStatusCode>();
        foreach (var path in new[] { "/ws", "/hub" })
        {
            var answer = await RawWebSocket.OpenAsync(host.BaseUri, path, headers, cancellationToken).OrTimeout();
            statuses.Add(answer.Status);
            if (answer.Socket is { } socket)
            {
                await socket.DisposeAsync();
            }
        }

        var negotiate = new StringBuilder("POST /hub/negotiate?negotiateVersion=1 HTTP/1.1\r\n");
        foreach (var (name, value) in headers)
        {
            negotiate.Append(name).Append(": ").Append(value).Append("\r\n");
        }

        negotiate.Append("Content-Length: 0\r\n\r\n");
        statuses.Add((await RawWebSocket.SendRequestAsync(host.BaseUri, Encoding.ASCII.GetBytes(negotiate.ToString()), cancellationToken).OrTimeout()).Status);
        return [.. statuses];
    }

    // A DNS name of random labels, sometimes one that merely looks like a loopback name.
    private static string RandomForeignName(Random random)
    {
        string Label() => new([.. Enumerable.Range(0, random.Next(1, 12)).Select(_ => "abcdefghijklmnopqrstuvwxyz0123456789-"[random.Next(37)])]);
        var name = string.Join('.', Enumerable.Range(0, random.Next(1, 4)).Select(_ => Label().Trim('-') is { Length: > 0 } label ? label : "x")) + "." + Label().Trim('-') + "z";
        return random.Next(5) switch
        {
            0 => "localhost." + name,
            1 => "127-0-0-1." + name,
            2 => name.ToUpperInvariant(),
            _ => name,
        };
    }
}
