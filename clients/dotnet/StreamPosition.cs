using System.Text.Json;

namespace PgNotifyHub.ConsoleClient;

/// <summary>
/// Where this client is in the server's numbering: the stream, and the last sequence number seen on each route
/// (channel and audience). A new connection sends it as the query parameter <c>resume</c>, and the server replays
/// what was missed, in order, or says to resync.
/// </summary>
internal sealed class StreamPosition
{
    /// <summary>Client-side reason: a new stream came without a resync notice.</summary>
    public const string StreamChanged = "stream_changed";

    /// <summary>Client-side reason: reconnected before there was a position to resume from.</summary>
    public const string UnknownPosition = "unknown_position";

    private const string ListenerReconnected = "listener_reconnected";

    private readonly Lock _lock = new();
    // A null sequence number: unknown in the current stream.
    private readonly Dictionary<(string Channel, string Audience), long?> _routes = [];
    private string? _stream;

    /// <summary>
    /// Records <paramref name="envelope"/>. Returns <see langword="false"/> for one delivered already (a replay overlapping
    /// what arrived live), which must not be shown twice. <paramref name="unannouncedStream"/> says that the stream changed
    /// without a resync notice: messages may have been lost all the same.
    /// </summary>
    public bool Accept(Envelope envelope, out bool unannouncedStream)
    {
        lock (_lock)
        {
            unannouncedStream = false;
            if (envelope.Stream != _stream)
            {
                unannouncedStream = _stream is not null;
                Restart(envelope.Stream, numberedFromZero: false);
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

    /// <summary>Records a resync notice from the server.</summary>
    public void Resynced(ResyncNotice notice)
    {
        lock (_lock)
        {
            // A new stream numbers every route from 1. Only a listener_reconnected notice is sure to precede all of its
            // messages; after the others (a stream that ran while this client was away) the numbers are unknown.
            if (notice.Stream != _stream)
            {
                Restart(notice.Stream, notice.Reason == ListenerReconnected);
            }
        }
    }

    /// <summary>
    /// The <c>resume</c> parameter's JSON, or <see langword="null"/> when it could not cover every route this client knows:
    /// the server replays only the routes listed, so a partial position would lose the others' messages silently.
    /// </summary>
    public string? Resume()
    {
        lock (_lock)
        {
            if (_stream is null || _routes.Count == 0 || _routes.ContainsValue(null))
            {
                return null;
            }

            return JsonSerializer.Serialize(new
            {
                stream = _stream,
                positions = _routes.Select(route => new { channel = route.Key.Channel, audience = route.Key.Audience, seq = route.Value }),
            });
        }
    }

    /// <summary>After a reconnect without a position the application reloads: the next envelope's stream is taken as it comes.</summary>
    public void Forget()
    {
        lock (_lock)
        {
            Restart(null, numberedFromZero: false);
        }
    }

    private void Restart(string? stream, bool numberedFromZero)
    {
        _stream = stream;
        foreach (var route in _routes.Keys.ToArray())
        {
            _routes[route] = numberedFromZero ? 0 : null;
        }
    }
}
