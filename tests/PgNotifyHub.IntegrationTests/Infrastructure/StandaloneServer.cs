using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PgNotifyHub.Listening;
using PgNotifyHub.Routing;
using PgNotifyHub.Sequencing;

namespace PgNotifyHub.IntegrationTests.Infrastructure;

/// <summary>
/// The standalone server (its own Program and appsettings.json) on real Kestrel at 127.0.0.1 and a free port,
/// configured only through settings, as an operator configures it, and listening on a channel of its own.
/// </summary>
public sealed class StandaloneServer : IAsyncDisposable
{
    private readonly WebApplicationFactory<Program> _factory;
    private readonly Dictionary<Route, int> _subscribersPerRoute = [];
    private readonly Lock _lock = new();

    private StandaloneServer(WebApplicationFactory<Program> factory, string channel, InMemoryLoggerProvider logs)
    {
        _factory = factory;
        Channel = channel;
        Logs = logs;
        BaseUri = new Uri(factory.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
    }

    /// <summary>http://127.0.0.1:port</summary>
    public Uri BaseUri { get; }

    /// <summary>The one channel the server listens on, unique to it.</summary>
    public string Channel { get; }

    public InMemoryLoggerProvider Logs { get; }

    /// <summary>The server's services, e.g. its meter factory for <see cref="MeterTotals"/>.</summary>
    public IServiceProvider Services => _factory.Services;

    /// <summary>Starts the server and returns once it listens on its channel.</summary>
    /// <param name="postgres">The database.</param>
    /// <param name="settings">Configuration keys (<c>Authentication:Jwt:SigningKey</c>) and values, over appsettings.json.</param>
    /// <param name="waitUntilListening">False returns as soon as Kestrel listens, for a listener that cannot connect.</param>
    public static async Task<StandaloneServer> StartAsync(PostgresFixture postgres, IReadOnlyDictionary<string, string> settings, bool waitUntilListening = true)
    {
        var channel = Names.Channel();
        var logs = new InMemoryLoggerProvider(TestContext.Current.TestOutputHelper);
        var factory = Create(postgres, channel, settings, logs);
        try
        {
            factory.StartServer();
            var server = new StandaloneServer(factory, channel, logs);
            if (waitUntilListening)
            {
                await factory.Services.GetRequiredService<NotificationListener>().WaitUntilListeningAsync(TestContext.Current.CancellationToken).OrTimeout();
            }

            return server;
        }
        catch
        {
            await factory.DisposeAsync();
            logs.Dispose();
            throw;
        }
    }

    /// <summary>Starts the server expecting it to refuse; returns every message of the error it stopped with.</summary>
    public static async Task<string> StartupErrorAsync(PostgresFixture postgres, IReadOnlyDictionary<string, string> settings)
    {
        using var logs = new InMemoryLoggerProvider(TestContext.Current.TestOutputHelper);
        await using var factory = Create(postgres, Names.Channel(), settings, logs);
        var error = Assert.ThrowsAny<Exception>(factory.StartServer);
        var messages = new List<string>();
        for (var current = error; current is not null; current = current.InnerException)
        {
            messages.Add(current.Message);
        }

        return string.Join(Environment.NewLine, messages);
    }

    /// <summary>
    /// Returns once the server has registered <paramref name="connections"/> more connections in
    /// <paramref name="audience"/> on its channel, so they receive every notification sent afterwards.
    /// </summary>
    public async Task WaitUntilRegisteredAsync(string audience, int connections = 1, [CallerFilePath] string filePath = "", [CallerLineNumber] int lineNumber = 0)
    {
        var route = new Route(Channel, audience);
        int expected;
        lock (_lock)
        {
            expected = _subscribersPerRoute[route] = _subscribersPerRoute.GetValueOrDefault(route) + connections;
        }

        await _factory.Services.GetRequiredService<NotificationRouter>()
            .WaitForSubscribersAsync(route, expected, TestContext.Current.CancellationToken)
            .OrTimeout(filePath: filePath, lineNumber: lineNumber);
    }

    public async ValueTask DisposeAsync()
    {
        await _factory.DisposeAsync();
        Logs.Dispose();
    }

    private static WebApplicationFactory<Program> Create(PostgresFixture postgres, string channel, IReadOnlyDictionary<string, string> settings, InMemoryLoggerProvider logs)
    {
        var factory = new WebApplicationFactory<Program>().WithWebHostBuilder(web =>
        {
            // A port of its own, not the server's default 8080, so that servers of parallel runs never collide.
            web.UseSetting("urls", "http://127.0.0.1:0")
                .UseSetting("ConnectionStrings:Postgres", postgres.ConnectionString)
                .UseSetting("PgNotifyHub:Channels:0", channel)
                .ConfigureLogging(logging => logging.AddProvider(logs));
            foreach (var (key, value) in settings)
            {
                web.UseSetting(key, value);
            }
        });
        factory.UseKestrel(0);
        return factory;
    }
}
