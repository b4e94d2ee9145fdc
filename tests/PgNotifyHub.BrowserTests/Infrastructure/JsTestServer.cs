using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Npgsql;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.BrowserTests.Infrastructure;

/// <summary>
/// The standalone server as the npm package's tests need it, one per test class: tokens required, as
/// <see cref="Settings.Server"/> sets up with a signing key. A <see cref="NetworkRelay"/> stands in front of it, and a
/// control endpoint on 127.0.0.1 beside it, through which Node tests send a NOTIFY on the server's channel (from this
/// process, as every other test does), run SQL (to create and publish tables) and cut or restore the relay. The
/// server runs durable mode, so tables published with their defaults reach it. The package is installed first.
/// </summary>
public sealed class JsTestServer(PostgresFixture postgres) : IAsyncLifetime
{
    private ServerProcess? _server;
    private NetworkRelay? _relay;
    private WebApplication? _control;

    /// <summary>The one channel the server listens on.</summary>
    public string Channel { get; } = Names.Channel();

    public string SigningKey { get; } = TestTokens.NewSigningKey();

    public Uri BaseUri => Server.BaseUri;

    /// <summary>What the Node tests read (clients/js/test/support/server.mjs).</summary>
    public IReadOnlyDictionary<string, string> NodeEnvironment => new Dictionary<string, string>
    {
        ["PGNOTIFYHUB_TEST_SERVER_URL"] = Server.BaseUri.AbsoluteUri,
        ["PGNOTIFYHUB_TEST_RELAY_URL"] = Relay.BaseUri.AbsoluteUri,
        ["PGNOTIFYHUB_TEST_CONTROL_URL"] = (_control ?? throw NotStarted()).Urls.First(),
        ["PGNOTIFYHUB_TEST_CHANNEL"] = Channel,
        ["PGNOTIFYHUB_TEST_SIGNING_KEY"] = SigningKey,
    };

    /// <summary>The last lines the server printed, for failure messages.</summary>
    public string RecentOutput => string.Join(Environment.NewLine, Server.Output.Split(Environment.NewLine).TakeLast(60));

    private ServerProcess Server => _server ?? throw NotStarted();

    private NetworkRelay Relay => _relay ?? throw NotStarted();

    public async ValueTask InitializeAsync()
    {
        await JsPackage.EnsureInstalledAsync();

        _server = await ServerProcess.StartAsync(Settings.Server(postgres, Channel, signingKey: SigningKey, outbox: true));
        await _server.WaitForLineAsync(Settings.OutboxReading).OrTimeout();
        _relay = NetworkRelay.Start(_server.BaseUri);
        _control = await StartControlAsync();
    }

    /// <summary>A token for this server whose connection is in <paramref name="audience"/> (<see cref="TestTokens.Mint"/>).</summary>
    public string Token(string audience, TimeSpan lifetime) => TestTokens.Mint(SigningKey, audience, lifetime);

    public async ValueTask DisposeAsync()
    {
        if (_control is not null)
        {
            await _control.DisposeAsync();
        }

        if (_relay is not null)
        {
            await _relay.DisposeAsync();
        }

        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    private async Task<WebApplication> StartControlAsync()
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = Path.GetTempPath() });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        // The body is the payload, audience,{json}: sent as it is, so a test can send anything a trigger could.
        app.MapPost("/notify", async (HttpRequest request, CancellationToken cancellationToken) =>
        {
            using var reader = new StreamReader(request.Body, Encoding.UTF8);
            await postgres.NotifyAsync(Channel, await reader.ReadToEndAsync(cancellationToken), cancellationToken);
            return Results.NoContent();
        });
        // The body is SQL, run as it is: a test creates, publishes and writes its own tables. PostgreSQL's error is the
        // answer's text, for the test's failure message.
        app.MapPost("/sql", async (HttpRequest request, CancellationToken cancellationToken) =>
        {
            using var reader = new StreamReader(request.Body, Encoding.UTF8);
            await using var command = postgres.DataSource.CreateCommand(await reader.ReadToEndAsync(cancellationToken));
            try
            {
                await command.ExecuteNonQueryAsync(cancellationToken);
            }
            catch (PostgresException error)
            {
                return Results.Text(error.Message, statusCode: StatusCodes.Status400BadRequest);
            }

            return Results.NoContent();
        });
        app.MapPost("/relay/cut", () =>
        {
            Relay.Cut();
            return Results.NoContent();
        });
        app.MapPost("/relay/restore", () =>
        {
            Relay.Restore();
            return Results.NoContent();
        });
        await app.StartAsync(TestContext.Current.CancellationToken);
        return app;
    }

    private static InvalidOperationException NotStarted() => new("The server is not started.");
}
