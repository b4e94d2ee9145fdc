using System.Diagnostics;
using Microsoft.AspNetCore.SignalR;
using Npgsql;
using PgNotifyHub.IntegrationTests.Backplane;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.IntegrationTests;

/// <summary>
/// The <c>PgNotifyHub</c> activity source, exported through OpenTelemetry's in-memory exporter: the spans of one NOTIFY,
/// of the listener's connections, of the outbox and of the backplane, their parents and their attributes.
/// </summary>
[Collection(SharedPostgres.Name)]
public sealed class TracingTests(PostgresFixture postgres)
{
    private const string SenderSource = "PgNotifyHub.IntegrationTests.Sender";

    [Fact]
    public async Task One_NOTIFY_is_a_receive_span_with_a_dispatch_child_with_a_publish_child_naming_its_channel_audience_and_recipients()
    {
        using var spans = new ExportedSpans();
        await using var host = await NotifyTestHost.StartAsync(postgres);
        var backend = await host.ListeningBackendAsync();
        var audience = Names.Audience();
        var webSocket = await host.ConnectWebSocketAsync(audience);
        var signalR = await host.ConnectSignalRAsync(audience);

        await postgres.NotifyAsync(host.Channel, Markers.Message(audience, "traced"), TestContext.Current.CancellationToken);
        var envelope = await webSocket.ReceiveAsync();
        await signalR.ReceiveAsync();

        var publish = await spans.WaitForAsync(span => span.OperationName == "pgnotifyhub.publish" && Tag(span, "messaging.destination.name") == host.Channel);
        var dispatch = await spans.ParentOfAsync(publish);
        var receive = await spans.ParentOfAsync(dispatch);

        Assert.Equal(ActivityKind.Internal, publish.Kind);
        Assert.Equal(ActivityStatusCode.Unset, publish.Status);
        Assert.Equal(audience, Tag(publish, "pgnotifyhub.audience"));
        Assert.Equal(envelope.Id.ToString(), Tag(publish, "messaging.message.id"));
        Assert.Equal(1L, publish.GetTagItem("pgnotifyhub.sequence"));
        Assert.Equal(2, publish.GetTagItem("pgnotifyhub.recipient.count"));
        Assert.Equal("postgresql", Tag(publish, "messaging.system"));

        Assert.Equal("pgnotifyhub.dispatch", dispatch.OperationName);
        Assert.Equal(1, dispatch.GetTagItem("messaging.batch.message_count"));
        Assert.Equal(host.Channel, Tag(dispatch, "messaging.destination.name"));
        Assert.Equal(1, dispatch.GetTagItem("pgnotifyhub.audience.count"));
        Assert.Equal(2, dispatch.GetTagItem("pgnotifyhub.recipient.count"));

        Assert.Equal("pgnotifyhub.receive", receive.OperationName);
        Assert.Equal(ActivityKind.Consumer, receive.Kind);
        Assert.Equal(default, receive.ParentSpanId);
        Assert.Equal("receive", Tag(receive, "messaging.operation.type"));
        Assert.Equal(host.Channel, Tag(receive, "messaging.destination.name"));
        Assert.Equal(1, receive.GetTagItem("messaging.batch.message_count"));
        Assert.Equal(backend, receive.GetTagItem("pgnotifyhub.listener.backend_pid"));
        Assert.Equal(
            [receive.SpanId],
            spans.All.Where(span => span.TraceId == receive.TraceId && span.OperationName == "pgnotifyhub.dispatch").Select(span => span.ParentSpanId));
    }

    [Fact]
    public async Task A_payload_that_is_not_audience_and_json_is_a_failed_publish_span()
    {
        using var spans = new ExportedSpans();
        await using var host = await NotifyTestHost.StartAsync(postgres);

        await postgres.NotifyAsync(host.Channel, "not a payload", TestContext.Current.CancellationToken);

        var publish = await spans.WaitForAsync(span => span.OperationName == "pgnotifyhub.publish" && Tag(span, "messaging.destination.name") == host.Channel);
        Assert.Equal(ActivityStatusCode.Error, publish.Status);
        Assert.Equal("invalid_payload", Tag(publish, "error.type"));
        Assert.Null(publish.GetTagItem("pgnotifyhub.recipient.count"));
    }

    [Fact]
    public async Task The_listener_s_connect_and_reconnect_are_spans_with_the_backend_and_the_channels_and_the_resync_is_an_event()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        using var spans = new ExportedSpans();
        await using var host = await NotifyTestHost.StartAsync(postgres);
        var backend = await host.ListeningBackendAsync();

        var connect = await spans.WaitForAsync(span => span.OperationName == "pgnotifyhub.listener.connect" && ListensOn(span, host.Channel));
        await postgres.TerminateBackendAsync(backend, cancellationToken);
        var reconnected = await host.ReconnectedBackendAsync(backend);
        var reconnect = await spans.WaitForAsync(span => span.OperationName == "pgnotifyhub.listener.connect" && ListensOn(span, host.Channel) && span != connect);
        // The new connection's first read carries the mark of the reconnect, whose dispatch resyncs every client.
        var firstRead = await spans.WaitForAsync(span => span.OperationName == "pgnotifyhub.receive" && Equals(span.GetTagItem("pgnotifyhub.listener.backend_pid"), reconnected));
        var resync = Assert.Single(spans.All, span => span.OperationName == "pgnotifyhub.dispatch" && span.ParentSpanId == firstRead.SpanId);

