namespace PgNotifyHub;

/// <summary>
/// Durable mode (<see cref="PgNotifyHubOptions.Outbox"/>): messages sent with <c>pgnotifyhub.send(channel, audience,
/// payload)</c> are appended to the table <c>pgnotifyhub.outbox</c> and only a doorbell is NOTIFYed. Each node reads
/// the table in order and remembers how far it got, so neither a listener outage nor a restart loses a message, and
/// payloads are not bounded by NOTIFY's 8,000 bytes. Install the schema with <c>sql/pgnotifyhub.sql</c>.
/// </summary>
public sealed class PgNotifyHubOutboxOptions
{
    /// <summary>Reads the outbox. Default: <see langword="false"/>.</summary>
    public bool Enabled { get; set; }

    /// <summary>
    /// Applies the install script (idempotent) when the host starts. Default: <see langword="false"/>, so schema
    /// changes stay with whoever owns the database; the listener's user then needs CREATE on the database.
    /// </summary>
    public bool InstallSchema { get; set; }

    /// <summary>
    /// The name under which this node records how far it has read (<c>pgnotifyhub.readers</c>). Unique per node: two
    /// nodes with one name would resume from each other's position. Default: the machine name.
    /// </summary>
    public string ReaderName { get; set; } = Environment.MachineName;

    /// <summary>
    /// How long messages stay in the outbox; older ones are deleted by the nodes as they read. A node that was down
    /// longer than this misses what was deleted, and its clients are told to resync. Default: 1 day.
    /// </summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(1);

    /// <summary>
    /// How often the outbox is read even without a doorbell, in case a doorbell was lost with a connection. Default: 5 s.
    /// </summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(5);
}
