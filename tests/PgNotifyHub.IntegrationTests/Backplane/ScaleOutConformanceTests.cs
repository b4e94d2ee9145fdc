using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.IntegrationTests.Backplane;

/// <summary>
/// What a SignalR scale-out must do, after ASP.NET Core's own lifetime manager specification tests, with real Kestrel
/// nodes and real clients: client <c>i</c> connects to node <c>i mod NodeCount</c>, so with one node every case runs
/// on that node. Sends come from a node other than the recipient's wherever there is one.
/// </summary>
public abstract class ScaleOutConformanceTests(PostgresFixture postgres)
{
    protected abstract int NodeCount { get; }

    protected abstract bool UseBackplane { get; }

    protected PostgresFixture Postgres => postgres;

    private static CancellationToken CancellationToken => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Send_to_all_reaches_every_client_on_every_node()
    {
        await using var nodes = await StartAsync();
        var clients = await ConnectAsync(nodes, 2 * NodeCount);

        await nodes.HubContext(NodeCount - 1).Clients.All.SendAsync(BackplaneTestHub.MessageMethod, "hello", CancellationToken);

        foreach (var client in clients)
        {
            Assert.Equal("hello", await client.ReceiveAsync());
        }
    }

    [Fact]
    public async Task Send_to_all_except_skips_only_the_excluded_connections()
    {
        await using var nodes = await StartAsync();
        var (a, b, c) = await ConnectThreeAsync(nodes);

        await nodes.HubContext(2).Clients.AllExcept(b.ConnectionId).SendAsync(BackplaneTestHub.MessageMethod, "not b", CancellationToken);
        var marker = await SendMarkerToAllAsync(nodes);

        Assert.Equal(["not b"], await a.ReceiveUntilAsync(marker));
        Assert.Empty(await b.ReceiveUntilAsync(marker));
        Assert.Equal(["not b"], await c.ReceiveUntilAsync(marker));
    }

    [Fact]
    public async Task Send_to_connections_reaches_only_those_connections_wherever_they_are()
    {
        await using var nodes = await StartAsync();
        var (a, b, c) = await ConnectThreeAsync(nodes);

        await nodes.HubContext(1).Clients.Client(a.ConnectionId).SendAsync(BackplaneTestHub.MessageMethod, "to a", CancellationToken);
        await nodes.HubContext(0).Clients.Clients(b.ConnectionId, c.ConnectionId).SendAsync(BackplaneTestHub.MessageMethod, "to b and c", CancellationToken);
        var marker = await SendMarkerToAllAsync(nodes);

        Assert.Equal(["to a"], await a.ReceiveUntilAsync(marker));
        Assert.Equal(["to b and c"], await b.ReceiveUntilAsync(marker));
        Assert.Equal(["to b and c"], await c.ReceiveUntilAsync(marker));
    }

    [Fact]
    public async Task Send_to_group_from_a_hub_method_reaches_its_members_on_every_node_only()
    {
        await using var nodes = await StartAsync();
        var group = Names.Audience("group");
        var members = await ConnectAsync(nodes, NodeCount);
        var outsider = await nodes.ConnectAsync(1, "outsider");
        foreach (var member in members)
        {
            await member.Connection.InvokeAsync(nameof(BackplaneTestHub.Join), group, CancellationToken).OrTimeout();
        }

        await outsider.Connection.InvokeAsync(nameof(BackplaneTestHub.SendToGroup), group, "members only", CancellationToken).OrTimeout();
        var marker = await SendMarkerToAllAsync(nodes);

        foreach (var member in members)
        {
            Assert.Equal(["members only"], await member.ReceiveUntilAsync(marker));
        }

        Assert.Empty(await outsider.ReceiveUntilAsync(marker));
    }

    [Fact]
    public async Task Send_to_groups_and_to_group_except_reach_the_right_members()
    {
        await using var nodes = await StartAsync();
        var (red, blue) = (Names.Audience("red"), Names.Audience("blue"));
        var (a, b, c) = await ConnectThreeAsync(nodes);
        await a.Connection.InvokeAsync(nameof(BackplaneTestHub.Join), red, CancellationToken).OrTimeout();
        await b.Connection.InvokeAsync(nameof(BackplaneTestHub.Join), red, CancellationToken).OrTimeout();
        await c.Connection.InvokeAsync(nameof(BackplaneTestHub.Join), blue, CancellationToken).OrTimeout();

        await nodes.HubContext(1).Clients.Groups(red, blue).SendAsync(BackplaneTestHub.MessageMethod, "red and blue", CancellationToken);
        await nodes.HubContext(2).Clients.GroupExcept(red, a.ConnectionId).SendAsync(BackplaneTestHub.MessageMethod, "red but a", CancellationToken);
        var marker = await SendMarkerToAllAsync(nodes);

        Assert.Equal(["red and blue"], await a.ReceiveUntilAsync(marker));
        Assert.Equal(["red and blue", "red but a"], await b.ReceiveUntilAsync(marker));
        Assert.Equal(["red and blue"], await c.ReceiveUntilAsync(marker));
    }

