namespace PgNotifyHub.Listening;

internal enum ListenerState
{
    /// <summary>Opening a connection, or waiting to retry after a failure: notifications are not being received.</summary>
    Connecting,

    /// <summary>LISTEN has been issued on a live connection: committed notifications are being received.</summary>
    Listening,
}
