using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using PgNotifyHub.Backplane;
using PgNotifyHub.IntegrationTests.Infrastructure;
using PgNotifyHub.Transports.SignalR;

namespace PgNotifyHub.IntegrationTests.Backplane;

/// <summary>Three nodes on one PostgreSQL, each with its own listener, and clients of both transports spread across them.</summary>
[Collection(SharedPostgres.Name)]
public sealed class MultiNodeBridgeTests(PostgresFixture postgres)
{
    private const int NodeCount = 3;
    private const int MessagesPerAudience = 20;

    [Fact]
    public async Task Every_client_on_three_nodes_receives_each_notify_of_its_audience_exactly_once()
    {
        await using var nodes = await BackplaneNodes.StartAsync(postgres, NodeCount, backplane: false);

        await AssertEachClientGetsItsAudienceExactlyOnceAsync(nodes);
    }

    [Fact]
    public async Task With_the_backplane_on_every_node_no_notify_reaches_a_client_twice()
    {
        await using var nodes = await BackplaneNodes.StartAsync(postgres, NodeCount, backplane: true);
        foreach (var host in nodes.Hosts)
        {
            Assert.IsType<NotifyHubLifetimeManager>(host.Services.GetRequiredService<HubLifetimeManager<PgNotificationHub>>());
            Assert.IsType<PostgresHubLifetimeManager<BackplaneTestHub>>(host.Services.GetRequiredService<HubLifetimeManager<BackplaneTestHub>>());
        }

        // The application's hub is in use on every node, so each node's backplane is live while the NOTIFYs arrive.
        var appClients = new List<BackplaneClient>();
        for (var node = 0; node < NodeCount; node++)
        {
            appClients.Add(await nodes.ConnectAsync(node, $"app{node}"));
        }

        await AssertEachClientGetsItsAudienceExactlyOnceAsync(nodes);

        var marker = Markers.NewId();
        await nodes.HubContext(1).Clients.All.SendAsync(BackplaneTestHub.MessageMethod, marker, TestContext.Current.CancellationToken);
        foreach (var client in appClients)
        {
            Assert.Empty(await client.ReceiveUntilAsync(marker));
        }
    }

    private async Task AssertEachClientGetsItsAudienceExactlyOnceAsync(BackplaneNodes nodes)
    {
        string[] audiences = [Names.Audience("a"), Names.Audience("b")];
        var clients = new List<(NotifyTestClient Client, string Audience)>();
        foreach (var host in nodes.Hosts)
        {
            foreach (var audience in audiences)
            {
                foreach (var transport in new[] { Transport.SignalR, Transport.WebSocket })
                {
                    clients.Add((await host.ConnectToAsync(transport, null, nodes.Channel, audience), audience));
                }
            }
        }

        // Interleaved in one transaction, then a marker per audience: everything before a marker is all a client got.
        var notifications = Enumerable.Range(0, MessagesPerAudience)
            .SelectMany(i => audiences.Select(audience => (nodes.Channel, Markers.Message(audience, $"{audience}-{i}"))))
            .ToList();
        var marker = Markers.NewId();
        notifications.AddRange(audiences.Select(audience => (nodes.Channel, Markers.Payload(audience, marker))));
        await postgres.NotifyManyAsync(notifications, TestContext.Current.CancellationToken);

        foreach (var (client, audience) in clients)
        {
            var received = await client.ReceiveUntilMarkerAsync(marker);
            var expected = Enumerable.Range(0, MessagesPerAudience).Select(i => $"{audience}-{i}");
            Assert.Equal(expected, received.Select(envelope => envelope.PayloadString("msg")));
        }
    }
}
