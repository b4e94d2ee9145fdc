using Microsoft.Playwright;
using PgNotifyHub.BrowserTests.Infrastructure;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.BrowserTests;

/// <summary>Audiences decided by the server from each browser's requests, as a reverse proxy would set them.</summary>
[Collection(SharedBrowser.Name)]
public sealed class AudienceTests(PostgresFixture postgres, BrowserFixture browser)
{
    [Fact]
    public async Task Each_browser_context_sees_only_its_own_audiences_messages_on_both_transports()
    {
        var channel = Names.Channel();
        await using var server = await ServerProcess.StartAsync(Settings.Server(postgres, channel, audiencesFromHeader: true));

        // Chromium sends a context's extra headers on every request it makes, WebSocket upgrades included,
        // like the trusted proxy this setting is meant for.
        string[] audiences = [Names.Audience("a"), Names.Audience("b")];
        var pages = new DemoPage[2];
        var contexts = new List<IBrowserContext>();
        try
        {
            for (var i = 0; i < 2; i++)
            {
                var context = await browser.NewContextAsync(new() { ExtraHTTPHeaders = new Dictionary<string, string> { [Settings.AudienceHeader] = audiences[i] } });
                contexts.Add(context);
                pages[i] = await DemoPage.OpenAsync(context, server.BaseUri);
            }

            for (var i = 0; i < 2; i++)
            {
                await pages[i].WaitForStateAsync("connected");
                await pages[i].SendProbesUntilShownAsync(postgres, channel, audiences[i]);
            }

            // Each page's marker is sent after the other audience's message, in one transaction, so once a page
            // shows its marker the foreign message would have arrived before it.
            string[] messages = [Markers.NewId(), Markers.NewId()];
            string[] markers = [Markers.NewId(), Markers.NewId()];
            await postgres.NotifyManyAsync(channel, [
                Markers.Message(audiences[1], messages[1]),
                Markers.Message(audiences[0], messages[0]),
                Markers.Payload(audiences[0], markers[0]),
                Markers.Payload(audiences[1], markers[1]),
            ], TestContext.Current.CancellationToken);

            for (var i = 0; i < 2; i++)
            {
                await pages[i].WaitForMessageAsync(markers[i]);
                foreach (var transport in DemoPage.Transports)
                {
                    var shown = string.Join('\n', await pages[i].Messages(transport).AllInnerTextsAsync());
                    Assert.Contains(messages[i], shown, StringComparison.Ordinal);
                    Assert.DoesNotContain(messages[1 - i], shown, StringComparison.Ordinal);
                    Assert.DoesNotContain(markers[1 - i], shown, StringComparison.Ordinal);
                }
            }
        }
        finally
        {
            foreach (var context in contexts)
            {
                await context.DisposeAsync();
            }
        }
    }
}