    [Fact]
    public async Task Send_to_user_and_users_reaches_every_connection_of_those_users()
    {
        await using var nodes = await StartAsync();
        var (ann, bob) = (Names.Audience("ann"), Names.Audience("bob"));
        var annOnFirst = await nodes.ConnectAsync(0, "ann0", ann);
        var annOnSecond = await nodes.ConnectAsync(1, "ann1", ann);
        var bobClient = await nodes.ConnectAsync(2, "bob", bob);
        var anonymous = await nodes.ConnectAsync(0, "anonymous");

        await nodes.HubContext(2).Clients.User(ann).SendAsync(BackplaneTestHub.MessageMethod, "to ann", CancellationToken);
        await nodes.HubContext(0).Clients.Users(ann, bob).SendAsync(BackplaneTestHub.MessageMethod, "to ann and bob", CancellationToken);
        var marker = await SendMarkerToAllAsync(nodes);

        Assert.Equal(["to ann", "to ann and bob"], await annOnFirst.ReceiveUntilAsync(marker));
        Assert.Equal(["to ann", "to ann and bob"], await annOnSecond.ReceiveUntilAsync(marker));
        Assert.Equal(["to ann and bob"], await bobClient.ReceiveUntilAsync(marker));
        Assert.Empty(await anonymous.ReceiveUntilAsync(marker));
    }

    [Fact]
    public async Task Connection_on_another_node_is_added_to_a_group_and_removed_from_it()
    {
        await using var nodes = await StartAsync();
        var group = Names.Audience("group");
        var (a, b, _) = await ConnectThreeAsync(nodes);

        // Returns once a's node has acknowledged the change, so the send after it finds a in the group.
        await b.Connection.InvokeAsync(nameof(BackplaneTestHub.AddToGroup), a.ConnectionId, group, CancellationToken).OrTimeout();
        await nodes.HubContext(2).Clients.Group(group).SendAsync(BackplaneTestHub.MessageMethod, "while a member", CancellationToken);
        await nodes.HubContext(1).Groups.RemoveFromGroupAsync(a.ConnectionId, group, CancellationToken).OrTimeout();
        await nodes.HubContext(2).Clients.Group(group).SendAsync(BackplaneTestHub.MessageMethod, "after leaving", CancellationToken);
        var marker = await SendMarkerToAllAsync(nodes);

        Assert.Equal(["while a member"], await a.ReceiveUntilAsync(marker));
        Assert.Empty(await b.ReceiveUntilAsync(marker));
    }

    [Fact]
    public async Task Disconnected_connection_leaves_its_groups()
    {
        await using var nodes = await StartAsync();
        var group = Names.Audience("group");
        var (a, b, _) = await ConnectThreeAsync(nodes);
        await a.Connection.InvokeAsync(nameof(BackplaneTestHub.Join), group, CancellationToken).OrTimeout();
        await b.Connection.InvokeAsync(nameof(BackplaneTestHub.Join), group, CancellationToken).OrTimeout();

        await a.Connection.StopAsync(CancellationToken).OrTimeout();
        var again = await nodes.ConnectAsync(0, "again");
        await again.Connection.InvokeAsync(nameof(BackplaneTestHub.Join), group, CancellationToken).OrTimeout();
        await nodes.HubContext(2).Clients.Group(group).SendAsync(BackplaneTestHub.MessageMethod, "to the group", CancellationToken);

        Assert.Equal("to the group", await b.ReceiveAsync());
        Assert.Equal("to the group", await again.ReceiveAsync());
    }

    [Fact]
    public async Task Message_larger_than_a_notify_payload_reaches_every_node()
    {
        await using var nodes = await StartAsync();
        var clients = await ConnectAsync(nodes, NodeCount);
        var large = string.Concat(Enumerable.Repeat("0123456789abcdef", 2048));

        await nodes.HubContext(1).Clients.All.SendAsync(BackplaneTestHub.MessageMethod, large, CancellationToken);
        await nodes.HubContext(1).Clients.All.SendAsync(BackplaneTestHub.MessageMethod, "small, after it", CancellationToken);

        foreach (var client in clients)
        {
            Assert.Equal(large, await client.ReceiveAsync());
            Assert.Equal("small, after it", await client.ReceiveAsync());
        }
    }

