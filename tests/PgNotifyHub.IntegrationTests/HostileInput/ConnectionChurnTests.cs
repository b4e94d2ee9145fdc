using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.Extensions.DependencyInjection;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.IntegrationTests.HostileInput;

/// <summary>
/// Connections opened and dropped at every moment, on every transport and several at once, with few slots: clean
/// closes, aborts, handshakes cut in half, upgrades never read, SignalR handshakes never sent, long polling clients that
/// vanish. Afterwards every slot is free, the active-connections gauge is back where it was, and the server serves
/// exactly as many clients as it has slots for; on the standalone server's own process, file handles are back too.
/// </summary>
[Collection(SharedPostgres.Name)]
public sealed class ConnectionChurnTests(PostgresFixture postgres)
{
    private const int Workers = 4;

    private enum Churn
    {
        RawCleanClose,
        RawAbort,
        SequencedCleanClose,
        SequencedAbort,
        SignalR,
        SignalRLongPolling,
        HalfRequest,
        RequestNeverRead,
        UpgradeThenAbort,
        HubUpgradeWithoutHandshake,
        HubHandshakeThenAbort,
        HubHalfHandshakeThenAbort,
        LongPollingNegotiateOnly,
        LongPollingHandshakeThenDelete,
        LongPollingHandshakeThenVanish,
    }

    [Fact]
    public async Task Storms_of_connections_dropped_at_every_moment_on_every_transport_leave_every_slot_free()
    {
        const int Slots = 3;
        const int ActionsPerWorker = 25;
        var seed = FuzzInput.Seed(20261271);
        await using var host = await NotifyTestHost.StartAsync(
            postgres,
            options => options.MaxConnections = Slots,
            // A long polling client that stops polling is let go of after this long, instead of SignalR's 15 s.
            configureServices: services => services.Configure<ConnectionOptions>(options => options.DisconnectTimeout = TimeSpan.FromSeconds(1)));
        using var meter = new MeterTotals(host.Services.GetRequiredService<IMeterFactory>());

        var tally = new int[Enum.GetValues<Churn>().Length];
        await Task.WhenAll(Enumerable.Range(0, Workers).Select(worker => Task.Run(async () =>
        {
            var random = new Random(seed + worker);
            for (var i = 0; i < ActionsPerWorker; i++)
            {
                var churn = (Churn)random.Next(tally.Length);
                Interlocked.Increment(ref tally[(int)churn]);
                await ChurnAsync(host.BaseUri, churn, random, full: true);
            }
        })));

        TestContext.Current.TestOutputHelper?.WriteLine(string.Join(", ", Enum.GetValues<Churn>().Select(c => $"{c} ×{tally[(int)c]}")));
        await StormAftermath.AssertServesExactlyItsSlotsAsync(host, meter, Slots, $"Seed {seed}");
    }

