using Microsoft.Playwright;
using PgNotifyHub.BrowserTests.Infrastructure;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.BrowserTests;

/// <summary>
/// The browser's own <c>EventSource</c> on the server's <c>/events</c>, with no client library: what the standard's
/// reconnection, which sends the last event id back as <c>Last-Event-ID</c>, does by itself.
/// </summary>
[Collection(SharedBrowser.Name)]
public sealed class EventSourceTests(PostgresFixture postgres, BrowserFixture browser)
{
    private const string Audience = PgNotifyHubOptions.DefaultAudience;

    // Nothing but handlers that record: each message's msg or probe, each resync's reason, each open and error.
    private const string OpenEventSource = """
        () => {
          window.received = [];
          window.opens = 0;
          window.errors = 0;
          const events = new EventSource("/events");
          events.onopen = () => window.opens++;
          events.onerror = () => window.errors++;
          events.onmessage = event => {
            const payload = JSON.parse(event.data).payload;
            window.received.push(payload.msg ?? "probe:" + payload.probe);
          };
          events.addEventListener("resync", event => window.received.push("resync:" + JSON.parse(event.data).reason));
        }
        """;

    [Fact]
    public async Task A_native_EventSource_cut_from_the_network_reconnects_with_Last_Event_ID_and_gets_exactly_what_it_missed()
    {
        var channel = Names.Channel();
        await using var server = await ServerProcess.StartAsync(Settings.Server(postgres, channel));
        await using var relay = NetworkRelay.Start(server.BaseUri);
        await using var context = await browser.NewContextAsync();
        var page = await context.NewPageAsync();
        var lastEventIds = new List<Task<string?>>();
        page.Request += (_, request) =>
        {
            if (request.Url.Contains("/events", StringComparison.Ordinal))
            {
                lock (lastEventIds)
                {
                    lastEventIds.Add(request.HeaderValueAsync("last-event-id"));
                }
            }
        };
        await OpenAsync(page, relay.BaseUri, channel);

        relay.Cut();
        await page.WaitForFunctionAsync("() => window.errors >= 1");
        string[] missed = [Markers.NewId(), Markers.NewId(), Markers.NewId(), Markers.NewId(), Markers.NewId()];
        foreach (var id in missed)
        {
            await postgres.NotifyAsync(channel, Markers.Message(Audience, id), TestContext.Current.CancellationToken);
        }

        relay.Restore();
        await page.WaitForFunctionAsync("() => window.opens >= 2");
        await SendProbesUntilReceivedAsync(page, channel);

        Assert.Equal(missed, await ReceivedAsync(page));
        Task<string?>[] requests;
        lock (lastEventIds)
        {
            requests = [.. lastEventIds];
        }

        Assert.Null(await requests[0]);
        Assert.Matches("^[0-9a-f]{16}\\.[A-Za-z0-9_-]{12}\\.[0-9]+$", await requests[^1]);
    }

    [Fact]
    public async Task A_native_EventSource_whose_server_process_was_restarted_reconnects_by_itself_and_is_told_to_resync()
    {
        var channel = Names.Channel();
        var server = await ServerProcess.StartAsync(Settings.Server(postgres, channel));
        try
        {
            await using var context = await browser.NewContextAsync();
            var page = await context.NewPageAsync();
            await OpenAsync(page, server.BaseUri, channel);

            server = await server.KillAndRestartAsync(whileDown: () => page.WaitForFunctionAsync("() => window.errors >= 1"));
            await page.WaitForFunctionAsync("() => window.opens >= 2");
            await SendProbesUntilReceivedAsync(page, channel);

            Assert.Equal(["resync:stream_changed"], await ReceivedAsync(page));
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_native_EventSource_stays_open_when_the_listeners_backend_is_terminated_is_told_to_resync_and_then_gets_later_messages()
    {
        var channel = Names.Channel();
        var applicationName = "pgnotifyhub-eventsource-" + Markers.NewId();
        await using var server = await ServerProcess.StartAsync(Settings.Server(postgres, channel, applicationName));
        await using var context = await browser.NewContextAsync();
        var page = await context.NewPageAsync();
        await OpenAsync(page, server.BaseUri, channel);

        await postgres.TerminateBackendAsync(await ListenerBackend.FindAsync(postgres, applicationName), TestContext.Current.CancellationToken);
        // The server tells its streams once it listens again, so a message sent after the resync arrives.
        await page.WaitForFunctionAsync("() => window.received.includes('resync:listener_reconnected')");
        var id = Markers.NewId();
        await postgres.NotifyAsync(channel, Markers.Message(Audience, id), TestContext.Current.CancellationToken);
        await page.WaitForFunctionAsync($"() => window.received.includes('{id}')");

        Assert.Equal(["resync:listener_reconnected", id], await ReceivedAsync(page));
        Assert.Equal(1, await page.EvaluateAsync<int>("() => window.opens"));
    }

    // A same-origin page of the server (its liveness answer will do) that opens the stream, which is known to deliver
    // once a probe arrived.
    private async Task OpenAsync(IPage page, Uri server, string channel)
    {
        await page.GotoAsync(new Uri(server, "/healthz").AbsoluteUri);
        await page.EvaluateAsync(OpenEventSource);
        await SendProbesUntilReceivedAsync(page, channel);
    }

    private async Task SendProbesUntilReceivedAsync(IPage page, string channel)
    {
        var id = Markers.NewId();
        await Probes.SendUntilAsync(
            n => postgres.NotifyAsync(channel, Probes.Payload(Audience, id, n), TestContext.Current.CancellationToken),
            page.WaitForFunctionAsync($"() => window.received.includes('probe:{id}')"));
    }

    // What the page received besides probes, in order.
    private static async Task<string[]> ReceivedAsync(IPage page) =>
        [.. (await page.EvaluateAsync<string[]>("() => window.received")).Where(entry => !entry.StartsWith("probe:", StringComparison.Ordinal))];
}
