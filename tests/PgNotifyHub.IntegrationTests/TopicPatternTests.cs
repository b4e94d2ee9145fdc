using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.IntegrationTests;

/// <summary>
/// The standalone server's <c>Topics:Allow</c>: claim templates configured without code, checked at startup, and
/// applied to every subscription with the connection's token, on both transports.
/// </summary>
[Collection(SharedPostgres.Name)]
public sealed class TopicPatternTests(PostgresFixture postgres)
{
    private const string Issuer = "https://issuer.example";
    private const string Audience = "pgnotifyhub";

    private static readonly string[] Patterns = ["user:{sub}", "tenant:{tenant}:*", "public:news"];

    // The token: a mixed-case subject, and tenants whose values hold the pattern's own characters.
    private static readonly Dictionary<string, object> Claims = new()
    {
        ["sub"] = "Ada",
        ["tenant"] = new[] { "acme", "evil:x", "star*", "{sub}", "" },
    };

    private static readonly string Long = new('x', 3000);

    // Audience, and whether the patterns allow it for the token above.
    private static readonly (string Audience, bool Allowed)[] Cases =
    [
        ("user:Ada", true),
        ("user:ada", false),
        ("USER:Ada", false),
        ("user:Bob", false),
        ("user", false),
        ("user:", false),
        ("user:Ada:", false),
        ("user:Ada:more", false),
        ("user:Ada/more", false),
        ("user:{sub}", false),
        ("tenant:acme:orders", true),
        ("tenant:acme:orders:42", true),
        ("tenant:acme:" + Long, true),
        ("tenant:acme", false),
        ("tenant:acme:", false),
        ("tenant:acme::orders", false),
        ("tenant:acme:orders:", false),
        ("tenant:ACME:orders", false),
        ("tenant:acme.orders", false),
        ("tenant:" + Long + ":orders", false),
        // A value holding the separator matches no segment, so it cannot reach into tenant "evil"'s audiences.
        ("tenant:evil:x:orders", false),
        ("tenant:evil:orders", false),
        // A value's '*' and braces are only ever text.
        ("tenant:star*:orders", true),
        ("tenant:starry:orders", false),
        ("tenant:{sub}:orders", true),
        ("tenant:Ada:orders", false),
        ("tenant:{tenant}:orders", false),
        // An empty value allows nothing.
        ("tenant::orders", false),
        ("public:news", true),
        ("public:news:sport", false),
        ("Public:news", false),
    ];

    // Pattern, and what the startup error says.
    private static readonly Dictionary<string, string> InvalidPatterns = new()
    {
        ["*"] = "it would allow every audience",
        ["a:*:b"] = "'*' may only be its last segment",
        ["a*"] = "'*' may only be its last segment",
        ["a:**"] = "'*' may only be its last segment",
        ["a::b"] = "it has an empty segment",
        [":a"] = "it has an empty segment",
        ["a:"] = "it has an empty segment",
        ["org_{org}"] = "a claim must be a whole segment",
        ["{a}{b}"] = "a claim must be a whole segment",
        ["a:{b"] = "a claim must be a whole segment",
        ["a:b}"] = "a claim must be a whole segment",
        ["a:{}"] = "'{}' names no claim",
        ["a,b"] = "no audience can hold a comma",
        [" "] = "it is empty",
    };

    private readonly string _signingKey = Convert.ToHexString(RandomNumberGenerator.GetBytes(32));

    public static TheoryData<Transport> Transports => [Transport.SignalR, Transport.WebSocket];

