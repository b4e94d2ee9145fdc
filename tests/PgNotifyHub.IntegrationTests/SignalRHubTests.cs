using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Logging;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.IntegrationTests;

/// <summary>SignalR-specific behaviour of the hub.</summary>
[Collection(SharedPostgres.Name)]
public sealed class SignalRHubTests(PostgresFixture postgres)
{
    [Fact]
    public async Task Connection_with_no_audience_is_closed_by_the_server()
    {
        await using var host = await NotifyTestHost.StartAsync(postgres);
        SignalRTestClient client;
        try
        {
            client = await SignalRTestClient.ConnectAsync(host.BaseUri, ",", TestContext.Current.CancellationToken).OrTimeout();
        }
        catch (Exception exception) when (exception is not TimeoutException)
        {
            return; // Refused during the handshake: as good as closed right after it.
        }

        host.Track(client);
        await client.Closed.OrTimeout();
        Assert.False(client.IsConnected);
    }

    [Fact]
    public async Task Hub_calls_cannot_change_the_audiences_of_a_connection()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await NotifyTestHost.StartAsync(postgres);
        var (mine, other) = (Names.Audience("mine"), Names.Audience("other"));
        var client = await host.ConnectSignalRAsync(mine);

        foreach (var method in new[] { "Subscribe", "JoinGroup", "AddToGroupAsync", "OnConnectedAsync" })
        {
            await Assert.ThrowsAsync<HubException>(() => client.Connection.InvokeAsync(method, other, cancellationToken).OrTimeout());
        }

        await host.AssertHearsOnlyItsOwnAudienceAsync(client, mine, other);
        Assert.True(client.IsConnected);
    }

    [Fact]
    public async Task Slow_connection_is_closed_while_a_fast_one_gets_everything()
    {
        await using var host = await NotifyTestHost.StartAsync(postgres, options => options.SendQueueCapacity = 64);
        var audience = Names.Audience();
        await host.ConnectNonReadingSignalRAsync(audience);
        var fast = await host.ConnectSignalRAsync(audience);

        await host.AssertFastClientGetsEveryMessageOfAFloodAsync(fast, audience);

        var warning = await host.Logs.WaitForAsync(e => e.IsFromLibrary && e.Level >= LogLevel.Warning).OrTimeout();
        Assert.Equal("SlowConsumer", warning.EventId.Name);
        Assert.Contains("signalr", warning.Message, StringComparison.OrdinalIgnoreCase);
    }
}