    [Fact]
    public async Task Messages_of_one_sender_arrive_in_the_order_sent()
    {
        const int count = 200;
        await using var nodes = await StartAsync();
        var clients = await ConnectAsync(nodes, NodeCount);
        var group = Names.Audience("group");
        foreach (var client in clients)
        {
            await client.Connection.InvokeAsync(nameof(BackplaneTestHub.Join), group, CancellationToken).OrTimeout();
        }

        var sender = nodes.HubContext(NodeCount - 1);
        for (var i = 0; i < count; i++)
        {
            await sender.Clients.Group(group).SendAsync(BackplaneTestHub.MessageMethod, i.ToString(System.Globalization.CultureInfo.InvariantCulture), CancellationToken);
        }

        var marker = await SendMarkerToAllAsync(nodes);
        var expected = Enumerable.Range(0, count).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        foreach (var client in clients)
        {
            Assert.Equal(expected, await client.ReceiveUntilAsync(marker));
        }
    }

    [Fact]
    public async Task Client_result_comes_back_from_a_connection_on_another_node()
    {
        await using var nodes = await StartAsync();
        var (a, b, _) = await ConnectThreeAsync(nodes);

        var fromA = await nodes.HubContext(1).Clients.Client(a.ConnectionId).InvokeAsync<string>(BackplaneTestHub.AskMethod, CancellationToken).OrTimeout();
        var fromB = await nodes.HubContext(0).Clients.Client(b.ConnectionId).InvokeAsync<string>(BackplaneTestHub.AskMethod, CancellationToken).OrTimeout();

        Assert.Equal(a.Name, fromA);
        Assert.Equal(b.Name, fromB);
    }

    [Fact]
    public async Task Clients_of_either_protocol_get_the_same_sends_and_give_results_across_nodes()
    {
        await using var nodes = await StartAsync();
        var json = await nodes.ConnectAsync(0, "json");
        var messagePack = await nodes.ConnectAsync(1, "messagepack", messagePack: true);

        await nodes.HubContext(2).Clients.All.SendAsync(BackplaneTestHub.MessageMethod, "to both", CancellationToken);
        var answer = await nodes.HubContext(0).Clients.Client(messagePack.ConnectionId).InvokeAsync<string>(BackplaneTestHub.AskMethod, CancellationToken).OrTimeout();

        Assert.Equal("to both", await json.ReceiveAsync());
        Assert.Equal("to both", await messagePack.ReceiveAsync());
        Assert.Equal("messagepack", answer);
    }

    [Fact]
    public async Task Client_result_fails_when_the_connection_closes_before_answering()
    {
        await using var nodes = await StartAsync();
        var (a, _, _) = await ConnectThreeAsync(nodes);

        var invocation = nodes.HubContext(1).Clients.Client(a.ConnectionId).InvokeAsync<string>(BackplaneTestHub.NeverAnswerMethod, CancellationToken);
        await a.Unanswered.OrTimeout();
        await a.Connection.StopAsync(CancellationToken).OrTimeout();

        var error = await Assert.ThrowsAnyAsync<Exception>(() => invocation.OrTimeout());
        Assert.Contains("disconnected", error.Message, StringComparison.Ordinal);
    }

    protected Task<BackplaneNodes> StartAsync(Action<PgNotifyHubBackplaneOptions>? configure = null) =>
        BackplaneNodes.StartAsync(postgres, NodeCount, UseBackplane, configure);

    /// <summary>Clients named c0, c1… on nodes 0, 1… in turn.</summary>
    protected static async Task<IReadOnlyList<BackplaneClient>> ConnectAsync(BackplaneNodes nodes, int count)
    {
        var clients = new List<BackplaneClient>();
        for (var i = 0; i < count; i++)
        {
            clients.Add(await nodes.ConnectAsync(i, $"c{i}"));
        }

        return clients;
    }

    /// <summary>a, b and c on nodes 0, 1 and 2.</summary>
    protected static async Task<(BackplaneClient A, BackplaneClient B, BackplaneClient C)> ConnectThreeAsync(BackplaneNodes nodes) =>
        (await nodes.ConnectAsync(0, "a"), await nodes.ConnectAsync(1, "b"), await nodes.ConnectAsync(2, "c"));

    /// <summary>
    /// A marker to everyone, sent after the sends under test have completed: one hub's messages reach every node in
    /// the order they were committed, so once a client has the marker nothing sent earlier can still arrive.
    /// </summary>
    protected static async Task<string> SendMarkerToAllAsync(BackplaneNodes nodes)
    {
        var marker = "marker-" + Markers.NewId();
        await nodes.HubContext(0).Clients.All.SendAsync(BackplaneTestHub.MessageMethod, marker, CancellationToken);
        return marker;
    }
}
