using System.Globalization;
using System.Net;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.IntegrationTests.HostileInput;

/// <summary>
/// What hostile inputs can cost the standalone server, measured on its own process: after a bounded flood of them,
/// memory stays within the replay budget plus a documented margin (docs/OPERATIONS.md, "Memory"), and connection
/// slots and file handles are back where they were.
/// </summary>
[Collection(SharedPostgres.Name)]
public sealed class ResourceBoundTests(PostgresFixture postgres)
{
    private const long ReplayBudget = 16L * 1024 * 1024;

    // What the runtime may hold beyond the budget: garbage not yet collected, and pools grown by the flood.
    private const long Margin = 64L * 1024 * 1024;

    private const int Slots = 20;

    [Fact]
    public async Task A_flood_of_unique_audiences_bad_resumes_and_connection_churn_stays_within_the_replay_budget_and_frees_every_slot()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var channel = Names.Channel();
        await using var server = await ServerProcess.StartAsync(new Dictionary<string, string>
        {
            ["ConnectionStrings:Postgres"] = postgres.ConnectionString,
            ["PgNotifyHub:Channels:0"] = channel,
            ["PgNotifyHub:ReplayBufferMaxBytes"] = ReplayBudget.ToString(CultureInfo.InvariantCulture),
            ["PgNotifyHub:MaxConnections"] = Slots.ToString(CultureInfo.InvariantCulture),
            ["Authentication:AllowAnonymous"] = "true",
        });
        using var http = new HttpClient { BaseAddress = server.BaseUri };
        await WaitUntilReadyAsync(http);

        // Warm: every path the flood takes has run once, so what is measured is what the flood holds.
        await using (var warm = await ConnectAsync(server, resume: ""))
        {
            await DeliverMarkerAsync(warm, channel);
        }

        await ChurnAsync(server, Slots);
        var before = Resources.Of(server.ProcessId);

        // 10,000 notifications, each to an audience of its own of 7,900 bytes: whoever may log in to the database can send them.
        for (var batch = 0; batch < 100; batch++)
        {
            var payloads = Enumerable.Range(0, 100).Select(i => UniqueAudience(batch, i) + ",{\"i\":" + i + "}").ToArray();
            await postgres.NotifyManyAsync(channel, payloads, cancellationToken);
        }

        foreach (var resume in ResumeInputTests.UnreadableResumes(channel))
        {
            Assert.Equal(HttpStatusCode.BadRequest, await WebSocketTestClient.ConnectWithSubprotocolExpectingRefusalAsync(
                server.BaseUri, "/ws?resume=" + Uri.EscapeDataString(resume), "pgnotifyhub.v1", cancellationToken).OrTimeout());
            Assert.Equal(HttpStatusCode.BadRequest, await WebSocketTestClient.ConnectWithTokenExpectingRefusalAsync(
                server.BaseUri, "/hub?resume=" + Uri.EscapeDataString(resume), accessToken: null, cancellationToken).OrTimeout());
        }

        for (var round = 0; round < 10; round++)
        {
            await ChurnAsync(server, Slots);
        }

        // Every slot is free again, and the flood was processed before the marker.
        var clients = new List<WebSocketTestClient>();
        try
        {
            for (var i = 0; i < Slots; i++)
            {
                clients.Add(await ConnectAsync(server, resume: null));
            }

            await DeliverMarkerAsync(clients[^1], channel);
            var after = Resources.Of(server.ProcessId);
            TestContext.Current.TestOutputHelper?.WriteLine(
                $"Resident memory {before.ResidentBytes / 1048576} MiB before the flood, {after.ResidentBytes / 1048576} MiB after; open files {before.OpenFiles}, then {after.OpenFiles}.");

            Assert.True(
                after.ResidentBytes - before.ResidentBytes < ReplayBudget + Margin,
                $"Resident memory grew from {before.ResidentBytes / 1048576} MiB to {after.ResidentBytes / 1048576} MiB.");
            Assert.True(after.OpenFiles <= before.OpenFiles + Slots + 8, $"Open files went from {before.OpenFiles} to {after.OpenFiles} with {Slots} clients connected.");
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    // Unique, large, and plain: what makes a route cost the most.
    private static string UniqueAudience(int batch, int i) =>
        batch.ToString("D3", CultureInfo.InvariantCulture) + "-" + i.ToString("D3", CultureInfo.InvariantCulture) + new string('a', 7_900);

    private static async Task WaitUntilReadyAsync(HttpClient http)
    {
        await Task.Run(
            async () =>
            {
                while ((await http.GetAsync("/readyz", TestContext.Current.CancellationToken)).StatusCode != HttpStatusCode.OK)
                {
                    await Task.Delay(50, TestContext.Current.CancellationToken);
                }
            },
            TestContext.Current.CancellationToken).OrTimeout();
    }

    private static Task<WebSocketTestClient> ConnectAsync(ServerProcess server, string? resume) =>
        WebSocketTestClient.ConnectAsync(
            server.BaseUri,
            audienceHeader: null,
            path: resume is null ? "/ws" : "/ws?resume=" + Uri.EscapeDataString(resume),
            subprotocol: resume is null ? null : "pgnotifyhub.v1",
            cancellationToken: TestContext.Current.CancellationToken).OrTimeout();

    // Raw sockets and SignalR connections, as many as there are slots, opened and closed.
    private static async Task ChurnAsync(ServerProcess server, int count)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        for (var i = 0; i < count; i++)
        {
            await using NotifyTestClient client = i % 2 == 0
                ? await ConnectAsync(server, resume: null)
                : await SignalRTestClient.ConnectAsync(server.BaseUri, audienceHeader: null, cancellationToken).OrTimeout();
        }
    }

    // The server registers a raw socket before its handshake completes, so the marker cannot outrun the registration.
    private async Task DeliverMarkerAsync(WebSocketTestClient client, string channel)
    {
        var marker = Markers.NewId();
        await postgres.NotifyAsync(channel, Markers.Payload(PgNotifyHubOptions.DefaultAudience, marker), TestContext.Current.CancellationToken);
        await client.ReceiveUntilMarkerAsync(marker);
    }

    private readonly record struct Resources(long ResidentBytes, int OpenFiles)
    {
        public static Resources Of(int processId)
        {
            var resident = File.ReadLines($"/proc/{processId}/status").Single(line => line.StartsWith("VmRSS:", StringComparison.Ordinal));
            var kibibytes = long.Parse(resident.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
            return new Resources(kibibytes * 1024, Directory.GetFileSystemEntries($"/proc/{processId}/fd").Length);
        }
    }
}
