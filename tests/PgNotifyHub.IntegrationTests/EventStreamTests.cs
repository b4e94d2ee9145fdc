using System.Diagnostics.Metrics;
using System.Net;
using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PgNotifyHub.IntegrationTests.Infrastructure;
using PgNotifyHub.Sequencing;

namespace PgNotifyHub.IntegrationTests;

/// <summary>
/// The Server-Sent Events endpoint (<c>MapPgNotifyEventStream</c>) as a browser's <c>EventSource</c> sees it: what it
/// sends and how, the id of every event as the connection's position, resume with <c>Last-Event-ID</c>, and the checks,
/// limits and slow-consumer policy it shares with the other transports.
/// </summary>
[Collection(SharedPostgres.Name)]
public sealed class EventStreamTests(PostgresFixture postgres)
{
    private const string TenantClaim = "tenant";
    private const string IdPattern = "^[0-9a-f]{16}\\.[A-Za-z0-9_-]{12}";

    [Fact]
    public async Task A_stream_receives_exactly_its_audiences_messages_in_order_as_message_events()
    {
        await using var host = await NotifyTestHost.StartAsync(postgres);
        var (mine, other) = (Names.Audience("mine"), Names.Audience("other"));
        var client = await host.ConnectEventStreamAsync(mine);

        await postgres.NotifyManyAsync(host.Channel, [.. Enumerable.Range(1, 6).Select(i => (i % 2 == 0 ? other : mine) + ",{\"i\":" + i + "}")], TestContext.Current.CancellationToken);
        var received = await client.ReceiveAsync(3);
        await host.AssertHearsOnlyItsOwnAudienceAsync(client, mine, other);

        Assert.Equal([1L, 3, 5], received.Select(e => e.PayloadNumber("i")));
        Assert.Equal([1L, 2, 3], received.Select(e => e.Seq));
        Assert.All(received, e => Assert.Equal((host.Channel, mine), (e.Channel, e.Audience)));
        var events = client.Events;
        Assert.Equal("position", events[0].Type);
        Assert.All(events.Skip(1), e => Assert.Equal("message", e.Type));
        Assert.Equal(0, client.PendingResyncs);
    }

    [Fact]
    public async Task The_stream_is_an_unbuffered_uncached_event_stream_that_opens_with_a_retry_and_the_position()
    {
        await using var host = await NotifyTestHost.StartAsync(postgres, options => options.EventStreamRetryDelay = TimeSpan.FromSeconds(2));
        var audience = Names.Audience();
        var client = await host.ConnectEventStreamAsync(audience);

        var position = await client.ReceivePositionAsync();

        var response = client.Response;
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.True(response.Headers.CacheControl?.NoCache);
        Assert.Equal(["no"], response.Headers.GetValues("X-Accel-Buffering"));
        Assert.InRange(client.Retry!.Value, 2_000, 4_000);
        using var notice = JsonDocument.Parse(position);
        Assert.Equal(["stream", "positions", "routeSet"], notice.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Equal(NotifyTestHost.CompactResume(position), client.LastEventId);
        Assert.Matches(IdPattern + "\\.0$", client.LastEventId);
    }

    [Fact]
    public async Task Every_event_id_is_the_connections_position_after_it_with_one_number_per_route_in_the_notices_order()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await NotifyTestHost.StartAsync(postgres);
        // Named so that the notice's ordinal order is a, then b.
        var (a, b) = ("a_" + Names.Audience(), "b_" + Names.Audience());
        var client = await host.ConnectEventStreamAsync(b, a);
        var prefix = NotifyTestHost.CompactResume(await client.ReceivePositionAsync())[..^4];

        await postgres.NotifyManyAsync(host.Channel, [Markers.Message(b, "1"), Markers.Message(a, "2"), Markers.Message(b, "3")], cancellationToken);
        await client.ReceiveAsync(3);

        Assert.Equal([prefix + ".0.0", prefix + ".0.1", prefix + ".1.1", prefix + ".1.2"], client.Events.Select(e => e.LastEventId));
    }

