using System.Globalization;
using System.Text;
using System.Text.Json;

namespace PgNotifyHub.Client.Internal;

/// <summary>
/// Where the client is in the server's numbering: the stream, and the last sequence number of every route (channel and
/// audience) of the connection. The server says where the client stands each time it joins, listing every route, also
/// those that never carried a message; a new connection sends that back, moved on by the messages since, as the query
/// parameter <c>resume</c>, and the server replays what was missed, in order, or says to resync.
/// </summary>
/// <remarks>
/// Only the current connection moves the position. A connection that was lost may still hand over messages it had
/// received; they are ignored, since the next connection resumes from before them and gets them replayed in order.
/// </remarks>
internal sealed class StreamPosition
{
    private const string ListenerReconnected = "listener_reconnected";

    private readonly Lock _lock = new();
    private readonly Dictionary<(string Channel, string Audience), long> _routes = [];
    // The notice's routes, in its order, which the compact resume follows.
    private readonly List<(string Channel, string Audience)> _order = [];
    // Null until the server's first position notice: there is nothing to resume from before it.
    private string? _stream;
    private string? _routeSet;
    private int _connections;
    private int _current;

    /// <summary>
    /// Starts a connection, whose events alone count from now on. Returns its number, and the <c>resume</c> parameter,
    /// or <see langword="null"/> before the first position notice.
    /// </summary>
    public (int Connection, string? Resume) BeginConnection()
    {
        lock (_lock)
        {
            _current = ++_connections;
            return (_current, _stream is null ? null : Resume());
        }
    }

    /// <summary>Whether <paramref name="connection"/> is the current one, whose events count.</summary>
    public bool IsCurrent(int connection)
    {
        lock (_lock)
        {
            return connection == _current;
        }
    }

    /// <summary>Ends <paramref name="connection"/>: what it still hands over is ignored.</summary>
    public void EndConnection(int connection)
    {
        lock (_lock)
        {
            if (_current == connection)
            {
                _current = 0;
            }
        }
    }

    /// <summary>
    /// Records <paramref name="envelope"/>. Returns <see langword="false"/> for one delivered already (a replay overlapping
    /// what arrived live), which must not be passed on twice, and for one of a connection that has ended.
    /// <paramref name="unannouncedStream"/> says that the stream changed without a notice: messages may have been lost.
    /// </summary>
    public bool Accept(Envelope envelope, int connection, out bool unannouncedStream)
    {
        lock (_lock)
        {
            unannouncedStream = false;
            if (connection != _current)
            {
                return false;
            }

            if (_stream is null)
            {
                return true; // nothing to compare with yet
            }

            if (envelope.Stream != _stream)
            {
                // The server announces every new stream before its messages, with a resync or a position notice.
                unannouncedStream = true;
                Restart(envelope.Stream);
            }

            var route = (envelope.Channel, envelope.Audience);
            if (_routes.TryGetValue(route, out var last) && last >= envelope.Seq)
            {
                return false;
            }

            _routes[route] = envelope.Seq;
            return true;
        }
    }

    /// <summary>
    /// Takes the server's position notice as it is: it follows any resync and replay of the join, and precedes every live
    /// message.
    /// </summary>
    public void Positioned(PositionNotice notice, int connection)
    {
        lock (_lock)
        {
            if (connection != _current)
            {
                return;
            }

            _stream = notice.Stream;
            _routeSet = notice.RouteSet;
            _routes.Clear();
            _order.Clear();
            foreach (var route in notice.Positions)
            {
                _routes[(route.Channel, route.Audience)] = route.Seq;
                _order.Add((route.Channel, route.Audience));
            }
        }
    }

    /// <summary>Records a resync notice from the server; <see langword="false"/> for one of a connection that has ended.</summary>
    public bool Resynced(ResyncNotice notice, int connection)
    {
        lock (_lock)
        {
            if (connection != _current)
            {
                return false;
            }

            // Only listener_reconnected comes to a live connection, before any message of its new stream. The others come
            // as the client joins, and the position notice that follows says where it stands; until then the old position
            // stays, so a connection lost in between is told to resync again rather than resume a stream whose earlier
            // messages the application may have reloaded already.
            if (notice.Reason == ListenerReconnected && _stream is not null && notice.Stream != _stream)
            {
                Restart(notice.Stream);
            }

            return true;
        }
    }

    // The compact form stays a few characters per route, where JSON naming each route outgrows a request line past
    // some 80 routes.
    private string Resume()
    {
        if (_routeSet is null)
        {
            return JsonSerializer.Serialize(
                new { Stream = _stream, Positions = _routes.Select(route => new RoutePosition(route.Key.Channel, route.Key.Audience, route.Value)) },
                JsonSerializerOptions.Web);
        }

        var resume = new StringBuilder(_stream).Append('.').Append(_routeSet);
        foreach (var route in _order)
        {
            resume.Append('.').Append(_routes[route].ToString(CultureInfo.InvariantCulture));
        }

        return resume.ToString();
    }

    // A new stream numbers every route from 1, so where nothing of it has been seen the position is 0.
    private void Restart(string stream)
    {
        _stream = stream;
        foreach (var route in _routes.Keys.ToArray())
        {
            _routes[route] = 0;
        }
    }
}
