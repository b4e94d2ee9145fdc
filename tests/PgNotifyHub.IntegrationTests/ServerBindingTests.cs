using System.Globalization;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.IntegrationTests;

/// <summary>
/// Where the standalone server process listens: ASP.NET Core's address settings in their usual precedence, and
/// pgws's http://localhost:8080 only when none of them is set.
/// </summary>
[Collection(SharedPostgres.Name)]
public sealed class ServerBindingTests(PostgresFixture postgres)
{
    public enum AddressSource
    {
        UrlsArgument,
        UrlsVariable,
        HttpPortsVariable,
        KestrelEndpoint,
    }

    [Theory]
    [InlineData(AddressSource.UrlsArgument)]
    [InlineData(AddressSource.UrlsVariable)]
    [InlineData(AddressSource.HttpPortsVariable)]
    [InlineData(AddressSource.KestrelEndpoint)]
    public async Task Server_listens_where_the_address_setting_says(AddressSource source)
    {
        var port = FreePort.Next();
        var address = $"http://127.0.0.1:{port}";
        var launch = source switch
        {
            AddressSource.UrlsArgument => Launch() with { Urls = address },
            AddressSource.UrlsVariable => Launch() with { Environment = new Dictionary<string, string> { ["ASPNETCORE_URLS"] = address } },
            AddressSource.HttpPortsVariable => Launch() with { Environment = new Dictionary<string, string> { ["ASPNETCORE_HTTP_PORTS"] = Text(port) } },
            AddressSource.KestrelEndpoint => Launch(new() { ["Kestrel:Endpoints:Http:Url"] = address }),
            _ => throw new ArgumentOutOfRangeException(nameof(source)),
        };

        await using var server = await ServerProcess.StartAsync(launch);

        // HTTP_PORTS means every interface, as in a container.
        var expected = source == AddressSource.HttpPortsVariable ? $"http://[::]:{port}/" : address + "/";
        Assert.Equal(expected, server.ListeningAddress.ToString());
        await AssertServesAsync(server);
    }

    [Fact]
    public async Task ASPNETCORE_URLS_wins_over_ASPNETCORE_HTTP_PORTS_as_in_any_ASP_NET_Core_app()
    {
        var (urlsPort, httpPortsPort) = (FreePort.Next(), FreePort.Next());

        await using var server = await ServerProcess.StartAsync(Launch() with
        {
            Environment = new Dictionary<string, string>
            {
                ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{urlsPort}",
                ["ASPNETCORE_HTTP_PORTS"] = Text(httpPortsPort),
            },
        });

        Assert.Equal($"http://127.0.0.1:{urlsPort}/", server.ListeningAddress.ToString());
        await AssertServesAsync(server);
    }

    [Fact]
    public async Task Without_any_address_setting_the_server_takes_localhost_8080()
    {
        // Port 8080 belongs to the machine, not to this test: another server may hold it. Either way the server must
        // go for http://localhost:8080, and then either serve there or say that it is taken.
        var (server, exit) = await ServerProcess.StartOrExitAsync(Launch());
        await using (server)
        {
            if (server is not null)
            {
                Assert.Equal("http://localhost:8080/", server.ListeningAddress.ToString());
                await AssertServesAsync(server);
            }
            else
            {
                Assert.Contains("localhost:8080", exit!.ToString(), StringComparison.Ordinal);
                Assert.Contains("in use", exit.ToString(), StringComparison.Ordinal);
            }
        }
    }

    private ServerLaunch Launch(Dictionary<string, string>? settings = null)
    {
        var all = new Dictionary<string, string>
        {
            ["ConnectionStrings:Postgres"] = postgres.ConnectionString,
            ["PgNotifyHub:Channels:0"] = Names.Channel(),
            ["Authentication:AllowAnonymous"] = "true",
        };
        foreach (var (key, value) in settings ?? [])
        {
            all[key] = value;
        }

        return new ServerLaunch { Settings = all, Urls = null };
    }

    private static async Task AssertServesAsync(ServerProcess server)
    {
        using var http = new HttpClient { BaseAddress = server.BaseUri };
        Assert.Equal("Healthy", await http.GetStringAsync("/healthz", TestContext.Current.CancellationToken).OrTimeout());
    }

    private static string Text(int port) => port.ToString(CultureInfo.InvariantCulture);
}
