namespace PgNotifyHub.Client.Internal;

/// <summary>The hub methods the client calls, as the server's <c>PgNotificationHub</c> names them.</summary>
internal static class PgNotifyHubMethods
{
    public const string Subscribe = "subscribe";
    public const string Unsubscribe = "unsubscribe";
}
