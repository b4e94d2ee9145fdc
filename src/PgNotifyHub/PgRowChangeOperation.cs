// Compiled into the client package too, in its own namespace (see PgNotifyHub.Client.csproj).
#if !PGNOTIFYHUB_CLIENT
namespace PgNotifyHub;
#else
namespace PgNotifyHub.Client;
#endif

/// <summary>What a row change did: the <c>op</c> of its JSON.</summary>
public enum PgRowChangeOperation
{
    /// <summary>
    /// <c>insert</c>: a row was inserted (also by <c>INSERT … ON CONFLICT</c>, <c>MERGE</c> or <c>COPY</c>), or an update
    /// moved it into this audience.
    /// </summary>
    Insert,

    /// <summary><c>update</c>: an update changed published or key columns of a row.</summary>
    Update,

    /// <summary><c>delete</c>: a row was deleted, or an update moved it out of this audience.</summary>
    Delete,

    /// <summary><c>truncate</c>: the table was truncated; every row this audience had is gone.</summary>
    Truncate,
}
