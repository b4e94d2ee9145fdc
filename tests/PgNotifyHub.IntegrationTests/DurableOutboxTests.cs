using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using PgNotifyHub.IntegrationTests.Infrastructure;
using PgNotifyHub.Sequencing;

namespace PgNotifyHub.IntegrationTests;

/// <summary>
/// Durable mode: <c>pgnotifyhub.send(channel, audience, payload)</c> appends to the outbox and rings a doorbell; the
/// bridge reads the table in order, so outages and restarts delay messages instead of losing them, and payloads are
/// not bounded by NOTIFY's 8,000 bytes.
/// </summary>
[Collection(SharedPostgres.Name)]
public sealed class DurableOutboxTests(PostgresFixture postgres)
{
    [Theory]
    [InlineData(Transport.SignalR)]
    [InlineData(Transport.WebSocket)]
    public async Task Messages_sent_through_the_outbox_arrive_in_order_with_their_channel_and_audience(Transport transport)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await StartDurableHostAsync(postgres);
        using var meter = new MeterTotals(host.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>());
        var (mine, other) = (Names.Audience(), Names.Audience());
        var client = await host.ConnectSequencedAsync(transport, mine);

        await using (var connection = await postgres.DataSource.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            foreach (var (audience, i) in new[] { (mine, 1), (other, 2), (mine, 3) })
            {
                await SendAsync(connection, host.Channel, audience, "{\"i\":" + i + "}", cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
        }

        await using (var connection = await postgres.DataSource.OpenConnectionAsync(cancellationToken))
        {
            await SendAsync(connection, host.Channel, mine, "{\"i\":4}", cancellationToken);
        }

        var received = await client.ReceiveAsync(3);
        Assert.Equal([1L, 3, 4], received.Select(e => e.PayloadNumber("i")));
        Assert.Equal(4, meter["pgnotifyhub.notification.received"]);
        Assert.All(received, e => Assert.Equal((host.Channel, mine), (e.Channel, e.Audience)));
        Assert.Equal([1L, 2, 3], received.Select(e => e.Seq));
    }

    [Theory]
    [InlineData(7_998)]
    [InlineData(7_999)]
    [InlineData(8_000)]
    [InlineData(1_048_576)]
    public async Task Payloads_of_any_size_up_to_the_limit_arrive_intact_with_multibyte_characters_across_the_NOTIFY_boundary(int bytes)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await StartDurableHostAsync(postgres);
        var audience = Names.Audience();
        var client = await host.ConnectSequencedAsync(Transport.WebSocket, audience);
        var payload = PayloadOfJsonbBytes(bytes);

        await using (var connection = await postgres.DataSource.OpenConnectionAsync(cancellationToken))
        {
            await SendAsync(connection, host.Channel, audience, payload, cancellationToken);
        }

        var envelope = await client.ReceiveAsync();
        Assert.Equal(payload, envelope.PayloadJson);
        Assert.Equal(bytes, Encoding.UTF8.GetByteCount(envelope.PayloadJson));
    }

    [Fact]
    public async Task A_payload_over_the_limit_is_refused_by_send_naming_the_limit()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await StartDurableHostAsync(postgres);
        await using var connection = await postgres.DataSource.OpenConnectionAsync(cancellationToken);

        var error = await Assert.ThrowsAsync<PostgresException>(() => SendAsync(connection, host.Channel, "a", PayloadOfJsonbBytes(1_048_577), cancellationToken));

