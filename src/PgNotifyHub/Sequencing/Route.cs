namespace PgNotifyHub.Sequencing;

/// <summary>
/// What a sink receives: the notifications of one channel for one audience, or for every audience when
/// <see cref="Audience"/> is <see langword="null"/>.
/// </summary>
internal readonly record struct Route(string Channel, string? Audience)
{
    /// <summary>Every pair of the channels and audiences: what a connection of an endpoint receives.</summary>
    public static Route[] Combine(IReadOnlyList<string> channels, IReadOnlyList<string> audiences)
    {
        var routes = new Route[channels.Count * audiences.Count];
        var i = 0;
        foreach (var channel in channels)
        {
            foreach (var audience in audiences)
            {
                routes[i++] = new Route(channel, audience);
            }
        }

        return routes;
    }
}
