using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using PgNotifyHub.BrowserTests.Infrastructure;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.BrowserTests;

/// <summary>clients/browser/index.html, served by the standalone server, in headless Chromium.</summary>
[Collection(SharedBrowser.Name)]
public sealed class DemoPageTests(PostgresFixture postgres, BrowserFixture browser)
{
    [Fact]
    public async Task Demo_page_lists_a_pg_notify_with_channel_id_payload_and_arrival_time_on_every_transport()
    {
        var channel = Names.Channel();
        await using var server = await ServerProcess.StartAsync(Settings.Server(postgres, channel));
        await using var context = await browser.NewContextAsync();
        var page = await DemoPage.OpenReceivingAsync(context, server.BaseUri, postgres, channel, PgNotifyHubOptions.DefaultAudience);

        var id = Markers.NewId();
        var sentAt = DateTimeOffset.UtcNow;
        await postgres.NotifyAsync(channel, "default,{\"msg\":\"" + id + "\",\"order\":42}", TestContext.Current.CancellationToken);
        await page.WaitForMessageAsync(id);

        var envelopeIds = new List<string?>();
        foreach (var transport in DemoPage.Transports)
        {
            var item = page.MessagesWith(transport, id);
            Assert.Equal(1, await item.CountAsync());
            Assert.Contains(id, await page.Messages(transport).First.InnerTextAsync(), StringComparison.Ordinal); // newest first
            Assert.Equal(transport, await item.GetAttributeAsync("data-transport"));
            Assert.Equal(channel, await item.GetAttributeAsync("data-channel"));
            envelopeIds.Add(await item.GetAttributeAsync("data-id"));
            Assert.Contains($"channel: {channel}", await item.InnerTextAsync(), StringComparison.Ordinal);

            var arrival = DateTimeOffset.Parse((await item.Locator("time").GetAttributeAsync("datetime"))!, CultureInfo.InvariantCulture);
            Assert.InRange(arrival, sentAt.AddSeconds(-5), DateTimeOffset.UtcNow.AddSeconds(5)); // browser and test share the clock

            using var payload = JsonDocument.Parse(await item.Locator("pre").InnerTextAsync());
            Assert.Equal(id, payload.RootElement.GetProperty("msg").GetString());
            Assert.Equal(42, payload.RootElement.GetProperty("order").GetInt32());

            // The message was sent after every probe, on the same ordered path: nothing more is in flight, so
            // the counter must equal the number of listed messages.
            Assert.Equal((await page.Messages(transport).CountAsync()).ToString(CultureInfo.InvariantCulture), await page.Count(transport).InnerTextAsync());
        }

        // One message, one id, whichever transport carried it.
        Assert.Single(envelopeIds.Distinct());
        Assert.True(Guid.TryParse(envelopeIds[0], out _), $"data-id '{envelopeIds[0]}' is not a UUID");
        Assert.All(await Task.WhenAll(DemoPage.Transports.Select(t => page.Status(t).InnerTextAsync())), status => Assert.Equal("connected", status));
        Assert.Empty(page.Errors);
    }

    [Fact]
    public async Task Demo_page_connects_with_the_access_token_of_its_address_and_hides_its_waiting_hint_at_the_first_message()
    {
        var channel = Names.Channel();
        var signingKey = TestTokens.NewSigningKey();
        await using var server = await ServerProcess.StartAsync(Settings.Server(postgres, channel, signingKey: signingKey));
        await using var context = await browser.NewContextAsync();
        var audience = Names.Audience("token");
        var token = TestTokens.Mint(signingKey, audience, TimeSpan.FromMinutes(5));

        var page = await DemoPage.OpenAsync(context, new Uri(server.BaseUri, "/?access_token=" + Uri.EscapeDataString(token)));
        await page.WaitForStateAsync("connected");
        foreach (var transport in DemoPage.Transports)
        {
            Assert.True(await page.Waiting(transport).IsVisibleAsync(), $"{transport}: the hint shows before any message");
        }

        await page.SendProbesUntilShownAsync(postgres, channel, audience);
        foreach (var transport in DemoPage.Transports)
        {
            Assert.False(await page.Waiting(transport).IsVisibleAsync(), $"{transport}: the hint is gone once a message is shown");
        }

        Assert.Contains("select pgnotifyhub.send('pgws','default','{\"message\":\"hi\"}')", await page.Page.InnerTextAsync("header"), StringComparison.Ordinal);
        Assert.Empty(page.Errors);
    }

