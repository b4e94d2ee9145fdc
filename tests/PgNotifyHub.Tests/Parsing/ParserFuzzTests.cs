using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using PgNotifyHub.Diagnostics;
using PgNotifyHub.Listening;
using PgNotifyHub.Parsing;
using PgNotifyHub.Routing;
using PgNotifyHub.Sequencing;

namespace PgNotifyHub.Tests.Parsing;

/// <summary>Thousands of random and malformed payloads: the parser never throws, and nothing crosses audiences.</summary>
public sealed class ParserFuzzTests
{
    private const string Channel = "orders";
    private const int Cases = 20_000;

    // Pieces that stress the split at the first comma, JSON validation and UTF-8: commas inside strings and
    // audiences, escapes, unpaired surrogates, NUL, deep nesting, numbers JSON forbids, trailing garbage.
    private static readonly string[] Fragments =
    [
        ",", "{", "}", "[", "]", ":", "\"", "\\", "\\u", "\\ud800", "\ud800", "\udfff", "😀", "é", "\0", " ", "\t", "\n",
        "a", "b", "tenant", "null", "true", "false", "1", "-0", "1e400", "01", ".5", "NaN", "\"k\":", "\"v\"", "{\"a\":1}",
        "[1,2]", "{\"s\":\"x,y\"}", "//", "/*", "\u2028", "\ufeff", "'", "{{", "}}",
    ];

    [Fact]
    public void Random_payloads_never_throw_and_parsed_ones_are_well_formed()
    {
        var random = new Random(20261127);
        var parsed = 0;
        for (var i = 0; i < Cases; i++)
        {
            var payload = RandomPayload(random);

            if (!NotificationParser.TryParse(Channel, payload, timestampProperty: null, out var notification, out var error))
            {
                Assert.False(string.IsNullOrEmpty(error), $"No reason given for rejecting {Describe(payload)}");
                continue;
            }

            parsed++;
            Assert.Equal(payload[..payload.IndexOf(',', StringComparison.Ordinal)], notification.Audience);
            using var envelope = JsonDocument.Parse(notification.Envelope);
            Assert.Equal(JsonValueKind.Object, envelope.RootElement.GetProperty("payload").ValueKind);
            Assert.Equal(Channel, envelope.RootElement.GetProperty("channel").GetString());
        }

        // The generator must also produce valid payloads, or the test would only exercise rejections.
        Assert.InRange(parsed, Cases / 20, Cases);
    }

    [Fact]
    public void Random_payloads_reach_only_the_subscribers_of_their_audience()
    {
        using var services = new ServiceCollection().AddMetrics().AddSingleton<PgNotifyHubMetrics>().BuildServiceProvider();
        var options = new PgNotifyHubOptions { SendQueueCapacity = Cases };
        var metrics = services.GetRequiredService<PgNotifyHubMetrics>();
        var sequencer = new NotificationSequencer(
            new NotificationRouter(NullLogger<NotificationRouter>.Instance), metrics, TimeProvider.System, Microsoft.Extensions.Options.Options.Create(options));
        var channels = new ListenedChannels(Microsoft.Extensions.Options.Options.Create(options));
        string[] audiences = ["a", "b", "tenant", "a,b", "\ud800"];
        var subscriptions = audiences.ToDictionary(
            audience => audience,
            audience => new PgNotificationSubscription(new Route(Channel, audience), options, channels.Acquire([Channel]), sequencer, metrics, NullLogger.Instance));

        var random = new Random(7);
        var expected = audiences.ToDictionary(audience => audience, _ => 0);
        for (var i = 0; i < Cases; i++)
        {
            var audience = audiences[random.Next(audiences.Length)];
            var payload = random.Next(2) == 0 ? audience + ",{\"i\":" + i + "}" : RandomPayload(random);
            if (NotificationParser.TryParse(Channel, payload, timestampProperty: null, out var notification, out _))
            {
                sequencer.Publish(notification);
                if (expected.TryGetValue(notification.Audience, out var count))
                {
                    expected[notification.Audience] = count + 1;
                }
            }
        }

        foreach (var (audience, subscription) in subscriptions)
        {
            subscription.Dispose();
            var received = subscription.ToBlockingEnumerable(TestContext.Current.CancellationToken).ToList();
            Assert.All(received, notification => Assert.Equal(audience, notification.Audience));
            Assert.Equal(expected[audience], received.Count);
        }
    }

    private static string RandomPayload(Random random)
    {
        var builder = new StringBuilder();
        var pieces = random.Next(1, 12);
        for (var i = 0; i < pieces; i++)
        {
            builder.Append(Fragments[random.Next(Fragments.Length)]);
        }

        // A third are random, a third have the right shape around random content (so validation is exercised,
        // not just the split), and a third are valid objects holding the random text, escaped as a sender would.
        var text = builder.ToString();
        return random.Next(3) switch
        {
            0 => text,
            1 => "a,{\"k\":" + text + "}",
            _ => "tenant," + JsonSerializer.Serialize(new Dictionary<string, string> { ["s"] = text }),
        };
    }

    private static string Describe(string payload) => JsonSerializer.Serialize(payload);
}
