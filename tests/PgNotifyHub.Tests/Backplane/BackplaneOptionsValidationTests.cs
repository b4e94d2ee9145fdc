using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PgNotifyHub.Backplane;

namespace PgNotifyHub.Tests.Backplane;

public sealed class BackplaneOptionsValidationTests
{
    // Nothing listens on port 1: a host that wrongly passed validation would only log connection failures.
    private const string UnreachableDatabase = "Host=127.0.0.1;Port=1;Username=postgres;Timeout=1";

    public static TheoryData<string, string> BadSettings => new()
    {
        { "PgNotifyHub:Backplane:ChannelPrefix", "" },
        { "PgNotifyHub:Backplane:ChannelPrefix", new string('p', BackplaneChannel.MaxPrefixBytes + 1) },
        { "PgNotifyHub:Backplane:AckTimeout", "00:00:00" },
        { "PgNotifyHub:Backplane:SpillRetention", "-00:00:01" },
    };

    [Theory]
    [MemberData(nameof(BadSettings))]
    public async Task Bad_backplane_setting_stops_startup_naming_the_setting(string key, string value)
    {
        using var host = BuildHost(new() { [key] = value });

        var exception = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(TestContext.Current.CancellationToken));

        Assert.Contains(key, exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Longest_prefix_gives_a_channel_postgres_keeps_whole()
    {
        var channel = BackplaneChannel.For(new string('p', BackplaneChannel.MaxPrefixBytes), typeof(BackplaneOptionsValidationTests));

        Assert.Equal(63, channel.Length);
    }

    [Fact]
    public void Hubs_get_channels_of_their_own()
    {
        Assert.NotEqual(BackplaneChannel.For("p_", typeof(PgNotificationHub)), BackplaneChannel.For("p_", typeof(Hub)));
        Assert.Equal(BackplaneChannel.For("p_", typeof(PgNotificationHub)), BackplaneChannel.For("p_", typeof(PgNotificationHub)));
    }

    [Fact]
    public void Backplane_serves_the_applications_hubs_and_leaves_the_notify_hub_its_own_manager()
    {
        using var host = BuildHost([]);
        var services = host.Services;

        Assert.IsType<PgNotifyHub.Transports.SignalR.NotifyHubLifetimeManager>(services.GetRequiredService<HubLifetimeManager<PgNotificationHub>>());
        Assert.IsType<PostgresHubLifetimeManager<ChatHub>>(services.GetRequiredService<HubLifetimeManager<ChatHub>>());
    }

    private static IHost BuildHost(Dictionary<string, string?> configuration)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(configuration);
        builder.Logging.ClearProviders();
        builder.Services.AddPgNotifyHub(UnreachableDatabase);
        builder.Services.AddSignalR().AddPgNotifyHubBackplane();
        return builder.Build();
    }

    private sealed class ChatHub : Hub;
}
