namespace PgNotifyHub.Client;

/// <summary>What <see cref="PgNotifyHubClient.Connected"/> says about a connection that was just established.</summary>
public sealed class PgNotifyHubConnectedEventArgs : EventArgs
{
    /// <summary>Creates the event's data, e.g. to test an application's handler.</summary>
    /// <param name="isResuming">Whether the connection resumes from where the client left off.</param>
    public PgNotifyHubConnectedEventArgs(bool isResuming)
    {
        IsResuming = isResuming;
    }

    /// <summary>
    /// <see langword="true"/> when the connection resumed from where the client left off: the server replays what was
    /// missed, in order, or raises a resync. <see langword="false"/> on the first connection, and after a connection lost
    /// before the server said where the client stood (then a resync <see cref="PgNotifyHubResync.UnknownPosition"/>
    /// follows).
    /// </summary>
    public bool IsResuming { get; }
}
