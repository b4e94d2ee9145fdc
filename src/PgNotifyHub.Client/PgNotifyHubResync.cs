namespace PgNotifyHub.Client;

/// <summary>
/// Messages may have been lost: what the application shows may be out of date, so it reloads it from its database, then
/// applies the messages that follow. Raised by <see cref="PgNotifyHubClient.Resync"/>, before any message it concerns.
/// </summary>
public sealed class PgNotifyHubResync
{
    /// <summary>The server's listener lost its PostgreSQL connection: what was sent meanwhile was not delivered.</summary>
    public const string ListenerReconnected = "listener_reconnected";

    /// <summary>The stream the client resumed is gone (the server restarted, or its listener reconnected).</summary>
    public const string StreamChanged = "stream_changed";

    /// <summary>The client was away longer than the server keeps messages for replay.</summary>
    public const string GapTooOld = "gap_too_old";

    /// <summary>The channels and audiences the server gives the client changed while it was away.</summary>
    public const string RoutesChanged = "routes_changed";

    /// <summary>
    /// Raised by the client itself: it reconnected after losing a connection before the server said where it stood, so
    /// it had nothing to resume from.
    /// </summary>
    public const string UnknownPosition = "unknown_position";

    /// <summary>
    /// Raised by the client itself, for one topic (<see cref="Audience"/>): asked for again on a new connection, it was
    /// refused (the token no longer allows it, or a limit); it is no longer delivered, and forgotten.
    /// </summary>
    public const string TopicRefused = "topic_refused";

    /// <summary>Creates a resync notice, e.g. to test an application's handler.</summary>
    /// <param name="reason">Why: one of the constants of this class, or a reason of a newer server.</param>
    /// <param name="stream">The stream numbering goes on in, if known.</param>
    /// <exception cref="ArgumentException"><paramref name="reason"/> is <see langword="null"/> or empty.</exception>
    public PgNotifyHubResync(string reason, string? stream)
        : this(reason, stream, channel: null, audience: null)
    {
    }

    /// <summary>Creates a resync notice that concerns one topic alone, e.g. to test an application's handler.</summary>
    /// <param name="reason">Why: one of the constants of this class, or a reason of a newer server.</param>
    /// <param name="stream">The stream numbering goes on in, if known.</param>
    /// <param name="channel">The topic's channel, if known.</param>
    /// <param name="audience">The topic's audience; <see langword="null"/> when it concerns every route of the connection.</param>
    /// <exception cref="ArgumentException"><paramref name="reason"/> is <see langword="null"/> or empty.</exception>
    public PgNotifyHubResync(string reason, string? stream, string? channel, string? audience)
    {
        ArgumentException.ThrowIfNullOrEmpty(reason);
        Reason = reason;
        Stream = stream;
        Channel = channel;
        Audience = audience;
    }

    /// <summary>
    /// Why messages may have been lost: <see cref="ListenerReconnected"/>, <see cref="StreamChanged"/>,
    /// <see cref="GapTooOld"/>, <see cref="RoutesChanged"/> or <see cref="UnknownPosition"/>; for a topic alone also
    /// <see cref="TopicRefused"/>. Treat a reason you do not know as a resync all the same.
    /// </summary>
    public string Reason { get; }

    /// <summary>The channel of the topic it concerns alone, when known; <see langword="null"/> otherwise.</summary>
    public string? Channel { get; }

    /// <summary>
    /// The topic it concerns alone (a topic asked for again could not be resumed, or was refused): reload that topic only.
    /// <see langword="null"/> when it concerns every route of the connection.
    /// </summary>
    public string? Audience { get; }

    /// <summary>The stream that numbering goes on in; <see langword="null"/> for <see cref="UnknownPosition"/>.</summary>
    public string? Stream { get; }

    /// <summary>The reason, for logs.</summary>
    /// <returns>For example <c>resync listener_reconnected</c>.</returns>
    public override string ToString() => "resync " + Reason;
}
