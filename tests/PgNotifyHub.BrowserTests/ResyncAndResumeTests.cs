using PgNotifyHub.BrowserTests.Infrastructure;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.BrowserTests;

/// <summary>
/// pgnotifyhub.js, through the demo page, never loses a message silently: it resumes where it left off after a
/// reconnect, and reports a resync (where an application reloads) when messages may have been lost.
/// </summary>
[Collection(SharedBrowser.Name)]
public sealed class ResyncAndResumeTests(PostgresFixture postgres, BrowserFixture browser)
{
    private const string Audience = PgNotifyHubOptions.DefaultAudience;

    [Fact]
    public async Task Demo_page_reports_a_resync_after_the_listeners_backend_is_terminated_and_then_shows_later_messages()
    {
        var channel = Names.Channel();
        var applicationName = "pgnotifyhub-browser-" + Markers.NewId();
        await using var server = await ServerProcess.StartAsync(Settings.Server(postgres, channel, applicationName));
        await using var context = await browser.NewContextAsync();
        var page = await DemoPage.OpenReceivingAsync(context, server.BaseUri, postgres, channel, Audience);

        await postgres.TerminateBackendAsync(await ListenerBackend.FindAsync(postgres, applicationName), TestContext.Current.CancellationToken);

        // The server tells its clients once it listens again, so a message sent after the resync arrives.
        await page.WaitForResyncAsync("listener_reconnected");
        var id = await page.NotifyAndWaitAsync(postgres, channel, Audience);

        foreach (var transport in DemoPage.Transports)
        {
            var entries = await page.EntriesAsync(transport);
            Assert.Equal(["resync:listener_reconnected"], entries.Where(IsResync));
            Assert.True(
                IndexOf(entries, "resync:listener_reconnected") < IndexOf(entries, id),
                $"{transport}: the resync must come before the later message: {string.Join(" | ", entries)}");
            // The new stream numbers from 1 again, and the page does not take that for a message seen already.
            Assert.Equal("1", await page.MessagesWith(transport, id).GetAttributeAsync("data-seq"));
        }

        Assert.All(await Task.WhenAll(DemoPage.Transports.Select(t => page.Status(t).InnerTextAsync())), status => Assert.Equal("connected", status));
        Assert.Empty(page.Errors);
    }

    [Fact]
    public async Task Demo_page_gets_the_messages_sent_while_its_connections_were_cut_once_each_in_order_and_without_a_resync()
    {
        var channel = Names.Channel();
        await using var server = await ServerProcess.StartAsync(Settings.Server(postgres, channel));
        await using var relay = NetworkRelay.Start(server.BaseUri);
        await using var context = await browser.NewContextAsync();
        var page = await DemoPage.OpenReceivingAsync(context, relay.BaseUri, postgres, channel, Audience);

        relay.Cut();
        await page.WaitForStateAsync("reconnecting");
        string[] missed = [Markers.NewId(), Markers.NewId(), Markers.NewId(), Markers.NewId(), Markers.NewId()];
        foreach (var id in missed)
        {
            await postgres.NotifyAsync(channel, Markers.Message(Audience, id), TestContext.Current.CancellationToken);
        }

        relay.Restore();
        await page.WaitForStateAsync("connected");
        var marker = Markers.NewId();
        await postgres.NotifyAsync(channel, Markers.Payload(Audience, marker), TestContext.Current.CancellationToken);
        await page.WaitForMessageAsync(marker);

        foreach (var transport in DemoPage.Transports)
        {
            var entries = await page.EntriesAsync(transport);
            Assert.DoesNotContain(entries, IsResync);
            string[] expected = [.. missed, marker];
            Assert.Equal(expected, entries.Select(entry => expected.FirstOrDefault(id => entry.Contains(id, StringComparison.Ordinal))).OfType<string>());
        }

        Assert.Empty(page.Errors);
    }

    [Fact]
    public async Task Demo_page_in_two_audiences_gets_what_was_sent_while_it_was_cut_to_the_one_it_never_had_a_message_for_once_each_in_order_and_without_a_resync()
    {
        var channel = Names.Channel();
        await using var server = await ServerProcess.StartAsync(Settings.Server(postgres, channel, audiencesFromHeader: true));
        await using var relay = NetworkRelay.Start(server.BaseUri);
        // The page knows the silent audience only from the server's position notice: no message of it comes before the cut.
        string[] audiences = [Names.Audience("heard"), Names.Audience("silent")];
        await using var context = await browser.NewContextAsync(new()
        {
            ExtraHTTPHeaders = new Dictionary<string, string> { [Settings.AudienceHeader] = string.Join(',', audiences) },
        });
        var page = await DemoPage.OpenReceivingAsync(context, relay.BaseUri, postgres, channel, audiences[0]);

        relay.Cut();
        await page.WaitForStateAsync("reconnecting");
        string[] missed = [Markers.NewId(), Markers.NewId(), Markers.NewId(), Markers.NewId(), Markers.NewId()];
        foreach (var id in missed)
        {
            await postgres.NotifyAsync(channel, Markers.Message(audiences[1], id), TestContext.Current.CancellationToken);
        }

        relay.Restore();
        await page.WaitForStateAsync("connected");
        var marker = Markers.NewId();
        await postgres.NotifyAsync(channel, Markers.Payload(audiences[1], marker), TestContext.Current.CancellationToken);
        await page.WaitForMessageAsync(marker);

        foreach (var transport in DemoPage.Transports)
        {
            var entries = await page.EntriesAsync(transport);
            Assert.DoesNotContain(entries, IsResync);
            string[] expected = [.. missed, marker];
            Assert.Equal(expected, entries.Select(entry => expected.FirstOrDefault(id => entry.Contains(id, StringComparison.Ordinal))).OfType<string>());
            Assert.Equal("1", await page.MessagesWith(transport, missed[0]).GetAttributeAsync("data-seq"));
        }

        Assert.Empty(page.Errors);
    }

    [Fact]
    public async Task Demo_page_reports_a_resync_when_it_resumes_after_the_server_process_was_restarted()
    {
        var channel = Names.Channel();
        var server = await ServerProcess.StartAsync(Settings.Server(postgres, channel));
        try
        {
            await using var context = await browser.NewContextAsync();
            var page = await DemoPage.OpenReceivingAsync(context, server.BaseUri, postgres, channel, Audience);

            server = await server.KillAndRestartAsync(whileDown: () => page.WaitForStateAsync("reconnecting"));

            // The restarted server numbers a new stream, so the one the page resumes is gone.
            await page.WaitForResyncAsync("stream_changed");
            await page.SendProbesUntilShownAsync(postgres, channel, Audience);
            foreach (var transport in DemoPage.Transports)
            {
                Assert.Equal(["resync:stream_changed"], (await page.EntriesAsync(transport)).Where(IsResync));
            }

            Assert.Empty(page.Errors);
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    private static bool IsResync(string entry) => entry.StartsWith("resync:", StringComparison.Ordinal);

    private static int IndexOf(IReadOnlyList<string> entries, string text)
    {
        for (var i = 0; i < entries.Count; i++)
        {
            if (entries[i].Contains(text, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }
}
