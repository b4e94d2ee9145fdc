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
    public async Task Sends_made_together_share_notify_payloads_and_arrive_in_order_with_spilled_ones_among_them()
    {
        await using var nodes = await StartAsync();
        var client = await nodes.ConnectAsync(2, "c");
        var backplaneChannel = Assert.Single(nodes.Hosts[0].Listener.Listened, channel => channel != nodes.Channel);
        await using var observer = await Postgres.DataSource.OpenConnectionAsync(TestContext.Current.CancellationToken);
        var payloads = new List<string>();
        observer.Notification += (_, e) => payloads.Add(e.Payload);
        await using (var listen = new NpgsqlCommand($"LISTEN \"{backplaneChannel}\"", observer))
        {
            await listen.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);
        }

        var messages = Enumerable.Range(0, 300).Select(i => i % 60 == 7 ? new string('x', 9000) + i : "small " + i).ToArray();
        // Issued in order, none awaited before the next: they queue while a batch commits, and batch together.
        var hub = nodes.HubContext(0);
        await Task.WhenAll(messages.Select(message => hub.Clients.All.SendAsync(BackplaneTestHub.MessageMethod, message, TestContext.Current.CancellationToken)));

        foreach (var message in messages)
        {
            Assert.Equal(message, await client.ReceiveAsync());
        }

        while (payloads.Sum(payload => payload.Split(' ').Length) < messages.Length)
        {
            await observer.WaitAsync(TestContext.Current.CancellationToken).OrTimeout();
        }

        Assert.InRange(payloads.Count, 1, messages.Length - 1);
        Assert.All(payloads, payload => Assert.InRange(payload.Length, 1, 7999));
        Assert.Equal(messages.Count(message => message.Length > 9000), payloads.Sum(payload => payload.Split(' ').Count(frame => frame.StartsWith('#'))));
    }

    [Fact]
    public async Task Send_on_a_killed_publishing_session_fails_and_is_logged_and_the_next_send_reconnects()
    {
        await using var nodes = await StartAsync();
        var client = await nodes.ConnectAsync(1, "c");
        var hub = nodes.HubContext(0);
        var cancellationToken = TestContext.Current.CancellationToken;
        await hub.Clients.All.SendAsync(BackplaneTestHub.MessageMethod, "before", cancellationToken);
        Assert.Equal("before", await client.ReceiveAsync());

        // Only node 0 has published, so its publishing session is the backplane's only one.
        await using (var kill = Postgres.DataSource.CreateCommand(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'PgNotifyHub backplane'"))
        {
            Assert.Equal(1L, await kill.ExecuteScalarAsync(cancellationToken));
        }

        await Assert.ThrowsAnyAsync<NpgsqlException>(() => hub.Clients.All.SendAsync(BackplaneTestHub.MessageMethod, "on the killed session", cancellationToken)).OrTimeout();
        await hub.Clients.All.SendAsync(BackplaneTestHub.MessageMethod, "after", cancellationToken);

        Assert.Equal("after", await client.ReceiveAsync());
        var logs = nodes.Hosts[0].Logs;
        Assert.Equal(LogLevel.Warning, (await logs.WaitForAsync(entry => entry.EventId.Name == "BackplanePublishFailed").OrTimeout()).Level);
        Assert.Equal(LogLevel.Information, (await logs.WaitForAsync(entry => entry.EventId.Name == "BackplanePublishRecovered").OrTimeout()).Level);
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