    [Fact]
    public async Task Demo_page_form_sends_through_the_dev_sender_when_it_is_enabled_and_shows_its_errors()
    {
        var channel = Names.Channel();
        await using var server = await ServerProcess.StartAsync(Settings.Server(postgres, channel, devSender: true));
        Assert.Contains("It must not be enabled in production", server.Output, StringComparison.Ordinal);

        await using var context = await browser.NewContextAsync(new() { ViewportSize = new() { Width = 1280, Height = 900 } });
        var page = await DemoPage.OpenReceivingAsync(context, server.BaseUri, postgres, channel, PgNotifyHubOptions.DefaultAudience);
        await postgres.NotifyAsync(channel, """default,{"order": 42, "status": "shipped"}""", TestContext.Current.CancellationToken);

        var id = Markers.NewId();
        await page.Page.FillAsync("#sender-channel", channel);
        await page.Page.FillAsync("#sender-audience", PgNotifyHubOptions.DefaultAudience);
        await page.Page.FillAsync("#sender-payload", "{\"message\": \"hello from the form\", \"msg\": \"" + id + "\"}");
        await page.Page.ClickAsync("#sender button[type=submit]");

        await page.Page.Locator("#sender-result[data-outcome=sent]").WaitForAsync();
        Assert.Equal("sent (202)", await page.Page.InnerTextAsync("#sender-result"));
        await page.WaitForMessageAsync(id);

        var screenshot = Path.Combine(AppContext.BaseDirectory, "screenshots", "demo-page.png");
        Directory.CreateDirectory(Path.GetDirectoryName(screenshot)!);
        await page.Page.ScreenshotAsync(new() { Path = screenshot, FullPage = true });
        TestContext.Current.TestOutputHelper?.WriteLine($"Screenshot of the demo page: {screenshot}");
        TestContext.Current.AddAttachment("demo-page.png", await File.ReadAllBytesAsync(screenshot, TestContext.Current.CancellationToken), "image/png");

        // The server's validation message reaches the user.
        await page.Page.FillAsync("#sender-payload", "{\"message\": ");
        await page.Page.ClickAsync("#sender button[type=submit]");
        await page.Page.Locator("#sender-result[data-outcome=error]").WaitForAsync();
        var error = await page.Page.InnerTextAsync("#sender-result");
        Assert.StartsWith("400: payload is not valid JSON", error, StringComparison.Ordinal);
        Assert.Empty(page.Errors);
    }

    [Fact]
    public async Task Dev_sender_is_not_mapped_unless_enabled_and_the_page_says_it_is_disabled()
    {
        var channel = Names.Channel();
        await using var server = await ServerProcess.StartAsync(Settings.Server(postgres, channel));
        Assert.DoesNotContain("DevNotify", server.Output, StringComparison.Ordinal);

        using var http = new HttpClient { BaseAddress = server.BaseUri };
        var response = await http.PostAsync(
            "/dev/notify",
            new StringContent($$"""{"channel":"{{channel}}","audience":"default","payload":{"message":"hello"} }""", Encoding.UTF8, "application/json"),
            TestContext.Current.CancellationToken).OrTimeout();
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);

        await using var context = await browser.NewContextAsync();
        var page = await DemoPage.OpenAsync(context, server.BaseUri);
        await page.Page.ClickAsync("#sender button[type=submit]");
        await page.Page.Locator("#sender-result[data-outcome=disabled]").WaitForAsync();
        Assert.Contains("disabled", await page.Page.InnerTextAsync("#sender-result"), StringComparison.Ordinal);
    }
}
