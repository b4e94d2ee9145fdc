using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PgNotifyHub.IntegrationTests.Infrastructure;
using PgNotifyHub.Sequencing;

namespace PgNotifyHub.IntegrationTests;

/// <summary>
/// Topics: audiences a client subscribes to at run time, on SignalR and on the raw endpoint's <c>pgnotifyhub.v1</c>,
/// allowed by the endpoint's authorizer or policy and by nothing else, numbered, replayed and resynced as the audiences a
/// connection joined with, within the connection's limits.
/// </summary>
[Collection(SharedPostgres.Name)]
public sealed class TopicTests(PostgresFixture postgres)
{
    // What the endpoints of these tests let clients choose: audiences named topic_…, and nothing else.
    private static readonly PgNotifyHubTopicAuthorizer TopicsOnly = (_, topic) => new(topic.Audience.StartsWith("topic_", StringComparison.Ordinal));

    public static TheoryData<Transport> Transports => [Transport.SignalR, Transport.WebSocket];

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Without_a_topic_policy_or_authorizer_every_subscription_is_refused_with_topics_disabled_and_nothing_arrives(Transport transport)
    {
        await using var host = await NotifyTestHost.StartAsync(postgres);
        using var meter = new MeterTotals(host.Services.GetRequiredService<IMeterFactory>());
        var (own, topic) = (Names.Audience(), Names.Audience("topic"));
        var client = await host.ConnectSequencedAsync(transport, own);

        (await client.SubscribeAsync(topic)).AssertRefused("topics_disabled");
        await host.AssertHearsOnlyItsOwnAudienceAsync(client, own, topic);

        Assert.Equal(1, meter["pgnotifyhub.topic.refused", TransportName(transport), "topics_disabled"]);
        var refused = Assert.Single(host.Logs.Entries, e => e.EventId.Name == "TopicRefused");
        Assert.Equal(LogLevel.Debug, refused.Level);
        Assert.Contains(topic, refused.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task A_topic_the_authorizer_allows_arrives_once_each_in_order_and_one_it_denies_changes_nothing(Transport transport)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await StartWithTopicsAsync();
        using var meter = new MeterTotals(host.Services.GetRequiredService<IMeterFactory>());
        var (own, topic, denied) = (Names.Audience(), Names.Audience("topic"), Names.Audience("secret"));
        var client = await host.ConnectSequencedAsync(transport, own);

        var subscribed = await client.SubscribeAsync(topic);
        (await client.SubscribeAsync(denied)).AssertRefused("not_allowed");
        // Asked twice, held once.
        var again = await client.SubscribeAsync(topic);
        var marker = Markers.NewId();
        await postgres.NotifyManyAsync(host.Channel, [
            Markers.Message(topic, "1"), Markers.Message(denied, "never"), Markers.Message(topic, "2"), Markers.Message(own, "3"), Markers.Message(topic, "4"),
            Markers.Payload(own, marker),
        ], cancellationToken);
        var received = await client.ReceiveUntilMarkerAsync(marker);

        subscribed.AssertSubscribed(topic, host.Channel);
        Assert.Equal(0, subscribed.Seq);
        Assert.Equal(subscribed, again);
        Assert.Equal(["1", "2", "3", "4"], received.Select(e => e.PayloadString("msg")));
        Assert.Equal([(topic, 1L), (topic, 2L), (own, 1L), (topic, 3L)], received.Select(e => (e.Audience!, e.Seq!.Value)));
        Assert.All(received, e => Assert.Equal(subscribed.Stream, e.Stream));
        Assert.Equal(1, meter["pgnotifyhub.topic.refused", TransportName(transport), "not_allowed"]);
        Assert.Contains(host.Logs.Entries, e => e.EventId.Name == "TopicRefused" && e.Level == LogLevel.Debug && e.Message.Contains(denied, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Clients_of_both_transports_subscribed_to_one_topic_get_each_message_once_in_order()
    {
        await using var host = await StartWithTopicsAsync();
        var topic = Names.Audience("topic");
        var clients = new[] { await host.ConnectSequencedAsync(Transport.SignalR, Names.Audience()), await host.ConnectSequencedAsync(Transport.WebSocket, Names.Audience()) };
        foreach (var client in clients)
        {
            (await client.SubscribeAsync(topic)).AssertSubscribed(topic, host.Channel);
        }

        await postgres.NotifySeriesAsync(host.Channel, topic, 50, TestContext.Current.CancellationToken);
        var marker = Markers.NewId();
        await postgres.NotifyAsync(host.Channel, Markers.Payload(topic, marker), TestContext.Current.CancellationToken);

        foreach (var client in clients)
        {
            var received = await client.ReceiveUntilMarkerAsync(marker);
            Assert.Equal(Enumerable.Range(1, 50).Select(i => (long?)i), received.Select(e => e.PayloadNumber("i")));
            Assert.Equal(Enumerable.Range(1, 50).Select(i => (long?)i), received.Select(e => e.Seq));
        }
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task The_topic_policy_is_asked_with_the_connection_user_and_the_topic_as_its_resource(Transport transport)
    {
        var asked = new List<(bool Authenticated, PgNotificationTopic Topic)>();
        await using var host = await NotifyTestHost.StartAsync(
            postgres,
            configureServices: services => services.AddAuthorization(authorization => authorization.AddPolicy("topics", policy => policy.RequireAssertion(context =>
            {
                var topic = (PgNotificationTopic)context.Resource!;
                lock (asked)
                {
                    asked.Add((context.User.Identity?.IsAuthenticated == true, topic));
                }

                return topic.Audience.EndsWith("_ok", StringComparison.Ordinal);
            }))),
            configureEndpoints: endpoint => endpoint.TopicPolicy = "topics");
        var (own, allowed, denied) = (Names.Audience(), Names.Audience("p") + "_ok", Names.Audience("p") + "_no");
        var client = await host.ConnectSequencedAsync(transport, own);

        (await client.SubscribeAsync(allowed)).AssertSubscribed(allowed, host.Channel);
        (await client.SubscribeAsync(denied)).AssertRefused("not_allowed");
        await host.AssertHearsOnlyItsOwnAudienceAsync(client, allowed, denied);

        Assert.Equal([(host.Channel, allowed), (host.Channel, denied)], asked.Select(a => (a.Topic.Channel, a.Topic.Audience)));
        Assert.All(asked, a => Assert.False(a.Authenticated));
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task With_both_a_policy_and_an_authorizer_a_topic_needs_both(Transport transport)
    {
        await using var host = await NotifyTestHost.StartAsync(
            postgres,
            configureServices: services => services.AddAuthorization(authorization => authorization.AddPolicy(
                "topics", policy => policy.RequireAssertion(context => ((PgNotificationTopic)context.Resource!).Audience.EndsWith("_ok", StringComparison.Ordinal)))),
            configureEndpoints: endpoint => (endpoint.TopicPolicy, endpoint.TopicAuthorizer) = ("topics", TopicsOnly));
        var client = await host.ConnectSequencedAsync(transport, Names.Audience());
        var both = Names.Audience("topic") + "_ok";

        (await client.SubscribeAsync(both)).AssertSubscribed(both, host.Channel);
        (await client.SubscribeAsync(Names.Audience("topic"))).AssertRefused("not_allowed");
        (await client.SubscribeAsync(Names.Audience("other") + "_ok")).AssertRefused("not_allowed");
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task An_authorizer_that_throws_refuses_the_topic_with_an_error_logged_and_the_connection_goes_on(Transport transport)
    {
        await using var host = await NotifyTestHost.StartAsync(postgres, configureEndpoints: endpoint => endpoint.TopicAuthorizer = (_, _) => throw new InvalidOperationException("authorizer down"));
        var own = Names.Audience();
        var client = await host.ConnectSequencedAsync(transport, own);

        (await client.SubscribeAsync(Names.Audience("topic"))).AssertRefused("not_allowed");
        await host.AssertHearsOnlyItsOwnAudienceAsync(client, own, Names.Audience("topic"));

        var failed = Assert.Single(host.Logs.Entries, e => e.EventId.Name == "TopicAuthorizationFailed");
        Assert.Equal(LogLevel.Error, failed.Level);
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Subscribing_again_from_the_last_position_replays_exactly_what_was_missed_before_live_messages(Transport transport)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await StartWithTopicsAsync();
        var (own, topic) = (Names.Audience(), Names.Audience("topic"));
        var first = await host.ConnectSequencedAsync(transport, own);
        var subscribed = await first.SubscribeAsync(topic);
        await postgres.NotifySeriesAsync(host.Channel, topic, 2, cancellationToken);
        var last = (await first.ReceiveAsync(2))[^1];
        await host.DisconnectAsync(first, own);
        // Another client of the topic tells when what was missed has been numbered, so the answer's position includes it.
        var witness = await host.ConnectSequencedAsync(transport, Names.Audience());
        await witness.SubscribeAsync(topic);

        // Missed while away: 3 to 5, and another topic's messages.
        await postgres.NotifyManyAsync(host.Channel, [.. Enumerable.Range(3, 3).Select(i => topic + ",{\"i\":" + i + "}"), Markers.Message(Names.Audience("topic"), "not-mine")], cancellationToken);
        await witness.ReceiveAsync(3);
        var second = await host.ConnectSequencedAsync(transport, own);
        var resubscribed = await second.SubscribeAsync(topic, seq: last.Seq, stream: last.Stream);
        await postgres.NotifyAsync(host.Channel, topic + ",{\"i\":6}", cancellationToken);
        var received = await second.ReceiveAsync(4);

        Assert.Equal((2L, subscribed.Stream), (last.Seq, last.Stream));
        Assert.Equal([3L, 4, 5, 6], received.Select(e => e.PayloadNumber("i")!.Value));
        Assert.Equal([3L, 4, 5, 6], received.Select(e => e.Seq!.Value));
        Assert.Equal((5L, subscribed.Stream), (resubscribed.Seq, resubscribed.Stream));
        Assert.Equal((0, 0), (second.PendingResyncs, second.PendingTopicResyncs));
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Subscribing_again_from_further_back_than_the_buffer_or_from_another_stream_is_told_to_resync_that_topic_alone(Transport transport)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await StartWithTopicsAsync(options => options.ReplayBufferSize = 4);
        var (own, topic) = (Names.Audience(), Names.Audience("topic"));
        var client = await host.ConnectSequencedAsync(transport, own);
        var stream = (await client.SubscribeAsync(topic)).Stream!;
        await postgres.NotifySeriesAsync(host.Channel, topic, 10, cancellationToken);
        await client.ReceiveAsync(10);
        (await client.UnsubscribeAsync(topic)).AssertUnsubscribed(topic, host.Channel);

        // Saw 5; 6 fell out of the buffer of 4.
        var tooOld = await client.SubscribeAsync(topic, seq: 5, stream: stream);
        var tooOldResync = await client.ReceiveTopicResyncAsync();
        (await client.UnsubscribeAsync(topic)).AssertUnsubscribed(topic, host.Channel);
        var otherStream = await client.SubscribeAsync(topic, seq: 3, stream: "0123456789abcdef");
        var otherStreamResync = await client.ReceiveTopicResyncAsync();
        await postgres.NotifyAsync(host.Channel, Markers.Message(topic, "live"), cancellationToken);
        var live = await client.ReceiveAsync();

        Assert.Equal(new TopicResync("gap_too_old", stream, host.Channel, topic), tooOldResync);
        Assert.Equal(new TopicResync("stream_changed", stream, host.Channel, topic), otherStreamResync);
        Assert.Equal((10L, 10L), (tooOld.Seq!.Value, otherStream.Seq!.Value));
        Assert.True(live.IsMessage("live"));
        Assert.Equal(11, live.Seq);
        Assert.Equal(0, client.PendingResyncs);
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Unsubscribing_stops_the_topic_and_only_the_topic_while_an_audience_the_connection_was_given_cannot_be_left(Transport transport)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await StartWithTopicsAsync();
        var (own, topic) = (Names.Audience(), Names.Audience("topic"));
        var client = await host.ConnectSequencedAsync(transport, own);
        await client.SubscribeAsync(topic);
        await postgres.NotifyAsync(host.Channel, Markers.Message(topic, "before"), cancellationToken);
        Assert.True((await client.ReceiveAsync()).IsMessage("before"));

        (await client.UnsubscribeAsync(topic)).AssertUnsubscribed(topic, host.Channel);
        (await client.UnsubscribeAsync(topic)).AssertUnsubscribed(topic, host.Channel);
        (await client.UnsubscribeAsync(own)).AssertRefused("not_allowed");

        await host.AssertHearsOnlyItsOwnAudienceAsync(client, own, topic);
        Assert.Equal(0, host.Router.SubscriberCount(new Route(host.Channel, topic)));
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task A_connection_holds_at_most_MaxAudiencesPerConnection_of_its_resolved_audiences_and_topics_together(Transport transport)
    {
        await using var host = await StartWithTopicsAsync(options => options.MaxAudiencesPerConnection = 3);
        using var meter = new MeterTotals(host.Services.GetRequiredService<IMeterFactory>());
        var (own, first, second, third) = (Names.Audience(), Names.Audience("topic"), Names.Audience("topic"), Names.Audience("topic"));
        var client = await host.ConnectSequencedAsync(transport, own);

        (await client.SubscribeAsync(first)).AssertSubscribed(first, host.Channel);
        (await client.SubscribeAsync(second)).AssertSubscribed(second, host.Channel);
        (await client.SubscribeAsync(third)).AssertRefused("too_many_audiences");
        (await client.SubscribeAsync(own)).AssertSubscribed(own, host.Channel);
        (await client.UnsubscribeAsync(first)).AssertUnsubscribed(first, host.Channel);
        (await client.SubscribeAsync(third)).AssertSubscribed(third, host.Channel);

        await host.AssertHearsOnlyItsOwnAudienceAsync(client, third, first);
        Assert.Equal(1, meter["pgnotifyhub.topic.refused", TransportName(transport), "too_many_audiences"]);
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Topic_requests_beyond_the_burst_are_refused_as_rate_limited_until_the_rate_allows_more(Transport transport)
    {
        var clock = new ManualClock();
        await using var host = await NotifyTestHost.StartAsync(
            postgres,
            options => (options.TopicRequestBurst, options.TopicRequestsPerSecond) = (3, 2),
            configureServices: services => services.AddSingleton<TimeProvider>(clock),
            configureEndpoints: endpoint => endpoint.TopicAuthorizer = TopicsOnly);
        using var meter = new MeterTotals(host.Services.GetRequiredService<IMeterFactory>());
        var client = await host.ConnectSequencedAsync(transport, Names.Audience());
        var topic = Names.Audience("topic");

        (await client.SubscribeAsync(topic)).AssertSubscribed(topic, host.Channel);
        (await client.UnsubscribeAsync(topic)).AssertUnsubscribed(topic, host.Channel);
        (await client.SubscribeAsync(topic)).AssertSubscribed(topic, host.Channel);
        (await client.UnsubscribeAsync(topic)).AssertRefused("rate_limited");
        clock.Advance(TimeSpan.FromMilliseconds(400));
        (await client.UnsubscribeAsync(topic)).AssertRefused("rate_limited");
        clock.Advance(TimeSpan.FromMilliseconds(200));
        (await client.UnsubscribeAsync(topic)).AssertUnsubscribed(topic, host.Channel);
        (await client.SubscribeAsync(topic)).AssertRefused("rate_limited");

        Assert.Equal(3, meter["pgnotifyhub.topic.refused", TransportName(transport), "rate_limited"]);
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task A_topic_is_on_the_channel_it_names_or_on_the_endpoints_first_and_a_channel_the_endpoint_lacks_is_refused(Transport transport)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await StartWithTopicsAsync(channelCount: 2);
        var (own, topic) = (Names.Audience(), Names.Audience("topic"));
        var client = await host.ConnectSequencedAsync(transport, own);

        (await client.SubscribeAsync(topic)).AssertSubscribed(topic, host.Channels[0]);
        (await client.SubscribeAsync(topic, channel: host.Channels[1])).AssertSubscribed(topic, host.Channels[1]);
        (await client.SubscribeAsync(topic, channel: Names.Channel())).AssertRefused("unknown_channel");
        (await client.SubscribeAsync(topic, channel: host.Channels[1].ToUpperInvariant())).AssertRefused("unknown_channel");
        (await client.UnsubscribeAsync(topic)).AssertUnsubscribed(topic, host.Channels[0]);
        var marker = Markers.NewId();
        await postgres.NotifyManyAsync([
            (host.Channels[0], Markers.Message(topic, "left")),
            (host.Channels[1], Markers.Message(topic, "held")),
            (host.Channels[1], Markers.Payload(topic, marker)),
        ], cancellationToken);

        var received = Assert.Single(await client.ReceiveUntilMarkerAsync(marker));
        Assert.Equal((host.Channels[1], "held"), (received.Channel, received.PayloadString("msg")));
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Subscribing_to_an_audience_the_connection_was_given_answers_where_it_stands_and_delivers_it_once(Transport transport)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await NotifyTestHost.StartAsync(postgres, configureEndpoints: endpoint => endpoint.TopicAuthorizer = (_, _) => new(true));
        var own = Names.Audience();
        var client = await host.ConnectSequencedAsync(transport, own);
        await postgres.NotifySeriesAsync(host.Channel, own, 2, cancellationToken);
        await client.ReceiveAsync(2);

        var subscribed = await client.SubscribeAsync(own);
        var marker = Markers.NewId();
        await postgres.NotifyManyAsync(host.Channel, [Markers.Message(own, "once"), Markers.Payload(own, marker)], cancellationToken);

        Assert.Equal(2, subscribed.Seq);
        Assert.Equal(["once"], (await client.ReceiveUntilMarkerAsync(marker)).Select(e => e.PayloadString("msg")));
        Assert.Equal(1, host.Router.SubscriberCount(new Route(host.Channel, own)));
    }

    [Fact]
    public async Task A_SignalR_topic_joins_its_audience_group_until_it_is_left()
    {
        await using var host = await StartWithTopicsAsync();
        var hub = host.Services.GetRequiredService<IHubContext<PgNotificationHub>>();
        var (own, topic) = (Names.Audience(), Names.Audience("topic"));
        var client = (SignalRTestClient)await host.ConnectSequencedAsync(Transport.SignalR, own);
        var greetings = System.Threading.Channels.Channel.CreateUnbounded<string>();
        client.Connection.On<string>("greet", text => greetings.Writer.TryWrite(text));

        await client.SubscribeAsync(topic);
        await client.SubscribeAsync(topic, channel: host.Channel);
        await hub.Clients.Group(PgNotificationHub.GroupName(topic)).SendAsync("greet", "while subscribed", TestContext.Current.CancellationToken);
        Assert.Equal("while subscribed", await greetings.Reader.ReadAsync(TestContext.Current.CancellationToken).AsTask().OrTimeout());
        await client.UnsubscribeAsync(topic);
        await hub.Clients.Group(PgNotificationHub.GroupName(topic)).SendAsync("greet", "after leaving", TestContext.Current.CancellationToken);
        await hub.Clients.Group(PgNotificationHub.GroupName(own)).SendAsync("greet", "marker", TestContext.Current.CancellationToken);

        Assert.Equal("marker", await greetings.Reader.ReadAsync(TestContext.Current.CancellationToken).AsTask().OrTimeout());
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task A_closed_connection_gives_back_every_topic_it_held(Transport transport)
    {
        await using var host = await StartWithTopicsAsync(channelCount: 2);
        var (own, topic) = (Names.Audience(), Names.Audience("topic"));
        var client = await host.ConnectSequencedAsync(transport, own);
        await client.SubscribeAsync(topic);
        await client.SubscribeAsync(topic, channel: host.Channels[1]);
        Assert.Equal(1, host.Router.SubscriberCount(new Route(host.Channels[1], topic)));

        // Returns once the connection's own route is let go of, which leaving does with its topics, under one lock.
        await host.DisconnectAsync(client, own);

        Assert.Equal((0, 0), (host.Router.SubscriberCount(new Route(host.Channels[0], topic)), host.Router.SubscriberCount(new Route(host.Channels[1], topic))));
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task A_storm_of_subscriptions_holds_only_the_routes_subscribed_at_once_and_leaves_none_behind(Transport transport)
    {
        const int Topics = 2000, HeldAtOnce = 50;
        await using var host = await StartWithTopicsAsync(options => options.TopicRequestBurst = 2 * Topics);
        var own = Names.Audience();
        var client = await host.ConnectSequencedAsync(transport, own);
        var routesBefore = host.Router.RouteCount;
        var topics = Enumerable.Range(0, Topics).Select(_ => Names.Audience("topic")).ToArray();
        var mostRoutes = 0;

        for (var i = 0; i < Topics; i++)
        {
            (await client.SubscribeAsync(topics[i])).AssertSubscribed(topics[i], host.Channel);
            mostRoutes = Math.Max(mostRoutes, host.Router.RouteCount);
            if (i >= HeldAtOnce - 1)
            {
                (await client.UnsubscribeAsync(topics[i - HeldAtOnce + 1])).AssertUnsubscribed(topics[i - HeldAtOnce + 1], host.Channel);
            }
        }

        foreach (var topic in topics[^(HeldAtOnce - 1)..])
        {
            (await client.UnsubscribeAsync(topic)).AssertUnsubscribed(topic, host.Channel);
        }

        Assert.Equal(routesBefore + HeldAtOnce, mostRoutes);
        Assert.Equal(routesBefore, host.Router.RouteCount);
        await host.AssertHearsOnlyItsOwnAudienceAsync(client, own, topics[^1]);
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Requests_that_are_not_topic_requests_are_refused_as_invalid_and_the_connection_goes_on(Transport transport)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await StartWithTopicsAsync();
        using var meter = new MeterTotals(host.Services.GetRequiredService<IMeterFactory>());
        var (own, topic) = (Names.Audience(), Names.Audience("topic"));
        var client = await host.ConnectSequencedAsync(transport, own);
        string[] invalid =
        [
            "[]", "\"topic_x\"", "null", "{}", "{\"audience\":\"\"}", "{\"audience\":\"topic_a,b\"}", "{\"audience\":\"topic_a\\u0000\"}",
            "{\"audience\":{\"a\":1}}", "{\"audience\":\"topic_a\",\"extra\":1}", "{\"audience\":\"topic_a\",\"audience\":\"topic_b\"}",
            "{\"audience\":\"topic_\\ud800\"}", "{\"audience\":\"topic_a\",\"seq\":1}", "{\"audience\":\"topic_a\",\"seq\":-1,\"stream\":\"abc\"}",
            "{\"audience\":\"topic_a\",\"seq\":1,\"stream\":\"ABC\"}", "{\"audience\":\"topic_a\",\"seq\":1.5,\"stream\":\"abc\"}",
            "{\"audience\":\"topic_a\",\"channel\":7}",
        ];

        // The SignalR client cannot even write half a surrogate pair; the hub's own fuzz tests send it by hand.
        var requests = transport == Transport.SignalR ? invalid.Where(request => !request.Contains("ud800", StringComparison.Ordinal)).ToArray() : invalid;
        foreach (var request in requests)
        {
            // On the raw endpoint the request says what it asks for: an object gets its type, anything else goes as it is.
            var sent = transport == Transport.WebSocket && request.StartsWith('{')
                ? (request == "{}" ? "{\"type\":\"subscribe\"}" : "{\"type\":\"subscribe\"," + request[1..])
                : request;
            (await client.RequestAsync(PgNotificationHub.SubscribeMethod, sent)).AssertRefused("invalid");
        }

        (await client.SubscribeAsync(topic)).AssertSubscribed(topic, host.Channel);
        var marker = Markers.NewId();
        await postgres.NotifyManyAsync(host.Channel, [Markers.Message(topic, "held"), Markers.Payload(own, marker)], cancellationToken);

        Assert.Equal(["held"], (await client.ReceiveUntilMarkerAsync(marker)).Select(e => e.PayloadString("msg")));
        Assert.Equal(requests.Length, meter["pgnotifyhub.topic.refused", TransportName(transport), "invalid"]);
    }

    // A host whose endpoints let clients choose the audiences named topic_….
    private Task<NotifyTestHost> StartWithTopicsAsync(Action<PgNotifyHubOptions>? configure = null, int channelCount = 1) =>
        NotifyTestHost.StartAsync(postgres, configure, channelCount, configureEndpoints: endpoint => endpoint.TopicAuthorizer = TopicsOnly);

    private static string TransportName(Transport transport) => transport == Transport.WebSocket ? "websocket" : "signalr";
}
