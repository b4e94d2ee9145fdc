using System.Text;
using Microsoft.AspNetCore.SignalR;

namespace PgNotifyHub.Backplane;

/// <summary>
/// The binary form of a backplane message: a version, the kind, the sending node and its sequence number, then the
/// kind's fields; strings are length-prefixed UTF-8. The sequence makes every payload unique, because PostgreSQL
/// collapses identical (channel, payload) pairs sent in one transaction, and the publisher batches sends into one.
/// </summary>
internal sealed class BackplaneFrame
{
    private const byte Version = 1;

    private static readonly Encoding Utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public FrameKind Kind { get; private init; }

    public Guid Sender { get; private init; }

    public BackplaneAudience Audience { get; private init; }

    public IReadOnlyList<string> Targets { get; private init; } = [];

    public IReadOnlyList<string> Excluded { get; private init; } = [];

    /// <summary>Set when the sender awaits the client's result of the invocation.</summary>
    public string? InvocationId { get; private init; }

    public IReadOnlyList<SerializedMessage> Messages { get; private init; } = [];

    public int AckId { get; private init; }

    public GroupAction GroupAction { get; private init; }

    public string Group { get; private init; } = "";

    public string ConnectionId { get; private init; } = "";

    /// <summary>The node an ack or a completion is for.</summary>
    public Guid Recipient { get; private init; }

    public string Protocol { get; private init; } = "";

    public ReadOnlyMemory<byte> Payload { get; private init; }

    public static byte[] Invocation(
        Guid sender,
        long sequence,
        BackplaneAudience audience,
        IReadOnlyList<string> targets,
        IReadOnlyList<string>? excluded,
        string? invocationId,
        IReadOnlyList<SerializedMessage> messages) =>
        Write(FrameKind.Invocation, sender, sequence, writer =>
        {
            writer.Write((byte)audience);
            WriteStrings(writer, targets);
            WriteStrings(writer, excluded ?? []);
            writer.Write(invocationId ?? "");
            writer.Write7BitEncodedInt(messages.Count);
            foreach (var message in messages)
            {
                writer.Write(message.ProtocolName);
                WriteBytes(writer, message.Serialized.Span);
            }
        });

    public static byte[] GroupCommand(Guid sender, long sequence, int ackId, GroupAction action, string group, string connectionId) =>
        Write(FrameKind.GroupCommand, sender, sequence, writer =>
        {
            writer.Write(ackId);
            writer.Write((byte)action);
            writer.Write(group);
            writer.Write(connectionId);
        });

    public static byte[] Ack(Guid sender, long sequence, Guid recipient, int ackId) =>
        Write(FrameKind.Ack, sender, sequence, writer =>
        {
            writer.Write(recipient.ToByteArray());
            writer.Write(ackId);
        });

    public static byte[] Completion(Guid sender, long sequence, Guid recipient, string connectionId, string protocol, ReadOnlyMemory<byte> completion) =>
        Write(FrameKind.Completion, sender, sequence, writer =>
        {
            writer.Write(recipient.ToByteArray());
            writer.Write(connectionId);
            writer.Write(protocol);
            WriteBytes(writer, completion.Span);
        });

    /// <exception cref="InvalidDataException">The bytes are not a frame of this version.</exception>
    public static BackplaneFrame Read(byte[] bytes)
    {
        using var reader = new BinaryReader(new MemoryStream(bytes, writable: false), Utf8);
        try
        {
            var version = reader.ReadByte();
            if (version != Version)
            {
                throw new InvalidDataException($"Backplane frame version {version} is not {Version}: are nodes of different versions sharing the channel prefix?");
            }

            var kind = (FrameKind)reader.ReadByte();
            var sender = new Guid(reader.ReadBytes(16));
            reader.Read7BitEncodedInt64();
            return kind switch
            {
                FrameKind.Invocation => new BackplaneFrame
                {
                    Kind = kind,
                    Sender = sender,
                    Audience = (BackplaneAudience)reader.ReadByte(),
                    Targets = ReadStrings(reader),
                    Excluded = ReadStrings(reader),
                    InvocationId = reader.ReadString() is { Length: > 0 } invocationId ? invocationId : null,
                    Messages = ReadMessages(reader),
                },
                FrameKind.GroupCommand => new BackplaneFrame
                {
                    Kind = kind,
                    Sender = sender,
                    AckId = reader.ReadInt32(),
                    GroupAction = (GroupAction)reader.ReadByte(),
                    Group = reader.ReadString(),
                    ConnectionId = reader.ReadString(),
                },
                FrameKind.Ack => new BackplaneFrame
                {
                    Kind = kind,
                    Sender = sender,
                    Recipient = new Guid(reader.ReadBytes(16)),
                    AckId = reader.ReadInt32(),
                },
                FrameKind.Completion => new BackplaneFrame
                {
                    Kind = kind,
                    Sender = sender,
                    Recipient = new Guid(reader.ReadBytes(16)),
                    ConnectionId = reader.ReadString(),
                    Protocol = reader.ReadString(),
                    Payload = ReadBytes(reader),
                },
                _ => throw new InvalidDataException($"Unknown backplane frame kind {(byte)kind}."),
            };
        }
        catch (EndOfStreamException exception)
        {
            throw new InvalidDataException("The backplane frame is truncated.", exception);
        }
    }

    private static byte[] Write(FrameKind kind, Guid sender, long sequence, Action<BinaryWriter> writeFields)
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, Utf8, leaveOpen: true))
        {
            writer.Write(Version);
            writer.Write((byte)kind);
            writer.Write(sender.ToByteArray());
            writer.Write7BitEncodedInt64(sequence);
            writeFields(writer);
        }

        return stream.ToArray();
    }

    private static void WriteStrings(BinaryWriter writer, IReadOnlyList<string> values)
    {
        writer.Write7BitEncodedInt(values.Count);
        foreach (var value in values)
        {
            writer.Write(value);
        }
    }

    private static string[] ReadStrings(BinaryReader reader)
    {
        var values = new string[reader.Read7BitEncodedInt()];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = reader.ReadString();
        }

        return values;
    }

    private static void WriteBytes(BinaryWriter writer, ReadOnlySpan<byte> bytes)
    {
        writer.Write7BitEncodedInt(bytes.Length);
        writer.Write(bytes);
    }

    private static byte[] ReadBytes(BinaryReader reader)
    {
        var length = reader.Read7BitEncodedInt();
        var bytes = reader.ReadBytes(length);
        return bytes.Length == length ? bytes : throw new EndOfStreamException();
    }

    private static SerializedMessage[] ReadMessages(BinaryReader reader)
    {
        var messages = new SerializedMessage[reader.Read7BitEncodedInt()];
        for (var i = 0; i < messages.Length; i++)
        {
            messages[i] = new SerializedMessage(reader.ReadString(), ReadBytes(reader));
        }

        return messages;
    }
}
