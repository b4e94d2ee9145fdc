using System.Text.Json;
using PgNotifyHub.Client.Internal;

namespace PgNotifyHub.Tests.Client;

/// <summary>
/// The client's position: what it resumes from, which messages it passes on, and when a new stream means messages may
/// have been lost.
/// </summary>
public sealed class StreamPositionTests
{
    [Fact]
    public void Before_the_first_position_notice_there_is_nothing_to_resume_from_and_every_message_is_passed_on()
    {
        var position = new StreamPosition();
        var (connection, resume) = position.BeginConnection();

        Assert.Null(resume);
        Assert.True(position.Accept(Envelope("c", "a", 5, "s1"), connection, out var unannounced));
        Assert.False(unannounced);
    }

    [Fact]
    public void Resume_gives_the_numbers_of_every_route_in_the_notice_order_moved_on_by_the_messages_since()
    {
        var position = new StreamPosition();
        var (connection, _) = position.BeginConnection();
        position.Positioned(new PositionNotice("s1", [new RoutePosition("c", "b", 3), new RoutePosition("c", "a", 0), new RoutePosition("d", "a", 9)], "AAAAAAAAAAAA"), connection);
        position.Accept(Envelope("c", "a", 1, "s1"), connection, out _);
        position.Accept(Envelope("c", "b", 4, "s1"), connection, out _);
        position.EndConnection(connection);

        var (_, resume) = position.BeginConnection();

        Assert.Equal("s1.AAAAAAAAAAAA.4.1.9", resume);
    }

    [Fact]
    public void Resume_from_a_server_without_route_sets_lists_every_route_of_the_position_notice_moved_on_by_the_messages_since()
    {
        var position = new StreamPosition();
        var (connection, _) = position.BeginConnection();
        position.Positioned(new PositionNotice("s1", [new RoutePosition("c", "a", 3), new RoutePosition("silent", "a", 0)]), connection);
        position.Accept(Envelope("c", "a", 4, "s1"), connection, out _);
        position.EndConnection(connection);

        var (_, resume) = position.BeginConnection();

        Assert.Equal(
            "{\"stream\":\"s1\",\"positions\":[{\"channel\":\"c\",\"audience\":\"a\",\"seq\":4},{\"channel\":\"silent\",\"audience\":\"a\",\"seq\":0}]}",
            resume);
    }

    [Fact]
    public void A_message_passed_on_already_is_not_passed_on_again()
    {
        var position = new StreamPosition();
        var (connection, _) = position.BeginConnection();
        position.Positioned(new PositionNotice("s1", [new RoutePosition("c", "a", 3)]), connection);

        Assert.False(position.Accept(Envelope("c", "a", 3, "s1"), connection, out _));
        Assert.True(position.Accept(Envelope("c", "a", 4, "s1"), connection, out _));
        Assert.False(position.Accept(Envelope("c", "a", 4, "s1"), connection, out _));
    }

    [Fact]
    public void What_a_connection_hands_over_after_it_ended_is_ignored_so_the_next_one_gets_it_replayed()
    {
        var position = new StreamPosition();
        var (first, _) = position.BeginConnection();
        position.Positioned(new PositionNotice("s1", [new RoutePosition("c", "a", 1)]), first);
        position.EndConnection(first);

        Assert.False(position.Accept(Envelope("c", "a", 2, "s1"), first, out _));
        Assert.False(position.Resynced(new ResyncNotice("listener_reconnected", "s2"), first));
        var (second, resume) = position.BeginConnection();
        Assert.Contains("\"seq\":1", resume, StringComparison.Ordinal);
        Assert.True(position.Accept(Envelope("c", "a", 2, "s1"), second, out _));
    }

    [Fact]
    public void A_new_stream_without_a_notice_is_reported_and_numbers_every_route_from_the_start()
    {
        var position = new StreamPosition();
        var (connection, _) = position.BeginConnection();
        position.Positioned(new PositionNotice("s1", [new RoutePosition("c", "a", 7), new RoutePosition("d", "a", 2)]), connection);

        Assert.True(position.Accept(Envelope("c", "a", 1, "s2"), connection, out var unannounced));
        Assert.True(unannounced);
        position.EndConnection(connection);
        using var resume = JsonDocument.Parse(position.BeginConnection().Resume!);
        Assert.Equal("s2", resume.RootElement.GetProperty("stream").GetString());
        Assert.Equal([1L, 0], resume.RootElement.GetProperty("positions").EnumerateArray().Select(route => route.GetProperty("seq").GetInt64()));
    }

    [Fact]
    public void A_listener_reconnect_starts_the_new_stream_at_once_and_other_resyncs_wait_for_the_position_notice()
    {
        var position = new StreamPosition();
        var (connection, _) = position.BeginConnection();
        position.Positioned(new PositionNotice("s1", [new RoutePosition("c", "a", 7)]), connection);

        Assert.True(position.Resynced(new ResyncNotice("gap_too_old", "s1"), connection));
        Assert.False(position.Accept(Envelope("c", "a", 7, "s1"), connection, out _));
        Assert.True(position.Resynced(new ResyncNotice("listener_reconnected", "s2"), connection));
        Assert.True(position.Accept(Envelope("c", "a", 1, "s2"), connection, out var unannounced));
        Assert.False(unannounced);
    }

    private static Envelope Envelope(string channel, string audience, long seq, string stream) =>
        new(JsonDocument.Parse("{}").RootElement, channel, Guid.NewGuid(), audience, seq, stream);
}
