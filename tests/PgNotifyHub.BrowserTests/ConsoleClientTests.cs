using PgNotifyHub.BrowserTests.Infrastructure;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.BrowserTests;

/// <summary>The sample .NET client, as a user runs it: <c>dotnet run --project clients/dotnet -- &lt;hub url&gt;</c>.</summary>
[Collection(SharedBrowser.Name)]
public sealed class ConsoleClientTests(PostgresFixture postgres)
{
    [Fact]
    public async Task Console_client_prints_each_envelope_reconnects_after_a_server_restart_reports_the_resync_and_stops_cleanly()
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
            // It resumes the stream it was reading, which the restarted server no longer has.
            await client.WaitForLineAsync("resync stream_changed");
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

    [Fact]
    public async Task Console_client_prints_a_resync_after_the_listeners_backend_is_terminated_and_then_later_messages()
    {
        var channel = Names.Channel();
        var applicationName = "pgnotifyhub-console-" + Markers.NewId();
        await using var server = await ServerProcess.StartAsync(Settings.Server(postgres, channel, applicationName));
        await using var client = ConsoleClientProcess.Start(new Uri(server.BaseUri, "/hub"));
        await client.WaitForLineAsync("connected to");
        await ProbeUntilPrintedAsync(client, channel);

        await postgres.TerminateBackendAsync(await ListenerBackend.FindAsync(postgres, applicationName), TestContext.Current.CancellationToken);

        // The server tells its clients once it listens again, so a message sent after the resync arrives.
        var resync = await client.WaitForLineAsync("resync listener_reconnected");
        var id = Markers.NewId();
        await postgres.NotifyAsync(channel, Markers.Message("default", id), TestContext.Current.CancellationToken);
        var message = await client.WaitForLineAsync(id);

        var lines = OutputLines(client);
        Assert.True(lines.IndexOf(resync) < lines.IndexOf(message), client.Output);
        Assert.Single(lines, line => line.Contains(" resync ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Console_client_resumes_after_its_connection_is_cut_and_prints_what_it_missed_once_each_in_order_without_a_resync()
    {
        var channel = Names.Channel();
        await using var server = await ServerProcess.StartAsync(Settings.Server(postgres, channel));
        await using var relay = NetworkRelay.Start(server.BaseUri);
        await using var client = ConsoleClientProcess.Start(new Uri(relay.BaseUri, "/hub"));
        await client.WaitForLineAsync("connected to");
        await ProbeUntilPrintedAsync(client, channel);

        var skip = client.LineCount;
        relay.Cut();
        await client.WaitForLineAsync(line => line.StartsWith("connection lost", StringComparison.Ordinal), skip);
        string[] missed = [Markers.NewId(), Markers.NewId(), Markers.NewId(), Markers.NewId(), Markers.NewId()];
        foreach (var id in missed)
        {
            await postgres.NotifyAsync(channel, Markers.Message("default", id), TestContext.Current.CancellationToken);
        }

        relay.Restore();
        await client.WaitForLineAsync(line => line.EndsWith(", resuming", StringComparison.Ordinal), skip);
        var marker = Markers.NewId();
        await postgres.NotifyAsync(channel, Markers.Payload("default", marker), TestContext.Current.CancellationToken);
        await client.WaitForLineAsync(marker);

        var lines = OutputLines(client);
        Assert.DoesNotContain(lines, line => line.Contains(" resync ", StringComparison.Ordinal));
        string[] expected = [.. missed, marker];
        Assert.Equal(expected, lines.Select(line => expected.FirstOrDefault(id => line.Contains(id, StringComparison.Ordinal))).OfType<string>());
    }

    [Fact]
    public async Task Console_client_on_two_channels_prints_what_was_sent_while_it_was_cut_on_the_one_it_never_had_a_message_from_once_each_in_order_without_a_resync()
    {
        var heard = Names.Channel();
        var silent = Names.Channel();
        var settings = Settings.Server(postgres, heard);
        settings["PgNotifyHub:Channels:1"] = silent;
        await using var server = await ServerProcess.StartAsync(settings);
        await using var relay = NetworkRelay.Start(server.BaseUri);
        await using var client = ConsoleClientProcess.Start(new Uri(relay.BaseUri, "/hub"));
        await client.WaitForLineAsync("connected to");
        // The client knows the silent channel only from the server's position notice: no message of it comes before the cut.
        await ProbeUntilPrintedAsync(client, heard);

        var skip = client.LineCount;
        relay.Cut();
        await client.WaitForLineAsync(line => line.StartsWith("connection lost", StringComparison.Ordinal), skip);
        string[] missed = [Markers.NewId(), Markers.NewId(), Markers.NewId(), Markers.NewId(), Markers.NewId()];
        foreach (var id in missed)
        {
            await postgres.NotifyAsync(silent, Markers.Message("default", id), TestContext.Current.CancellationToken);
        }

        relay.Restore();
        await client.WaitForLineAsync(line => line.EndsWith(", resuming", StringComparison.Ordinal), skip);
        var marker = Markers.NewId();
        await postgres.NotifyAsync(silent, Markers.Payload("default", marker), TestContext.Current.CancellationToken);
        await client.WaitForLineAsync(marker);

        var lines = OutputLines(client);
        Assert.DoesNotContain(lines, line => line.Contains(" resync ", StringComparison.Ordinal));
        string[] expected = [.. missed, marker];
        Assert.Equal(expected, lines.Select(line => expected.FirstOrDefault(id => line.Contains(id, StringComparison.Ordinal))).OfType<string>());
    }

    private static List<string> OutputLines(ConsoleClientProcess client) => [.. client.Output.Split(Environment.NewLine)];

    // The client reports "connected" before the server has registered it: probe until a message is printed.
    private async Task<string> ProbeUntilPrintedAsync(ConsoleClientProcess client, string channel)
    {
        var id = Markers.NewId();
        var printed = client.WaitForLineAsync(id);
        await Probes.SendUntilAsync(n => postgres.NotifyAsync(channel, Probes.Payload("default", id, n), TestContext.Current.CancellationToken), printed);
        return await printed;
    }
}
