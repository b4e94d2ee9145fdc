using System.Globalization;
using System.Net;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.IntegrationTests;

/// <summary>
/// The standalone server with <c>Authentication:Jwt</c>, configured as an operator would: bearer tokens in the
/// header or the <c>access_token</c> query parameter, audiences from a claim, connections closed when their token
/// expires, and no way to start it open by omission.
/// </summary>
[Collection(SharedPostgres.Name)]
public sealed class JwtAuthenticationTests(PostgresFixture postgres)
{
    private const string TenantClaim = "tenant";
    private const string Issuer = "https://issuer.example";
    private const string Audience = "pgnotifyhub";
    private const string KeyId = "key-1";

    // Long enough for the handshake on a loaded machine, short enough to wait for; exp has whole seconds, so the
    // token lives between 2 and 3 s.
    private static readonly TimeSpan ShortLifetime = TimeSpan.FromSeconds(3);

    private static readonly Dictionary<string, (Dictionary<string, string> Settings, string Error)> IncoherentSettings = new()
    {
        ["audiences from a claim without a token"] = (
            new() { ["Authentication:AllowAnonymous"] = "true", ["Audiences:Source"] = "Claim", ["Audiences:Claim"] = TenantClaim },
            "Audiences:Source is Claim, but there are no claims without a token"),
        ["both a signing key and an authority"] = (
            new() { ["Authentication:Jwt:SigningKey"] = new string('k', 32), ["Authentication:Jwt:Authority"] = Issuer, ["Authentication:Jwt:Audience"] = Audience },
            "Authentication:Jwt sets both SigningKey and Authority"),
        ["an authority without an audience"] = (
            new() { ["Authentication:Jwt:Authority"] = Issuer },
            "Authentication:Jwt:Audience is required with Authority"),
        ["an authority over http"] = (
            new() { ["Authentication:Jwt:Authority"] = "http://issuer.example", ["Authentication:Jwt:Audience"] = Audience },
            "keys are fetched over https only"),
        ["a claim source without a claim"] = (
            new() { ["Authentication:Jwt:SigningKey"] = new string('k', 32), ["Audiences:Source"] = "Claim" },
            "Audiences:Claim must name the token's claim"),
    };

    // Plain text, as an operator writes it in the settings: 64 characters, so 64 bytes.
    private readonly string _signingKey = Convert.ToHexString(RandomNumberGenerator.GetBytes(32));

    public enum TokenLocation
    {
        Header,
        QueryString,
    }

    public static TheoryData<Transport, TokenLocation> TokenLocations => new()
    {
        { Transport.SignalR, TokenLocation.Header },
        { Transport.SignalR, TokenLocation.QueryString },
        { Transport.WebSocket, TokenLocation.Header },
        { Transport.WebSocket, TokenLocation.QueryString },
        { Transport.EventStream, TokenLocation.Header },
        { Transport.EventStream, TokenLocation.QueryString },
    };

    public static TheoryData<string> IncoherentSettingCases => [.. IncoherentSettings.Keys];

    [Theory]
    [InlineData(Transport.SignalR)]
    [InlineData(Transport.WebSocket)]
    [InlineData(Transport.EventStream)]
    public async Task Connection_without_a_token_is_refused_with_401(Transport transport)
    {
        await using var server = await StandaloneServer.StartAsync(postgres, JwtSettings());

        await AssertRefusedAsync(server, transport, token: null, HttpStatusCode.Unauthorized);
    }

    [Theory]
    [InlineData(Transport.SignalR)]
    [InlineData(Transport.WebSocket)]
    public async Task Token_with_a_wrong_signature_is_refused_with_401(Transport transport)
    {
        await using var server = await StandaloneServer.StartAsync(postgres, JwtSettings());
        var otherKey = new SymmetricSecurityKey(RandomNumberGenerator.GetBytes(64));

        await AssertRefusedAsync(server, transport, Token(Names.Audience(), signedWith: new SigningCredentials(otherKey, SecurityAlgorithms.HmacSha256)), HttpStatusCode.Unauthorized);
    }

    [Theory]
    [InlineData(Transport.SignalR)]
    [InlineData(Transport.WebSocket)]
    [InlineData(Transport.EventStream)]
    public async Task Expired_token_is_refused_with_401(Transport transport)
    {
        await using var server = await StandaloneServer.StartAsync(postgres, JwtSettings());

        await AssertRefusedAsync(server, transport, Token(Names.Audience(), lifetime: TimeSpan.FromSeconds(-5)), HttpStatusCode.Unauthorized);
    }

