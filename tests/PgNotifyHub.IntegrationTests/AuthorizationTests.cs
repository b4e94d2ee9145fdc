using System.Net;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.IntegrationTests;

/// <summary>Both endpoints are ordinary ASP.NET Core endpoints: authorization conventions apply to them.</summary>
[Collection(SharedPostgres.Name)]
public sealed class AuthorizationTests(PostgresFixture postgres)
{
    private const string TenantClaim = "tenant";

    [Theory]
    [InlineData(Transport.SignalR)]
    [InlineData(Transport.WebSocket)]
    public async Task RequireAuthorization_refuses_anonymous_clients(Transport transport)
    {
        await using var host = await StartAuthorizedHostAsync();

        if (transport == Transport.WebSocket)
        {
            var status = await WebSocketTestClient.ConnectExpectingRefusalAsync(host.BaseUri, audienceHeader: null, TestContext.Current.CancellationToken).OrTimeout();
            Assert.Equal(HttpStatusCode.Unauthorized, status);
        }
        else
        {
            var refusal = await Assert.ThrowsAnyAsync<Exception>(
                () => SignalRTestClient.ConnectAsync(host.BaseUri, audienceHeader: null, TestContext.Current.CancellationToken).OrTimeout());
            Assert.Contains("401", refusal.ToString(), StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(Transport.SignalR)]
    [InlineData(Transport.WebSocket)]
    public async Task Authenticated_client_receives_the_audiences_of_its_claims(Transport transport)
    {
        await using var host = await StartAuthorizedHostAsync();
        var (mine, other) = (Names.Audience("tenant"), Names.Audience("other"));
        var client = await host.ConnectAsync(transport, mine);

        await host.AssertHearsOnlyItsOwnAudienceAsync(client, mine, other);
    }

    // Authentication from the X-Audience header stands in for a real scheme (JWT, cookies): the identity carries
    // tenant claims, and the audience resolver reads the claims, never the request.
    private Task<NotifyTestHost> StartAuthorizedHostAsync() => NotifyTestHost.StartAsync(
        postgres,
        options => options.AudienceResolver = context =>
            new([.. context.User.FindAll(TenantClaim).Select(claim => claim.Value)]),
        configureServices: services =>
        {
            services.AddAuthentication(TenantHeaderHandler.SchemeName)
                .AddScheme<AuthenticationSchemeOptions, TenantHeaderHandler>(TenantHeaderHandler.SchemeName, null);
            services.AddAuthorization();
        },
        endpointConventions: endpoint => endpoint.RequireAuthorization());

    private sealed class TenantHeaderHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        public const string SchemeName = "TenantHeader";

        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            if (!Request.Headers.TryGetValue(NotifyTestHost.AudienceHeader, out var header))
            {
                return Task.FromResult(AuthenticateResult.NoResult());
            }

            var claims = header.ToString().Split(',', StringSplitOptions.RemoveEmptyEntries).Select(tenant => new Claim(TenantClaim, tenant));
            var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName));
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName)));
        }
    }
}
