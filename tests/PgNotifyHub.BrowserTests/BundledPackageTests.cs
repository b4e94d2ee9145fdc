using System.Text.Json;
using Microsoft.Playwright;
using PgNotifyHub.BrowserTests.Infrastructure;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.BrowserTests;

/// <summary>
/// The npm package as an application gets it: packed, installed from the tarball next to @microsoft/signalr, bundled
/// by esbuild with the page that imports both, and run in Chromium against a server that requires tokens.
/// </summary>
[Collection(SharedBrowser.Name)]
public sealed class BundledPackageTests(PostgresFixture postgres, BrowserFixture browser, JsTestServer server) : IClassFixture<JsTestServer>
{
    private static readonly TimeSpan NpmTimeout = TimeSpan.FromMinutes(3);

    // Long enough for a handshake on a loaded machine, short enough to wait for.
    private static readonly TimeSpan TokenLifetime = TimeSpan.FromSeconds(3);

    private static readonly string[] Transports = ["signalr", "websocket"];

    [Fact]
    public async Task Page_bundled_with_esbuild_from_the_packed_package_receives_over_both_transports_and_reconnects_with_a_fresh_token_when_one_expires()
    {
        var work = Directory.CreateTempSubdirectory("pgnotifyhub-bundle-");
        // The server serves the pages next to its binary, in this test's output: the page is put there for the test, so
        // that it has the server's origin, as a deployed page has, and may open sockets to it.
        var page = "bundled-" + Markers.NewId();
        var served = Path.Combine(AppContext.BaseDirectory, "clients", "browser", page);
        try
        {
            await BundleAsync(work.FullName, served);
            var audience = Names.Audience("bundled");
            var tokens = new Dictionary<string, int> { ["signalr"] = 0, ["websocket"] = 0 };

            await using var context = await browser.NewContextAsync();
            await context.ExposeFunctionAsync("mintToken", (string transport) =>
            {
                lock (tokens)
                {
                    tokens[transport]++;
                }

                return server.Token(audience, TokenLifetime);
            });
            var tab = await context.NewPageAsync();
            var errors = new List<string>();
            tab.PageError += (_, error) =>
            {
                lock (errors)
                {
                    errors.Add(error);
                }
            };
            await tab.GotoAsync(new Uri(server.BaseUri, page + "/").AbsoluteUri);

            await SendProbesUntilShownAsync(tab, audience);
            // Each token expires within seconds: the server closes both connections and the page connects again with a
            // new token, to receive what is sent after.
            await Task.WhenAll(Transports.Select(t => tab.Locator($"#{t}-connects").Filter(new() { HasTextRegex = new("^([2-9]|\\d{2,})$") }).WaitForAsync()));
            await SendProbesUntilShownAsync(tab, audience);

            Assert.Contains("4001", await tab.InnerTextAsync("#websocket-closes"), StringComparison.Ordinal);
            foreach (var transport in Transports)
            {
                var connects = int.Parse(await tab.InnerTextAsync($"#{transport}-connects"), System.Globalization.CultureInfo.InvariantCulture);
                int minted;
                lock (tokens)
                {
                    minted = tokens[transport];
                }

                // A new token for every connection, and no tight loop: SignalR asks for negotiate and for the socket.
                Assert.InRange(minted, connects, 3 * 2 * connects);
                Assert.Equal(0, await tab.Locator($"#{transport}-messages > li[data-resync]").CountAsync());
            }

            lock (errors)
            {
                Assert.Empty(errors);
            }
        }
        finally
        {
            work.Delete(recursive: true);
            if (Directory.Exists(served))
            {
                Directory.Delete(served, recursive: true);
            }
        }
    }

    // npm pack, then an application folder that installs the tarball and @microsoft/signalr (from npm's cache once the
    // package's own install has fetched it), and esbuild from the package's dev dependencies.
    private static async Task BundleAsync(string work, string served)
    {
        await JsPackage.RunSuccessfullyAsync("npm", ["pack", "--pack-destination", work], JsPackage.Directory, NpmTimeout);
        var tarball = Path.GetFileName(Assert.Single(Directory.GetFiles(work, "*.tgz")));

        using var manifest = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(JsPackage.Directory, "package.json"), TestContext.Current.CancellationToken));
        var signalRVersion = manifest.RootElement.GetProperty("devDependencies").GetProperty("@microsoft/signalr").GetString()!;
        var app = Directory.CreateDirectory(Path.Combine(work, "app")).FullName;
        await File.WriteAllTextAsync(
            Path.Combine(app, "package.json"),
            JsonSerializer.Serialize(new
            {
                name = "bundled-page",
                @private = true,
                type = "module",
                dependencies = new Dictionary<string, string> { ["pgnotifyhub"] = "file:../" + tarball, ["@microsoft/signalr"] = signalRVersion },
            }),
            TestContext.Current.CancellationToken);
        await JsPackage.RunSuccessfullyAsync("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund"], app, NpmTimeout);

        var source = Path.Combine(JsPackage.Directory, "test", "bundled-page");
        File.Copy(Path.Combine(source, "main.js"), Path.Combine(app, "main.js"));
        Directory.CreateDirectory(served);
        File.Copy(Path.Combine(source, "index.html"), Path.Combine(served, "index.html"));
        await JsPackage.RunSuccessfullyAsync(
            Path.Combine(JsPackage.Directory, "node_modules", ".bin", "esbuild"),
            ["main.js", "--bundle", "--format=esm", "--platform=browser", "--outfile=" + Path.Combine(served, "main.js")],
            app,
            NpmTimeout);
    }

    private async Task SendProbesUntilShownAsync(IPage tab, string audience)
    {
        var id = Markers.NewId();
        await Probes.SendUntilAsync(
            n => postgres.NotifyAsync(server.Channel, Probes.Payload(audience, id, n), TestContext.Current.CancellationToken),
            Task.WhenAll(Transports.Select(t => tab.Locator($"#{t}-messages > li").Filter(new() { HasText = id }).First.WaitForAsync())));
    }
}
