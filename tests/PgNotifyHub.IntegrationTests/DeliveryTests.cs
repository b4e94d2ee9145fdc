using System.Text;
using Npgsql;
using PgNotifyHub.IntegrationTests.Infrastructure;
using PgNotifyHub.Testing;

namespace PgNotifyHub.IntegrationTests;

/// <summary>What arrives, when, in which order, and to whom: end to end from pg_notify to real clients.</summary>
[Collection(SharedPostgres.Name)]
public sealed class DeliveryTests(PostgresFixture postgres)
{
    [Theory]
    [InlineData(Transport.SignalR)]
    [InlineData(Transport.WebSocket)]
    public async Task Envelope_holds_payload_verbatim_then_channel_then_id(Transport transport)
    {
        await using var host = await NotifyTestHost.StartAsync(postgres);
        var audience = Names.Audience();
        var client = await host.ConnectAsync(transport, audience);
        const string json = """{ "z" : 1.0, "a":[1e400, 12345678901234567890], "html":"<b>&amp;</b>", "s":"é€😀\u00e9\n\"" }""";

        await postgres.NotifyAsync(host.Channel, audience + ", \t\n" + json + " \n", TestContext.Current.CancellationToken);

        var envelope = await client.ReceiveAsync();
        var pgwsEnvelope = "{\"payload\":" + json + ",\"channel\":\"" + host.Channel + "\",\"id\":\"" + envelope.Id.ToString("D") + "\"";
        // SignalR clients also get the fields that let them notice a gap; raw clients get pgws's envelope exactly.
        var expected = envelope.IsSequenced
            ? pgwsEnvelope + ",\"audience\":\"" + audience + "\",\"seq\":1,\"stream\":\"" + envelope.Stream + "\"}"
            : pgwsEnvelope + "}";
        Assert.Equal(transport == Transport.SignalR, envelope.IsSequenced);
        Assert.Equal(expected, envelope.Raw);
        Assert.Matches("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", envelope.Id.ToString("D"));
    }

    [Fact]
    public async Task Both_transports_receive_the_same_envelope_and_SignalR_adds_audience_seq_and_stream_at_its_end()
    {
        await using var host = await NotifyTestHost.StartAsync(postgres);
        var audience = Names.Audience();
        var signalR = await host.ConnectAsync(Transport.SignalR, audience);
        var webSocket = await host.ConnectAsync(Transport.WebSocket, audience);

        await postgres.NotifyAsync(host.Channel, Markers.Message(audience, "both"), TestContext.Current.CancellationToken);

        var fromSignalR = await signalR.ReceiveAsync();
        var fromWebSocket = await webSocket.ReceiveAsync();
        Assert.Equal(fromWebSocket.Raw[..^1] + ",\"audience\":\"" + audience + "\",\"seq\":1,\"stream\":\"" + fromSignalR.Stream + "\"}", fromSignalR.Raw);
    }

    [Theory]
    [InlineData(Transport.SignalR)]
    [InlineData(Transport.WebSocket)]
    [InlineData(Transport.EventStream)]
    public async Task Rolled_back_notify_is_never_delivered(Transport transport)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await NotifyTestHost.StartAsync(postgres);
        var audience = Names.Audience();
        var client = await host.ConnectAsync(transport, audience);
        var marker = Markers.NewId();

        await using (var connection = await postgres.DataSource.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            await NotifyAsync(connection, host.Channel, Markers.Message(audience, "rolled-back"), cancellationToken);
            await transaction.RollbackAsync(cancellationToken);
        }

        await postgres.NotifyAsync(host.Channel, Markers.Payload(audience, marker), cancellationToken);