    [Theory]
    [InlineData(Transport.WebSocket)]
    [InlineData(Transport.SignalR)]
    [InlineData(Transport.SignalRLongPolling)]
    public async Task A_token_already_expired_that_the_clock_skew_let_through_is_refused_with_401_on_every_transport(Transport transport)
    {
        var settings = JwtSettings();
        settings["Authentication:Jwt:ClockSkew"] = "00:05:00";
        await using var server = await StandaloneServer.StartAsync(postgres, settings);
        var token = Token(Names.Audience(), lifetime: TimeSpan.FromSeconds(-5));
        var cancellationToken = TestContext.Current.CancellationToken;

        if (transport == Transport.WebSocket)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, await WebSocketTestClient.ConnectWithTokenExpectingRefusalAsync(server.BaseUri, "/ws", token, cancellationToken).OrTimeout());
        }
        else
        {
            var refusal = await Assert.ThrowsAnyAsync<Exception>(() => SignalRTestClient.ConnectAsync(
                server.BaseUri, audienceHeader: null, cancellationToken, transport: transport == Transport.SignalR ? HttpTransportType.WebSockets : HttpTransportType.LongPolling, accessToken: token).OrTimeout());
            Assert.Contains("401", refusal.ToString(), StringComparison.Ordinal);
        }

        await server.Logs.WaitForAsync(entry => entry.EventId.Name == "ExpiredAuthenticationRefused").OrTimeout();
    }

    [Theory]
    [MemberData(nameof(TokenLocations))]
    public async Task Token_is_accepted_in_the_authorization_header_and_in_the_access_token_query_parameter(Transport transport, TokenLocation location)
    {
        await using var server = await StandaloneServer.StartAsync(postgres, JwtSettings());
        var tenant = Names.Audience("tenant");

        await using var client = await ConnectAsync(server, transport, Token(tenant), location);
        await server.WaitUntilRegisteredAsync(tenant);

        await AssertHearsOnlyAsync(server, client, [tenant], Names.Audience("other"));
    }

    [Theory]
    [InlineData(Transport.SignalR)]
    [InlineData(Transport.WebSocket)]
    [InlineData(Transport.EventStream)]
    public async Task Token_for_one_tenant_never_receives_another_tenants_messages(Transport transport)
    {
        await using var server = await StandaloneServer.StartAsync(postgres, JwtSettings());
        var (tenantA, tenantB) = (Names.Audience("tenantA"), Names.Audience("tenantB"));

        await using var clientA = await ConnectAsync(server, transport, Token(tenantA));
        await using var clientB = await ConnectAsync(server, transport, Token(tenantB));
        await server.WaitUntilRegisteredAsync(tenantA);
        await server.WaitUntilRegisteredAsync(tenantB);

        var (markerA, markerB) = (Markers.NewId(), Markers.NewId());
        await postgres.NotifyManyAsync(server.Channel, [
            Markers.Message(tenantA, "for-A"),
            Markers.Message(tenantB, "for-B"),
            Markers.Payload(tenantA, markerA),
            Markers.Payload(tenantB, markerB),
        ], TestContext.Current.CancellationToken);

        Assert.Equal(["for-A"], (await clientA.ReceiveUntilMarkerAsync(markerA)).Select(envelope => envelope.PayloadString("msg")));
        Assert.Equal(["for-B"], (await clientB.ReceiveUntilMarkerAsync(markerB)).Select(envelope => envelope.PayloadString("msg")));
    }

    [Theory]
    [InlineData(Transport.SignalR)]
    [InlineData(Transport.WebSocket)]
    public async Task Token_whose_claim_is_an_array_receives_the_messages_of_every_tenant_in_it(Transport transport)
    {
        await using var server = await StandaloneServer.StartAsync(postgres, JwtSettings());
        var (tenantA, tenantB) = (Names.Audience("tenantA"), Names.Audience("tenantB"));

        await using var client = await ConnectAsync(server, transport, Token(new[] { tenantA, tenantB }));
        await server.WaitUntilRegisteredAsync(tenantA);
        await server.WaitUntilRegisteredAsync(tenantB);

        await AssertHearsOnlyAsync(server, client, [tenantA, tenantB], Names.Audience("tenantC"));
    }

    [Theory]
    [InlineData(Transport.SignalR)]
    [InlineData(Transport.WebSocket)]
    public async Task Token_without_the_audience_claim_is_refused(Transport transport)
    {
        await using var server = await StandaloneServer.StartAsync(postgres, JwtSettings());
        var token = Token(tenants: null);

        if (transport == Transport.WebSocket)
        {
            Assert.Equal(
                HttpStatusCode.Forbidden,
                await WebSocketTestClient.ConnectWithTokenExpectingRefusalAsync(server.BaseUri, "/ws", token, TestContext.Current.CancellationToken).OrTimeout());
        }
        else
        {
            // SignalR accepts the transport first; the hub then closes the connection that has no audience.
            await using var client = (SignalRTestClient)await ConnectAsync(server, transport, token);
            await client.Closed.OrTimeout();
        }

        await server.Logs.WaitForAsync(entry => entry.EventId.Name == "ConnectionRefused" && entry.Message.Contains("no audience", StringComparison.Ordinal)).OrTimeout();
    }

    [Theory]
    [InlineData(Transport.SignalR)]
    [InlineData(Transport.WebSocket)]
    [InlineData(Transport.EventStream)]
    public async Task Connection_is_closed_when_its_token_expires(Transport transport)
    {
        await using var server = await StandaloneServer.StartAsync(postgres, JwtSettings());
        var tenant = Names.Audience("tenant");
        var token = Token(tenant, lifetime: ShortLifetime);

        await using var client = await ConnectAsync(server, transport, token);
        await server.WaitUntilRegisteredAsync(tenant);

        if (client is WebSocketTestClient raw)
        {
            var closed = await raw.Closed.OrTimeout();
            Assert.Equal((WebSocketCloseStatus)4001, closed.Status);
            Assert.Equal("authentication expired", closed.Description);
            Assert.Contains(server.Logs.Entries, entry => entry.EventId.Name == "AuthenticationExpired" && entry.Level == LogLevel.Information);
        }
        else if (client is EventStreamTestClient stream)
        {
            // The stream ends; the browser reconnects, and must bring a fresh token to be let in.
            Assert.Equal("end of stream", await stream.Ended.OrTimeout());
            Assert.Contains(server.Logs.Entries, entry => entry.EventId.Name == "EventStreamAuthenticationExpired" && entry.Level == LogLevel.Information);
        }
        else
        {
            await ((SignalRTestClient)client).Closed.OrTimeout();
        }

        Assert.True(DateTimeOffset.UtcNow >= ExpiryOf(token), "The connection was closed before its token expired.");
        Assert.False(client.IsConnected);
    }

    [Theory]
    [InlineData(Transport.SignalR)]
    [InlineData(Transport.WebSocket)]
    public async Task Connection_outlives_its_token_when_CloseOnAuthenticationExpiry_is_false(Transport transport)
    {
        await using var server = await StandaloneServer.StartAsync(postgres, JwtSettings(closeOnAuthenticationExpiration: false));
        var tenant = Names.Audience("tenant");
        var token = Token(tenant, lifetime: ShortLifetime);

        await using var client = await ConnectAsync(server, transport, token);
        await server.WaitUntilRegisteredAsync(tenant);
        // Lets the clock pass the expiry and SignalR's once-a-second expiry scan run after it; what is asserted is
        // what follows: the server holds the token expired, and the connection still delivers.
        await Task.Delay(ExpiryOf(token) - DateTimeOffset.UtcNow + TimeSpan.FromSeconds(2), TestContext.Current.CancellationToken);
        await AssertRefusedAsync(server, transport, token, HttpStatusCode.Unauthorized);

        await AssertHearsOnlyAsync(server, client, [tenant], Names.Audience("other"));
        Assert.True(client.IsConnected);
    }

    [Theory]
    [InlineData(Transport.SignalR)]
    [InlineData(Transport.WebSocket)]
    public async Task Tokens_signed_with_a_key_the_authority_publishes_are_accepted_and_others_refused(Transport transport)
    {
        using var rsa = RSA.Create(2048);
        await using var authority = await StartAuthorityAsync(rsa.ExportParameters(includePrivateParameters: false));
        var issuer = authority.Urls.Single();
        await using var server = await StandaloneServer.StartAsync(postgres, new Dictionary<string, string>
        {
            ["Authentication:Jwt:Authority"] = issuer,
            ["Authentication:Jwt:RequireHttpsMetadata"] = "false",
            ["Authentication:Jwt:Audience"] = Audience,
            ["Authentication:Jwt:ClockSkew"] = "00:00:00",
            ["Audiences:Source"] = "Claim",
            ["Audiences:Claim"] = TenantClaim,
        });
        var tenant = Names.Audience("tenant");

        var published = new SigningCredentials(new RsaSecurityKey(rsa) { KeyId = KeyId }, SecurityAlgorithms.RsaSha256);
        await using var client = await ConnectAsync(server, transport, Token(tenant, signedWith: published, issuer: issuer));
        await server.WaitUntilRegisteredAsync(tenant);
        await AssertHearsOnlyAsync(server, client, [tenant], Names.Audience("other"));

        using var unpublishedKey = RSA.Create(2048);
        var unpublished = new SigningCredentials(new RsaSecurityKey(unpublishedKey) { KeyId = KeyId }, SecurityAlgorithms.RsaSha256);
        await AssertRefusedAsync(server, transport, Token(tenant, signedWith: unpublished, issuer: issuer), HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Server_refuses_to_start_without_authentication_unless_anonymous_access_is_allowed()
    {
        var error = await StandaloneServer.StartupErrorAsync(postgres, new Dictionary<string, string> { ["Authentication:AllowAnonymous"] = "false" });

        Assert.Contains("No authentication is configured", error, StringComparison.Ordinal);
        Assert.Contains("Authentication:AllowAnonymous=true", error, StringComparison.Ordinal);

        await using var anonymous = await StandaloneServer.StartAsync(postgres, new Dictionary<string, string> { ["Authentication:AllowAnonymous"] = "true" });
        var warning = await anonymous.Logs.WaitForAsync(entry => entry.EventId.Name == "AnonymousAccess").OrTimeout();
        Assert.Equal(LogLevel.Warning, warning.Level);
    }

    [Fact]
    public async Task Server_refuses_to_start_with_a_signing_key_shorter_than_32_bytes()
    {
        var error = await StandaloneServer.StartupErrorAsync(postgres, JwtSettings(signingKey: new string('k', 31)));

        Assert.Contains("Authentication:Jwt:SigningKey is 31 bytes long; HS256 needs at least 32 bytes", error, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(IncoherentSettingCases))]
    public async Task Server_refuses_to_start_with_incoherent_authentication_settings_naming_them(string settings)
    {
        var (values, expected) = IncoherentSettings[settings];

        var error = await StandaloneServer.StartupErrorAsync(postgres, values);

        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    private Dictionary<string, string> JwtSettings(bool closeOnAuthenticationExpiration = true, string? signingKey = null) => new()
    {
        ["Authentication:Jwt:SigningKey"] = signingKey ?? _signingKey,
        ["Authentication:Jwt:Issuer"] = Issuer,
        ["Authentication:Jwt:Audience"] = Audience,
        ["Authentication:Jwt:ClockSkew"] = "00:00:00",
        ["Audiences:Source"] = "Claim",
        ["Audiences:Claim"] = TenantClaim,
        ["PgNotifyHub:CloseOnAuthenticationExpiration"] = closeOnAuthenticationExpiration ? "true" : "false",
    };

    /// <param name="tenants">The tenant claim: a string, an array (a JSON array claim), or null for none.</param>
    /// <param name="lifetime">From now to <c>exp</c>; negative for a token that has expired.</param>
    /// <param name="signedWith">By default, the server's own signing key.</param>
    /// <param name="issuer">The <c>iss</c> claim.</param>
    private string Token(object? tenants, TimeSpan? lifetime = null, SigningCredentials? signedWith = null, string issuer = Issuer)
    {
        var now = DateTime.UtcNow;
        var expires = now + (lifetime ?? TimeSpan.FromMinutes(5));
        var issued = expires < now ? expires - TimeSpan.FromMinutes(1) : now;
        var claims = new Dictionary<string, object> { ["sub"] = "test-user" };
        if (tenants is not null)
        {
            claims[TenantClaim] = tenants;
        }

        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = Audience,
            IssuedAt = issued,
            NotBefore = issued,
            Expires = expires,
            Claims = claims,
            SigningCredentials = signedWith ?? new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(_signingKey)), SecurityAlgorithms.HmacSha256),
        });
    }

    private static DateTimeOffset ExpiryOf(string token) => new JsonWebToken(token).ValidTo;

    private static async Task<NotifyTestClient> ConnectAsync(StandaloneServer server, Transport transport, string token, TokenLocation location = TokenLocation.Header)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var query = location == TokenLocation.QueryString ? "?access_token=" + Uri.EscapeDataString(token) : "";
        var header = location == TokenLocation.Header ? token : null;
        return transport switch
        {
            Transport.WebSocket => await WebSocketTestClient.ConnectAsync(server.BaseUri, audienceHeader: null, path: "/ws" + query, accessToken: header, cancellationToken: cancellationToken).OrTimeout(),
            Transport.EventStream => await EventStreamTestClient.ConnectAsync(server.BaseUri, audienceHeader: null, path: "/events" + query, accessToken: header, cancellationToken: cancellationToken).OrTimeout(),
            _ => await SignalRTestClient.ConnectAsync(server.BaseUri, audienceHeader: null, cancellationToken, path: "/hub" + query, accessToken: header).OrTimeout(),
        };
    }

    private static async Task AssertRefusedAsync(StandaloneServer server, Transport transport, string? token, HttpStatusCode status)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        if (transport == Transport.WebSocket)
        {
            Assert.Equal(status, await WebSocketTestClient.ConnectWithTokenExpectingRefusalAsync(server.BaseUri, "/ws", token, cancellationToken).OrTimeout());
            return;
        }

        if (transport == Transport.EventStream)
        {
            Assert.Equal(status, (await EventStreamTestClient.ConnectExpectingRefusalAsync(server.BaseUri, audienceHeader: null, accessToken: token, cancellationToken: cancellationToken).OrTimeout()).Status);
            return;
        }

        var refusal = await Assert.ThrowsAnyAsync<Exception>(
            () => SignalRTestClient.ConnectAsync(server.BaseUri, audienceHeader: null, cancellationToken, accessToken: token).OrTimeout());
        Assert.Contains(((int)status).ToString(CultureInfo.InvariantCulture), refusal.ToString(), StringComparison.Ordinal);
    }

    /// <summary>
    /// Proves that <paramref name="client"/> hears each of its <paramref name="own"/> audiences and not
    /// <paramref name="foreign"/>: a message to each, then a marker, in one transaction.
    /// </summary>
    private async Task AssertHearsOnlyAsync(StandaloneServer server, NotifyTestClient client, string[] own, string foreign)
    {
        var marker = Markers.NewId();
        await postgres.NotifyManyAsync(server.Channel, [
            Markers.Message(foreign, "for-" + foreign),
            .. own.Select(audience => Markers.Message(audience, "for-" + audience)),
            Markers.Payload(own[0], marker),
        ], TestContext.Current.CancellationToken);

        Assert.Equal(own.Select(audience => "for-" + audience), (await client.ReceiveUntilMarkerAsync(marker)).Select(envelope => envelope.PayloadString("msg")));
    }

    // The smallest OpenID Connect issuer: its discovery document, and a JWKS with the public half of one RSA key.
    private static async Task<WebApplication> StartAuthorityAsync(RSAParameters publicKey)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapGet("/.well-known/openid-configuration", (HttpContext context) =>
        {
            var issuer = context.Request.Scheme + "://" + context.Request.Host;
            return Results.Text(JsonSerializer.Serialize(new Dictionary<string, string> { ["issuer"] = issuer, ["jwks_uri"] = issuer + "/jwks" }), "application/json");
        });
        var jwks = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["keys"] = new[]
            {
                new Dictionary<string, string>
                {
                    ["kty"] = "RSA",
                    ["use"] = "sig",
                    ["alg"] = SecurityAlgorithms.RsaSha256,
                    ["kid"] = KeyId,
                    ["n"] = Base64UrlEncoder.Encode(publicKey.Modulus),
                    ["e"] = Base64UrlEncoder.Encode(publicKey.Exponent),
                },
            },
        });
        app.MapGet("/jwks", () => Results.Text(jwks, "application/json"));
        await app.StartAsync(TestContext.Current.CancellationToken).OrTimeout();
        return app;
    }
}