    [Fact]
    public async Task A_standalone_server_process_gives_back_every_slot_and_file_handle_after_a_storm_of_dropped_connections()
    {
        const int Slots = 10;
        const int Actions = 200;
        var seed = FuzzInput.Seed(20261272);
        var random = new Random(seed);
        var cancellationToken = TestContext.Current.CancellationToken;
        var channel = Names.Channel();
        await using var server = await ServerProcess.StartAsync(new Dictionary<string, string>
        {
            ["ConnectionStrings:Postgres"] = postgres.ConnectionString,
            ["PgNotifyHub:Channels:0"] = channel,
            ["PgNotifyHub:MaxConnections"] = Slots.ToString(CultureInfo.InvariantCulture),
            ["Authentication:AllowAnonymous"] = "true",
        });
        using var http = new HttpClient { BaseAddress = server.BaseUri };
        await WaitForActiveConnectionsAsync(http, expected: 0);

        // Warm: every path the storm takes has run once, so what is compared is what the storm holds.
        foreach (var churn in Enum.GetValues<Churn>().Where(c => c != Churn.LongPollingHandshakeThenVanish))
        {
            await ChurnAsync(server.BaseUri, churn, random, full: false);
        }

        await WaitForActiveConnectionsAsync(http, expected: 0);
        var before = OpenFiles(server.ProcessId);

        // SignalR keeps a long polling client that vanished for its DisconnectTimeout (15 s), which the standalone server
        // does not shorten: that case is the in-process test's.
        var kinds = Enum.GetValues<Churn>().Where(c => c != Churn.LongPollingHandshakeThenVanish).ToArray();
        for (var i = 0; i < Actions; i++)
        {
            await ChurnAsync(server.BaseUri, kinds[random.Next(kinds.Length)], random, full: false);
        }

        await WaitForActiveConnectionsAsync(http, expected: 0);
        var clients = new List<NotifyTestClient>();
        try
        {
            for (var i = 0; i < Slots; i++)
            {
                NotifyTestClient client = (i % 3) switch
                {
                    0 => await WebSocketTestClient.ConnectAsync(server.BaseUri, audienceHeader: null, cancellationToken: cancellationToken).OrTimeout(),
                    1 => await WebSocketTestClient.ConnectAsync(server.BaseUri, audienceHeader: null, path: "/ws?resume=", subprotocol: "pgnotifyhub.v1", cancellationToken: cancellationToken).OrTimeout(),
                    _ => await SignalRTestClient.ConnectAsync(server.BaseUri, audienceHeader: null, cancellationToken).OrTimeout(),
                };
                clients.Add(client);
            }

            await WaitForActiveConnectionsAsync(http, expected: Slots);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, await WebSocketTestClient.ConnectExpectingRefusalAsync(server.BaseUri, null, cancellationToken).OrTimeout());
            var marker = Markers.NewId();
            await postgres.NotifyAsync(channel, Markers.Payload(PgNotifyHubOptions.DefaultAudience, marker), cancellationToken);
            foreach (var client in clients)
            {
                Assert.Empty(await client.ReceiveUntilMarkerAsync(marker));
            }

            var after = OpenFiles(server.ProcessId);
            TestContext.Current.TestOutputHelper?.WriteLine($"Open files: {before} before the storm, {after} after it with {Slots} clients connected.");
            Assert.True(after <= before + Slots + 8, $"Seed {seed}: open files went from {before} to {after} with {Slots} clients connected.");
            Assert.DoesNotContain(server.Output.Split('\n'), line => line.StartsWith("fail:", StringComparison.Ordinal) || line.StartsWith("crit:", StringComparison.Ordinal));
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    // One connection, dropped the way the churn says. `full` says whether every slot may be taken, so refusals are expected.
    private static async Task ChurnAsync(Uri baseUri, Churn churn, Random random, bool full)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        try
        {
            switch (churn)
            {
                case Churn.RawCleanClose or Churn.RawAbort or Churn.SequencedCleanClose or Churn.SequencedAbort:
                    var sequenced = churn is Churn.SequencedCleanClose or Churn.SequencedAbort;
                    var socket = await WebSocketTestClient.ConnectAsync(
                        baseUri, audienceHeader: null, path: sequenced ? "/ws?resume=" : "/ws", subprotocol: sequenced ? "pgnotifyhub.v1" : null, cancellationToken: cancellationToken).OrTimeout();
                    if (churn is Churn.RawAbort or Churn.SequencedAbort)
                    {
                        socket.Socket.Abort();
                    }

                    await socket.DisposeAsync();
                    break;
                case Churn.SignalR or Churn.SignalRLongPolling:
                    await using (var client = await SignalRTestClient.ConnectAsync(
                        baseUri, audienceHeader: null, cancellationToken, transport: churn == Churn.SignalR ? HttpTransportType.WebSockets : HttpTransportType.LongPolling).OrTimeout())
                    {
                    }

                    break;
                case Churn.HalfRequest:
                    using (var tcp = await ConnectTcpAsync(baseUri))
                    {
                        var request = Encoding.ASCII.GetBytes("GET /ws HTTP/1.1\r\nHost: " + baseUri.Authority + "\r\nUpgrade: websocket\r\nConnection: Upg");
                        await tcp.GetStream().WriteAsync(request.AsMemory(0, random.Next(1, request.Length)), cancellationToken);
                    }

                    break;
                case Churn.RequestNeverRead:
                    using (var tcp = await ConnectTcpAsync(baseUri))
                    {
                        await tcp.GetStream().WriteAsync(Encoding.ASCII.GetBytes(
                            "GET " + (random.Next(2) == 0 ? "/ws" : "/hub") + " HTTP/1.1\r\nHost: " + baseUri.Authority
                            + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"), cancellationToken);
                        tcp.Client.LingerState = new LingerOption(true, 0);
                    }

                    break;
                case Churn.UpgradeThenAbort:
                    (await RawWebSocket.OpenAsync(baseUri, "/ws", [], cancellationToken).OrTimeout()).Socket?.Abort();
                    break;
                case Churn.HubUpgradeWithoutHandshake:
                    await using ((await RawWebSocket.OpenAsync(baseUri, "/hub", [], cancellationToken).OrTimeout()).Socket)
                    {
                    }

                    break;
                case Churn.HubHandshakeThenAbort or Churn.HubHalfHandshakeThenAbort:
                    var (_, hub) = await RawHubConnection.OpenAsync(
                        baseUri, "/hub", Array.Empty<(string, string)>(), cancellationToken, churn == Churn.HubHandshakeThenAbort ? RawHubConnection.JsonHandshake : "{\"protocol\":\"js");
                    hub?.Socket.Abort();
                    break;
                case Churn.LongPollingNegotiateOnly:
                    using (var http = new HttpClient { BaseAddress = baseUri })
                    {
                        (await http.PostAsync("/hub/negotiate?negotiateVersion=1", content: null, cancellationToken).OrTimeout()).Dispose();
                    }

                    break;
                default:
                    var (_, session) = await LongPollingSession.StartAsync(baseUri, "/hub", [], cancellationToken).OrTimeout();
                    await session!.SendAsync(RawHubConnection.JsonHandshake, cancellationToken).OrTimeout();
                    if (churn == Churn.LongPollingHandshakeThenDelete)
                    {
                        await session.DisposeAsync();
                    }

                    break;
            }
        }
        catch (Exception exception) when (full && exception is WebSocketException or HttpRequestException or IOException)
        {
            // Every slot was taken at that moment: the raw endpoint answers 503, SignalR closes the connection.
        }
    }

    private static async Task<TcpClient> ConnectTcpAsync(Uri baseUri)
    {
        var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync(baseUri.Host, baseUri.Port, TestContext.Current.CancellationToken);
        return tcp;
    }

    // The gauge as operators read it, from /metrics (cached for 300 ms), summed over transports.
    private static async Task WaitForActiveConnectionsAsync(HttpClient http, int expected)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        long active = -1;
        try
        {
            await Task.Run(
                async () =>
                {
                    while ((active = ActiveConnections(await http.GetStringAsync("/metrics", cancellationToken))) != expected)
                    {
                        await Task.Delay(100, cancellationToken);
                    }
                },
                cancellationToken).OrTimeout();
        }
        catch (TimeoutException exception)
        {
            throw new TimeoutException($"pgnotifyhub_connection_active stayed at {active}, not {expected}.", exception);
        }
    }

    private static long ActiveConnections(string scrape) =>
        scrape.Split('\n')
            .Where(line => line.StartsWith("pgnotifyhub_connection_active{", StringComparison.Ordinal) && !line.Contains("transport=\"subscription\"", StringComparison.Ordinal))
            .Sum(line => (long)double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));

    private static int OpenFiles(int processId) => Directory.GetFileSystemEntries($"/proc/{processId}/fd").Length;
}
