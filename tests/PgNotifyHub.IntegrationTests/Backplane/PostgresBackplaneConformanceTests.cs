using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Logging;
using Npgsql;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.IntegrationTests.Backplane;

/// <summary>The scale-out cases on three nodes joined by the PostgreSQL backplane, and what only a backplane can get wrong.</summary>
[Collection(SharedPostgres.Name)]
public sealed class PostgresBackplaneConformanceTests(PostgresFixture postgres) : ScaleOutConformanceTests(postgres)
{
    protected override int NodeCount => 3;

    protected override bool UseBackplane => true;

    [Fact]
    public async Task Adding_an_unknown_connection_to_a_group_times_out_naming_the_setting()
    {
        await using var nodes = await StartAsync(options => options.AckTimeout = TimeSpan.FromSeconds(1));
        await nodes.ConnectAsync(0, "a");

        // Not through OrTimeout, which would replace the TimeoutException under test: the 1 s AckTimeout bounds it.
        var error = await Assert.ThrowsAsync<TimeoutException>(
            () => nodes.HubContext(1).Groups.AddToGroupAsync("no-such-connection", "group", TestContext.Current.CancellationToken));

        Assert.Contains("no-such-connection", error.Message, StringComparison.Ordinal);
        Assert.Contains("PgNotifyHub:Backplane:AckTimeout", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Large_message_spills_into_the_table_and_only_its_id_is_notified()
    {
        await using var nodes = await StartAsync();
        var client = await nodes.ConnectAsync(2, "c");
        var large = new string('x', 9000);

        await nodes.HubContext(0).Clients.All.SendAsync(BackplaneTestHub.MessageMethod, large, TestContext.Current.CancellationToken);

        Assert.Equal(large, await client.ReceiveAsync());
        await using var command = Postgres.DataSource.CreateCommand("SELECT count(*) FROM pgnotifyhub.backplane_messages WHERE length(payload) > 9000");
        Assert.True((long)(await command.ExecuteScalarAsync(TestContext.Current.CancellationToken))! >= 1);
    }

    [Fact]
    public async Task After_a_listener_outage_the_loss_is_logged_and_later_messages_arrive()
    {
        await using var nodes = await StartAsync();
        var client = await nodes.ConnectAsync(0, "a");
        var host = nodes.Hosts[0];
        var backend = await host.ListeningBackendAsync();

        await Postgres.TerminateBackendAsync(backend, TestContext.Current.CancellationToken);
        await host.ReconnectedBackendAsync(backend);

        var warning = await host.Logs.WaitForAsync(entry => entry.EventId.Name == "BackplaneMessagesLost").OrTimeout();
        Assert.Equal(LogLevel.Warning, warning.Level);
        await nodes.HubContext(1).Clients.All.SendAsync(BackplaneTestHub.MessageMethod, "after the outage", TestContext.Current.CancellationToken);
        Assert.Equal("after the outage", await client.ReceiveAsync());
    }

    [Fact]
    public async Task Backplane_channel_name_fits_postgres_and_is_listened_once_per_node()
    {
        await using var nodes = await StartAsync();
        await nodes.ConnectAsync(0, "a");
        var listened = nodes.Hosts[0].Listener.Listened;

        var backplaneChannel = Assert.Single(listened, channel => channel != nodes.Channel);
        Assert.True(System.Text.Encoding.UTF8.GetByteCount(backplaneChannel) <= 63);
        await using var command = Postgres.DataSource.CreateCommand("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid = $1");
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = await nodes.Hosts[0].ListeningBackendAsync() });
        Assert.Equal(1L, await command.ExecuteScalarAsync(TestContext.Current.CancellationToken));
    }
}