        Assert.Empty(await client.ReceiveUntilMarkerAsync(marker));
    }

    [Theory]
    [InlineData(Transport.SignalR)]
    [InlineData(Transport.WebSocket)]
    [InlineData(Transport.EventStream)]
    public async Task Notify_in_a_transaction_arrives_only_after_commit(Transport transport)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await NotifyTestHost.StartAsync(postgres);
        var audience = Names.Audience();
        var client = await host.ConnectAsync(transport, audience);
        var marker = Markers.NewId();

        await using var connection = await postgres.DataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await NotifyAsync(connection, host.Channel, Markers.Message(audience, "committed-later"), cancellationToken);

        // Committed on another connection while the transaction is open: it arrives, the open one's does not.
        await postgres.NotifyAsync(host.Channel, Markers.Payload(audience, marker), cancellationToken);
        Assert.Empty(await client.ReceiveUntilMarkerAsync(marker));

        await transaction.CommitAsync(cancellationToken);
        Assert.True((await client.ReceiveAsync()).IsMessage("committed-later"));
    }

    [Theory]
    [InlineData(Transport.SignalR)]
    [InlineData(Transport.WebSocket)]
    [InlineData(Transport.EventStream)]
    public async Task Messages_of_a_channel_arrive_in_order(Transport transport)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await NotifyTestHost.StartAsync(postgres);
        var audience = Names.Audience();
        var client = await host.ConnectAsync(transport, audience);

        await postgres.NotifySeriesAsync(host.Channel, audience, 500, cancellationToken);

        var received = await client.ReceiveAsync(500);
        Assert.Equal(Enumerable.Range(1, 500).Select(i => (long?)i), received.Select(envelope => envelope.PayloadNumber("i")));
    }

    [Theory]
    [InlineData(Transport.SignalR)]
    [InlineData(Transport.WebSocket)]
    [InlineData(Transport.EventStream)]
    public async Task Client_receives_only_the_messages_of_its_audiences(Transport transport)
    {
        await using var host = await NotifyTestHost.StartAsync(postgres);
        var (a, b) = (Names.Audience("a"), Names.Audience("b"));
        var inA = await host.ConnectAsync(transport, a);
        var inB = await host.ConnectAsync(transport, b);
        var inBoth = await host.ConnectAsync(transport, a, b);
        var inADeclaredTwice = await host.ConnectAsync(transport, a, a);
        var (markerA, markerB) = (Markers.NewId(), Markers.NewId());

        await postgres.NotifyManyAsync(host.Channel, [
            Markers.Message(a, "for-a"),
            Markers.Message(b, "for-b"),
            Markers.Message(Names.Audience("nobody"), "for-nobody"),
            Markers.Payload(a, markerA),
            Markers.Payload(b, markerB),
        ], TestContext.Current.CancellationToken);

        Assert.Equal(["for-a"], (await inA.ReceiveUntilMarkerAsync(markerA)).Select(e => e.PayloadString("msg")));
        Assert.Equal(["for-b"], (await inB.ReceiveUntilMarkerAsync(markerB)).Select(e => e.PayloadString("msg")));
        Assert.Equal(["for-a", "for-b"], (await inBoth.ReceiveUntilMarkerAsync(markerB)).Where(e => e.PayloadString("marker") is null).Select(e => e.PayloadString("msg")));
        Assert.Equal(["for-a"], (await inADeclaredTwice.ReceiveUntilMarkerAsync(markerA)).Select(e => e.PayloadString("msg")));
    }

    [Theory]
    [InlineData(Transport.SignalR)]
    [InlineData(Transport.WebSocket)]
    [InlineData(Transport.EventStream)]
    public async Task Client_in_many_audiences_receives_each_of_their_messages_once(Transport transport)
    {
        await using var host = await NotifyTestHost.StartAsync(postgres);
        var audiences = Enumerable.Range(0, 100).Select(i => Names.Audience("m" + i)).ToArray();
        var client = await host.ConnectAsync(transport, audiences);
        var onlyFirst = await host.ConnectAsync(transport, audiences[0]);
        var marker = Markers.NewId();

        await postgres.NotifyManyAsync(host.Channel, [
            .. audiences.Select(audience => Markers.Message(audience, audience)),
            Markers.Message(Names.Audience("other"), "other"),
            Markers.Payload(audiences[0], marker),
        ], TestContext.Current.CancellationToken);

        Assert.Equal(audiences, (await client.ReceiveUntilMarkerAsync(marker)).Select(e => e.PayloadString("msg")));
        Assert.Equal([audiences[0]], (await onlyFirst.ReceiveUntilMarkerAsync(marker)).Select(e => e.PayloadString("msg")));
    }

    [Theory]
    [InlineData(Transport.SignalR)]
    [InlineData(Transport.WebSocket)]
    public async Task Client_without_audience_is_in_the_default_audience(Transport transport)
    {
        await using var host = await NotifyTestHost.StartAsync(postgres);
        var client = await host.ConnectAsync(transport);
        var marker = Markers.NewId();

        await postgres.NotifyManyAsync(host.Channel, [
            Markers.Message("default", "for-default"),
            Markers.Message("Default", "for-other-case"),
            Markers.Payload("default", marker),
        ], TestContext.Current.CancellationToken);

        Assert.Equal(["for-default"], (await client.ReceiveUntilMarkerAsync(marker)).Select(e => e.PayloadString("msg")));
    }

    [Theory]
    [InlineData(Transport.SignalR)]
    [InlineData(Transport.WebSocket)]
    public async Task Messages_on_every_configured_channel_arrive_with_their_channel(Transport transport)
    {
        await using var host = await NotifyTestHost.StartAsync(postgres, channelCount: 2);
        var audience = Names.Audience();
        var client = await host.ConnectAsync(transport, audience);
        var unlistened = Names.Channel();

        await postgres.NotifyManyAsync([
            (host.Channels[0], Markers.Message(audience, "first")),
            (unlistened, Markers.Message(audience, "unlistened")),
            (host.Channels[1], Markers.Message(audience, "second")),
        ], TestContext.Current.CancellationToken);

        var received = await client.ReceiveAsync(2);
        Assert.Equal(
            [(host.Channels[0], "first"), (host.Channels[1], "second")],
            received.Select(e => (e.Channel, e.PayloadString("msg")!)).OrderBy(pair => pair.Item2, StringComparer.Ordinal));
    }

    [Theory]
    [InlineData(Transport.SignalR)]
    [InlineData(Transport.WebSocket)]
    public async Task Largest_payload_of_7999_bytes_is_delivered_byte_for_byte(Transport transport)
    {
        await using var host = await NotifyTestHost.StartAsync(postgres);
        var audience = Names.Audience();
        var client = await host.ConnectAsync(transport, audience);
        var payload = LargePayload.Build(audience, 7_999);
        Assert.Equal(7_999, Encoding.UTF8.GetByteCount(payload));

        await postgres.NotifyAsync(host.Channel, payload, TestContext.Current.CancellationToken);

        var envelope = await client.ReceiveAsync();
        Assert.Equal(payload[(audience.Length + 1)..], envelope.PayloadJson);
        Assert.Equal(host.Channel, envelope.Channel);
    }

    [Fact]
    public async Task Payload_of_8000_bytes_is_refused_by_postgresql()
    {
        var payload = LargePayload.Build("aud", 8_000);

        var exception = await Assert.ThrowsAsync<PostgresException>(
            () => postgres.NotifyAsync(Names.Channel(), payload, TestContext.Current.CancellationToken));

        Assert.Equal(PostgresErrorCodes.InvalidParameterValue, exception.SqlState);
    }

    [Theory]
    [InlineData(Transport.SignalR)]
    [InlineData(Transport.WebSocket)]
    [InlineData(Transport.EventStream)]
    public async Task Burst_of_a_bulk_transaction_reaches_healthy_clients_whole(Transport transport)
    {
        // One statement notifying 5,000 rows, as a trigger on a bulk update would: the default send queue
        // absorbs it, so no healthy client is mistaken for a slow one.
        const int messages = 5_000;
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await NotifyTestHost.StartAsync(postgres);
        var audience = Names.Audience();
        var connected = await host.ConnectManyAsync(transport, 5, audience);

        await postgres.NotifySeriesAsync(host.Channel, audience, messages, cancellationToken);

        foreach (var client in connected)
        {
            Assert.Equal(Enumerable.Range(1, messages).Select(i => (long?)i), (await client.ReceiveAsync(messages)).Select(e => e.PayloadNumber("i")));
            Assert.True(client.IsConnected);
        }
    }

    [Theory]
    [InlineData(Transport.SignalR)]
    [InlineData(Transport.WebSocket)]
    [InlineData(Transport.EventStream)]
    public async Task Every_client_receives_every_message_exactly_once(Transport transport)
    {
        const int clients = 20;
        const int messages = 100;
        await using var host = await NotifyTestHost.StartAsync(postgres);
        var audience = Names.Audience();
        var connected = await host.ConnectManyAsync(transport, clients, audience);
        var marker = Markers.NewId();

        await postgres.NotifyManyAsync(host.Channel, [.. Enumerable.Range(1, messages).Select(i => audience + ",{\"i\":" + i + "}")], TestContext.Current.CancellationToken);
        await postgres.NotifyAsync(host.Channel, Markers.Payload(audience, marker), TestContext.Current.CancellationToken);

        var received = await Task.WhenAll(connected.Select(client => client.ReceiveUntilMarkerAsync(marker)));
        Assert.All(received, envelopes =>
            Assert.Equal(Enumerable.Range(1, messages).Select(i => (long?)i), envelopes.Select(e => e.PayloadNumber("i"))));
        var copiesPerId = received.SelectMany(envelopes => envelopes.Select(e => e.Id)).GroupBy(id => id).ToArray();
        Assert.Equal(messages, copiesPerId.Length);
        Assert.All(copiesPerId, copies => Assert.Equal(clients, copies.Count()));
    }

    private static async Task NotifyAsync(NpgsqlConnection connection, string channel, string payload, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT pg_notify($1, $2)", connection);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = channel });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = payload });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
