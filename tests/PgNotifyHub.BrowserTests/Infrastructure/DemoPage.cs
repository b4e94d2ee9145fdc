using Microsoft.Playwright;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.BrowserTests.Infrastructure;

/// <summary>clients/browser/index.html as a user sees it: one panel per transport, and the sender form.</summary>
internal sealed class DemoPage
{
    public const string SignalR = "signalr";
    public const string WebSocket = "websocket";
    public const string EventStream = "sse";
    public static readonly IReadOnlyList<string> Transports = [SignalR, WebSocket, EventStream];

    private readonly List<string> _errors = [];

    private DemoPage(IPage page)
    {
        Page = page;
        Page.PageError += (_, error) =>
        {
            lock (_errors)
            {
                _errors.Add(error);
            }
        };
    }

    public IPage Page { get; }

    /// <summary>Uncaught script errors so far.</summary>
    public IReadOnlyList<string> Errors
    {
        get
        {
            lock (_errors)
            {
                return [.. _errors];
            }
        }
    }

    /// <summary>Opens the page at <c>/</c> of <paramref name="server"/>, with the query of <paramref name="server"/> if it has one.</summary>
    public static async Task<DemoPage> OpenAsync(IBrowserContext context, Uri server)
    {
        var page = new DemoPage(await context.NewPageAsync());
        await page.Page.GotoAsync(new UriBuilder(server) { Path = "/" }.Uri.AbsoluteUri);
        return page;
    }

    /// <summary>Opens the page and waits until every transport are connected and show a probe sent to <paramref name="audience"/>.</summary>
    public static async Task<DemoPage> OpenReceivingAsync(IBrowserContext context, Uri server, PostgresFixture postgres, string channel, string audience)
    {
        var page = await OpenAsync(context, server);
        await page.WaitForStateAsync("connected");
        await page.SendProbesUntilShownAsync(postgres, channel, audience);
        return page;
    }

    public ILocator Status(string transport) => Page.Locator($"#{transport}-status");

    public ILocator Count(string transport) => Page.Locator($"#{transport}-count");

    /// <summary>The hint shown until the first message.</summary>
    public ILocator Waiting(string transport) => Page.Locator($"#{transport}-waiting");

    public ILocator Messages(string transport) => Page.Locator($"#{transport}-messages > li[data-id]");

    public ILocator MessagesWith(string transport, string text) => Messages(transport).Filter(new() { HasText = text });

    /// <summary>Messages and resyncs as listed, oldest first: a message's payload text, or <c>resync:</c> and the reason.</summary>
    public async Task<IReadOnlyList<string>> EntriesAsync(string transport) =>
        [.. (await Page.Locator($"#{transport}-messages > li").EvaluateAllAsync<string[]>(
            "items => items.map(item => item.dataset.resync === undefined ? item.querySelector('pre').textContent : `resync:${item.dataset.resync}`)"))
            .Reverse()];

    /// <summary>Waits until every transport list a resync for <paramref name="reason"/>.</summary>
    public Task WaitForResyncAsync(string reason) =>
        Task.WhenAll(Transports.Select(transport => Page.Locator($"#{transport}-messages > li[data-resync=\"{reason}\"]").First.WaitForAsync()));

    /// <summary>Waits until every transport are in <paramref name="state"/>.</summary>
    public Task WaitForStateAsync(string state) =>
        Task.WhenAll(Transports.Select(transport => Page.Locator($"#{transport}-status[data-state=\"{state}\"]").WaitForAsync()));

    /// <summary>Waits until a message containing <paramref name="text"/> is listed on every transport.</summary>
    public Task WaitForMessageAsync(string text) =>
        Task.WhenAll(Transports.Select(transport => MessagesWith(transport, text).First.WaitForAsync()));

    /// <summary>Notifies a new message to <paramref name="audience"/> and waits until every transport list it; returns its id.</summary>
    public async Task<string> NotifyAndWaitAsync(PostgresFixture postgres, string channel, string audience)
    {
        var id = Markers.NewId();
        await postgres.NotifyAsync(channel, Markers.Message(audience, id), TestContext.Current.CancellationToken);
        await WaitForMessageAsync(id);
        return id;
    }

    /// <summary>Sends probes to <paramref name="audience"/> until one is listed on every transport.</summary>
    public async Task SendProbesUntilShownAsync(PostgresFixture postgres, string channel, string audience)
    {
        var id = Markers.NewId();
        await Probes.SendUntilAsync(
            n => postgres.NotifyAsync(channel, Probes.Payload(audience, id, n), TestContext.Current.CancellationToken),
            WaitForMessageAsync(id));
    }
}
