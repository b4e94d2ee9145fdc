using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.IntegrationTests;

/// <summary>What the health checks say about PostgreSQL's NOTIFY queue, measured on the listener's own connection.</summary>
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

    private static Func<LogEntry, bool> IsHeartbeat(Func<double, bool> usage) =>
        entry => entry.EventId.Name == "ListenerHeartbeat" && entry["Usage"] is double measured && usage(measured);

    private static async Task<HealthStatus> QueueHealthAsync(NotifyTestHost host)
    {
        var report = await host.Services.GetRequiredService<HealthCheckService>()
            .CheckHealthAsync(check => check.Name == "pgnotifyhub-notify-queue", TestContext.Current.CancellationToken);
        return report.Entries["pgnotifyhub-notify-queue"].Status;
    }
}