    public static TheoryData<string> InvalidPatternCases => [.. InvalidPatterns.Keys];

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Topics_Allow_lets_a_token_subscribe_to_exactly_the_audiences_its_claims_fill_in(Transport transport)
    {
        await using var server = await StandaloneServer.StartAsync(postgres, Settings(Patterns));
        await using var client = await ConnectAsync(server, transport, Token());

        var answers = new List<(string Audience, bool Allowed)>();
        foreach (var (audience, _) in Cases)
        {
            var answer = await client.SubscribeAsync(audience);
            Assert.True(answer.Type is "subscribed" or "refused", $"{audience}: {answer}");
            Assert.True(answer.Type == "subscribed" || answer.Reason == "not_allowed", $"{audience}: {answer}");
            answers.Add((audience, answer.Type == "subscribed"));
        }

        Assert.Equal(Cases, answers);
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task A_topic_asked_for_again_on_a_new_connection_is_authorized_again_with_that_connections_token(Transport transport)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var server = await StandaloneServer.StartAsync(postgres, Settings(Patterns));
        var topic = "tenant:acme:" + Names.Audience();
        await using var first = await ConnectAsync(server, transport, Token());
        var subscribed = await first.SubscribeAsync(topic);
        await postgres.NotifyAsync(server.Channel, Markers.Message(topic, "seen"), cancellationToken);
        var seen = await first.ReceiveAsync();
        await first.DisposeAsync();

        await postgres.NotifyAsync(server.Channel, Markers.Message(topic, "missed"), cancellationToken);
        await using var moved = await ConnectAsync(server, transport, Token(new Dictionary<string, object> { ["sub"] = "Ada", ["tenant"] = "globex" }));
        var again = await moved.SubscribeAsync(topic, seq: seen.Seq, stream: seen.Stream);
        var own = "tenant:globex:" + Names.Audience();
        (await moved.SubscribeAsync(own)).AssertSubscribed(own, server.Channel);
        var marker = Markers.NewId();
        await postgres.NotifyManyAsync(server.Channel, [Markers.Message(topic, "after"), Markers.Payload(own, marker)], cancellationToken);

        subscribed.AssertSubscribed(topic, server.Channel);
        Assert.True(seen.IsMessage("seen"));
        again.AssertRefused("not_allowed");
        Assert.Empty(await moved.ReceiveUntilMarkerAsync(marker));
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Without_Topics_Allow_the_server_lets_clients_choose_no_topic(Transport transport)
    {
        await using var server = await StandaloneServer.StartAsync(postgres, Settings([]));
        await using var client = await ConnectAsync(server, transport, Token());

        (await client.SubscribeAsync("user:Ada")).AssertRefused("topics_disabled");
    }

    [Theory]
    [MemberData(nameof(InvalidPatternCases))]
    public async Task An_ambiguous_or_invalid_pattern_stops_the_server_naming_the_setting_and_the_reason(string pattern)
    {
        var error = await StandaloneServer.StartupErrorAsync(postgres, Settings(["public:*", pattern]));

        Assert.Contains($"Topics:Allow:1 is '{pattern}', which is not a topic pattern: {InvalidPatterns[pattern]}", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_pattern_naming_a_claim_stops_a_server_without_tokens()
    {
        var error = await StandaloneServer.StartupErrorAsync(postgres, new Dictionary<string, string>
        {
            ["Authentication:AllowAnonymous"] = "true",
            ["Topics:Allow:0"] = "user:{sub}",
        });

        Assert.Contains("Topics:Allow:0 is 'user:{sub}', which names a claim, but there are no claims without a token", error, StringComparison.Ordinal);
    }

    private Dictionary<string, string> Settings(string[] patterns)
    {
        var settings = new Dictionary<string, string>
        {
            ["Authentication:Jwt:SigningKey"] = _signingKey,
            ["Authentication:Jwt:Issuer"] = Issuer,
            ["Authentication:Jwt:Audience"] = Audience,
        };
        for (var i = 0; i < patterns.Length; i++)
        {
            settings[$"Topics:Allow:{i}"] = patterns[i];
        }

        return settings;
    }

    private string Token(Dictionary<string, object>? claims = null) => new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
    {
        Issuer = Issuer,
        Audience = Audience,
        Expires = DateTime.UtcNow.AddMinutes(5),
        Claims = claims ?? Claims,
        SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(_signingKey)), SecurityAlgorithms.HmacSha256),
    });

    private static async Task<NotifyTestClient> ConnectAsync(StandaloneServer server, Transport transport, string token)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        return transport == Transport.WebSocket
            ? await WebSocketTestClient.ConnectAsync(server.BaseUri, audienceHeader: null, accessToken: token, subprotocol: "pgnotifyhub.v1", cancellationToken: cancellationToken).OrTimeout()
            : await SignalRTestClient.ConnectAsync(server.BaseUri, audienceHeader: null, cancellationToken, accessToken: token).OrTimeout();
    }
}