    [Fact]
    public async Task An_idle_stream_writes_a_keep_alive_comment_every_interval_and_still_delivers()
    {
        await using var host = await NotifyTestHost.StartAsync(postgres, options => options.EventStreamKeepAliveInterval = TimeSpan.FromMilliseconds(200));
        var audience = Names.Audience();
        var client = await host.ConnectEventStreamAsync(audience);

        await client.WaitUntilAsync(c => c.Comments >= 3);
        await postgres.NotifyAsync(host.Channel, Markers.Message(audience, "after-keep-alives"), TestContext.Current.CancellationToken);

        Assert.True((await client.ReceiveAsync()).IsMessage("after-keep-alives"));
        Assert.True(client.IsConnected);
    }

    [Fact]
    public async Task A_payload_with_line_breaks_between_its_tokens_arrives_as_one_event_of_the_same_json()
    {
        await using var host = await NotifyTestHost.StartAsync(postgres);
        var audience = Names.Audience();
        var client = await host.ConnectEventStreamAsync(audience);

        await postgres.NotifyAsync(host.Channel, audience + ",{\"a\":\r\n1,\n\"b\":\r[2,\n\"x\"]}", TestContext.Current.CancellationToken);
        var envelope = await client.ReceiveAsync();

        Assert.Equal("{\"a\":\n1,\n\"b\":\n[2,\n\"x\"]}", envelope.PayloadJson);
        Assert.Equal(1, envelope.Seq);
    }

    [Fact]
    public async Task A_browser_reconnecting_with_Last_Event_ID_gets_exactly_what_it_missed_on_every_route_in_order_then_live_messages()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await NotifyTestHost.StartAsync(postgres);
        var (heard, silent) = (Names.Audience("heard"), Names.Audience("silent"));
        var first = await host.ConnectEventStreamAsync(heard, silent);
        await postgres.NotifySeriesAsync(host.Channel, heard, 2, cancellationToken);
        await first.ReceiveAsync(2);
        var lastEventId = first.LastEventId;
        await host.DisconnectAsync(first, heard);
        await host.DisconnectAsync(first, silent);

        await postgres.NotifyManyAsync(host.Channel, [Markers.Message(silent, "s1"), Markers.Message(heard, "h3"), Markers.Message(Names.Audience(), "not-mine"), Markers.Message(silent, "s2")], cancellationToken);
        var second = await host.ReconnectEventStreamAsync(lastEventId, heard, silent);
        await postgres.NotifyAsync(host.Channel, Markers.Message(heard, "live"), cancellationToken);

