using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using PgNotifyHub.IntegrationTests.Infrastructure;
using PgNotifyHub.Sequencing;

namespace PgNotifyHub.IntegrationTests;

/// <summary>
/// Row-change feeds: <c>pgnotifyhub.publish_changes(table, channel, audience expression, …)</c> makes every statement
/// that writes the table send its inserts, updates and deletes to the audience each row names, through the outbox or
/// NOTIFY, with real clients receiving them. Every test has tables, channels and audiences of its own.
/// </summary>
[Collection(SharedPostgres.Name)]
public sealed class RowChangeFeedTests(PostgresFixture postgres)
{
    private const int MaxPayloadBytes = 1_048_576;
    private const int NotifyLimitBytes = 7_999;
    private static readonly TimeSpan BulkTimeout = TimeSpan.FromSeconds(90);

    private static CancellationToken CancellationToken => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(Transport.SignalR)]
    [InlineData(Transport.WebSocket)]
    public async Task Inserts_updates_and_deletes_arrive_with_the_key_the_new_row_and_the_old_values_that_changed(Transport transport)
    {
        await using var host = await StartHostAsync();
        var audience = Names.Audience();
        var table = NewTableName();
        await ExecuteAsync($"""
            CREATE TABLE {table} (id int PRIMARY KEY, owner text NOT NULL, name text, price numeric(10,2));
            SELECT pgnotifyhub.publish_changes('{table}', '{host.Channel}', 'owner');
            """);
        var client = await host.ConnectAsync(transport, audience);
        var before = DateTimeOffset.UtcNow;

        await ExecuteAsync($"INSERT INTO {table} VALUES (1, '{audience}', 'apple', 1.50)");
        await ExecuteAsync($"UPDATE {table} SET price = 2.00 WHERE id = 1");
        await ExecuteAsync($"UPDATE {table} SET name = 'apple' WHERE id = 1");
        await ExecuteAsync($"DELETE FROM {table} WHERE id = 1");
        var marker = await SendMarkerAsync(host.Channel, audience, durable: true);

        var received = await client.ReceiveUntilMarkerAsync(marker);
        var messages = received.Select(RowChangeMessage.Parse).ToList();
        Assert.Equal(
            [
                $$$"""{"op":"insert","key":{"id":1},"new":{"id":1,"owner":"{{{audience}}}","name":"apple","price":1.50}}""",
                $$$"""{"op":"update","key":{"id":1},"new":{"id":1,"owner":"{{{audience}}}","name":"apple","price":2.00},"old":{"price":1.50}}""",
                $$$"""{"op":"delete","key":{"id":1},"old":{"id":1,"owner":"{{{audience}}}","name":"apple","price":2.00}}""",
            ],
            messages.Select(message => Assert.Single(message.Changes)));
        Assert.All(received, envelope => Assert.Equal(host.Channel, envelope.Channel));
        Assert.All(messages, message => Assert.Equal(("public", table), (message.Schema, message.Table)));
        Assert.All(messages, message => Assert.InRange(message.At, before.AddMinutes(-1), DateTimeOffset.UtcNow.AddMinutes(1)));
    }

    [Fact]
    public async Task A_bulk_statement_of_100000_rows_is_a_few_full_messages_and_each_client_gets_every_change_of_its_audience_once_in_commit_order()
    {
        const int Rows = 100_000;
        await using var host = await StartHostAsync();
        string[] audiences = [Names.Audience(), Names.Audience(), Names.Audience(), Names.Audience()];
        var table = NewTableName();
        await ExecuteAsync($"""
            CREATE TABLE {table} (id int PRIMARY KEY, audience text NOT NULL, v int NOT NULL, pad text);
            SELECT pgnotifyhub.publish_changes('{table}', '{host.Channel}', 'audience');
            """);
        var clients = await Task.WhenAll(audiences.Select(audience => host.ConnectAsync(Transport.WebSocket, audience)));

        // One statement each: a trigger call per operation, however many rows.
        await ExecuteAsync($"""
            INSERT INTO {table}
            SELECT i, (ARRAY['{string.Join("','", audiences)}'])[i % 4 + 1], 0, repeat('p', 100) FROM generate_series(1, {Rows}) AS i
            """);
        await ExecuteAsync($"UPDATE {table} SET v = v + 1");

        var outbox = await OutboxMessagesAsync(host.Channel);
        var perRoute = outbox.GroupBy(message => (message.Audience, Op: RowChangeMessage.Parse(message.Payload).Parsed.First().Op)).ToList();
        TestContext.Current.TestOutputHelper?.WriteLine(string.Join(", ", perRoute.Select(g => $"{g.Key.Op} {g.Key.Audience}: {g.Count()} messages, {g.Sum(m => Encoding.UTF8.GetByteCount(m.Payload))} bytes")));
        Assert.Equal(audiences.Length * 2, perRoute.Count);
        Assert.All(outbox, message => Assert.InRange(Encoding.UTF8.GetByteCount(message.Payload), 1, MaxPayloadBytes));
        // Bounded by the bytes: on average every message of a statement and audience is more than half full.
        Assert.All(perRoute, route => Assert.InRange(route.Count(), 1, (int)Math.Ceiling(route.Sum(m => Encoding.UTF8.GetByteCount(m.Payload)) / (MaxPayloadBytes / 2.0))));
        Assert.InRange(outbox.Count, audiences.Length * 2, 80);

        for (var a = 0; a < audiences.Length; a++)
        {
            var expected = outbox.Count(message => message.Audience == audiences[a]);
            var messages = (await clients[a].ReceiveAsync(expected, BulkTimeout)).Select(RowChangeMessage.Parse).ToList();
            var changes = messages.SelectMany(message => message.Parsed).ToList();
            var ids = Enumerable.Range(1, Rows).Where(i => i % 4 == a).Select(i => "{\"id\":" + i + "}").Order(StringComparer.Ordinal).ToList();

            var inserts = changes.TakeWhile(change => change.Op == "insert").ToList();
            var updates = changes.Skip(inserts.Count).ToList();
            Assert.Equal(ids, inserts.Select(change => change.Key).Order(StringComparer.Ordinal));
            Assert.All(updates, change => Assert.Equal("update", change.Op));
            Assert.Equal(ids, updates.Select(change => change.Key).Order(StringComparer.Ordinal));
            Assert.All(updates, change => Assert.Equal("""{"v":0}""", change.Change.GetProperty("old").GetRawText()));
            Assert.All(changes, change => Assert.Equal(audiences[a], change.Change.GetProperty(change.Op == "delete" ? "old" : "new").GetProperty("audience").GetString()));
        }
    }

    [Fact]
    public async Task Without_durable_a_bulk_statement_is_a_few_full_NOTIFYs_of_at_most_7999_bytes_and_nothing_is_lost()
    {
        const int Rows = 10_000;
        await using var host = await StartHostAsync();
        var audience = Names.Audience();
        var table = NewTableName();
        await ExecuteAsync($"""
            CREATE TABLE {table} (id int PRIMARY KEY, audience text NOT NULL, v int NOT NULL, note text);
            SELECT pgnotifyhub.publish_changes('{table}', '{host.Channel}', 'audience', durable => false);
            """);
        var client = await host.ConnectAsync(Transport.WebSocket, audience);

        await ExecuteAsync($"INSERT INTO {table} SELECT i, '{audience}', 0, repeat('é', i % 50) FROM generate_series(1, {Rows}) AS i");
        var marker = await SendMarkerAsync(host.Channel, audience, durable: false);
        var received = await client.ReceiveUntilMarkerAsync(marker, BulkTimeout);

        var bytes = received.Select(envelope => Encoding.UTF8.GetByteCount(audience + "," + envelope.PayloadJson)).ToList();
        TestContext.Current.TestOutputHelper?.WriteLine($"{received.Count} NOTIFYs, {bytes.Sum()} bytes");
        Assert.All(bytes, size => Assert.InRange(size, 1, NotifyLimitBytes));
        Assert.InRange(received.Count, 1, (int)Math.Ceiling(bytes.Sum() / (NotifyLimitBytes / 2.0)));
        Assert.Equal(0, await ScalarAsync<long>($"SELECT count(*) FROM pgnotifyhub.outbox WHERE channel = '{host.Channel}'"));
        var keys = received.Select(RowChangeMessage.Parse).SelectMany(message => message.Parsed).Select(change => change.Key).Order(StringComparer.Ordinal);
        Assert.Equal(Enumerable.Range(1, Rows).Select(i => "{\"id\":" + i + "}").Order(StringComparer.Ordinal), keys);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_rolled_back_transaction_sends_nothing(bool durable)
    {
        await using var host = await StartHostAsync();
        var audience = Names.Audience();
        var table = await CreatePublishedTableAsync(host.Channel, durable);
        var client = await host.ConnectAsync(Transport.SignalR, audience);

        await using (var connection = await postgres.DataSource.OpenConnectionAsync(CancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(CancellationToken))
        {
            await ExecuteAsync(connection, $"INSERT INTO {table} VALUES (1, '{audience}', 'never')");
            await ExecuteAsync(connection, $"UPDATE {table} SET v = 'never either'");
            await transaction.RollbackAsync(CancellationToken);
        }

        await ExecuteAsync($"INSERT INTO {table} VALUES (2, '{audience}', 'committed')");
        var marker = await SendMarkerAsync(host.Channel, audience, durable);

        var received = (await client.ReceiveUntilMarkerAsync(marker)).Select(RowChangeMessage.Parse).SelectMany(message => message.Parsed).ToList();
        Assert.Equal(["""{"id":2}"""], received.Select(change => change.Key));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Rows_reach_only_the_audience_their_expression_names_and_rows_whose_audience_is_null_reach_nobody(bool durable)
    {
        await using var host = await StartHostAsync();
        var (mine, theirs) = (Names.Audience(), Names.Audience());
        var table = NewTableName();
        await ExecuteAsync($"""
            CREATE TABLE {table} (id int PRIMARY KEY, tenant text, hidden boolean NOT NULL DEFAULT false);
            SELECT pgnotifyhub.publish_changes('{table}', '{host.Channel}', $$CASE WHEN NOT hidden THEN 'tenant:' || tenant END$$, durable => {durable});
            """);
        var myClient = await host.ConnectAsync(Transport.WebSocket, "tenant:" + mine);
        var theirClient = await host.ConnectAsync(Transport.SignalR, "tenant:" + theirs);

        await ExecuteAsync($"""
            INSERT INTO {table} (id, tenant) VALUES (1, '{mine}'), (2, '{theirs}'), (3, '{mine}'), (4, '{theirs}');
            INSERT INTO {table} (id, tenant, hidden) VALUES (5, '{mine}', true), (6, '{theirs}', true);
            UPDATE {table} SET id = id + 10;
            DELETE FROM {table} WHERE id IN (12, 13, 15);
            """);
        var (myMarker, theirMarker) = (await SendMarkerAsync(host.Channel, "tenant:" + mine, durable), await SendMarkerAsync(host.Channel, "tenant:" + theirs, durable));

        var mineReceived = (await myClient.ReceiveUntilMarkerAsync(myMarker)).Select(RowChangeMessage.Parse).SelectMany(message => message.Parsed).ToList();
        var theirsReceived = (await theirClient.ReceiveUntilMarkerAsync(theirMarker)).Select(RowChangeMessage.Parse).SelectMany(message => message.Parsed).ToList();
        Assert.Equal(
            ["insert {\"id\":1}", "insert {\"id\":3}", "update {\"id\":11}", "update {\"id\":13}", "delete {\"id\":13}"],
            mineReceived.Select(change => change.Op + " " + change.Key).Order(StringComparer.Ordinal).ToList().OrderBy(Rank).ToList());
        Assert.Equal(
            ["insert {\"id\":2}", "insert {\"id\":4}", "update {\"id\":12}", "update {\"id\":14}", "delete {\"id\":12}"],
            theirsReceived.Select(change => change.Op + " " + change.Key).Order(StringComparer.Ordinal).ToList().OrderBy(Rank).ToList());
        Assert.DoesNotContain(mineReceived, change => change.Change.GetRawText().Contains(theirs, StringComparison.Ordinal));
        Assert.DoesNotContain(theirsReceived, change => change.Change.GetRawText().Contains(mine, StringComparison.Ordinal));

        static int Rank(string change) => change.StartsWith("insert", StringComparison.Ordinal) ? 0 : change.StartsWith("update", StringComparison.Ordinal) ? 1 : 2;
    }

    [Fact]
    public async Task An_update_that_moves_a_row_to_another_audience_is_a_delete_for_the_old_one_and_an_insert_for_the_new_one()
    {
        await using var host = await StartHostAsync();
        var (from, to) = (Names.Audience(), Names.Audience());
        var table = await CreatePublishedTableAsync(host.Channel, durable: true);
        var fromClient = await host.ConnectAsync(Transport.WebSocket, from);
        var toClient = await host.ConnectAsync(Transport.WebSocket, to);
        await ExecuteAsync($"INSERT INTO {table} VALUES (1, '{from}', 'secret of {from}')");

        await ExecuteAsync($"UPDATE {table} SET audience = '{to}', v = 'secret of {to}'");
        var (fromMarker, toMarker) = (await SendMarkerAsync(host.Channel, from, true), await SendMarkerAsync(host.Channel, to, true));

        var fromChanges = (await fromClient.ReceiveUntilMarkerAsync(fromMarker)).Select(RowChangeMessage.Parse).SelectMany(message => message.Changes).ToList();
        var toChanges = (await toClient.ReceiveUntilMarkerAsync(toMarker)).Select(RowChangeMessage.Parse).SelectMany(message => message.Changes).ToList();
        Assert.Equal(
            [
                $$$"""{"op":"insert","key":{"id":1},"new":{"id":1,"audience":"{{{from}}}","v":"secret of {{{from}}}"}}""",
                $$$"""{"op":"delete","key":{"id":1},"old":{"id":1,"audience":"{{{from}}}","v":"secret of {{{from}}}"}}""",
            ],
            fromChanges);
        Assert.Equal([$$$"""{"op":"insert","key":{"id":1},"new":{"id":1,"audience":"{{{to}}}","v":"secret of {{{to}}}"}}"""], toChanges);
    }

    [Fact]
    public async Task Excluded_columns_never_appear_and_an_update_of_unpublished_columns_only_sends_nothing()
    {
        await using var host = await StartHostAsync();
        var audience = Names.Audience();
        var (excluding, listing) = (NewTableName(), NewTableName());
        await ExecuteAsync($$"""
            CREATE TABLE {{excluding}} (id int PRIMARY KEY, audience text, name text, password_hash text, ssn text);
            CREATE TABLE {{listing}} (id int PRIMARY KEY, audience text, name text, password_hash text, ssn text);
            SELECT pgnotifyhub.publish_changes('{{excluding}}', '{{host.Channel}}', 'audience', exclude => '{password_hash,ssn}');
            SELECT pgnotifyhub.publish_changes('{{listing}}', '{{host.Channel}}', 'audience', columns => '{name}');
            """);
        var client = await host.ConnectAsync(Transport.SignalR, audience);

        foreach (var table in new[] { excluding, listing })
        {
            await ExecuteAsync($"INSERT INTO {table} VALUES (1, '{audience}', 'Ann', 'hash-before', 'ssn-before')");
            await ExecuteAsync($"UPDATE {table} SET password_hash = 'hash-after', ssn = 'ssn-after'");
            await ExecuteAsync($"UPDATE {table} SET name = 'Anne', password_hash = 'hash-last'");
            await ExecuteAsync($"DELETE FROM {table}");
        }

        var marker = await SendMarkerAsync(host.Channel, audience, true);
        var received = await client.ReceiveUntilMarkerAsync(marker);
        Assert.Equal(6, received.Count);
        Assert.All(received, envelope => Assert.DoesNotMatch("password_hash|ssn|hash-|ssn-", envelope.PayloadJson));
        var changes = received.Select(RowChangeMessage.Parse).SelectMany(message => message.Changes).ToList();
        Assert.Equal(
            [
                $$$"""{"op":"insert","key":{"id":1},"new":{"id":1,"audience":"{{{audience}}}","name":"Ann"}}""",
                $$$"""{"op":"update","key":{"id":1},"new":{"id":1,"audience":"{{{audience}}}","name":"Anne"},"old":{"name":"Ann"}}""",
                $$$"""{"op":"delete","key":{"id":1},"old":{"id":1,"audience":"{{{audience}}}","name":"Anne"}}""",
                """{"op":"insert","key":{"id":1},"new":{"name":"Ann"}}""",
                """{"op":"update","key":{"id":1},"new":{"name":"Anne"},"old":{"name":"Ann"}}""",
                """{"op":"delete","key":{"id":1},"old":{"name":"Anne"}}""",
            ],
            changes);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Rows_larger_than_a_NOTIFY_arrive_whole_and_never_fail_the_writers_transaction(bool durable)
    {
        await using var host = await StartHostAsync();
        var audience = Names.Audience();
        var table = await CreatePublishedTableAsync(host.Channel, durable);
        var client = await host.ConnectAsync(Transport.WebSocket, audience);
        // Two- and three-byte characters, so that a limit counted in characters rather than bytes would be missed.
        var large = string.Concat(Enumerable.Repeat("é€x", 4_000));

        await using (var connection = await postgres.DataSource.OpenConnectionAsync(CancellationToken))
        await using (var insert = new NpgsqlCommand($"INSERT INTO {table} SELECT i, $1, CASE WHEN i = 2 THEN $2 ELSE 'small ' || i END FROM generate_series(1, 3) AS i", connection))
        {
            insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = audience });
            insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = large });
            await insert.ExecuteNonQueryAsync(CancellationToken);
        }

        // Without durable the small rows are NOTIFYed and the large one goes through the outbox: in any order.
        var changes = (await client.ReceiveAsync(durable ? 1 : 2)).Select(RowChangeMessage.Parse).SelectMany(message => message.Parsed).ToList();
        Assert.Equal(["{\"id\":1}", "{\"id\":2}", "{\"id\":3}"], changes.Select(change => change.Key).Order(StringComparer.Ordinal));
        Assert.Equal(large, changes.Single(change => change.Key == "{\"id\":2}").Change.GetProperty("new").GetProperty("v").GetString());
        Assert.Equal(1, await ScalarAsync<long>($"SELECT count(*) FROM pgnotifyhub.outbox WHERE channel = '{host.Channel}'"));
    }

    [Fact]
    public async Task A_change_larger_than_the_outbox_limit_arrives_as_its_key_marked_too_large()
    {
        await using var host = await StartHostAsync();
        var audience = Names.Audience();
        var table = await CreatePublishedTableAsync(host.Channel, durable: true);
        var client = await host.ConnectAsync(Transport.WebSocket, audience);

        await ExecuteAsync($"INSERT INTO {table} VALUES (1, '{audience}', repeat('x', {MaxPayloadBytes})), (2, '{audience}', 'small')");

        var changes = RowChangeMessage.Parse(await client.ReceiveAsync()).Changes.Order(StringComparer.Ordinal);
        Assert.Equal(
            [
                """{"op":"insert","key":{"id":1},"too_large":true}""",
                $$$"""{"op":"insert","key":{"id":2},"new":{"id":2,"audience":"{{{audience}}}","v":"small"}}""",
            ],
            changes);
    }

    [Fact]
    public async Task Truncate_tells_every_audience_that_had_rows_and_no_other()
    {
        await using var host = await StartHostAsync();
        var (first, second, empty) = (Names.Audience(), Names.Audience(), Names.Audience());
        var table = await CreatePublishedTableAsync(host.Channel, durable: true, operations: "{insert,update,delete,truncate}");
        string[] audiences = [first, second, empty];
        var clients = new[] { await host.ConnectAsync(Transport.SignalR, first), await host.ConnectAsync(Transport.WebSocket, second), await host.ConnectAsync(Transport.WebSocket, empty) };
        await ExecuteAsync($"INSERT INTO {table} VALUES (1, '{first}', 'a'), (2, '{first}', 'b'), (3, '{second}', 'c')");
        for (var i = 0; i < clients.Length; i++)
        {
            await clients[i].ReceiveUntilMarkerAsync(await SendMarkerAsync(host.Channel, audiences[i], true));
        }

        await ExecuteAsync($"TRUNCATE {table}");

        var received = new List<IReadOnlyList<string>>();
        for (var i = 0; i < clients.Length; i++)
        {
            var marker = await SendMarkerAsync(host.Channel, audiences[i], true);
            received.Add([.. (await clients[i].ReceiveUntilMarkerAsync(marker)).Select(RowChangeMessage.Parse).SelectMany(message => message.Changes)]);
        }

        Assert.Equal(["""{"op":"truncate"}"""], received[0]);
        Assert.Equal(["""{"op":"truncate"}"""], received[1]);
        Assert.Empty(received[2]);
    }

    [Fact]
    public async Task Publishing_again_replaces_the_publication_and_unpublishing_ends_it_leaving_no_trigger_or_function()
    {
        await using var host = await StartHostAsync(channelCount: 2);
        var audience = Names.Audience();
        var table = await CreatePublishedTableAsync(host.Channel, durable: true);
        // A client of the raw endpoint hears both of the host's channels.
        var client = await host.ConnectAsync(Transport.WebSocket, audience);
        await host.ConnectToAsync(Transport.WebSocket, null, host.Channels[1], audience);

        await ExecuteAsync($"SELECT pgnotifyhub.publish_changes('{table}', '{host.Channels[1]}', 'audience', exclude => '{{v}}', operations => '{{delete,insert}}')");
        var published = await QueryRowAsync($"SELECT channel, audience, columns::text, exclude::text, key::text, durable, operations::text FROM pgnotifyhub.published_tables WHERE tbl = '{table}'::regclass");
        Assert.Equal(new object[] { host.Channels[1], "audience", "{id,audience}", "{v}", "{id}", true, "{insert,delete}" }, published);
        await ExecuteAsync($"INSERT INTO {table} VALUES (1, '{audience}', 'x'); UPDATE {table} SET v = 'y';");
        var marker = await SendMarkerAsync(host.Channels[1], audience, true);
        var received = await client.ReceiveUntilMarkerAsync(marker);
        Assert.Equal(host.Channels[1], Assert.Single(received).Channel);
        Assert.Equal([$$$"""{"op":"insert","key":{"id":1},"new":{"id":1,"audience":"{{{audience}}}"}}"""], RowChangeMessage.Parse(received[0]).Changes);

        Assert.True(await ScalarAsync<bool>($"SELECT pgnotifyhub.unpublish_changes('{table}')"));
        await ExecuteAsync($"INSERT INTO {table} VALUES (2, '{audience}', 'x'); DELETE FROM {table};");
        var (firstMarker, secondMarker) = (await SendMarkerAsync(host.Channel, audience, true), await SendMarkerAsync(host.Channels[1], audience, true));

        Assert.Empty(await client.ReceiveUntilMarkerAsync(firstMarker));
        Assert.Empty(await client.ReceiveUntilMarkerAsync(secondMarker));
        Assert.Equal(0, await ScalarAsync<long>($"SELECT count(*) FROM pgnotifyhub.published_tables WHERE tbl = '{table}'::regclass"));
        Assert.Equal(0, await ScalarAsync<long>($"SELECT count(*) FROM pg_trigger WHERE tgrelid = '{table}'::regclass"));
        Assert.Equal(0, await ScalarAsync<long>($"SELECT count(*) FROM pg_proc WHERE proname = 'pgnotifyhub_changes_' || '{table}'::regclass::oid"));
        Assert.False(await ScalarAsync<bool>($"SELECT pgnotifyhub.unpublish_changes('{table}')"));
    }

    [Fact]
    public async Task Composite_keys_are_sent_whole_and_a_key_change_carries_the_old_key_values_in_old()
    {
        await using var host = await StartHostAsync();
        var audience = Names.Audience();
        var (composite, keyless) = (NewTableName(), NewTableName());
        await ExecuteAsync($$"""
            CREATE TABLE {{composite}} (region text, number int, audience text, qty int, PRIMARY KEY (region, number));
            CREATE TABLE {{keyless}} (code text NOT NULL UNIQUE, audience text, qty int);
            SELECT pgnotifyhub.publish_changes('{{composite}}', '{{host.Channel}}', 'audience', columns => '{qty}');
            SELECT pgnotifyhub.publish_changes('{{keyless}}', '{{host.Channel}}', 'audience', key => '{code}');
            """);
        var client = await host.ConnectAsync(Transport.WebSocket, audience);

        await ExecuteAsync($"INSERT INTO {composite} VALUES ('eu', 1, '{audience}', 5)");
        await ExecuteAsync($"UPDATE {composite} SET number = 2");
        await ExecuteAsync($"UPDATE {composite} SET region = 'us', qty = 6");
        await ExecuteAsync($"INSERT INTO {keyless} VALUES ('k1', '{audience}', 1); UPDATE {keyless} SET code = 'k2';");
        var marker = await SendMarkerAsync(host.Channel, audience, true);

        Assert.Equal(
            [
                """{"op":"insert","key":{"region":"eu","number":1},"new":{"qty":5}}""",
                """{"op":"update","key":{"region":"eu","number":2},"new":{"qty":5},"old":{"number":1}}""",
                """{"op":"update","key":{"region":"us","number":2},"new":{"qty":6},"old":{"region":"eu","qty":5}}""",
                $$$"""{"op":"insert","key":{"code":"k1"},"new":{"code":"k1","audience":"{{{audience}}}","qty":1}}""",
                $$$"""{"op":"update","key":{"code":"k2"},"new":{"code":"k2","audience":"{{{audience}}}","qty":1},"old":{"code":"k1"}}""",
            ],
            (await client.ReceiveUntilMarkerAsync(marker)).Select(RowChangeMessage.Parse).SelectMany(message => message.Changes));
    }

    [Fact]
    public async Task A_partitioned_table_publishes_writes_through_it_and_into_its_partitions_under_its_own_name()
    {
        await using var host = await StartHostAsync();
        var audience = Names.Audience();
        var table = NewTableName();
        await ExecuteAsync($"""
            CREATE TABLE {table} (id int, region text, audience text, qty int, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
            CREATE TABLE {table}_eu PARTITION OF {table} FOR VALUES IN ('eu');
            CREATE TABLE {table}_us PARTITION OF {table} FOR VALUES IN ('us') PARTITION BY RANGE (id);
            CREATE TABLE {table}_us_low PARTITION OF {table}_us FOR VALUES FROM (MINVALUE) TO (100);
            SELECT pgnotifyhub.publish_changes('{table}', '{host.Channel}', 'audience');
            """);
        var client = await host.ConnectAsync(Transport.SignalR, audience);

        await ExecuteAsync($"INSERT INTO {table} VALUES (1, 'eu', '{audience}', 1), (2, 'us', '{audience}', 1)");
        await ExecuteAsync($"INSERT INTO {table}_eu VALUES (3, 'eu', '{audience}', 1)");
        await ExecuteAsync($"UPDATE {table} SET region = 'us' WHERE id = 1");
        await ExecuteAsync($"UPDATE {table}_us_low SET qty = 2 WHERE id = 2");
        await ExecuteAsync($"DELETE FROM {table}_us WHERE id = 1");
        var marker = await SendMarkerAsync(host.Channel, audience, true);

        var messages = (await client.ReceiveUntilMarkerAsync(marker)).Select(RowChangeMessage.Parse).ToList();
        Assert.All(messages, message => Assert.Equal(("public", table), (message.Schema, message.Table)));
        Assert.Equal(
            [
                """{"op":"insert","key":{"id":1,"region":"eu"}}""",
                """{"op":"insert","key":{"id":2,"region":"us"}}""",
                """{"op":"insert","key":{"id":3,"region":"eu"}}""",
                """{"op":"update","key":{"id":1,"region":"us"},"old":{"region":"eu"}}""",
                """{"op":"update","key":{"id":2,"region":"us"},"old":{"qty":1}}""",
                """{"op":"delete","key":{"id":1,"region":"us"}}""",
            ],
            messages.SelectMany(message => message.Parsed.OrderBy(change => change.Key, StringComparer.Ordinal))
                .Select(change => "{\"op\":\"" + change.Op + "\",\"key\":" + change.Key + (change.Op == "update" ? ",\"old\":" + change.Change.GetProperty("old").GetRawText() : "") + "}"));
    }

    [Fact]
    public async Task Generated_columns_json_arrays_and_numbers_keep_their_values_and_text_in_tables_whose_names_need_quotes()
    {
        await using var host = await StartHostAsync();
        var audience = Names.Audience();
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var (schema, table) = ("Sales Dept " + suffix, "Order \"Items\" " + suffix);
        var qualified = QuoteIdentifier(schema) + "." + QuoteIdentifier(table);
        await ExecuteAsync($"""
            CREATE SCHEMA {QuoteIdentifier(schema)};
            CREATE TABLE {qualified} (
                "Order Id" int PRIMARY KEY, "Tenant" text, "Unit Price" numeric(10,2), qty int,
                total numeric GENERATED ALWAYS AS ("Unit Price" * qty) STORED, ratio double precision, big numeric,
                tags text[], meta jsonb, doc json, at timestamptz, flag boolean, nothing text);
            SELECT pgnotifyhub.publish_changes('{qualified.Replace("'", "''", StringComparison.Ordinal)}', '{host.Channel}', $$'t:' || "Tenant"$$);
            """);
        var client = await host.ConnectAsync(Transport.WebSocket, "t:" + audience);

        // The session's time zone decides the offset a timestamptz is written with.
        await ExecuteAsync($$"""
            SET TIME ZONE 'UTC';
            INSERT INTO {{qualified}} ("Order Id", "Tenant", "Unit Price", qty, ratio, big, tags, meta, doc, at, flag)
            VALUES (7, '{{audience}}', 1.50, 3, 0.1, 123456789012345678901234567890.000, '{"a,b", "c\"d", NULL}', '{"x": [1, 2.50, "é"]}',
                    '{ "kept" : "as written" }', '2026-12-03 10:00:00.5+00', true)
            """);
        await ExecuteAsync($"UPDATE {qualified} SET big = 123456789012345678901234567890, meta = '{{\"x\": [1, 2.5, \"é\"]}}', qty = 3");

        var messages = (await client.ReceiveAsync(2)).Select(RowChangeMessage.Parse).ToList();
        Assert.All(messages, message => Assert.Equal((schema, table), (message.Schema, message.Table)));
        Assert.Equal(
            $$$"""{"op":"insert","key":{"Order Id":7},"new":{"Order Id":7,"Tenant":"{{{audience}}}","Unit Price":1.50,"qty":3,"total":4.50,"ratio":0.1,"big":123456789012345678901234567890.000,"tags":["a,b","c\"d",null],"meta":{"x": [1, 2.50, "é"]},"doc":{ "kept" : "as written" },"at":"2026-12-03T10:00:00.5+00:00","flag":true,"nothing":null}}""",
            Assert.Single(messages[0].Changes));
        // Equal as numbers but not as text, and clients see text; qty was set to what it was.
        Assert.Equal("""{"big":123456789012345678901234567890.000,"meta":{"x": [1, 2.50, "é"]}}""", JsonElement.Parse(Assert.Single(messages[1].Changes)).GetProperty("old").GetRawText());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Concurrent_writers_deliver_the_changes_of_each_row_in_the_order_they_were_committed(bool durable)
    {
        const int Writers = 4;
        const int TransactionsEach = 40;
        await using var host = await StartHostAsync();
        var audience = Names.Audience();
        var table = NewTableName();
        await ExecuteAsync($$"""
            CREATE TABLE {{table}} (id int PRIMARY KEY, audience text, version int NOT NULL);
            INSERT INTO {{table}} VALUES (1, '{{audience}}', 0), (2, '{{audience}}', 0);
            SELECT pgnotifyhub.publish_changes('{{table}}', '{{host.Channel}}', 'audience', durable => {{durable}}, operations => '{update}');
            """);
        var client = await host.ConnectAsync(Transport.WebSocket, audience);

        // Each transaction takes its xid first and then waits for the row's lock: a transaction that started later may
        // commit its change of the row first.
        await Task.WhenAll(Enumerable.Range(0, Writers).Select(writer => Task.Run(
            async () =>
            {
                await using var connection = await postgres.DataSource.OpenConnectionAsync(CancellationToken);
                for (var i = 0; i < TransactionsEach; i++)
                {
                    await using var transaction = await connection.BeginTransactionAsync(CancellationToken);
                    await ExecuteAsync(connection, "SELECT pg_current_xact_id()");
                    await ExecuteAsync(connection, $"UPDATE {table} SET version = version + 1 WHERE id = {(writer + i) % 2 + 1}");
                    await transaction.CommitAsync(CancellationToken);
                }
            },
            CancellationToken))).OrTimeout(BulkTimeout);

        var changes = (await client.ReceiveAsync(Writers * TransactionsEach, BulkTimeout)).Select(RowChangeMessage.Parse).SelectMany(message => message.Parsed).ToList();
        var finalVersions = await QueryRowAsync($"SELECT array_agg(version ORDER BY id)::text FROM {table}");
        foreach (var id in new[] { 1, 2 })
        {
            var versions = changes.Where(change => change.Key == "{\"id\":" + id + "}").Select(change => change.Change.GetProperty("new").GetProperty("version").GetInt32()).ToList();
            Assert.Equal(Enumerable.Range(1, versions.Count), versions);
        }

        Assert.Equal(Writers * TransactionsEach, changes.Count);
        Assert.Equal(
            "{" + string.Join(',', new[] { 1, 2 }.Select(id => changes.Count(change => change.Key == "{\"id\":" + id + "}"))) + "}",
            finalVersions.Single());
    }

    [Fact]
    public async Task Copy_is_published_like_an_insert_and_writes_with_triggers_disabled_are_not()
    {
        await using var host = await StartHostAsync();
        var audience = Names.Audience();
        var table = await CreatePublishedTableAsync(host.Channel, durable: true);
        var client = await host.ConnectAsync(Transport.WebSocket, audience);

        await using (var connection = await postgres.DataSource.OpenConnectionAsync(CancellationToken))
        {
            await using (var copy = await connection.BeginTextImportAsync($"COPY {table} (id, audience, v) FROM STDIN", CancellationToken))
            {
                await copy.WriteAsync($"1\t{audience}\tcopied\n2\t{audience}\tcopied too\n");
            }

            // Replica mode, as logical replication's apply workers and pg_restore --disable-triggers use, fires no
            // ordinary trigger; neither does a table whose triggers are disabled.
            await ExecuteAsync(connection, $"SET session_replication_role = replica; INSERT INTO {table} VALUES (3, '{audience}', 'unseen'); RESET session_replication_role;");
            await ExecuteAsync(connection, $"ALTER TABLE {table} DISABLE TRIGGER USER; INSERT INTO {table} VALUES (4, '{audience}', 'unseen'); ALTER TABLE {table} ENABLE TRIGGER USER;");
            await ExecuteAsync(connection, $"INSERT INTO {table} VALUES (5, '{audience}', 'seen')");
        }

        var marker = await SendMarkerAsync(host.Channel, audience, true);
        var keys = (await client.ReceiveUntilMarkerAsync(marker)).Select(RowChangeMessage.Parse).Select(message => string.Join(' ', message.Parsed.Select(change => change.Key).Order(StringComparer.Ordinal)));
        Assert.Equal(["{\"id\":1} {\"id\":2}", "{\"id\":5}"], keys);
    }

    [Theory]
    [InlineData("id int PRIMARY KEY, tenant int", "$$'tenant:' ||$$", "syntax error")]
    [InlineData("id int PRIMARY KEY, tenant int", "$$'tenant:' || tenant_id$$", "column \"tenant_id\" does not exist")]
    [InlineData("id int PRIMARY KEY, tenant int", "$$'tenant:' || r.tenant || other.x$$", "missing FROM-clause entry for table \"other\"")]
    [InlineData("id int PRIMARY KEY, tenant int", "$$tenant) AS audience, 1 AS extra) AS a, (SELECT (1$$", "is not valid")]
    [InlineData("id int PRIMARY KEY, tenant int", "$$'a'; DROP TABLE pgnotifyhub.outbox$$", "semicolon")]
    [InlineData("id int PRIMARY KEY, tenant int", "'tenant', columns => '{id,colour}'", "column \"colour\" of table")]
    [InlineData("id int PRIMARY KEY, tenant int", "'tenant', exclude => '{colour}'", "column \"colour\" of table")]
    [InlineData("id int PRIMARY KEY, tenant int", "'tenant', key => '{colour}'", "column \"colour\" of table")]
    [InlineData("id int PRIMARY KEY, tenant int", "'tenant', exclude => '{id}'", "column id is in the key")]
    [InlineData("id int, tenant int", "'tenant'", "has no primary key")]
    [InlineData("id int PRIMARY KEY, tenant int", "'tenant', operations => '{insert,upsert}'", "unknown operation 'upsert'")]
    [InlineData("id int PRIMARY KEY, tenant int", "'tenant', operations => '{}'", "no operation to publish")]
    public async Task Publishing_refuses_what_it_cannot_publish_naming_the_problem_and_leaves_the_table_unpublished(string columns, string arguments, string problem)
    {
        await InstallAsync();
        var table = NewTableName();
        await ExecuteAsync($"CREATE TABLE {table} ({columns})");

        var error = await Assert.ThrowsAsync<PostgresException>(() => ExecuteAsync($"SELECT pgnotifyhub.publish_changes('{table}', 'c', {arguments})"));

        Assert.Contains(problem, error.MessageText + " " + error.Hint, StringComparison.Ordinal);
        Assert.Contains("publish_changes", error.MessageText, StringComparison.Ordinal);
        Assert.Equal(0, await ScalarAsync<long>($"SELECT count(*) FROM pg_trigger WHERE tgrelid = '{table}'::regclass"));
        Assert.True(await ScalarAsync<bool>("SELECT to_regclass('pgnotifyhub.outbox') IS NOT NULL"));
    }

    [Fact]
    public async Task A_partition_cannot_be_published_on_its_own()
    {
        await InstallAsync();
        var table = NewTableName();
        await ExecuteAsync($"CREATE TABLE {table} (id int PRIMARY KEY) PARTITION BY RANGE (id); CREATE TABLE {table}_all PARTITION OF {table} DEFAULT;");

        var error = await Assert.ThrowsAsync<PostgresException>(() => ExecuteAsync($"SELECT pgnotifyhub.publish_changes('{table}_all', 'c', 'id')"));

        Assert.Contains($"is a partition of public.{table}; publish that table instead", error.MessageText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Only_the_tables_owner_may_publish_it_the_audience_runs_with_the_owners_privileges_and_writers_need_none_in_pgnotifyhub()
    {
        await using var host = await StartHostAsync();
        var audience = Names.Audience();
        var suffix = Guid.NewGuid().ToString("N")[..12];
        var (owner, stranger, writer, schema) = ("rc_owner_" + suffix, "rc_stranger_" + suffix, "rc_writer_" + suffix, "rc_schema_" + suffix);
        var client = await host.ConnectAsync(Transport.WebSocket, audience);
        try
        {
            await ExecuteAsync($"""
                CREATE ROLE {owner} NOLOGIN; CREATE ROLE {stranger} NOLOGIN; CREATE ROLE {writer} NOLOGIN;
                CREATE SCHEMA {schema} AUTHORIZATION {owner};
                GRANT USAGE ON SCHEMA pgnotifyhub TO {owner}, {stranger};
                GRANT EXECUTE ON FUNCTION pgnotifyhub.publish_changes, pgnotifyhub.unpublish_changes, pgnotifyhub.append_changes TO {owner}, {stranger};
                GRANT USAGE ON SCHEMA {schema} TO {writer}, {stranger};
                """);
            await using var connection = await postgres.DataSource.OpenConnectionAsync(CancellationToken);
            await ExecuteAsync(connection, $"SET ROLE {owner}; CREATE TABLE {schema}.items (id int PRIMARY KEY, audience text); GRANT INSERT ON {schema}.items TO {writer}; RESET ROLE;");

            var notOwner = await Assert.ThrowsAsync<PostgresException>(() => ExecuteAsync(connection, $"SET ROLE {stranger}; SELECT pgnotifyhub.publish_changes('{schema}.items', '{host.Channel}', 'audience')"));
            await ExecuteAsync(connection, "RESET ROLE");
            var noGrant = await Assert.ThrowsAsync<PostgresException>(() => ExecuteAsync(connection, $"SET ROLE {writer}; SELECT pgnotifyhub.publish_changes('{schema}.items', '{host.Channel}', 'audience')"));
            await ExecuteAsync(connection, "RESET ROLE");
            var installersOnly = await Assert.ThrowsAsync<PostgresException>(() => ExecuteAsync(connection, $"SET ROLE {owner}; SELECT pgnotifyhub.publish_changes('{schema}.items', '{host.Channel}', $$pg_read_file('/etc/hostname')$$)"));
            await ExecuteAsync(connection, "RESET ROLE");
            await ExecuteAsync(connection, $"SET ROLE {owner}; SELECT pgnotifyhub.publish_changes('{schema}.items', '{host.Channel}', 'audience'); RESET ROLE;");
            await ExecuteAsync(connection, $"SET ROLE {writer}; INSERT INTO {schema}.items VALUES (1, '{audience}'); RESET ROLE;");
            var direct = await Assert.ThrowsAsync<PostgresException>(() => ExecuteAsync(connection, $"SET ROLE {writer}; SELECT pgnotifyhub.append_changes('{host.Channel}', '{schema}.items', true, '{{{audience}}}', '{{\"{{}}\"}}')"));
            await ExecuteAsync(connection, "RESET ROLE");

            Assert.Equal(("42501", $"pgnotifyhub.publish_changes: must be owner of table {schema}.items"), (notOwner.SqlState, notOwner.MessageText));
            Assert.Equal(("42501", "permission denied for schema pgnotifyhub"), (noGrant.SqlState, noGrant.MessageText));
            Assert.Contains("permission denied for function pg_read_file", installersOnly.MessageText, StringComparison.Ordinal);
            Assert.Equal("42501", direct.SqlState);
            Assert.Equal(
                $$$"""{"op":"insert","key":{"id":1},"new":{"id":1,"audience":"{{{audience}}}"}}""",
                Assert.Single(RowChangeMessage.Parse(await client.ReceiveAsync()).Changes));
            Assert.False(await ScalarAsync<bool>($"SELECT has_schema_privilege('{writer}', 'pgnotifyhub', 'USAGE') OR has_table_privilege('{writer}', 'pgnotifyhub.outbox', 'INSERT')"));
        }
        finally
        {
            await ExecuteAsync($"""
                DROP SCHEMA IF EXISTS {schema} CASCADE;
                DROP OWNED BY {owner}, {stranger}, {writer};
                DROP ROLE IF EXISTS {owner}; DROP ROLE IF EXISTS {stranger}; DROP ROLE IF EXISTS {writer};
                """);
        }
    }

    [Fact]
    public async Task A_version_1_installation_with_messages_and_a_reader_position_upgrades_in_place_and_goes_on_from_there()
    {
        var database = "rc_upgrade_" + Guid.NewGuid().ToString("N")[..12];
        var connectionString = new NpgsqlConnectionStringBuilder(postgres.ConnectionString) { Database = database, Pooling = false }.ConnectionString;
        var (channel, audience, reader) = (Names.Channel(), Names.Audience(), "node-" + Guid.NewGuid().ToString("N"));
        await ExecuteAsync($"CREATE DATABASE {database}");
        try
        {
            await using (var connection = new NpgsqlConnection(connectionString))
            {
                await connection.OpenAsync(CancellationToken);
                await ExecuteAsync(connection, await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "Sql", "pgnotifyhub-v1.sql"), CancellationToken));
                for (var i = 1; i <= 3; i++)
                {
                    await ExecuteAsync(connection, $"SELECT pgnotifyhub.send('{channel}', '{audience}', '{{\"i\": {i}, \"price\": 1.50}}')");
                }

                // A node read the first message before the upgrade.
                await ExecuteAsync(connection, $"INSERT INTO pgnotifyhub.readers (name, xid, id) SELECT '{reader}', xid, id FROM pgnotifyhub.outbox ORDER BY xid, id LIMIT 1");
                var versions = await ScalarAsync<int[]>(connection, "SELECT array_agg(version) FROM pgnotifyhub.schema_version");
                Assert.Equal(new[] { 1 }, versions);
            }

            // The node applies the embedded script, version 2, as it starts.
            await using var host = await StartHostAsync(options => (options.Channels, options.Outbox.ReaderName) = ([channel], reader), connectionString);
            var stream = host.Services.GetRequiredService<NotificationSequencer>().Stream;
            var client = await host.ConnectSequencedAsync(Transport.WebSocket, audience, host.ResumeFrom(stream, audience, 0));
            Assert.Equal(["""{"i": 2, "price": 1.50}""", """{"i": 3, "price": 1.50}"""], (await client.ReceiveAsync(2)).Select(envelope => envelope.PayloadJson));

            await using (var connection = new NpgsqlConnection(connectionString))
            {
                await connection.OpenAsync(CancellationToken);
                var upgraded = await ScalarAsync<int[]>(connection, "SELECT array_agg(version ORDER BY version) FROM pgnotifyhub.schema_version");
                Assert.Equal(new[] { 1, 2 }, upgraded);
                Assert.Equal("json", await ScalarAsync<string>(connection, "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'pgnotifyhub.outbox'::regclass AND attname = 'payload'"));
                Assert.Equal(3L, await ScalarAsync<long>(connection, "SELECT count(*) FROM pgnotifyhub.outbox"));

                await ExecuteAsync(connection, $"""
                    CREATE TABLE items (id int PRIMARY KEY, audience text);
                    SELECT pgnotifyhub.publish_changes('items', '{channel}', 'audience');
                    INSERT INTO items VALUES (1, '{audience}');
                    """);
                Assert.Equal("""{"op":"insert","key":{"id":1},"new":{"id":1,"audience":""" + "\"" + audience + "\"}}", Assert.Single(RowChangeMessage.Parse(await client.ReceiveAsync()).Changes));

                // Applying the script again changes nothing: the publication and its grants stay.
                await ExecuteAsync(connection, await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "Sql", "pgnotifyhub.sql"), CancellationToken));
                await ExecuteAsync(connection, $"INSERT INTO items VALUES (2, '{audience}'); SELECT pgnotifyhub.send('{channel}', '{audience}', '{{\"i\": 4}}');");
                Assert.Equal(["insert", "send"], (await client.ReceiveAsync(2)).Select(envelope => envelope.PayloadJson.Contains("\"changes\"", StringComparison.Ordinal) ? "insert" : "send"));
                Assert.Equal(1L, await ScalarAsync<long>(connection, "SELECT count(*) FROM pgnotifyhub.published_tables"));
            }
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await ExecuteAsync($"DROP DATABASE IF EXISTS {database} WITH (FORCE)");
        }
    }

    // Returns once the outbox reader knows where it starts, so nothing the test writes afterwards is before its start.
    private async Task<NotifyTestHost> StartHostAsync(Action<PgNotifyHubOptions>? configure = null, string? connectionString = null, int channelCount = 1)
    {
        var host = await NotifyTestHost.StartAsync(
            postgres,
            options =>
            {
                options.Outbox.Enabled = true;
                options.Outbox.InstallSchema = true;
                options.Outbox.ReaderName = "node-" + Guid.NewGuid().ToString("N");
                configure?.Invoke(options);
            },
            channelCount,
            connectionString);
        await host.Logs.WaitForAsync(e => e.EventId.Name == "OutboxReading").OrTimeout();
        return host;
    }

    /// <summary>Applies sql/pgnotifyhub.sql, for tests that need the schema but no host.</summary>
    private async Task InstallAsync() =>
        await ExecuteAsync(await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "Sql", "pgnotifyhub.sql"), CancellationToken));

    /// <summary>A table (id int primary key, audience text, v text) published to the channel with the audience column.</summary>
    private async Task<string> CreatePublishedTableAsync(string channel, bool durable, string operations = "{insert,update,delete}")
    {
        var table = NewTableName();
        await ExecuteAsync($"""
            CREATE TABLE {table} (id int PRIMARY KEY, audience text NOT NULL, v text);
            SELECT pgnotifyhub.publish_changes('{table}', '{channel}', 'audience', durable => {durable}, operations => '{operations}');
            """);
        return table;
    }

    private static string NewTableName() => "rc_" + Guid.NewGuid().ToString("N")[..12];

    private static string QuoteIdentifier(string name) => "\"" + name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    /// <summary>
    /// A marker on the path the changes took: through the outbox for durable publications, else a NOTIFY, so that once
    /// it arrives, every change written before it has arrived.
    /// </summary>
    private async Task<string> SendMarkerAsync(string channel, string audience, bool durable)
    {
        var id = Markers.NewId();
        if (durable)
        {
            await ExecuteAsync($"SELECT pgnotifyhub.send('{channel}', '{audience}', '{{\"marker\": \"{id}\"}}')");
        }
        else
        {
            await postgres.NotifyAsync(channel, Markers.Payload(audience, id), CancellationToken);
        }

        return id;
    }

    private async Task<IReadOnlyList<(string Audience, string Payload)>> OutboxMessagesAsync(string channel)
    {
        await using var command = postgres.DataSource.CreateCommand("SELECT audience, payload::text FROM pgnotifyhub.outbox WHERE channel = $1 ORDER BY xid, id");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = channel });
        await using var reader = await command.ExecuteReaderAsync(CancellationToken);
        var messages = new List<(string, string)>();
        while (await reader.ReadAsync(CancellationToken))
        {
            messages.Add((reader.GetString(0), reader.GetString(1)));
        }

        return messages;
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var command = postgres.DataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync(CancellationToken);
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(CancellationToken);
    }

    private async Task<T> ScalarAsync<T>(string sql)
    {
        await using var command = postgres.DataSource.CreateCommand(sql);
        return (T)(await command.ExecuteScalarAsync(CancellationToken))!;
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync(CancellationToken))!;
    }

    private async Task<IReadOnlyList<object>> QueryRowAsync(string sql)
    {
        await using var command = postgres.DataSource.CreateCommand(sql);
        await using var reader = await command.ExecuteReaderAsync(CancellationToken);
        Assert.True(await reader.ReadAsync(CancellationToken), "The query returned no row: " + sql);
        return [.. Enumerable.Range(0, reader.FieldCount).Select(reader.GetValue)];
    }
}
