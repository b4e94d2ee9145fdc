using Microsoft.AspNetCore.SignalR;

namespace PgNotifyHub;

/// <summary>
/// The SignalR hub mapped by <c>MapPgNotifyHub</c>. Clients call nothing: each connection joins the groups of
/// the audiences resolved from its request, and receives every notification for them as the client method
/// <c>notify</c>, with one argument, the envelope <c>{payload, channel, id}</c>.
/// </summary>
/// <remarks>
/// The hub offers only the JSON hub protocol (the default): the payload is embedded in it verbatim.
/// Application code may send to an audience through <see cref="IHubContext{THub}"/> of this hub and the
/// group named by <see cref="GroupName"/>.
/// </remarks>
public sealed class PgNotificationHub : Hub
{
    /// <summary>The client method that receives notifications: <c>notify</c>.</summary>
    public const string NotifyMethod = "notify";

    /// <summary>
    /// The client method that tells a connection it may have missed notifications and should reload what it shows:
    /// <c>resync</c>, with one argument <c>{reason, stream}</c>.
    /// </summary>
    public const string ResyncMethod = "resync";

    /// <summary>
    /// The client method that tells a client which passed the <c>resume</c> query parameter (empty on its first
    /// connection) where it stands after joining: <c>position</c>, with <c>{stream, positions: [{channel, audience, seq}]}</c>,
    /// what it passes back in <c>resume</c> when it reconnects.
    /// </summary>
    public const string PositionMethod = "position";

    private const string GroupPrefix = "pgnotifyhub:";

    /// <summary>
    /// The SignalR group of an audience. Prefixed so that audiences cannot collide with an application's own groups.
    /// </summary>
    /// <param name="audience">The audience, as written before the first comma of the NOTIFY payload.</param>
    /// <returns>The group name, <c>pgnotifyhub:</c> followed by the audience.</returns>
    public static string GroupName(string audience)
    {
        ArgumentException.ThrowIfNullOrEmpty(audience);
        return GroupPrefix + audience;
    }
}
