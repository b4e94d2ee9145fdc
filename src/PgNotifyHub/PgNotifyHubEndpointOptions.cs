namespace PgNotifyHub;

/// <summary>
/// Configures one mapped endpoint (<c>MapPgNotifyWebSocket</c> or <c>MapPgNotifyHub</c>), as pgws's <c>PGWS</c>
/// struct does. Every endpoint of the process shares the single listener connection, which LISTENs on the union
/// of their channels.
/// </summary>
public sealed class PgNotifyHubEndpointOptions
{
    /// <summary>
    /// The channels whose notifications this endpoint's clients receive (still only for their audiences).
    /// Default: empty, meaning <see cref="PgNotifyHubOptions.Channels"/>. The same naming rules apply; an invalid
    /// or repeated name makes the <c>Map…</c> call throw an <see cref="ArgumentException"/>.
    /// </summary>
    public IList<string> Channels { get; set; } = [];

    /// <summary>
    /// Resolves the audiences of this endpoint's connections, like pgws's per-endpoint <c>GetAudience</c>.
    /// Default: <see langword="null"/>, meaning <see cref="PgNotifyHubOptions.AudienceResolver"/>.
    /// </summary>
    public PgNotifyHubAudienceResolver? AudienceResolver { get; set; }

    /// <summary>
    /// The ASP.NET Core authorization policy that lets this endpoint's clients subscribe to a topic, evaluated as
    /// <c>IAuthorizationService.AuthorizeAsync(user, topic, TopicPolicy)</c> with the connection's user and a
    /// <see cref="PgNotificationTopic"/> as the resource, on every subscription. Default: <see langword="null"/>. With
    /// neither this nor <see cref="TopicAuthorizer"/> set, clients choose no topic: every subscription is refused with
    /// <c>topics_disabled</c>. With both, both must allow. Needs the application's <c>AddAuthorization()</c>, or the
    /// <c>Map…</c> call throws an <see cref="InvalidOperationException"/>; a policy name it does not know refuses every
    /// subscription with <c>not_allowed</c>, logged as an error.
    /// </summary>
    public string? TopicPolicy { get; set; }

    /// <summary>
    /// Decides in code whether a connection of this endpoint may subscribe to a topic, on every subscription. Default:
    /// <see langword="null"/>; see <see cref="TopicPolicy"/> for what happens without either, and with both.
    /// </summary>
    public PgNotifyHubTopicAuthorizer? TopicAuthorizer { get; set; }
}
