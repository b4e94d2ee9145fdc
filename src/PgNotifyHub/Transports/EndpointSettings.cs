using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using PgNotifyHub.Listening;
using PgNotifyHub.Postgres;
using PgNotifyHub.Sequencing;

namespace PgNotifyHub.Transports;

/// <summary>
/// What one mapped endpoint gives its connections: its channels and its audience resolver, each the
/// application's default unless the endpoint set its own, and which topics its clients may choose. Holds the channels
/// in the listened set for the life of the application, so no client waits for a LISTEN when it connects.
/// </summary>
internal sealed class EndpointSettings
{
    private readonly IReadOnlyList<string>? _channels;
    private readonly PgNotifyHubAudienceResolver? _audienceResolver;
    private readonly IOptions<PgNotifyHubOptions> _options;

    private EndpointSettings(IReadOnlyList<string>? channels, PgNotifyHubAudienceResolver? audienceResolver, TopicAuthorization topics, IOptions<PgNotifyHubOptions> options)
    {
        _channels = channels;
        _audienceResolver = audienceResolver;
        Topics = topics;
        _options = options;
    }

    /// <summary>The channels a connection of the endpoint receives.</summary>
    public IReadOnlyList<string> Channels => _channels ?? (IReadOnlyList<string>)_options.Value.Channels;

    /// <summary>Resolves the audiences of the endpoint's connections.</summary>
    public PgNotifyHubAudienceResolver AudienceResolver => _audienceResolver ?? _options.Value.AudienceResolver;

    /// <summary>Which topics the endpoint's clients may subscribe to.</summary>
    public TopicAuthorization Topics { get; }

    public Route[] RoutesFor(IReadOnlyList<string> audiences) => Route.Combine(Channels, audiences);

    /// <summary>The endpoint's channel a topic request names, its first when it names none; null when it is not one of them.</summary>
    public string? ChannelOf(string? requested)
    {
        var channels = Channels;
        if (requested is null)
        {
            return channels[0];
        }

        foreach (var channel in channels)
        {
            if (string.Equals(channel, requested, StringComparison.Ordinal))
            {
                return channel;
            }
        }

        return null;
    }

    /// <exception cref="ArgumentException">A channel name is invalid or repeated, or the topic policy is blank.</exception>
    /// <exception cref="InvalidOperationException">A topic policy is named without the application's authorization services.</exception>
    public static EndpointSettings Create(PgNotifyHubEndpointOptions endpointOptions, string endpointName, ListenedChannels listened, IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<PgNotifyHubOptions>>();
        var topics = TopicAuthorization.Create(endpointOptions, endpointName, services);
        var channels = endpointOptions.Channels ?? [];
        foreach (var channel in channels)
        {
            if (!ChannelName.IsValid(channel))
            {
                throw new ArgumentException($"{endpointName}: {nameof(PgNotifyHubEndpointOptions.Channels)} contains {ChannelName.Describe(channel)}.", nameof(endpointOptions));
            }
        }

        if (channels.Distinct(StringComparer.Ordinal).Count() != channels.Count)
        {
            throw new ArgumentException($"{endpointName}: {nameof(PgNotifyHubEndpointOptions.Channels)} lists a channel more than once.", nameof(endpointOptions));
        }

        // The leases are never released: an endpoint lives as long as the application.
        if (channels.Count == 0)
        {
            listened.AcquireDefault();
            return new EndpointSettings(null, endpointOptions.AudienceResolver, topics, options);
        }

        string[] own = [.. channels];
        listened.Acquire(own);
        return new EndpointSettings(own, endpointOptions.AudienceResolver, topics, options);
    }
}