        Assert.Contains("over the limit of 1048576", error.MessageText, StringComparison.Ordinal);
        Assert.Contains("max_payload_bytes", error.MessageText, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "a", "{}", "channel")]
    [InlineData("c", "a,b", "{}", "audience")]
    [InlineData("c", "", "{}", "audience")]
    [InlineData("c", "a", "[1]", "JSON object")]
    public async Task Send_refuses_what_no_client_could_receive(string channel, string audience, string payload, string named)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await StartDurableHostAsync(postgres);
        await using var connection = await postgres.DataSource.OpenConnectionAsync(cancellationToken);

        var error = await Assert.ThrowsAsync<PostgresException>(() => SendAsync(connection, channel, audience, payload, cancellationToken));

        Assert.Contains(named, error.MessageText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Plain_pg_notify_carries_7999_bytes_and_refuses_8000_even_when_a_multibyte_character_straddles_the_limit()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await NotifyTestHost.StartAsync(postgres);
        var audience = Names.Audience();
        var client = await host.ConnectWebSocketAsync(audience);
        var prefix = audience + ",{\"s\":\"";
        string Payload(int bytes, string last) => prefix + new string('x', bytes - Encoding.UTF8.GetByteCount(prefix) - Encoding.UTF8.GetByteCount(last) - 2) + last + "\"}";

        var largest = Payload(7_999, "€");
        await postgres.NotifyAsync(host.Channel, largest, cancellationToken);
        Assert.Equal(largest[(audience.Length + 1)..], (await client.ReceiveAsync()).PayloadJson);

        // 7,998 bytes before a three-byte character: the payload ends 2 bytes past the limit, inside the character.
        var straddling = Payload(8_001, "€");
        var tooLong = await Assert.ThrowsAsync<PostgresException>(() => postgres.NotifyAsync(host.Channel, straddling, cancellationToken));
        Assert.Equal("22023", tooLong.SqlState);
        await Assert.ThrowsAsync<PostgresException>(() => postgres.NotifyAsync(host.Channel, Payload(8_000, "x"), cancellationToken));
    }

    [Theory]
    [InlineData(Transport.SignalR)]
    [InlineData(Transport.WebSocket)]
    public async Task Terminating_the_listener_repeatedly_while_sending_delivers_every_outbox_message_exactly_once_in_order(Transport transport)
    {
        const int messages = 200;
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await StartDurableHostAsync(postgres, options => options.ReconnectDelayMin = TimeSpan.FromMilliseconds(20));
        var audience = Names.Audience();
        var client = await host.ConnectSequencedAsync(transport, audience);

        var sending = Task.Run(
            async () =>
            {
                await using var connection = await postgres.DataSource.OpenConnectionAsync(cancellationToken);
                for (var i = 1; i <= messages; i++)
                {
                    await SendAsync(connection, host.Channel, audience, "{\"i\":" + i + "}", cancellationToken);
                }
            },
            cancellationToken);
        for (var fault = 0; fault < 3 && !sending.IsCompleted; fault++)
        {
            var backend = await host.ListeningBackendAsync();
            await postgres.TerminateBackendAsync(backend, cancellationToken);
            await host.ReconnectedBackendAsync(backend);
        }

        await sending.OrTimeout();
        var received = await client.ReceiveAsync(messages);

        Assert.Equal(Enumerable.Range(1, messages).Select(i => (long?)i), received.Select(e => e.PayloadNumber("i")));
    }

    [Fact]
    public async Task A_restarted_bridge_delivers_what_was_sent_while_it_was_down_from_where_it_stopped()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var reader = "node-" + Names.Audience();
        var channel = Names.Channel();
        var audience = Names.Audience();
        await using (var first = await StartDurableHostAsync(postgres, options => (options.Outbox.ReaderName, options.Channels) = (reader, [channel])))
        {
            var client = await first.ConnectSequencedAsync(Transport.SignalR, audience);
            await using var connection = await postgres.DataSource.OpenConnectionAsync(cancellationToken);
            await SendAsync(connection, channel, audience, "{\"i\":1}", cancellationToken);
            Assert.Equal(1, (await client.ReceiveAsync()).PayloadNumber("i"));
        }

        await using (var connection = await postgres.DataSource.OpenConnectionAsync(cancellationToken))
        {
            for (var i = 2; i <= 4; i++)
            {
                await SendAsync(connection, channel, audience, "{\"i\":" + i + "}", cancellationToken);
            }
        }

        await using var second = await StartDurableHostAsync(postgres, options => (options.Outbox.ReaderName, options.Channels) = (reader, [channel]));
        var stream = second.Services.GetRequiredService<NotificationSequencer>().Stream;

        // The catch-up went through the new stream: a client resuming it from the start gets exactly messages 2 to 4.
        var resumed = await second.ConnectSequencedAsync(Transport.SignalR, audience, second.ResumeFrom(stream, audience, 0));
        var missed = await resumed.ReceiveAsync(3);
        Assert.Equal([2L, 3, 4], missed.Select(e => e.PayloadNumber("i")));
        Assert.Contains("where it stopped", second.Logs.Entries.Single(e => e.EventId.Name == "OutboxReading").Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Messages_older_than_the_retention_are_deleted_from_the_outbox_by_the_nodes()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await StartDurableHostAsync(postgres, options => (options.Outbox.Retention, options.Outbox.PollInterval) = (TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(100)));
        var audience = Names.Audience();
        var client = await host.ConnectSequencedAsync(Transport.WebSocket, audience);
        await using (var connection = await postgres.DataSource.OpenConnectionAsync(cancellationToken))
        {
            await SendAsync(connection, host.Channel, audience, "{\"i\":1}", cancellationToken);
        }

        await client.ReceiveAsync();
        await using var count = postgres.DataSource.CreateCommand("SELECT count(*) FROM pgnotifyhub.outbox WHERE channel = $1");
        count.Parameters.Add(new NpgsqlParameter<string> { TypedValue = host.Channel });
        Assert.Equal(1L, await count.ExecuteScalarAsync(cancellationToken));

        // Sweeps run a tenth of the retention apart and delete by age: the row goes once it is a second old.
        await Task.Run(
            async () =>
            {
                while ((long)(await count.ExecuteScalarAsync(cancellationToken))! != 0)
                {
                    await Task.Delay(100, cancellationToken);
                }
            },
            cancellationToken).OrTimeout();
        Assert.Contains(host.Logs.Entries, e => e.EventId.Name == "OutboxCleanedUp" && (int)e["Deleted"]! > 0);
    }

    [Fact]
    public async Task Lone_messages_after_quiet_spells_longer_than_the_default_poll_interval_arrive_at_once()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var pollInterval = new PgNotifyHubOutboxOptions().PollInterval;
        await using var host = await StartDurableHostAsync(postgres);
        var audience = Names.Audience();
        var client = await host.ConnectSequencedAsync(Transport.WebSocket, audience);
        await using var connection = await postgres.DataSource.OpenConnectionAsync(cancellationToken);

        var delays = new List<TimeSpan>();
        for (var i = 1; i <= 3; i++)
        {
            // Idle, as an application often is: each spell outlasts a poll, so the reader has waited and timed out.
            await Task.Delay(pollInterval + TimeSpan.FromSeconds(1), cancellationToken);
            var sent = TimeProvider.System.GetTimestamp();
            await SendAsync(connection, host.Channel, audience, "{\"i\":" + i + "}", cancellationToken);
            Assert.Equal(i, (await client.ReceiveAsync()).PayloadNumber("i"));
            delays.Add(TimeProvider.System.GetElapsedTime(sent));
        }

        // The doorbell's path takes milliseconds; the poll would take up to the whole interval.
        Assert.True(delays.All(delay => delay < TimeSpan.FromSeconds(1)), "Delays: " + string.Join(", ", delays));
    }

    [Fact]
    public async Task A_message_sent_after_the_readers_own_connection_was_terminated_arrives_at_once()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var (connectionString, _) = postgres.TaggedConnection();
        var applicationName = new NpgsqlConnectionStringBuilder(connectionString).ApplicationName;
        await using var host = await StartDurableHostAsync(postgres, options => options.ConnectionString = connectionString);
        var audience = Names.Audience();
        var client = await host.ConnectSequencedAsync(Transport.WebSocket, audience);
        await using var connection = await postgres.DataSource.OpenConnectionAsync(cancellationToken);
        await SendAsync(connection, host.Channel, audience, "{\"i\":1}", cancellationToken);
        Assert.Equal(1, (await client.ReceiveAsync()).PayloadNumber("i"));

        // The reader's pooled connection: every backend of the host but the listener's.
        var listener = await host.ListeningBackendAsync();
        await using (var terminate = postgres.DataSource.CreateCommand(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1 AND pid <> $2"))
        {
            terminate.Parameters.Add(new NpgsqlParameter<string> { TypedValue = applicationName! });
            terminate.Parameters.Add(new NpgsqlParameter<int> { TypedValue = listener });
            Assert.True((long)(await terminate.ExecuteScalarAsync(cancellationToken))! >= 1);
        }

        var sent = TimeProvider.System.GetTimestamp();
        await SendAsync(connection, host.Channel, audience, "{\"i\":2}", cancellationToken);
        Assert.Equal(2, (await client.ReceiveAsync()).PayloadNumber("i"));
        var delay = TimeProvider.System.GetElapsedTime(sent);

        Assert.True(delay < TimeSpan.FromSeconds(2), $"Arrived after {delay}, as if waiting for the poll.");
    }

    [Fact]
    public async Task A_payload_nested_as_deep_as_jsonb_accepts_is_delivered()
    {
        const int depth = 10_000;
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await StartDurableHostAsync(postgres);
        await using var subscription = await host.SubscribeAsync(host.Channel);
        await using var notifications = subscription.GetAsyncEnumerator(cancellationToken);
        var payload = string.Concat(Enumerable.Repeat("{\"a\": ", depth)) + "1" + new string('}', depth);

        await using (var connection = await postgres.DataSource.OpenConnectionAsync(cancellationToken))
        {
            await SendAsync(connection, host.Channel, "deep", payload, cancellationToken);
        }

        var notification = await notifications.NextAsync();
        Assert.Equal(payload, Encoding.UTF8.GetString(notification.Payload.Span));
        Assert.DoesNotContain(host.Logs.Entries, e => e.EventId.Name == "InvalidPayload");
    }

    [Fact]
    public async Task A_transaction_left_open_holds_messages_back_and_the_lag_gauge_shows_it_until_it_ends()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await StartDurableHostAsync(postgres, options => options.Outbox.PollInterval = TimeSpan.FromMilliseconds(100));
        using var meter = new MeterTotals(host.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>());
        var audience = Names.Audience();
        var client = await host.ConnectSequencedAsync(Transport.WebSocket, audience);

        // Another application's session, idle in a transaction that has written something.
        await using var idle = await postgres.DataSource.OpenConnectionAsync(cancellationToken);
        await using var open = await idle.BeginTransactionAsync(cancellationToken);
        await using (var write = new NpgsqlCommand("SELECT pg_current_xact_id()", idle, open))
        {
            await write.ExecuteScalarAsync(cancellationToken);
        }

        await using (var connection = await postgres.DataSource.OpenConnectionAsync(cancellationToken))
        {
            await SendAsync(connection, host.Channel, audience, "{\"i\":1}", cancellationToken);
        }

        await Task.Run(
            async () =>
            {
                while (!(meter.Observe("pgnotifyhub.outbox.lag") > 0.5))
                {
                    await Task.Delay(50, cancellationToken);
                }
            },
            cancellationToken).OrTimeout();
        await open.CommitAsync(cancellationToken);

        Assert.Equal(1, (await client.ReceiveAsync()).PayloadNumber("i"));
        await Task.Run(
            async () =>
            {
                while (meter.Observe("pgnotifyhub.outbox.lag") != 0)
                {
                    await Task.Delay(50, cancellationToken);
                }
            },
            cancellationToken).OrTimeout();
    }

    // Returns once the reader knows where it starts, so nothing the test sends afterwards is before its start.
    private static async Task<NotifyTestHost> StartDurableHostAsync(PostgresFixture postgres, Action<PgNotifyHubOptions>? configure = null)
    {
        var host = await NotifyTestHost.StartAsync(postgres, options =>
        {
            options.Outbox.Enabled = true;
            options.Outbox.InstallSchema = true;
            options.Outbox.ReaderName = "node-" + Guid.NewGuid().ToString("N");
            configure?.Invoke(options);
        });
        await host.Logs.WaitForAsync(e => e.EventId.Name == "OutboxReading").OrTimeout();
        return host;
    }

    private static async Task SendAsync(NpgsqlConnection connection, string channel, string audience, string payload, CancellationToken cancellationToken)
    {
        await using var send = new NpgsqlCommand("SELECT pgnotifyhub.send($1, $2, $3::jsonb)", connection);
        send.Parameters.Add(new NpgsqlParameter<string> { TypedValue = channel });
        send.Parameters.Add(new NpgsqlParameter<string> { TypedValue = audience });
        send.Parameters.Add(new NpgsqlParameter<string> { TypedValue = payload });
        await send.ExecuteNonQueryAsync(cancellationToken);
    }

    // Already in jsonb's own text form ({"s": "…"}), so what arrives can be compared byte for byte; multi-byte
    // characters throughout, so some straddle every boundary that counts characters instead of bytes.
    private static string PayloadOfJsonbBytes(int bytes)
    {
        const string prefix = "{\"s\": \"";
        var text = new StringBuilder(prefix);
        var room = bytes - Encoding.UTF8.GetByteCount(prefix) - 2;
        while (room >= 3)
        {
            text.Append(room % 7 == 0 ? "€" : "é");
            room -= room % 7 == 0 ? 3 : 2;
        }

        text.Append('x', room);
        return text.Append("\"}").ToString();
    }
}
