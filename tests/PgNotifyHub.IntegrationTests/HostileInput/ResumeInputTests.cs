using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PgNotifyHub.IntegrationTests.Infrastructure;

namespace PgNotifyHub.IntegrationTests.HostileInput;

/// <summary>
/// The <c>resume</c> query parameter is the one input of a handshake that the client writes in JSON: every shape of
/// it that is not a readable position is refused with 400 on every transport, before a connection slot is taken, and
/// never costs the server more than the refusal.
/// </summary>
[Collection(SharedPostgres.Name)]
public sealed class ResumeInputTests(PostgresFixture postgres)
{
    /// <summary>
    /// Every JSON type in every position, lone surrogates, huge numbers, duplicate keys, and depth (as deep as fits in
    /// Kestrel's 8 KiB request line once URL-encoded).
    /// </summary>
    public static IReadOnlyList<string> UnreadableResumes(string channel) =>
    [
        .. new[] { "\"1\"", "true", "false", "null", "{}", "[]", "1.5", "-1", "1e400", "99999999999999999999", "\"\\ud800\"" }
            .Select(seq => Position(channel, "a", seq)),
        .. new[] { "1", "null", "true", "{}", "[]", "\"\\ud800\"", "\"\\udfff\"", "\"\\ud800x\"" }
            .SelectMany(text => new[]
            {
                "{\"stream\":" + text + ",\"positions\":[]}",
                "{\"stream\":\"x\",\"positions\":[{\"channel\":" + text + ",\"audience\":\"a\",\"seq\":1}]}",
                "{\"stream\":\"x\",\"positions\":[{\"channel\":\"" + channel + "\",\"audience\":" + text + ",\"seq\":1}]}",
            }),
        .. new[] { "1", "null", "true", "{}", "\"x\"", "[1]", "[null]", "[[]]", "[\"x\"]" }
            .Select(positions => "{\"stream\":\"x\",\"positions\":" + positions + "}"),
        "{\"positions\":[]}",
        "{\"stream\":\"x\"}",
        "{\"stream\":\"x\",\"positions\":[{\"audience\":\"a\",\"seq\":1}]}",
        "{\"stream\":\"x\",\"positions\":[{\"channel\":\"c\",\"seq\":1}]}",
        "{\"stream\":\"x\",\"positions\":[{\"channel\":\"c\",\"audience\":\"a\"}]}",
        "{\"stream\":\"a\",\"stream\":\"b\",\"positions\":[]}",
        "{\"\\ud800\":1,\"stream\":\"x\",\"positions\":[]}",
        "{\"stream\":\"x\",\"positions\":[{\"\\udc00\":1,\"channel\":\"c\",\"audience\":\"a\",\"seq\":1}]}",
        "{\"stream\":\"x\",\"positions\":[{\"channel\":\"c\",\"audience\":\"a\",\"seq\":1,\"seq\":2}]}",
        "{\"stream\":\"x\",\"positions\":[{\"channel\":" + new string('[', 1_000) + new string(']', 1_000) + ",\"audience\":\"a\",\"seq\":1}]}",
        "[]", "\"x\"", "1", "null", "true", "{", "}", "{\"stream\":\"x\",\"positions\":[]", " ", "{}{}",
        "{\"stream\":\"x\",\"positions\":[]} trailing",
        "\u0000",
        // The compact form, stream.routeSet.seq…, with one thing wrong.
        .. new[]
        {
            "", ".", ".AAAAAAAAAAAA.", ".AAAAAAAAAAAA.-1", ".AAAAAAAAAAAA.+1", ".AAAAAAAAAAAA.1e3", ".AAAAAAAAAAAA.1,5",
            ".AAAAAAAAAAAA.9223372036854775808", ".AAAAAAAAAAAA..1", ".AAAAAAAAAAAA.1.", ".AAAAAAAAAAAA. 1", ".AAAAAAAAAAAA.\u0661",
            ".AAAAAAAAAAA", ".AAAAAAAAAAAAA", ".AAAAAAAAAAA=", ".AAAAAAAAAAA+", ".AAAAAAAAAAA/.1", ".AAAAAAAAAAA\u00e9.1",
        }.Select(rest => "0123456789abcdef" + rest),
        "0123456789ABCDEF.AAAAAAAAAAAA.1",
        ".AAAAAAAAAAAA.1",
        new string('a', 65) + ".AAAAAAAAAAAA.1",
        "0123456789abcdef.AAAAAAAAAAAA.1\u0000",
    ];

    /// <summary>Whether <paramref name="resume"/> is the compact form, as the server reads it.</summary>
    public static bool IsCompact(string resume) =>
        System.Text.RegularExpressions.Regex.IsMatch(resume, "^[0-9a-z]{1,64}\\.[A-Za-z0-9_-]{12}(\\.[0-9]{1,19})*\\z")
        && resume.Split('.').Skip(2).All(seq => long.TryParse(seq, CultureInfo.InvariantCulture, out _));

