using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.IntegrationTests;

/// <summary>
/// What the health checks say about the listener's connection and about PostgreSQL's NOTIFY queue, measured on that
/// connection.
/// </summary>
[Collection(SharedPostgres.Name)]
public sealed class HealthTests(PostgresFixture postgres)
{
    [Fact]
    public async Task A_session_that_holds_the_NOTIFY_queue_back_makes_the_queue_check_unhealthy_until_it_lets_go()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await NotifyTestHost.StartAsync(postgres, options =>
        {
            options.HeartbeatInterval = TimeSpan.FromMilliseconds(100);
            // One page of the 8 GB queue is about a millionth of it.
            options.NotifyQueueUsageThreshold = 0.000_000_01;
        });
        var backend = await host.ListeningBackendAsync();
        await host.Logs.WaitForAsync(IsHeartbeat(usage => usage == 0)).OrTimeout();
        Assert.Equal(HealthStatus.Healthy, await QueueHealthAsync(host));

        // A listener that sits in a transaction consumes nothing, so every notification stays queued for it.
        var lagging = Names.Channel();
        await using var laggard = await postgres.DataSource.OpenConnectionAsync(cancellationToken);
        await using (var listen = new NpgsqlCommand($"LISTEN \"{lagging}\"", laggard))
        {
            await listen.ExecuteNonQueryAsync(cancellationToken);
        }

        // Usage counts whole queue pages (8 KB), so the messages must fill more than one.
        await using var transaction = await laggard.BeginTransactionAsync(cancellationToken);
        await using (var inTransaction = new NpgsqlCommand("SELECT 1", laggard, transaction))
        {
            // Npgsql sends BEGIN with the first command: only then is the session inside the transaction.
            await inTransaction.ExecuteNonQueryAsync(cancellationToken);
        }

        var padding = new string('p', 7_000);
        await postgres.NotifyManyAsync(lagging, [.. Enumerable.Range(0, 20).Select(i => "nobody,{\"i\":" + i + ",\"pad\":\"" + padding + "\"}")], cancellationToken);
        await host.Logs.WaitForAsync(IsHeartbeat(usage => usage > 0)).OrTimeout();

        Assert.Equal(HealthStatus.Unhealthy, await QueueHealthAsync(host));

        await transaction.RollbackAsync(cancellationToken);
        await laggard.CloseAsync();
        await host.Logs.WaitForAsync(IsHeartbeat(usage => usage == 0), fromSequence: host.Logs.Entries[^1].Sequence + 1).OrTimeout();

        Assert.Equal(HealthStatus.Healthy, await QueueHealthAsync(host));
        Assert.Equal(backend, await host.ListeningBackendAsync());
    }

    [Fact]
    public async Task Readiness_turns_unhealthy_when_PostgreSQL_stops_and_healthy_when_it_returns()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        // A cluster of its own: stopping the shared one would break the tests that use it meanwhile.
        var binDirectory = LocalPostgresCluster.FindBinDirectory() ?? throw new InvalidOperationException(
            "This test stops and restarts a PostgreSQL cluster of its own, so it needs PostgreSQL's server binaries: "
            + "apt-get install -y postgresql, or set PG_BIN to the directory holding initdb and pg_ctl.");
        await using var cluster = await LocalPostgresCluster.StartAsync(binDirectory, [], cancellationToken);
        await using var host = await NotifyTestHost.StartAsync(
            postgres,
            options => (options.ReconnectDelayMin, options.ReconnectDelayMax) = (TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(500)),
            connectionString: cluster.ConnectionString);
        var backend = await host.ListeningBackendAsync();
        Assert.Equal(HealthStatus.Healthy, (await ReadinessAsync(host)).Status);

        var stoppedFrom = host.Logs.NextSequence;
        await cluster.StopAsync(cancellationToken);
        await host.Logs.WaitForAsync(e => e.IsFromLibrary && e.EventId.Name == "ListenerDisconnected", fromSequence: stoppedFrom).OrTimeout();

        var down = await ReadinessAsync(host);
        Assert.Equal(HealthStatus.Unhealthy, down.Status);
        Assert.Equal(HealthStatus.Unhealthy, down.Entries["pgnotifyhub-listener"].Status);

        await cluster.StartServerAsync(cancellationToken);
        await host.ReconnectedBackendAsync(backend);

        Assert.Equal(HealthStatus.Healthy, (await ReadinessAsync(host)).Status);
        var audience = Names.Audience();
        var client = await host.ConnectWebSocketAsync(audience);
        await using var sender = NpgsqlDataSource.Create(cluster.ConnectionString);
        await using (var notify = sender.CreateCommand("SELECT pg_notify($1, $2)"))
        {
            notify.Parameters.Add(new NpgsqlParameter<string> { TypedValue = host.Channel });
            notify.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Markers.Message(audience, "after-restart") });
            await notify.ExecuteNonQueryAsync(cancellationToken);
        }

        Assert.True((await client.ReceiveAsync()).IsMessage("after-restart"));
    }

    private static Func<LogEntry, bool> IsHeartbeat(Func<double, bool> usage) =>
        entry => entry.EventId.Name == "ListenerHeartbeat" && entry["Usage"] is double measured && usage(measured);

    /// <summary>The checks the standalone server's readiness endpoint runs: those tagged <c>ready</c>.</summary>
    private static Task<HealthReport> ReadinessAsync(NotifyTestHost host) =>
        host.Services.GetRequiredService<HealthCheckService>()
            .CheckHealthAsync(check => check.Tags.Contains("ready"), TestContext.Current.CancellationToken);

    private static async Task<HealthStatus> QueueHealthAsync(NotifyTestHost host)
    {
        var report = await host.Services.GetRequiredService<HealthCheckService>()
            .CheckHealthAsync(check => check.Name == "pgnotifyhub-notify-queue", TestContext.Current.CancellationToken);
        return report.Entries["pgnotifyhub-notify-queue"].Status;
    }
}
