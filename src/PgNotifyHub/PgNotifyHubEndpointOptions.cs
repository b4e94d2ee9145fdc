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
}
