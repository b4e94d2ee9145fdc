namespace PgNotifyHub.Client;

/// <summary>
/// Where a topic stands once the server allowed it (<see cref="PgNotifyHubClient.SubscribeAsync"/>): the last sequence
/// number of its channel and audience in the stream, after anything replayed to the client.
/// </summary>
public sealed class PgNotifyHubTopicPosition
{
    /// <summary>Creates a position, e.g. to test an application's code.</summary>
    /// <param name="channel">The topic's channel.</param>
    /// <param name="audience">The topic's audience.</param>
    /// <param name="sequence">The last sequence number published on it in <paramref name="stream"/>; 0 for none.</param>
    /// <param name="stream">The server's stream.</param>
    /// <exception cref="ArgumentException"><paramref name="channel"/>, <paramref name="audience"/> or <paramref name="stream"/> is <see langword="null"/> or empty.</exception>
    public PgNotifyHubTopicPosition(string channel, string audience, long sequence, string stream)
    {
        ArgumentException.ThrowIfNullOrEmpty(channel);
        ArgumentException.ThrowIfNullOrEmpty(audience);
        ArgumentException.ThrowIfNullOrEmpty(stream);
        Channel = channel;
        Audience = audience;
        Sequence = sequence;
        Stream = stream;
    }

    /// <summary>The channel: the one asked for, or the endpoint's first.</summary>
    public string Channel { get; }

    /// <summary>The audience.</summary>
    public string Audience { get; }

    /// <summary>The last sequence number published on the topic in <see cref="Stream"/>; 0 when none was.</summary>
    public long Sequence { get; }

    /// <summary>The server's stream.</summary>
    public string Stream { get; }
}
