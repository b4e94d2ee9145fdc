namespace PgNotifyHub;

/// <summary>
/// A topic: an audience on one channel that a client asks to receive at run time, beside the audiences its connection was
/// given. The resource of the endpoint's topic policy (<c>IAuthorizationService.AuthorizeAsync(user, topic, policy)</c>)
/// and the argument of its <see cref="PgNotifyHubTopicAuthorizer"/>.
/// </summary>
public sealed class PgNotificationTopic
{
    /// <summary>Creates a topic, e.g. to test a policy's handler.</summary>
    /// <param name="channel">One of the endpoint's channels.</param>
    /// <param name="audience">The audience, as written before the first comma of the NOTIFY payload.</param>
    /// <exception cref="ArgumentException"><paramref name="channel"/> or <paramref name="audience"/> is null or empty.</exception>
    public PgNotificationTopic(string channel, string audience)
    {
        ArgumentException.ThrowIfNullOrEmpty(channel);
        ArgumentException.ThrowIfNullOrEmpty(audience);
        Channel = channel;
        Audience = audience;
    }

    /// <summary>The channel: the one the client named, or the endpoint's first when it named none.</summary>
    public string Channel { get; }

    /// <summary>The audience the client asked for, exactly as it wrote it.</summary>
    public string Audience { get; }

    /// <summary>The channel and audience, for logs.</summary>
    /// <returns>For example <c>orders/tenant:acme</c>.</returns>
    public override string ToString() => Channel + "/" + Audience;
}
