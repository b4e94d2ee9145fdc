using Microsoft.Playwright;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.BrowserTests.Infrastructure;

/// <summary>
/// One headless Chromium for the run: the system's (Debian package <c>chromium</c>), driven by Playwright. It never
/// downloads a browser; without one every test fails saying how to install it.
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    public const string ExecutableVariable = "PGNOTIFYHUB_TEST_CHROMIUM";
    public const string DefaultExecutable = "/usr/bin/chromium";

    /// <summary><see cref="TimeoutExtensions.DefaultTimeout"/> in Playwright's terms (0 is no limit).</summary>
    public static readonly float PlaywrightTimeout = TimeoutExtensions.DefaultTimeout == Timeout.InfiniteTimeSpan
        ? 0
        : (float)TimeoutExtensions.DefaultTimeout.TotalMilliseconds;

    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public async ValueTask InitializeAsync()
    {
        var executable = Environment.GetEnvironmentVariable(ExecutableVariable) is { Length: > 0 } configured ? configured : DefaultExecutable;
        if (!File.Exists(executable))
        {
            throw new InvalidOperationException(
                $"The browser tests need Chromium at {executable}, which does not exist. Install it (Debian/Ubuntu: "
                + $"apt-get install -y chromium; .ci/run does this) or set {ExecutableVariable} to a Chromium executable. "
                + "The tests never download a browser.");
        }

        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = executable,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
        });
    }

    /// <summary>A fresh context (its own cookies and connections) whose waits time out like every other wait in the tests.</summary>
    public async Task<IBrowserContext> NewContextAsync(BrowserNewContextOptions? options = null)
    {
        var context = await (_browser ?? throw new InvalidOperationException("The fixture is not initialised.")).NewContextAsync(options);
        context.SetDefaultTimeout(PlaywrightTimeout);
        return context;
    }

    public async ValueTask DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }

        _playwright?.Dispose();
    }
}
