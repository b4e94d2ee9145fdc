namespace PgNotifyHub.Client;

/// <summary>
/// The server refused a topic request (<see cref="PgNotifyHubClient.SubscribeAsync"/>,
/// <see cref="PgNotifyHubClient.UnsubscribeAsync"/>); the refusal changed nothing.
/// </summary>
public sealed class PgNotifyHubTopicRefusedException : Exception
{
    /// <summary>Creates the exception for <paramref name="reason"/>.</summary>
    /// <param name="reason">The server's reason.</param>
    /// <param name="audience">The topic's audience.</param>
    public PgNotifyHubTopicRefusedException(string reason, string audience)
        : base($"The server refused the topic '{audience}': {reason}.")
    {
        Reason = reason;
        Audience = audience;
    }

    /// <summary>
    /// The server's reason: <c>topics_disabled</c> (the endpoint lets clients choose no topic), <c>not_allowed</c> (its
    /// policy refused; or, to unsubscribe, an audience the connection was given), <c>too_many_audiences</c>,
    /// <c>rate_limited</c>, <c>unknown_channel</c> or <c>invalid</c>.
    /// </summary>
    public string Reason { get; }

    /// <summary>The topic's audience.</summary>
    public string Audience { get; }
}