        Assert.Equal(ActivityKind.Client, connect.Kind);
        Assert.Equal(default, connect.ParentSpanId);
        Assert.Equal(backend, connect.GetTagItem("pgnotifyhub.listener.backend_pid"));
        Assert.Equal(false, connect.GetTagItem("pgnotifyhub.listener.reconnect"));
        Assert.Equal("postgresql", Tag(connect, "db.system.name"));
        Assert.Equal("127.0.0.1", Tag(connect, "server.address"));
        Assert.Equal(reconnected, reconnect.GetTagItem("pgnotifyhub.listener.backend_pid"));
        Assert.Equal(true, reconnect.GetTagItem("pgnotifyhub.listener.reconnect"));
        Assert.Equal(ActivityStatusCode.Unset, reconnect.Status);
        Assert.Contains(resync.Events, e => e.Name == "pgnotifyhub.resync");
    }

    [Fact]
    public async Task An_outbox_message_is_dispatched_under_the_span_of_the_read_that_found_it()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        using var spans = new ExportedSpans();
        var readerName = "node-" + Guid.NewGuid().ToString("N");
        await using var host = await NotifyTestHost.StartAsync(postgres, options =>
        {
            options.Outbox.Enabled = true;
            options.Outbox.InstallSchema = true;
            options.Outbox.ReaderName = readerName;
        });
        await host.Logs.WaitForAsync(e => e.EventId.Name == "OutboxReading").OrTimeout();
        var audience = Names.Audience();

        await using (var send = postgres.DataSource.CreateCommand("SELECT pgnotifyhub.send($1, $2, '{\"durable\":true}'::jsonb)"))
        {
            send.Parameters.Add(new NpgsqlParameter<string> { TypedValue = host.Channel });
            send.Parameters.Add(new NpgsqlParameter<string> { TypedValue = audience });
            await send.ExecuteNonQueryAsync(cancellationToken);
        }

        var publish = await spans.WaitForAsync(span => span.OperationName == "pgnotifyhub.publish" && Tag(span, "pgnotifyhub.audience") == audience);
        var dispatch = await spans.ParentOfAsync(publish);
        var read = await spans.ParentOfAsync(dispatch);

        Assert.Equal(host.Channel, Tag(publish, "messaging.destination.name"));
        Assert.Equal("pgnotifyhub.outbox.read", read.OperationName);
        Assert.Equal(ActivityKind.Client, read.Kind);
        Assert.Equal(readerName, Tag(read, "pgnotifyhub.outbox.reader"));
        Assert.Equal(1, read.GetTagItem("messaging.batch.message_count"));
    }

    [Fact]
    public async Task A_backplane_send_is_a_publish_span_linked_to_its_sender_and_a_receive_span_per_frame()
    {
        using var sender = new ActivitySource(SenderSource);
        using var spans = new ExportedSpans(SenderSource);
        await using var nodes = await BackplaneNodes.StartAsync(postgres, count: 1, backplane: true);
        var client = await nodes.ConnectAsync(0, "a");

        ActivityContext sending;
        using (var send = sender.StartActivity("send to all"))
        {
            sending = send!.Context;
            await nodes.HubContext(0).Clients.All.SendAsync(BackplaneTestHub.MessageMethod, "traced", TestContext.Current.CancellationToken);
        }

        Assert.Equal("traced", await client.ReceiveAsync());
        var publish = await spans.WaitForAsync(span => span.OperationName == "pgnotifyhub.backplane.publish" && span.Links.Any(link => link.Context == sending));
        var channel = Tag(publish, "messaging.destination.name");
        var receive = await spans.WaitForAsync(span => span.OperationName == "pgnotifyhub.backplane.receive" && Tag(span, "messaging.destination.name") == channel);
        var dispatch = await spans.ParentOfAsync(receive);

        Assert.Equal(ActivityKind.Producer, publish.Kind);
        Assert.Equal("send", Tag(publish, "messaging.operation.type"));
        Assert.StartsWith("t", channel);
        Assert.True((int)publish.GetTagItem("messaging.batch.message_count")! >= 1);
        Assert.Equal(1, publish.GetTagItem("pgnotifyhub.backplane.notify.count"));
        Assert.Equal(0, publish.GetTagItem("pgnotifyhub.backplane.spill.count"));
        Assert.Equal(ActivityKind.Consumer, receive.Kind);
        Assert.Equal("invocation", Tag(receive, "pgnotifyhub.backplane.frame.kind"));
        Assert.Equal(typeof(BackplaneTestHub).FullName, Tag(receive, "pgnotifyhub.backplane.hub"));
        Assert.Equal(false, receive.GetTagItem("pgnotifyhub.backplane.spilled"));
        Assert.Equal("pgnotifyhub.dispatch", dispatch.OperationName);
        Assert.Equal("pgnotifyhub.receive", (await spans.ParentOfAsync(dispatch)).OperationName);
    }

    private static string? Tag(Activity span, string name) => span.GetTagItem(name) as string;

    private static bool ListensOn(Activity span, string channel) =>
        span.GetTagItem("pgnotifyhub.listener.channels") is string[] channels && channels.Contains(channel);
}
