using PgNotifyHub.BrowserTests.Infrastructure;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.BrowserTests;

/// <summary>clients/browser/pgws.html: pgws's own minimal client, which must work unchanged.</summary>
[Collection(SharedBrowser.Name)]
public sealed class PgwsPageTests(PostgresFixture postgres, BrowserFixture browser)
{
    [Fact]
    public async Task Pgws_page_logs_and_shows_the_exact_envelope_text_the_raw_WebSocket_sends()
    {
        var channel = Names.Channel();
        await using var server = await ServerProcess.StartAsync(Settings.Server(postgres, channel));
        await using var context = await browser.NewContextAsync();
        var page = await context.NewPageAsync();
        var console = new List<string>();
        page.Console += (_, message) =>
        {
            lock (console)
            {
                console.Add(message.Text);
            }
        };
        await page.GotoAsync(new Uri(server.BaseUri, "/pgws.html").AbsoluteUri);

        // A second, non-browser client of the same endpoint and audience gives the exact frame to compare with.
        await using var socket = await WebSocketTestClient.ConnectAsync(server.BaseUri, audienceHeader: null, cancellationToken: TestContext.Current.CancellationToken);
        var probe = Markers.NewId();
        await Probes.SendUntilAsync(
            n => postgres.NotifyAsync(channel, Probes.Payload(PgNotifyHubOptions.DefaultAudience, probe, n), TestContext.Current.CancellationToken),
            Task.WhenAll(page.Locator("#log").Filter(new() { HasText = probe }).WaitForAsync(), socket.ReceiveRawAsync()));

        // Spacing, key order, number spelling and escapes that a re-encoding would change.
        var id = Markers.NewId();
        var payload = "{ \"msg\" : \"" + id + "\", \"z\": 1.50, \"a\": [1e400, 12345678901234567890], \"s\": \"<&> \\u00e9 \\\"q\\\"\" }";
        await postgres.NotifyAsync(channel, PgNotifyHubOptions.DefaultAudience + "," + payload, TestContext.Current.CancellationToken);

        var frame = await ReceiveMessageAsync(socket, id);
        var envelope = Envelope.Parse(frame);
        Assert.Equal("{\"payload\":" + payload + ",\"channel\":\"" + channel + "\",\"id\":\"" + envelope.Id + "\"}", frame);

        await page.Locator("#log").Filter(new() { HasText = id }).WaitForAsync();
        var shown = (await page.Locator("#log").TextContentAsync())!.Split('\n').Single(line => line.Contains(id, StringComparison.Ordinal));
        Assert.Equal(frame, shown);
        lock (console)
        {
            Assert.Contains(frame, console);
        }
    }

    // Probes sent before the message may still be queued ahead of it: skip them.
    private static async Task<string> ReceiveMessageAsync(WebSocketTestClient socket, string id)
    {
        while (true)
        {
            var frame = await socket.ReceiveRawAsync();
            if (Envelope.Parse(frame).IsMessage(id))
            {
                return frame;
            }
        }
    }
}
