using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.IntegrationTests.Backplane;

/// <summary>
/// Several <see cref="NotifyTestHost"/>s, each a node with its own listener and services, on one PostgreSQL: they
/// share a NOTIFY channel for PgNotifyHub's endpoints and map <see cref="BackplaneTestHub"/> at <see cref="HubPath"/>,
/// scaled out through the PostgreSQL backplane or, without it, with SignalR's default in-memory lifetime manager. The
/// hub speaks JSON and MessagePack.
/// </summary>
public sealed class BackplaneNodes : IAsyncDisposable
{
    public const string HubPath = "/app";

    private readonly List<NotifyTestHost> _hosts = [];
    private readonly List<BackplaneClient> _clients = [];

    private BackplaneNodes(string channel) => Channel = channel;

    public IReadOnlyList<NotifyTestHost> Hosts => _hosts;

    /// <summary>The NOTIFY channel every node's PgNotifyHub endpoints listen on.</summary>
    public string Channel { get; }

    public static async Task<BackplaneNodes> StartAsync(PostgresFixture postgres, int count, bool backplane, Action<PgNotifyHubBackplaneOptions>? configure = null)
    {
        var nodes = new BackplaneNodes(Names.Channel());
        // Unique per test, so tests running in parallel never share a hub channel.
        var prefix = "t" + Guid.NewGuid().ToString("N")[..16] + "_";
        try
        {
            for (var i = 0; i < count; i++)
            {
                nodes._hosts.Add(await NotifyTestHost.StartAsync(
                    postgres,
                    options => options.Channels = [nodes.Channel],
                    configureServices: services =>
                    {
                        services.AddSingleton<IUserIdProvider, HeaderUserIdProvider>();
                        services.AddSignalR().AddMessagePackProtocol();
                        if (backplane)
                        {
                            services.AddSignalR().AddPgNotifyHubBackplane(options =>
                            {
                                options.ChannelPrefix = prefix;
                                configure?.Invoke(options);
                            });
                        }
                    },
                    mapEndpoints: (app, _) => app.MapHub<BackplaneTestHub>(HubPath)));
            }
        }
        catch
        {
            await nodes.DisposeAsync();
            throw;
        }

        return nodes;
    }

    public IHubContext<BackplaneTestHub> HubContext(int node) =>
        _hosts[node % _hosts.Count].Services.GetRequiredService<IHubContext<BackplaneTestHub>>();

    /// <summary>Connects to node <paramref name="node"/> (modulo the number of nodes); disposed with the nodes.</summary>
    public async Task<BackplaneClient> ConnectAsync(int node, string name, string? user = null, bool messagePack = false)
    {
        var index = node % _hosts.Count;
        var client = await BackplaneClient.ConnectAsync(_hosts[index].BaseUri, HubPath, index, name, user, messagePack);
        lock (_clients)
        {
            _clients.Add(client);
        }

        return client;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients)
        {
            await client.DisposeAsync();
        }

        foreach (var host in _hosts)
        {
            await host.DisposeAsync();
        }
    }
}
