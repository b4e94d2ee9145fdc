using PgNotifyHub.BrowserTests.Infrastructure;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.BrowserTests;

/// <summary>The demo page keeps working through the failures a real deployment sees, without a reload.</summary>
[Collection(SharedBrowser.Name)]
public sealed class ReconnectionTests(PostgresFixture postgres, BrowserFixture browser)
{
    [Fact]
    public async Task Demo_page_shows_messages_sent_after_the_listeners_backend_is_terminated()
    {
        var channel = Names.Channel();
        var applicationName = "pgnotifyhub-browser-" + Markers.NewId();
        await using var server = await ServerProcess.StartAsync(Settings.Server(postgres, channel, applicationName));
        await using var context = await browser.NewContextAsync();
        var page = await DemoPage.OpenReceivingAsync(context, server.BaseUri, postgres, channel, PgNotifyHubOptions.DefaultAudience);

        var backend = await ListenerBackend.FindAsync(postgres, applicationName);
        await postgres.TerminateBackendAsync(backend, TestContext.Current.CancellationToken);

        // Messages sent while the listener has no connection are lost, as with pgws: probe until the new one listens.
        await page.SendProbesUntilShownAsync(postgres, channel, PgNotifyHubOptions.DefaultAudience);
        await page.NotifyAndWaitAsync(postgres, channel, PgNotifyHubOptions.DefaultAudience);

        Assert.NotEqual(backend, await ListenerBackend.FindAsync(postgres, applicationName));
        Assert.All(await Task.WhenAll(DemoPage.Transports.Select(t => page.Status(t).InnerTextAsync())), status => Assert.Equal("connected", status));
    }

    [Fact]
    public async Task Demo_page_reconnects_by_itself_after_the_server_process_is_killed_and_restarted()
    {
        var channel = Names.Channel();
        var server = await ServerProcess.StartAsync(Settings.Server(postgres, channel));
        try
        {
            await using var context = await browser.NewContextAsync();
            var page = await DemoPage.OpenReceivingAsync(context, server.BaseUri, postgres, channel, PgNotifyHubOptions.DefaultAudience);

            // Every transport must notice the loss before the server is back, so the page really reconnects.
            server = await server.KillAndRestartAsync(whileDown: () => page.WaitForStateAsync("reconnecting"));

            await page.WaitForStateAsync("connected");
            await page.SendProbesUntilShownAsync(postgres, channel, PgNotifyHubOptions.DefaultAudience);
            await page.NotifyAndWaitAsync(postgres, channel, PgNotifyHubOptions.DefaultAudience);
            Assert.Equal(new Uri(server.BaseUri, "/").AbsoluteUri, page.Page.Url); // the same page, never reloaded
            Assert.Empty(page.Errors);
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    [Fact]
    public async Task Demo_page_keeps_retrying_a_refused_connection_and_connects_once_the_server_accepts_it()
    {
        var channel = Names.Channel();
        await using var server = await ServerProcess.StartAsync(Settings.Server(postgres, channel, audiencesFromHeader: true));
        await using var context = await browser.NewContextAsync();

        // Without the header the server resolves no audience: the raw socket's handshake gets 403, and the SignalR
        // connection is closed right after it opens. Neither is retried by SignalR's own reconnect alone.
        var page = await DemoPage.OpenAsync(context, server.BaseUri);
        await page.WaitForStateAsync("reconnecting");

        var audience = Names.Audience();
        await context.SetExtraHTTPHeadersAsync(new Dictionary<string, string> { [Settings.AudienceHeader] = audience });
        await page.WaitForStateAsync("connected");
        await page.SendProbesUntilShownAsync(postgres, channel, audience);
    }
}
