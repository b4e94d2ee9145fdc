using System.Buffers;
using System.Text;
using PgNotifyHub.Parsing;
using PgNotifyHub.Sequencing;
using PgNotifyHub.Transports;
using PgNotifyHub.Transports.ServerSentEvents;

namespace PgNotifyHub.Tests.Transports;

public sealed class EventStreamFormatTests
{
    private const string Stream = "0123456789abcdef";
    private const string RouteSet = "AAAAAAAAAAAA";

    [Fact]
    public void A_notification_is_one_default_event_whose_data_is_the_sequenced_envelope()
    {
        var notification = Sequenced("a,{\"s\":1}", 42);

        var text = Encoding.UTF8.GetString(EventStreamFormat.Message(notification).Span);

        Assert.Equal("data: " + Encoding.UTF8.GetString(SequencedEnvelope.Of(notification).Span) + "\n\n", text);
    }

    [Fact]
    public void Every_line_break_of_the_data_starts_a_new_data_line_so_no_line_can_end_the_event()
    {
        var notification = Sequenced("a,{\"x\":\r\n1,\n\"y\":\r2}", 1);

        var lines = Encoding.UTF8.GetString(EventStreamFormat.Message(notification).Span).Split('\n');

        Assert.Equal(["", ""], lines[^2..]);
        Assert.All(lines[..^2], line => Assert.StartsWith("data: ", line, StringComparison.Ordinal));
        Assert.DoesNotContain('\r', string.Concat(lines));
        Assert.Equal(4, lines.Length - 2);
    }

    [Fact]
    public void A_notifications_event_is_made_once_and_shared()
    {
        var notification = Sequenced("a,{}", 1);

        Assert.True(EventStreamFormat.Message(notification).Equals(EventStreamFormat.Message(notification)));
    }

    [Fact]
    public void The_id_is_the_compact_resume_form_moved_on_by_each_notification_on_its_route()
    {
        var position = new EventStreamPosition();
        position.Join(new StreamPosition(Stream, [new("orders", "a", 3), new("orders", "b", 0)], RouteSet));

        var joined = IdOf(position);
        position.Advance(Sequenced("b,{}", 1));
        var afterB = IdOf(position);
        position.Advance(Sequenced("a,{}", 4));
        var afterA = IdOf(position);
        position.Restart("fedcba9876543210");

        Assert.Equal($"{Stream}.{RouteSet}.3.0", joined);
        Assert.Equal($"{Stream}.{RouteSet}.3.1", afterB);
        Assert.Equal($"{Stream}.{RouteSet}.4.1", afterA);
        Assert.Equal($"fedcba9876543210.{RouteSet}.0.0", IdOf(position));
        Assert.True(ResumePosition.TryParse(afterA, out var resume));
        Assert.Equal(Stream, resume.Stream);
        Assert.False(EventStreamPosition.IsShort(afterA));
    }

    [Fact]
    public void A_connection_of_more_routes_than_an_id_carries_gets_the_short_id_which_is_read_as_short()
    {
        var position = new EventStreamPosition();
        var routes = Enumerable.Range(0, EventStreamPosition.MaxRoutes + 1).Select(i => new RoutePosition("orders", "a" + i, i)).ToList();
        position.Join(new StreamPosition(Stream, routes, RouteSet));

        var id = IdOf(position);

        Assert.Equal($"{Stream}.{RouteSet}", id);
        Assert.True(EventStreamPosition.IsShort(id));
    }

    [Fact]
    public void An_id_whose_numbers_would_pass_the_bound_falls_back_to_the_short_id()
    {
        var position = new EventStreamPosition();
        var routes = Enumerable.Range(0, EventStreamPosition.MaxRoutes).Select(i => new RoutePosition("orders", "a" + i, long.MaxValue)).ToList();
        position.Join(new StreamPosition(Stream, routes, RouteSet));

        var id = IdOf(position);

        Assert.Equal($"{Stream}.{RouteSet}", id);
    }

    private static string IdOf(EventStreamPosition position)
    {
        var writer = new ArrayBufferWriter<byte>();
        var length = position.WriteId(writer);
        var line = Encoding.ASCII.GetString(writer.WrittenSpan);
        Assert.Equal(line.Length, length);
        Assert.StartsWith("id: ", line, StringComparison.Ordinal);
        Assert.EndsWith("\n", line, StringComparison.Ordinal);
        return line[4..^1];
    }

    private static SequencedNotification Sequenced(string payload, long sequence)
    {
        Assert.True(NotificationParser.TryParse("orders", payload, timestampProperty: null, out var parsed, out _));
        return new SequencedNotification(parsed, sequence, Stream, published: sequence, publishedAt: 0);
    }
}
