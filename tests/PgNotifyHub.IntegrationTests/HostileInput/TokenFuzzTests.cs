using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.IntegrationTests.HostileInput;

/// <summary>
/// Credentials are the client's to write: on the standalone server with <c>Authentication:Jwt</c>, garbage, truncated,
/// tampered, unsigned, expired and not-yet-valid tokens, tokens given twice or in two places, and valid tokens whose
/// claims give no audience or too many, are refused on every transport (the raw handshake, the hub's WebSocket and
/// its negotiation, where long polling starts), without an error; and the server keeps serving valid clients.
/// </summary>
[Collection(SharedPostgres.Name)]
public sealed class TokenFuzzTests(PostgresFixture postgres)
{
    private const string TenantClaim = "tenant";
    private const int Slots = 2;

    private readonly string _signingKey = Convert.ToHexString(RandomNumberGenerator.GetBytes(32));

    [Fact]
    public async Task Bad_repeated_and_misplaced_tokens_are_refused_with_401_on_every_transport_and_valid_ones_still_connect()
    {
        var seed = FuzzInput.Seed(20261221);
        var random = new Random(seed);
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var server = await StandaloneServer.StartAsync(postgres, new Dictionary<string, string>
        {
            ["Authentication:Jwt:SigningKey"] = _signingKey,
            ["Authentication:Jwt:ClockSkew"] = "00:00:00",
            ["Audiences:Source"] = "Claim",
            ["Audiences:Claim"] = TenantClaim,
            ["PgNotifyHub:MaxConnections"] = Slots.ToString(CultureInfo.InvariantCulture),
            ["PgNotifyHub:MaxAudiencesPerConnection"] = "1000",
        });
        using var meter = new MeterTotals(server.Services.GetRequiredService<IMeterFactory>());
        var tenant = Names.Audience("tenant");
        var valid = Token(Claims(tenant));

        var unauthorized = new List<(string Description, string Query, (string, string)[] Headers)>
        {
            ("the valid token twice in the query", "access_token=" + valid + "&access_token=" + valid, []),
            ("the valid token and garbage in the query", "access_token=" + valid + "&access_token=x", []),
            ("the valid token twice in the header", "", [("Authorization", "Bearer " + valid), ("Authorization", "Bearer " + valid)]),
            ("garbage in the header and the valid token in the query", "access_token=" + valid, [("Authorization", "Bearer garbage")]),
            ("Basic credentials", "", [("Authorization", "Basic " + Convert.ToBase64String("user:pass"u8))]),
            ("an empty bearer", "", [("Authorization", "Bearer ")]),
            ("an empty access_token", "access_token=", []),
            ("no token", "", []),
            ("an unsigned token", "access_token=" + new JsonWebTokenHandler().CreateToken(Claims(tenant)), []),
            ("a token signed with another key", "access_token=" + Token(Claims(tenant), RandomNumberGenerator.GetBytes(32)), []),
            ("an expired token", "access_token=" + Token(Claims(tenant, expires: DateTimeOffset.UtcNow.AddMinutes(-1))), []),
            ("a token not valid yet", "access_token=" + Token(Claims(tenant) + ",\"nbf\":" + DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds()), []),
            ("a token without exp", "access_token=" + Token("\"" + TenantClaim + "\":\"" + tenant + "\""), []),
            ("a token with a lone surrogate in its claim", "access_token=" + Token("\"" + TenantClaim + "\":\"\\ud800\",\"exp\":" + DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeSeconds()), []),
        };
        for (var i = 0; i < 12; i++)
        {
            var (description, token) = random.Next(3) switch
            {
                0 => ("garbage", Garbage(random)),
                1 => ("the valid token truncated", valid[..random.Next(1, valid.Length - 1)]),
                _ => ("the valid token with one character changed", Tampered(random, valid)),
            };
            unauthorized.Add((description + ": " + token, random.Next(2) == 0 ? "access_token=" + Uri.EscapeDataString(token) : "", random.Next(2) == 0 ? [] : [("Authorization", "Bearer " + token)]));
        }

        foreach (var (description, query, headers) in unauthorized)
        {
            var statuses = await HandshakesAsync(server.BaseUri, query, headers);
            Assert.True(statuses.All(status => status == HttpStatusCode.Unauthorized), $"Seed {seed}: {description}: {string.Join(", ", statuses)}, not 401 on /ws, /hub and /hub/negotiate.");
        }

        // Valid tokens whose claims give no audience, or more than MaxAudiencesPerConnection.
        var tooMany = "\"" + TenantClaim + "\":[" + string.Join(',', Enumerable.Range(0, 1_001).Select(n => "\"t" + n.ToString(CultureInfo.InvariantCulture) + "\"")) + "]";
        foreach (var claims in new[] { "\"" + TenantClaim + "\":\"\"", "\"" + TenantClaim + "\":null", "\"" + TenantClaim + "\":[\"a\",null]", tooMany })
        {
            var token = Token(claims + ",\"exp\":" + DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeSeconds());
            var raw = await RawWebSocket.OpenAsync(server.BaseUri, "/ws", [("Authorization", "Bearer " + token)], cancellationToken).OrTimeout();
            var (hubStatus, hub) = await RawHubConnection.OpenAsync(server.BaseUri, "/hub", [("Authorization", "Bearer " + token)], cancellationToken).OrTimeout();
            await using (hub)
            {
                Assert.True((raw.Status, hubStatus) == (HttpStatusCode.Forbidden, HttpStatusCode.SwitchingProtocols), $"Claims {claims[..Math.Min(60, claims.Length)]}: {raw.Status} on /ws, {hubStatus} on /hub.");
                // The hub completes SignalR's handshake, then closes the connection that has no audience.
                var records = await hub!.ReceiveUntilClosedAsync(cancellationToken).OrTimeout();
                Assert.DoesNotContain(records, record => RawEnvelopes.FromHubRecord(record) is not null);
            }
        }

        StormAftermath.AssertNoErrorLogged(server.Logs, $"Seed {seed}");
        Assert.Equal((0, 0), (meter["pgnotifyhub.connection.active", "websocket"], meter["pgnotifyhub.connection.active", "signalr"]));

        // Every slot is free: as many valid clients as there are slots connect, one more is refused, each hears its own tenant.
        var tenants = new[] { Names.Audience("tenant"), Names.Audience("tenant") };
        await using var rawClient = await WebSocketTestClient.ConnectAsync(server.BaseUri, audienceHeader: null, path: "/ws?access_token=" + Token(Claims(tenants[0])), cancellationToken: cancellationToken).OrTimeout();
        await using var hubClient = await SignalRTestClient.ConnectAsync(server.BaseUri, audienceHeader: null, cancellationToken, accessToken: Token(Claims(tenants[1]))).OrTimeout();
        await server.WaitUntilRegisteredAsync(tenants[0]);
        await server.WaitUntilRegisteredAsync(tenants[1]);
        var third = await WebSocketTestClient.ConnectWithTokenExpectingRefusalAsync(server.BaseUri, "/ws", Token(Claims(tenant)), cancellationToken).OrTimeout();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, third);
        var marker = Markers.NewId();
        await postgres.NotifyManyAsync(server.Channel, [Markers.Message(tenants[1], "second"), Markers.Message(tenants[0], "first"), Markers.Payload(tenants[0], marker), Markers.Payload(tenants[1], marker)], cancellationToken);
        Assert.Equal(["first"], (await rawClient.ReceiveUntilMarkerAsync(marker)).Select(e => e.PayloadString("msg")));
        Assert.Equal(["second"], (await hubClient.ReceiveUntilMarkerAsync(marker)).Select(e => e.PayloadString("msg")));
    }

    // The raw handshake, the hub's WebSocket, and the hub's negotiation, each with the query and headers.
    private static async Task<HttpStatusCode[]> HandshakesAsync(Uri baseUri, string query, (string, string)[] headers)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var statuses = new List<HttpStatusCode>();
        foreach (var path in new[] { "/ws", "/hub" })
        {
            var answer = await RawWebSocket.OpenAsync(baseUri, path + (query.Length > 0 ? "?" + query : ""), headers, cancellationToken).OrTimeout();
            statuses.Add(answer.Status);
            if (answer.Socket is { } socket)
            {
                await socket.DisposeAsync();
            }
        }

        var negotiate = new StringBuilder("POST /hub/negotiate?negotiateVersion=1").Append(query.Length > 0 ? "&" + query : "").Append(" HTTP/1.1\r\nHost: ").Append(baseUri.Authority).Append("\r\n");
        foreach (var (name, value) in headers)
        {
            negotiate.Append(name).Append(": ").Append(value).Append("\r\n");
        }

        negotiate.Append("Content-Length: 0\r\n\r\n");
        statuses.Add((await RawWebSocket.SendRequestAsync(baseUri, Encoding.UTF8.GetBytes(negotiate.ToString()), cancellationToken).OrTimeout()).Status);
        return [.. statuses];
    }

    private static string Claims(string tenant, DateTimeOffset? expires = null) =>
        "\"" + TenantClaim + "\":\"" + tenant + "\",\"exp\":" + (expires ?? DateTimeOffset.UtcNow.AddMinutes(5)).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);

    // A token of exactly these claims (JSON members), signed with the server's key unless another is given.
    private string Token(string claims, byte[]? key = null) =>
        new JsonWebTokenHandler().CreateToken(
            "{" + claims + "}",
            new SigningCredentials(new SymmetricSecurityKey(key ?? Encoding.UTF8.GetBytes(_signingKey)), SecurityAlgorithms.HmacSha256));

    private static string Garbage(Random random)
    {
        const string Base64Url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        var segments = Enumerable.Range(0, random.Next(1, 5)).Select(_ => new string([.. Enumerable.Range(0, random.Next(0, 60)).Select(_ => Base64Url[random.Next(Base64Url.Length)])]));
        return string.Join('.', segments) is { Length: > 0 } token ? token : "x";
    }

    // One character of the header, the claims or the signature changed, never the last of a segment, whose spare bits
    // a decoder may ignore.
    private static string Tampered(Random random, string token)
    {
        var characters = token.ToCharArray();
        int at;
        do
        {
            at = random.Next(characters.Length - 1);
        }
        while (characters[at] == '.' || characters[at + 1] == '.');

        characters[at] = characters[at] == 'A' ? 'B' : 'A';
        return new string(characters);
    }
}
