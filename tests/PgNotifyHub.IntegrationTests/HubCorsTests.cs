using System.Net;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.IntegrationTests;

/// <summary>The standalone server's hub answers CORS for the origins of PgNotifyHub:AllowedOrigins, and for no other.</summary>
[Collection(SharedPostgres.Name)]
public sealed class HubCorsTests(PostgresFixture postgres)
{
    private const string ListedOrigin = "https://app.example.com";

    [Fact]
    public async Task A_listed_origin_passes_the_negotiate_preflight_and_negotiates_with_credentials()
    {
        await using var server = await StartServerAsync();
        using var http = new HttpClient { BaseAddress = server.BaseUri };

        using var preflight = await http.SendAsync(Preflight(ListedOrigin), TestContext.Current.CancellationToken).OrTimeout();
        Assert.Equal(HttpStatusCode.NoContent, preflight.StatusCode);
        Assert.Equal(ListedOrigin, Assert.Single(preflight.Headers.GetValues("Access-Control-Allow-Origin")));
        Assert.Equal("true", Assert.Single(preflight.Headers.GetValues("Access-Control-Allow-Credentials")));
        Assert.Contains("POST", preflight.Headers.GetValues("Access-Control-Allow-Methods").Single(), StringComparison.Ordinal);

        using var negotiate = await http.SendAsync(Negotiate(ListedOrigin), TestContext.Current.CancellationToken).OrTimeout();
        Assert.Equal(HttpStatusCode.OK, negotiate.StatusCode);
        Assert.Equal(ListedOrigin, Assert.Single(negotiate.Headers.GetValues("Access-Control-Allow-Origin")));
        Assert.Equal("true", Assert.Single(negotiate.Headers.GetValues("Access-Control-Allow-Credentials")));
    }

    [Fact]
    public async Task An_unlisted_origin_gets_no_CORS_headers_and_its_negotiate_is_refused()
    {
        await using var server = await StartServerAsync();
        using var http = new HttpClient { BaseAddress = server.BaseUri };
        const string foreign = "https://evil.example.net";

        using var preflight = await http.SendAsync(Preflight(foreign), TestContext.Current.CancellationToken).OrTimeout();
        Assert.False(preflight.Headers.Contains("Access-Control-Allow-Origin"));

        using var negotiate = await http.SendAsync(Negotiate(foreign), TestContext.Current.CancellationToken).OrTimeout();
        Assert.Equal(HttpStatusCode.Forbidden, negotiate.StatusCode);
        Assert.False(negotiate.Headers.Contains("Access-Control-Allow-Origin"));
    }

    private Task<StandaloneServer> StartServerAsync() => StandaloneServer.StartAsync(postgres, new Dictionary<string, string>
    {
        ["PgNotifyHub:AllowedOrigins:0"] = ListedOrigin,
        ["Authentication:AllowAnonymous"] = "true",
    });

    // What a browser sends before the SignalR client's negotiate from another origin.
    private static HttpRequestMessage Preflight(string origin)
    {
        var request = new HttpRequestMessage(HttpMethod.Options, "/hub/negotiate?negotiateVersion=1");
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", "POST");
        request.Headers.Add("Access-Control-Request-Headers", "x-requested-with,x-signalr-user-agent");
        return request;
    }

    private static HttpRequestMessage Negotiate(string origin)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/hub/negotiate?negotiateVersion=1");
        request.Headers.Add("Origin", origin);
        return request;
    }
}
