namespace PgNotifyHub.Backplane;

/// <summary>What a <see cref="BackplaneFrame"/> carries.</summary>
internal enum FrameKind : byte
{
    /// <summary>A hub message for the local connections of some audience.</summary>
    Invocation = 1,

    /// <summary>Add a connection to a group, or remove it, on the node that holds the connection.</summary>
    GroupCommand = 2,

    /// <summary>The holding node applied a group command.</summary>
    Ack = 3,

    /// <summary>A client's result of an invocation, for the node that asked for it.</summary>
    Completion = 4,
}
