using Microsoft.Extensions.Options;
using PgNotifyHub.Delivery;
using PgNotifyHub.Internal;
using PgNotifyHub.Listening;

namespace PgNotifyHub.Transports;

/// <summary>
/// The channels of one mapped endpoint. Holds them in the listened set for the life of the application, so
/// no client waits for a LISTEN when it connects.
/// </summary>
internal sealed class EndpointChannels
{
    private readonly IReadOnlyList<string>? _channels;
    private readonly IOptions<PgNotifyHubOptions> _options;

    private EndpointChannels(IReadOnlyList<string>? channels, IOptions<PgNotifyHubOptions> options)
    {
        _channels = channels;
        _options = options;
    }

    /// <summary>The channels a connection of the endpoint receives; the application's default ones unless set.</summary>
    public IReadOnlyList<string> Channels => _channels ?? (IReadOnlyList<string>)_options.Value.Channels;

    public Route[] RoutesFor(IReadOnlyList<string> audiences) => Route.Combine(Channels, audiences);

    /// <exception cref="ArgumentException">A channel name is invalid or repeated.</exception>
    public static EndpointChannels Create(PgNotifyEndpointOptions endpointOptions, string endpointName, ListenedChannels listened, IOptions<PgNotifyHubOptions> options)
    {
        var channels = endpointOptions.Channels ?? [];
        foreach (var channel in channels)
        {
            if (!ChannelName.IsValid(channel))
            {
                throw new ArgumentException($"{endpointName}: {nameof(PgNotifyEndpointOptions.Channels)} contains {ChannelName.Describe(channel)}.", nameof(endpointOptions));
            }
        }

        if (channels.Distinct(StringComparer.Ordinal).Count() != channels.Count)
        {
            throw new ArgumentException($"{endpointName}: {nameof(PgNotifyEndpointOptions.Channels)} lists a channel more than once.", nameof(endpointOptions));
        }

        if (channels.Count == 0)
        {
            listened.AcquireDefault();
            return new EndpointChannels(null, options);
        }

        string[] own = [.. channels];
        listened.Acquire(own);
        return new EndpointChannels(own, options);
    }
}
