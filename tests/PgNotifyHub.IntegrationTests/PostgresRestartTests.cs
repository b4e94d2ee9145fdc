using Npgsql;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.IntegrationTests;

/// <summary>
/// PostgreSQL itself restarts while messages are being sent: live NOTIFYs may be lost but never silently, and durable
/// ones all arrive, once, in order. Each test has a cluster of its own, so stopping it disturbs no other test.
/// </summary>
[Collection(SharedPostgres.Name)]
public sealed class PostgresRestartTests(PostgresFixture postgres)
{
    private const int Messages = 120;

    [Theory]
    [InlineData(Transport.SignalR)]
    [InlineData(Transport.WebSocket)]
    public async Task A_restart_during_a_send_leaves_live_clients_with_every_message_or_a_resync(Transport transport)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var cluster = await StartClusterAsync(cancellationToken);
        await using var host = await NotifyTestHost.StartAsync(postgres, FastReconnect, connectionString: cluster.ConnectionString);
        var audience = Names.Audience();
        var client = await host.ConnectSequencedAsync(transport, audience);
        await using var sender = NpgsqlDataSource.Create(cluster.ConnectionString);

        var backend = await host.ListeningBackendAsync();

        // A NOTIFY that fails at the sender is the sender's to retry; the test counts only what PostgreSQL accepted.
        var sent = await SendDuringRestartAsync(cluster, i => NotifyAsync(sender, host.Channel, audience + ",{\"i\":" + i + "}", cancellationToken), cancellationToken);
        await host.ReconnectedBackendAsync(backend, TimeSpan.FromSeconds(30));
        // Idle connections of the sender's pool were terminated by the restart; the marker must not meet one.
        sender.Clear();
        var marker = Markers.NewId();
        await NotifyAsync(sender, host.Channel, Markers.Payload(audience, marker), cancellationToken);
        var received = await client.ReceiveUntilMarkerAsync(marker);

        Assert.True(await client.AssertNoSilentGapAsync(received) > 0, "The restart did not reach the listener.");
        Assert.Subset(sent.ToHashSet(), received.Select(e => (int)e.PayloadNumber("i")!.Value).ToHashSet());
    }

    [Theory]
    [InlineData(Transport.SignalR)]
    [InlineData(Transport.WebSocket)]
    public async Task A_restart_during_a_send_delivers_every_durable_message_exactly_once_in_order(Transport transport)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var cluster = await StartClusterAsync(cancellationToken);
        await using var host = await NotifyTestHost.StartAsync(
            postgres,
            options =>
            {
                FastReconnect(options);
                options.Outbox.Enabled = true;
                options.Outbox.InstallSchema = true;
                options.Outbox.PollInterval = TimeSpan.FromMilliseconds(500);
            },
            connectionString: cluster.ConnectionString);
        await host.Logs.WaitForAsync(e => e.EventId.Name == "OutboxReading").OrTimeout();
        var audience = Names.Audience();
        var client = await host.ConnectSequencedAsync(transport, audience);
        await using var sender = NpgsqlDataSource.Create(cluster.ConnectionString);

        // Sent at most once even when the acknowledgement of a commit is lost with the connection: a retry first looks.
        var sent = await SendDuringRestartAsync(
            cluster,
            async i =>
            {
                await using var send = sender.CreateCommand(
                    """
                    SELECT pgnotifyhub.send($1, $2, $3::jsonb)
                    WHERE NOT EXISTS (SELECT FROM pgnotifyhub.outbox WHERE channel = $1 AND payload::jsonb = $3::jsonb)
                    """);
                send.Parameters.Add(new NpgsqlParameter<string> { TypedValue = host.Channel });
                send.Parameters.Add(new NpgsqlParameter<string> { TypedValue = audience });
                send.Parameters.Add(new NpgsqlParameter<string> { TypedValue = "{\"i\":" + i + "}" });
                await send.ExecuteNonQueryAsync(cancellationToken);
            },
            cancellationToken,
            retry: true);
        var received = await client.ReceiveAsync(Messages, TimeSpan.FromSeconds(60));

        Assert.Equal(Enumerable.Range(1, Messages), sent);
        Assert.Equal(Enumerable.Range(1, Messages).Select(i => (long?)i), received.Select(e => e.PayloadNumber("i")));
    }

    private static void FastReconnect(PgNotifyHubOptions options) =>
        (options.ReconnectDelayMin, options.ReconnectDelayMax) = (TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(500));

    private static async Task<LocalPostgresCluster> StartClusterAsync(CancellationToken cancellationToken)
    {
        var binDirectory = LocalPostgresCluster.FindBinDirectory() ?? throw new InvalidOperationException(
            "This test restarts a PostgreSQL cluster of its own, so it needs PostgreSQL's server binaries: "
            + "apt-get install -y postgresql, or set PG_BIN to the directory holding initdb and pg_ctl.");
        return await LocalPostgresCluster.StartAsync(binDirectory, [], cancellationToken);
    }

    // Sends 1..Messages one by one while the cluster is stopped and started again a third of the way through.
    // Returns the numbers PostgreSQL accepted: with retry, every one, each after as many attempts as it took.
    private static async Task<List<int>> SendDuringRestartAsync(LocalPostgresCluster cluster, Func<int, Task> send, CancellationToken cancellationToken, bool retry = false)
    {
        var accepted = new List<int>();
        var restarted = Task.CompletedTask;
        for (var i = 1; i <= Messages; i++)
        {
            if (i == Messages / 3)
            {
                restarted = Task.Run(
                    async () =>
                    {
                        await cluster.StopAsync(cancellationToken);
                        await Task.Delay(300, cancellationToken);
                        await cluster.StartServerAsync(cancellationToken);
                    },
                    cancellationToken);
            }

            while (true)
            {
                try
                {
                    await send(i);
                    accepted.Add(i);
                    break;
                }
                catch (Exception exception) when (exception is NpgsqlException or TimeoutException)
                {
                    if (!retry)
                    {
                        break;
                    }

                    await Task.Delay(50, cancellationToken);
                }
            }
        }

        await restarted.OrTimeout();
        return accepted;
    }

    private static async Task NotifyAsync(NpgsqlDataSource sender, string channel, string payload, CancellationToken cancellationToken)
    {
        await using var notify = sender.CreateCommand("SELECT pg_notify($1, $2)");
        notify.Parameters.Add(new NpgsqlParameter<string> { TypedValue = channel });
        notify.Parameters.Add(new NpgsqlParameter<string> { TypedValue = payload });
        await notify.ExecuteNonQueryAsync(cancellationToken);
    }
}
