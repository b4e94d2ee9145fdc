using System.Buffers;
using System.Buffers.Text;
using System.Text;
using PgNotifyHub.Sequencing;

namespace PgNotifyHub.Transports.ServerSentEvents;

/// <summary>
/// Where one connection stands after each event it was written, given as that event's <c>id</c>, so that a browser
/// that reconnects by itself sends it back as <c>Last-Event-ID</c> and is replayed what it missed. The id is the
/// compact <c>resume</c> form of the position notice: <c>stream.routeSet.seq.seq…</c>, one number per route in the
/// notice's order. Kept by the connection's one writer only.
/// </summary>
/// <remarks>
/// The id is bounded, since it is sent with every event and comes back in a request header: a connection of more than
/// <see cref="MaxRoutes"/> routes, or whose numbers grew past <see cref="MaxLength"/> characters, gets the short id
/// <c>stream.routeSet</c> instead, which holds no position, and a reconnect with it is told to resync
/// (<see cref="GapUnknown"/>). Writing the full id costs a few characters per route, within those bounds.
/// </remarks>
internal sealed class EventStreamPosition
{
    /// <summary>The most routes whose numbers an id carries.</summary>
    public const int MaxRoutes = 64;

    /// <summary>The longest id written, in characters.</summary>
    public const int MaxLength = 1024;

    /// <summary>
    /// The resync reason for a reconnect with a short id: the server cannot tell what the client missed. Given by this
    /// transport only; a stream that changed meanwhile is told as <c>stream_changed</c> all the same.
    /// </summary>
    public const string GapUnknown = "gap_unknown";

    /// <summary>
    /// The resync reason for a reconnect that missed more than the connection's send queue holds: replaying it would
    /// close the stream as a slow consumer at once, again on every reconnect.
    /// </summary>
    public const string ReplayTooLarge = "replay_too_large";

    private static ReadOnlySpan<byte> IdField => "id: "u8;

    private readonly Dictionary<Route, int> _indexes = [];
    private long[] _sequences = [];
    private byte[] _prefix = [];
    private string? _routeSet;
    private bool _compact;

    /// <summary>Whether the position notice came, so the position is known; before it no event carries an id.</summary>
    public bool IsKnown => _routeSet is not null;

    /// <summary>The connection joined: where it stands on each of its routes, which fixes their order.</summary>
    public void Join(StreamPosition position)
    {
        _routeSet = position.RouteSet;
        _compact = position.Positions.Count <= MaxRoutes;
        _indexes.Clear();
        _sequences = new long[_compact ? position.Positions.Count : 0];
        for (var i = 0; i < _sequences.Length; i++)
        {
            var route = position.Positions[i];
            _indexes[new Route(route.Channel, route.Audience)] = i;
            _sequences[i] = route.Seq;
        }

        StartStream(position.Stream);
    }

    /// <summary>
    /// The listener restarted while the connection was open: numbering goes on in <paramref name="stream"/>, where
    /// nothing was published before the notice, so every route stands at 0.
    /// </summary>
    public void Restart(string stream)
    {
        Array.Clear(_sequences);
        StartStream(stream);
    }

    /// <summary>The connection was written <paramref name="notification"/>.</summary>
    public void Advance(SequencedNotification notification)
    {
        if (_indexes.TryGetValue(new Route(notification.Notification.Channel, notification.Notification.Audience), out var index))
        {
            _sequences[index] = notification.Sequence;
        }
    }

    /// <summary>Writes the <c>id</c> line of the position as it stands; returns its length.</summary>
    public int WriteId(IBufferWriter<byte> writer)
    {
        var line = writer.GetSpan(IdField.Length + MaxLength + 1);
        IdField.CopyTo(line);
        var id = line.Slice(IdField.Length, MaxLength);
        _prefix.CopyTo(id);
        var length = _prefix.Length;
        if (_compact && !TryWriteNumbers(id[length..], ref length))
        {
            // Numbers of 19 digits on most of 64 routes: the short id, rather than an unbounded one.
            length = _prefix.Length;
        }

        line[IdField.Length + length] = (byte)'\n';
        var written = IdField.Length + length + 1;
        writer.Advance(written);
        return written;
    }

    /// <summary>
    /// Whether <paramref name="resume"/>, which <see cref="ResumePosition.TryParse"/> read, is a short id,
    /// <c>stream.routeSet</c>: the compact form without numbers, which would otherwise be read as the position of no route.
    /// </summary>
    public static bool IsShort(string resume) => !resume.Contains('{', StringComparison.Ordinal) && resume.AsSpan().Count('.') == 1;

    // The id's unchanging start, made once per stream: "stream.routeSet".
    private void StartStream(string stream) => _prefix = Encoding.ASCII.GetBytes(stream + "." + _routeSet);

    private bool TryWriteNumbers(Span<byte> destination, ref int length)
    {
        foreach (var sequence in _sequences)
        {
            if (destination.Length < 2 || !Utf8Formatter.TryFormat(sequence, destination[1..], out var digits))
            {
                return false;
            }

            destination[0] = (byte)'.';
            destination = destination[(1 + digits)..];
            length += 1 + digits;
        }

        return true;
    }
}
