using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RedisChannel = StackExchange.Redis.RedisChannel;

namespace PgNotifyHub.BackplaneBenchmark;

/// <summary>Nodes of one backplane: each a Kestrel host on 127.0.0.1:0 with services of its own, in this process.</summary>
internal sealed class BenchNodes : IAsyncDisposable
{
    public const string HubPath = "/bench";

    private readonly List<WebApplication> _apps = [];

    public IReadOnlyList<Uri> Addresses => [.. _apps.Select(app => new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single()))];

    /// <param name="backplane">Which backplane joins the nodes.</param>
    /// <param name="count">How many nodes.</param>
    /// <param name="postgres">The PostgreSQL connection string.</param>
    /// <param name="redis">The Redis configuration string.</param>
    /// <param name="channelPrefix">Unique per run, so runs never hear each other.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    public static async Task<BenchNodes> StartAsync(Backplane backplane, int count, string postgres, string? redis, string channelPrefix, CancellationToken cancellationToken)
    {
        var nodes = new BenchNodes();
        try
        {
            for (var i = 0; i < count; i++)
            {
                var builder = WebApplication.CreateSlimBuilder();
                builder.WebHost.UseUrls("http://127.0.0.1:0");
                builder.Logging.ClearProviders();
                builder.Logging.AddSimpleConsole();
                builder.Logging.SetMinimumLevel(LogLevel.Warning);
                var signalr = builder.Services.AddSignalR();
                if (backplane == Backplane.Postgres)
                {
                    builder.Services.AddPgNotifyHub(postgres);
                    signalr.AddPgNotifyHubBackplane(options => options.ChannelPrefix = channelPrefix);
                }
                else
                {
                    signalr.AddStackExchangeRedis(redis!, options => options.Configuration.ChannelPrefix = RedisChannel.Literal(channelPrefix));
                }

                var app = builder.Build();
                app.UseWebSockets();
                app.MapHub<BenchHub>(HubPath);
                nodes._apps.Add(app);
                await app.StartAsync(cancellationToken);
            }
        }
        catch
        {
            await nodes.DisposeAsync();
            throw;
        }

        return nodes;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var app in _apps)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
