namespace PgNotifyHub.Sequencing;

/// <summary>Why a client is told that it may have missed notifications and must reload what it shows.</summary>
internal static class ResyncReason
{
    /// <summary>The listener lost its PostgreSQL connection: what was sent until it reconnected is lost.</summary>
    public const string ListenerReconnected = "listener_reconnected";

    /// <summary>The client resumes a stream this process no longer has (it restarted, or its listener reconnected since).</summary>
    public const string StreamChanged = "stream_changed";

    /// <summary>
    /// The client resumes with numbers alone, for another set of routes than the connection now has (its audiences
    /// changed): they cannot be put back on the routes.
    /// </summary>
    public const string RoutesChanged = "routes_changed";

    /// <summary>The client resumes from further back than the replay buffer reaches (by count or by age).</summary>
    public const string GapTooOld = "gap_too_old";
}
