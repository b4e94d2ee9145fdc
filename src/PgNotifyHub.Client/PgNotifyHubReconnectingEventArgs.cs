namespace PgNotifyHub.Client;

/// <summary>
/// What <see cref="PgNotifyHubClient.Reconnecting"/> says: a connection was lost, or an attempt to connect failed, and
/// the client tries again after <see cref="RetryDelay"/>.
/// </summary>
public sealed class PgNotifyHubReconnectingEventArgs : EventArgs
{
    /// <summary>Creates the event's data, e.g. to test an application's handler.</summary>
    /// <param name="error">What went wrong, if known.</param>
    /// <param name="retryDelay">The wait before the next attempt.</param>
    /// <param name="connectionLost">Whether an established connection was lost, rather than an attempt failing.</param>
    public PgNotifyHubReconnectingEventArgs(Exception? error, TimeSpan retryDelay, bool connectionLost)
    {
        Error = error;
        RetryDelay = retryDelay;
        ConnectionLost = connectionLost;
    }

    /// <summary>
    /// What went wrong: the attempt's error (a refused token shows as a 401), or why the connection closed;
    /// <see langword="null"/> when the server closed it without an error, e.g. when its token expired.
    /// </summary>
    public Exception? Error { get; }

    /// <summary>The wait before the next attempt: capped, jittered and growing while attempts keep failing.</summary>
    public TimeSpan RetryDelay { get; }

    /// <summary>
    /// <see langword="true"/> when an established connection was lost; <see langword="false"/> when an attempt to connect
    /// failed.
    /// </summary>
    public bool ConnectionLost { get; }
}