    [Theory]
    [InlineData(Transport.WebSocket)]
    [InlineData(Transport.SignalR)]
    [InlineData(Transport.SignalRLongPolling)]
    [InlineData(Transport.EventStream)]
    public async Task Every_unreadable_resume_is_refused_with_400_and_logged_without_an_error(Transport transport)
    {
        await using var host = await NotifyTestHost.StartAsync(postgres);
        using var meter = new MeterTotals(host.Services.GetRequiredService<IMeterFactory>());
        var cancellationToken = TestContext.Current.CancellationToken;
        using var http = host.CreateHttpClient();
        var resumes = UnreadableResumes(host.Channel);

        foreach (var resume in resumes)
        {
            var query = "?resume=" + Uri.EscapeDataString(resume);
            var status = transport switch
            {
                Transport.WebSocket => await WebSocketTestClient.ConnectWithSubprotocolExpectingRefusalAsync(host.BaseUri, "/ws" + query, "pgnotifyhub.v1", cancellationToken).OrTimeout(),
                // Skipping negotiation, as SignalR clients may: the WebSocket request itself is checked.
                Transport.SignalR => await WebSocketTestClient.ConnectWithTokenExpectingRefusalAsync(host.BaseUri, "/hub" + query, accessToken: null, cancellationToken).OrTimeout(),
                Transport.EventStream => (await EventStreamTestClient.ConnectExpectingRefusalAsync(host.BaseUri, "a", "/events" + query, cancellationToken: cancellationToken).OrTimeout()).Status,
                _ => (await http.PostAsync("/hub/negotiate?negotiateVersion=1&" + query[1..], content: null, cancellationToken).OrTimeout()).StatusCode,
            };
            Assert.True(status == HttpStatusCode.BadRequest, $"{status} for resume {Shorten(resume)}");
        }

        Assert.DoesNotContain(host.Logs.Entries, e => e.Level >= LogLevel.Error);
        var transportName = transport switch
        {
            Transport.WebSocket => "websocket",
            Transport.EventStream => "sse",
            _ => "signalr",
        };
        Assert.Equal(resumes.Count, meter["pgnotifyhub.connection.refused", transportName, "invalid_resume"]);
        Assert.Equal(resumes.Count, host.Logs.Entries.Count(e => e.EventId.Name == "ResumeRefused"));
        await host.AssertHearsOnlyItsOwnAudienceAsync(await host.ConnectAsync(transport == Transport.SignalRLongPolling ? Transport.SignalR : transport, "own"), "own", "other");
    }

    [Fact]
    public async Task A_SignalR_client_with_an_unreadable_resume_fails_to_start_with_400()
    {
        await using var host = await NotifyTestHost.StartAsync(postgres);
        var resume = Position(host.Channel, "a", "\"1\"");

        var error = await Assert.ThrowsAnyAsync<Exception>(() => SignalRTestClient.ConnectAsync(
            host.BaseUri, "a", TestContext.Current.CancellationToken, "/hub?resume=" + Uri.EscapeDataString(resume), HttpTransportType.LongPolling).OrTimeout());

        Assert.Contains("400", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unreadable_resumes_never_use_up_connection_slots()
    {
        const int slots = 3;
        await using var host = await NotifyTestHost.StartAsync(postgres, options => options.MaxConnections = slots);
        var cancellationToken = TestContext.Current.CancellationToken;

        foreach (var resume in UnreadableResumes(host.Channel).Take(slots * 4))
        {
            // The hub's WebSocket transport, with SignalR's handshake sent by hand if the upgrade is accepted.
            try
            {
                var attempt = await WebSocketTestClient.ConnectAsync(
                    host.BaseUri, "a", path: "/hub?resume=" + Uri.EscapeDataString(resume), cancellationToken: cancellationToken).OrTimeout();
                host.Track(attempt);
                await attempt.SendAsync("{\"protocol\":\"json\",\"version\":1}\u001e", cancellationToken).OrTimeout();
            }
            catch (System.Net.WebSockets.WebSocketException)
            {
                // Refused at the handshake, as it must be.
            }

            await WebSocketTestClient.ConnectWithSubprotocolExpectingRefusalAsync(host.BaseUri, "/ws?resume=" + Uri.EscapeDataString(resume), "pgnotifyhub.v1", cancellationToken).OrTimeout();
        }

        var (first, second, third) = (Names.Audience(), Names.Audience(), Names.Audience());
        var clients = new List<(NotifyTestClient Client, string Audience)>
        {
            (await host.ConnectSignalRAsync(first), first),
            (await host.ConnectWebSocketAsync(second), second),
            (await host.ConnectSequencedAsync(Transport.SignalR, third), third),
        };
        foreach (var (client, audience) in clients)
        {
            await host.AssertHearsOnlyItsOwnAudienceAsync(client, audience, Names.Audience());
        }
    }

    [Fact]
    public async Task A_raw_resume_without_the_subprotocol_is_refused_with_400_even_when_empty()
    {
        await using var host = await NotifyTestHost.StartAsync(postgres);

        var status = await WebSocketTestClient.ConnectWithTokenExpectingRefusalAsync(host.BaseUri, "/ws?resume=", accessToken: null, TestContext.Current.CancellationToken).OrTimeout();

        Assert.Equal(HttpStatusCode.BadRequest, status);
    }

    private static string Position(string channel, string audience, string seq) =>
        "{\"stream\":\"x\",\"positions\":[{\"channel\":\"" + channel + "\",\"audience\":\"" + audience + "\",\"seq\":" + seq + "}]}";

    private static string Shorten(string text) =>
        text.Length <= 120 ? text : text[..120] + "… (" + text.Length.ToString(CultureInfo.InvariantCulture) + " characters)";
}