        var received = await second.ReceiveAsync(4);
        Assert.Equal(["s1", "h3", "s2", "live"], received.Select(e => e.PayloadString("msg")));
        Assert.Equal([1L, 3, 2, 4], received.Select(e => e.Seq));
        Assert.Equal(0, second.PendingResyncs);
    }

    [Fact]
    public async Task A_client_that_opens_a_new_stream_itself_resumes_with_lastEventId_in_the_query()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await NotifyTestHost.StartAsync(postgres);
        var audience = Names.Audience();
        var first = await host.ConnectEventStreamAsync(audience);
        await postgres.NotifySeriesAsync(host.Channel, audience, 2, cancellationToken);
        await first.ReceiveAsync(2);
        await host.DisconnectAsync(first, audience);

        await postgres.NotifySeriesAsync(host.Channel, audience, 2, cancellationToken);
        var second = await host.ConnectToAsync(Transport.EventStream, "/events?lastEventId=" + Uri.EscapeDataString(first.LastEventId), host.Channel, audience);

        Assert.Equal([3L, 4], (await second.ReceiveAsync(2)).Select(e => e.Seq));
        Assert.Equal(0, second.PendingResyncs);
    }

    [Fact]
    public async Task The_Last_Event_ID_header_wins_over_the_query_of_the_url_a_browser_reconnects_to()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await NotifyTestHost.StartAsync(postgres);
        var audience = Names.Audience();
        var first = await host.ConnectEventStreamAsync(audience);
        var opened = first.LastEventId;
        await postgres.NotifySeriesAsync(host.Channel, audience, 2, cancellationToken);
        await first.ReceiveAsync(2);
        await host.DisconnectAsync(first, audience);

        await postgres.NotifyAsync(host.Channel, Markers.Message(audience, "missed"), cancellationToken);
        var second = await EventStreamTestClient.ConnectAsync(
            host.BaseUri, audience, path: "/events?lastEventId=" + Uri.EscapeDataString(opened), lastEventId: first.LastEventId, cancellationToken: cancellationToken).OrTimeout();
        host.Track(second);

        var marker = Markers.NewId();
        await postgres.NotifyAsync(host.Channel, Markers.Payload(audience, marker), cancellationToken);
        Assert.Equal(["missed"], (await second.ReceiveUntilMarkerAsync(marker)).Select(e => e.PayloadString("msg")));
    }

    [Fact]
    public async Task Topics_in_the_query_join_the_stream_on_every_channel_and_the_browsers_Last_Event_ID_resumes_them()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var asked = new List<PgNotificationTopic>();
        await using var host = await NotifyTestHost.StartAsync(
            postgres,
            channelCount: 2,
            configureEndpoints: endpoint => endpoint.TopicAuthorizer = (_, topic) =>
            {
                lock (asked)
                {
                    asked.Add(topic);
                }

                return new(topic.Audience.StartsWith("topic_", StringComparison.Ordinal));
            });
        var (own, topic) = (Names.Audience("own"), "topic_" + Names.Audience());
        var path = "/events?topic=" + Uri.EscapeDataString(topic);
        var first = await EventStreamTestClient.ConnectAsync(host.BaseUri, own, path, cancellationToken: cancellationToken).OrTimeout();
        host.Track(first);
        await host.WaitUntilRegisteredAsync(host.Channel, [own, topic]);

        await postgres.NotifyManyAsync(host.Channels[1], [Markers.Message(topic, "t1"), Markers.Message("topic_" + Names.Audience(), "other topic"), Markers.Message(own, "o1")], cancellationToken);
        Assert.Equal(["t1", "o1"], (await first.ReceiveAsync(2)).Select(e => e.PayloadString("msg")));
        lock (asked)
        {
            Assert.Equal(host.Channels.Select(channel => (channel, topic)), asked.Select(t => (t.Channel, t.Audience)));
        }

        var lastEventId = first.LastEventId;
        await host.DisconnectAsync(first, own);
        await host.DisconnectAsync(first, topic);
        await postgres.NotifyManyAsync(host.Channels[1], [Markers.Message(topic, "t2"), Markers.Message(topic, "t3")], cancellationToken);
        var second = await EventStreamTestClient.ConnectAsync(host.BaseUri, own, path, lastEventId: lastEventId, cancellationToken: cancellationToken).OrTimeout();
        host.Track(second);

        var missed = await second.ReceiveAsync(2);
        Assert.Equal(["t2", "t3"], missed.Select(e => e.PayloadString("msg")));
        Assert.Equal([2L, 3], missed.Select(e => e.Seq));
        Assert.Equal(0, second.PendingResyncs);
        lock (asked)
        {
            Assert.Equal(4, asked.Count);
        }
    }

    [Theory]
    [InlineData("no authorization", "topic_x", "topics_disabled")]
    [InlineData("authorizer", "not_a_topic", "not_allowed")]
    [InlineData("authorizer", "topic_a,topic_b", "invalid")]
    [InlineData("authorizer that throws", "topic_x", "not_allowed")]
    [InlineData("limit of two audiences", "topic_x&topic=topic_y", "too_many_audiences")]
    public async Task A_stream_asking_for_a_topic_it_may_not_have_is_refused_with_403_logged_and_counted_and_joins_nothing(string endpointHas, string topics, string reason)
    {
        await using var host = await NotifyTestHost.StartAsync(
            postgres,
            options => options.MaxAudiencesPerConnection = endpointHas == "limit of two audiences" ? 2 : options.MaxAudiencesPerConnection,
            configureEndpoints: endpoint => endpoint.TopicAuthorizer = endpointHas switch
            {
                "no authorization" => null,
                "authorizer that throws" => (_, _) => throw new InvalidOperationException("authorization down"),
                _ => (_, topic) => new(topic.Audience.StartsWith("topic_", StringComparison.Ordinal)),
            });
        using var meter = new MeterTotals(host.Services.GetRequiredService<IMeterFactory>());
        var own = Names.Audience();

        var (status, _) = await EventStreamTestClient.ConnectExpectingRefusalAsync(
            host.BaseUri, own, "/events?topic=" + topics.Replace(",", "%2C", StringComparison.Ordinal), cancellationToken: TestContext.Current.CancellationToken).OrTimeout();

        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Equal(1, meter["pgnotifyhub.topic.refused", "sse", reason]);
        Assert.Contains(host.Logs.Entries, entry => entry.EventId.Name == "TopicRefused" && entry.Message.Contains(reason, StringComparison.Ordinal));
        Assert.Equal(0, meter["pgnotifyhub.connection.active", "sse"]);
    }

    [Theory]
    [InlineData("header", "not a position")]
    [InlineData("header", "{\"stream\":1}")]
    [InlineData("query", "0123456789abcdef.short")]
    [InlineData("both queries", "")]
    public async Task An_unreadable_or_repeated_last_event_id_is_refused_with_400_and_counted(string where, string value)
    {
        await using var host = await NotifyTestHost.StartAsync(postgres);
        using var meter = new MeterTotals(host.Services.GetRequiredService<IMeterFactory>());
        var path = where switch
        {
            "query" => "/events?lastEventId=" + Uri.EscapeDataString(value),
            "both queries" => "/events?lastEventId=&resume=",
            _ => "/events",
        };

        var (status, body) = await EventStreamTestClient.ConnectExpectingRefusalAsync(
            host.BaseUri, Names.Audience(), path, lastEventId: where == "header" ? value : null, cancellationToken: TestContext.Current.CancellationToken).OrTimeout();

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains(where == "header" ? "Last-Event-ID" : "lastEventId or resume parameter", body, StringComparison.Ordinal);
        Assert.Equal(1, meter["pgnotifyhub.connection.refused", "sse", "invalid_resume"]);
    }

    [Fact]
    public async Task When_the_listener_reconnects_a_stream_gets_a_resync_event_whose_id_resumes_the_new_stream()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await NotifyTestHost.StartAsync(postgres);
        var audience = Names.Audience();
        var client = await host.ConnectEventStreamAsync(audience);
        await postgres.NotifySeriesAsync(host.Channel, audience, 2, cancellationToken);
        var before = (await client.ReceiveAsync(2))[^1];

        var backend = await host.ListeningBackendAsync();
        await postgres.TerminateBackendAsync(backend, cancellationToken);
        await host.ReconnectedBackendAsync(backend);
        var (reason, stream) = await client.ReceiveResyncAsync();
        var resync = client.Events.Single(e => e.Type == "resync");
        await host.DisconnectAsync(client, audience);
        await postgres.NotifyAsync(host.Channel, Markers.Message(audience, "after"), cancellationToken);
        var resumed = await host.ReconnectEventStreamAsync(resync.LastEventId, audience);

        Assert.Equal("listener_reconnected", reason);
        Assert.NotEqual(before.Stream, stream);
        Assert.StartsWith(stream + ".", resync.LastEventId, StringComparison.Ordinal);
        Assert.EndsWith(".0", resync.LastEventId, StringComparison.Ordinal);
        var after = await resumed.ReceiveAsync();
        Assert.True(after.IsMessage("after"));
        Assert.Equal((1L, stream), (after.Seq, after.Stream));
        Assert.Equal(0, resumed.PendingResyncs);
    }

    [Fact]
    public async Task A_connection_of_more_routes_than_an_id_carries_gets_short_ids_and_a_reconnect_with_one_is_told_to_resync()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await NotifyTestHost.StartAsync(postgres);
        using var meter = new MeterTotals(host.Services.GetRequiredService<IMeterFactory>());
        var audiences = Enumerable.Range(0, 65).Select(_ => Names.Audience()).ToArray();
        var first = await host.ConnectEventStreamAsync(audiences);
        var position = await first.ReceivePositionAsync();
        await postgres.NotifyAsync(host.Channel, Markers.Message(audiences[7], "one"), cancellationToken);
        await first.ReceiveAsync();
        var shortId = first.LastEventId;
        await first.DisposeAsync();

        var again = await EventStreamTestClient.ConnectAsync(host.BaseUri, string.Join(',', audiences), lastEventId: shortId, cancellationToken: cancellationToken).OrTimeout();
        host.Track(again);
        var otherStream = await EventStreamTestClient.ConnectAsync(
            host.BaseUri, string.Join(',', audiences), lastEventId: "0123456789abcdef" + shortId[shortId.IndexOf('.', StringComparison.Ordinal)..], cancellationToken: cancellationToken).OrTimeout();
        host.Track(otherStream);

        Assert.Matches(IdPattern + "$", shortId);
        Assert.All(first.Events, e => Assert.Equal(shortId, e.LastEventId));
        Assert.Equal(NotifyTestHost.CompactResume(position)[..29], shortId);
        Assert.Equal("gap_unknown", (await again.ReceiveResyncAsync()).Reason);
        Assert.Equal("stream_changed", (await otherStream.ReceiveResyncAsync()).Reason);
        await again.ReceivePositionAsync();
        Assert.Equal(["resync", "position"], again.Events.Select(e => e.Type));
        Assert.Equal(shortId, again.LastEventId);
        Assert.Equal(1, meter["pgnotifyhub.connection.resynced", "", "gap_unknown"]);
    }

    [Fact]
    public async Task A_stream_is_let_in_by_its_authentication_cookie_with_the_audiences_of_its_claims_and_refused_with_401_without_it()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await NotifyTestHost.StartAsync(
            postgres,
            options => options.AudienceResolver = context => new([.. context.User.FindAll(TenantClaim).Select(claim => claim.Value)]),
            configureServices: services =>
            {
                services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme).AddCookie(cookie => cookie.Events.OnRedirectToLogin = context =>
                {
                    context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                    return Task.CompletedTask;
                });
                services.AddAuthorization();
            },
            endpointConventions: endpoint => endpoint.RequireAuthorization(),
            mapEndpoints: (app, _) => app.MapPost("/login", (string tenant) => Results.SignIn(
                new ClaimsPrincipal(new ClaimsIdentity([new Claim(TenantClaim, tenant)], CookieAuthenticationDefaults.AuthenticationScheme)),
                authenticationScheme: CookieAuthenticationDefaults.AuthenticationScheme)));
        var (mine, other) = (Names.Audience("tenant"), Names.Audience("other"));
        using var http = new HttpClient { BaseAddress = host.BaseUri };
        using var login = await http.PostAsync("/login?tenant=" + mine, null, cancellationToken);
        var cookie = string.Join("; ", login.Headers.GetValues("Set-Cookie").Select(header => header.Split(';')[0]));

        var (anonymous, _) = await EventStreamTestClient.ConnectExpectingRefusalAsync(host.BaseUri, audienceHeader: null, cancellationToken: cancellationToken).OrTimeout();
        var client = await EventStreamTestClient.ConnectAsync(host.BaseUri, audienceHeader: null, cookie: cookie, cancellationToken: cancellationToken).OrTimeout();
        host.Track(client);
        await host.Router.WaitForSubscribersAsync(new Route(host.Channel, mine), 1, cancellationToken).OrTimeout();

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous);
        var marker = Markers.NewId();
        await postgres.NotifyManyAsync(host.Channel, [Markers.Message(other, "not-mine"), Markers.Message(mine, "mine"), Markers.Payload(mine, marker)], cancellationToken);
        Assert.Equal(["mine"], (await client.ReceiveUntilMarkerAsync(marker)).Select(e => e.PayloadString("msg")));
    }

    [Fact]
    public async Task A_page_of_another_origin_is_refused_with_403_and_one_of_an_allowed_origin_is_served()
    {
        await using var host = await NotifyTestHost.StartAsync(postgres, options => options.AllowedOrigins = ["https://app.example.com"]);
        using var meter = new MeterTotals(host.Services.GetRequiredService<IMeterFactory>());
        var cancellationToken = TestContext.Current.CancellationToken;
        var audience = Names.Audience();

        var (status, _) = await EventStreamTestClient.ConnectExpectingRefusalAsync(host.BaseUri, audience, origin: "https://attacker.example", cancellationToken: cancellationToken).OrTimeout();
        var allowed = await EventStreamTestClient.ConnectAsync(host.BaseUri, audience, origin: "https://app.example.com", cancellationToken: cancellationToken).OrTimeout();
        host.Track(allowed);

        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Equal(1, meter["pgnotifyhub.connection.refused", "sse", "origin"]);
        Assert.Contains(host.Logs.Entries, e => e.EventId.Name == "OriginRefused" && e.Message.Contains("sse", StringComparison.Ordinal));
        await allowed.ReceivePositionAsync();
    }

    [Fact]
    public async Task Streams_over_the_connection_limit_shared_with_the_other_transports_are_refused_with_503_and_a_freed_place_is_reused()
    {
        await using var host = await NotifyTestHost.StartAsync(postgres, options => options.MaxConnections = 2);
        using var meter = new MeterTotals(host.Services.GetRequiredService<IMeterFactory>());
        var cancellationToken = TestContext.Current.CancellationToken;
        var audience = Names.Audience();
        await host.ConnectWebSocketAsync(audience);
        var stream = await host.ConnectEventStreamAsync(audience);

        var (status, _) = await EventStreamTestClient.ConnectExpectingRefusalAsync(host.BaseUri, audience, cancellationToken: cancellationToken).OrTimeout();
        await stream.DisposeAsync();
        await host.Logs.WaitForAsync(e => e.EventId.Name == "ConnectionClosed" && e.Message.Contains("sse", StringComparison.Ordinal)).OrTimeout();
        var newcomer = Names.Audience();
        var again = await host.ConnectEventStreamAsync(newcomer);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal(1, meter["pgnotifyhub.connection.refused", "sse", "max_connections"]);
        await host.AssertHearsOnlyItsOwnAudienceAsync(again, newcomer, audience);
    }

    [Fact]
    public async Task A_stream_with_more_audiences_than_allowed_or_none_is_refused_with_403()
    {
        await using var host = await NotifyTestHost.StartAsync(postgres, options => options.MaxAudiencesPerConnection = 2);
        var cancellationToken = TestContext.Current.CancellationToken;

        var tooMany = await EventStreamTestClient.ConnectExpectingRefusalAsync(host.BaseUri, string.Join(',', Names.Audience(), Names.Audience(), Names.Audience()), cancellationToken: cancellationToken).OrTimeout();
        var none = await EventStreamTestClient.ConnectExpectingRefusalAsync(host.BaseUri, ",", cancellationToken: cancellationToken).OrTimeout();

        Assert.Equal((HttpStatusCode.Forbidden, HttpStatusCode.Forbidden), (tooMany.Status, none.Status));
    }

    [Fact]
    public async Task A_slow_stream_is_ended_while_a_fast_one_gets_everything_and_its_reconnect_that_missed_more_than_the_queue_holds_resyncs()
    {
        await using var host = await NotifyTestHost.StartAsync(postgres, options =>
        {
            // More than one batch, far less than the 14 MB sent: only the stream that does not read overflows.
            options.SendQueueCapacity = 64;
            options.ReplayBufferSize = 4096;
        });
        using var meter = new MeterTotals(host.Services.GetRequiredService<IMeterFactory>());
        var audience = Names.Audience();
        var slow = await host.ConnectNonReadingEventStreamAsync(audience);
        var fast = await host.ConnectEventStreamAsync(audience);

        await host.AssertFastClientGetsEveryMessageOfAFloodAsync(fast, audience);
        await host.Logs.WaitForAsync(e => e.IsFromLibrary && e.EventId.Name == "ConnectionClosed" && e.Message.Contains("sse", StringComparison.Ordinal)).OrTimeout();
        slow.StartReceiving();
        await slow.Ended.OrTimeout();
        await host.DisconnectAsync(slow, audience);
        var got = slow.Events.Where(e => e.Type == "message").Select(e => Envelope.Parse(e.Data).PayloadNumber("i")).ToList();
        // What it missed is the queue it never wrote and all that came after: more than the queue holds, so a replay
        // would close it again at once.
        var resumed = await host.ReconnectEventStreamAsync(slow.LastEventId, audience);
        var marker = Markers.NewId();
        await postgres.NotifyAsync(host.Channel, Markers.Payload(audience, marker), TestContext.Current.CancellationToken);
        var rest = await resumed.ReceiveUntilMarkerAsync(marker);

        Assert.Equal(Enumerable.Range(1, got.Count).Select(i => (long?)i), got);
        Assert.InRange(got.Count, 0, 2_000 - 64);
        Assert.Empty(rest);
        Assert.Equal("replay_too_large", (await resumed.ReceiveResyncAsync()).Reason);
        Assert.Equal(["resync", "position"], resumed.Events.Select(e => e.Type).Take(2));
        var warning = Assert.Single(host.Logs.Entries, e => e.IsFromLibrary && e.Level >= LogLevel.Warning);
        Assert.Equal(("SlowConsumer", "sse"), (warning.EventId.Name, warning["Transport"]));
        Assert.Equal(1, meter["pgnotifyhub.connection.closed_by_server", "sse", "slow_consumer"]);
        Assert.Equal(1, meter["pgnotifyhub.connection.resynced", "", "replay_too_large"]);
    }

    [Fact]
    public async Task Drop_oldest_keeps_a_slow_stream_open_with_the_newest_messages_in_order_and_counts_each_drop()
    {
        await using var host = await NotifyTestHost.StartAsync(postgres, options =>
        {
            options.SendQueueCapacity = 64;
            options.SlowConsumerPolicy = PgNotifyHubSlowConsumerPolicy.DropOldest;
        });
        using var meter = new MeterTotals(host.Services.GetRequiredService<IMeterFactory>());
        var audience = Names.Audience();
        var slow = await host.ConnectNonReadingEventStreamAsync(audience);
        var fast = await host.ConnectEventStreamAsync(audience);

        await host.AssertFastClientGetsEveryMessageOfAFloodAsync(fast, audience);
        slow.StartReceiving();
        var marker = Markers.NewId();
        await postgres.NotifyAsync(host.Channel, Markers.Payload(audience, marker), TestContext.Current.CancellationToken);
        var beforeMarker = await slow.ReceiveUntilMarkerAsync(marker);

        Assert.True(slow.IsConnected);
        var numbers = beforeMarker.Select(e => e.PayloadNumber("i")).OfType<long>().ToList();
        Assert.Equal(numbers.Order(), numbers);
        Assert.Equal(numbers.Distinct(), numbers);
        var dropped = meter["pgnotifyhub.notification.dropped", "sse", "queue_full"];
        Assert.True(dropped > 0, "Nothing was dropped: the flood did not overflow the queue.");
        Assert.Equal(2_001 - beforeMarker.Count, dropped);
        var warning = Assert.Single(host.Logs.Entries, e => e.IsFromLibrary && e.Level >= LogLevel.Warning);
        Assert.Equal(("SlowConsumerDropping", "sse"), (warning.EventId.Name, warning["Transport"]));
    }

    [Fact]
    public async Task Host_shutdown_ends_streams_promptly()
    {
        await using var host = await NotifyTestHost.StartAsync(postgres);
        var client = await host.ConnectEventStreamAsync(Names.Audience());

        var stopping = host.StopAsync();

        Assert.Equal("end of stream", await client.Ended.OrTimeout());
        var stopTime = await stopping.OrTimeout(TimeSpan.FromSeconds(60));
        Assert.True(stopTime < TimeSpan.FromSeconds(10), $"StopAsync took {stopTime.TotalSeconds:0.0} s; the shutdown timeout is 30 s.");
    }

    [Fact]
    public async Task Streams_over_HTTP2_receive_and_resume_with_Last_Event_ID()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var host = await NotifyTestHost.StartAsync(
            postgres,
            configureServices: services => services.Configure<KestrelServerOptions>(kestrel => kestrel.ConfigureEndpointDefaults(listen => listen.Protocols = HttpProtocols.Http2)));
        var audience = Names.Audience();
        var first = await EventStreamTestClient.ConnectAsync(host.BaseUri, audience, http2: true, cancellationToken: cancellationToken).OrTimeout();
        host.Track(first);
        await host.Router.WaitForSubscribersAsync(new Route(host.Channel, audience), 1, cancellationToken).OrTimeout();
        await postgres.NotifySeriesAsync(host.Channel, audience, 2, cancellationToken);
        await first.ReceiveAsync(2);
        await first.DisposeAsync();
        await host.Logs.WaitForAsync(e => e.EventId.Name == "ConnectionClosed").OrTimeout();

        await postgres.NotifySeriesAsync(host.Channel, audience, 2, cancellationToken);
        var second = await EventStreamTestClient.ConnectAsync(host.BaseUri, audience, lastEventId: first.LastEventId, http2: true, cancellationToken: cancellationToken).OrTimeout();
        host.Track(second);

        Assert.Equal(HttpVersion.Version20, first.Response.Version);
        Assert.Equal([3L, 4], (await second.ReceiveAsync(2)).Select(e => e.Seq));
    }

    [Fact]
    public async Task Many_streams_that_connect_and_go_away_give_back_every_slot_route_and_their_memory()
    {
        const int Streams = 300;
        await using var host = await NotifyTestHost.StartAsync(postgres, options => options.MaxConnections = 4);
        using var meter = new MeterTotals(host.Services.GetRequiredService<IMeterFactory>());
        var cancellationToken = TestContext.Current.CancellationToken;
        var audience = Names.Audience();
        await ChurnAsync(host, audience, 20);
        var before = HeapAfterCollection();

        await ChurnAsync(host, audience, Streams);
        await StormSettledAsync(host);
        var after = HeapAfterCollection();

        Assert.Equal(0, meter["pgnotifyhub.connection.active", "sse"]);
        Assert.Equal(0, host.Router.SubscriberCount(new Route(host.Channel, audience)));
        TestContext.Current.TestOutputHelper?.WriteLine($"Heap: {before:N0} bytes before {Streams} streams, {after:N0} after.");
        Assert.True(after - before < 2 * 1024 * 1024, $"The heap grew by {after - before:N0} bytes over {Streams} streams that are gone.");
        var clients = new List<NotifyTestClient>();
        for (var i = 0; i < 4; i++)
        {
            clients.Add(await host.ConnectEventStreamAsync(audience));
        }

        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await EventStreamTestClient.ConnectExpectingRefusalAsync(host.BaseUri, audience, cancellationToken: cancellationToken).OrTimeout()).Status);
        var marker = Markers.NewId();
        await postgres.NotifyAsync(host.Channel, Markers.Payload(audience, marker), cancellationToken);
        foreach (var client in clients)
        {
            Assert.Empty(await client.ReceiveUntilMarkerAsync(marker));
        }
    }

    // Streams that go away every way a browser's do: closed after a message, or cut before reading anything.
    private async Task ChurnAsync(NotifyTestHost host, string audience, int count)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        for (var i = 0; i < count; i++)
        {
            var client = await EventStreamTestClient.ConnectAsync(host.BaseUri, audience, startReceiving: i % 2 == 0, cancellationToken: cancellationToken).OrTimeout();
            if (i % 2 == 0)
            {
                await client.ReceivePositionAsync();
            }

            await client.DisposeAsync();
            await StormSettledAsync(host);
        }

        await postgres.NotifyAsync(host.Channel, Markers.Message(audience, "nobody"), cancellationToken);
    }

    private static Task StormSettledAsync(NotifyTestHost host) => HostileInput.StormAftermath.ConnectionsSettledAsync(host.Logs);

    private static long HeapAfterCollection()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}
