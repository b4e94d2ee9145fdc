using PgNotifyHub.BrowserTests.Infrastructure;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.BrowserTests;

/// <summary>The sample .NET client, as a user runs it: <c>dotnet run --project clients/dotnet -- &lt;hub url&gt;</c>.</summary>
[Collection(SharedBrowser.Name)]
public sealed class ConsoleClientTests(PostgresFixture postgres)
{
    [Fact]
    public async Task Console_client_prints_each_envelope_reconnects_after_a_server_restart_and_stops_cleanly()
    {
        var channel = Names.Channel();
        var server = await ServerProcess.StartAsync(Settings.Server(postgres, channel));
        try
        {
            await using var client = ConsoleClientProcess.Start(new Uri(server.BaseUri, "/hub"));
            await client.WaitForLineAsync("connected to");
            var first = await ProbeUntilPrintedAsync(client, channel);
            Assert.Contains(channel, first, StringComparison.Ordinal);

            server = await server.KillAndRestartAsync();
            await client.WaitForLineAsync(line => line.StartsWith("connected", StringComparison.Ordinal), skip: client.LineCount);
            await ProbeUntilPrintedAsync(client, channel);

            // A payload with "message" is also shown through the typed record of clients/dotnet/Greeting.cs.
            var greeting = Markers.NewId();
            await postgres.NotifyAsync(channel, "default,{\"message\":\"" + greeting + "\"}", TestContext.Current.CancellationToken);
            await client.WaitForLineAsync("message: " + greeting);

            Assert.Equal(0, await client.StopAsync());
            Assert.Contains("stopped", client.Output, StringComparison.Ordinal);
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    // The client reports "connected" before the server has registered it: probe until a message is printed.
    private async Task<string> ProbeUntilPrintedAsync(ConsoleClientProcess client, string channel)
    {
        var id = Markers.NewId();
        var printed = client.WaitForLineAsync(id);
        await Probes.SendUntilAsync(n => postgres.NotifyAsync(channel, Probes.Payload("default", id, n), TestContext.Current.CancellationToken), printed);
        return await printed;
    }
}
