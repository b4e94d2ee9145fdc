using PgNotifyHub.Parsing;

namespace PgNotifyHub.Sequencing;

/// <summary>
/// A notification as the sequencer hands it to its recipients: the public <see cref="PgNotification"/>, where it stands
/// in the order of everything published, and room for each transport's encoding of it.
/// </summary>
internal sealed class SequencedNotification : Encodable
{
    private readonly byte[] _buffer;

    public SequencedNotification(ParsedNotification parsed, long sequence, string stream, long published, long publishedAt)
    {
        _buffer = parsed.Buffer;
        Notification = new PgNotification(parsed.Channel, parsed.Audience, parsed.Id, parsed.Envelope, parsed.Payload, sequence, stream);
        Published = published;
        PublishedAt = publishedAt;
    }

    public PgNotification Notification { get; }

    public long Sequence => Notification.Sequence;

    /// <summary>
    /// The envelope with the room the parser kept before it (<see cref="NotificationParser.HeaderRoom"/>): a transport
    /// may write a header at the end of the room, once, and send header and envelope as one.
    /// </summary>
    public Memory<byte> EnvelopeWithHeaderRoom => _buffer;

    /// <summary>
    /// The place in the order of everything published, across channels and audiences, so replayed notifications of
    /// several routes go out in the order they first did.
    /// </summary>
    public long Published { get; }

    /// <summary>When it was published, as a <see cref="TimeProvider"/> timestamp, to let replay buffers expire it.</summary>
    public long PublishedAt { get; }

    /// <summary>What a kept notification holds: about twice its envelope, once a sequenced encoding is made, and its strings.</summary>
    public long KeptSize => 2L * _buffer.Length + 2L * (Notification.Channel.Length + Notification.Audience.Length) + 128;
}
