namespace PgNotifyHub;

/// <summary>
/// Options of the PostgreSQL SignalR backplane (<see cref="PgNotifyHubBackplaneSignalRBuilderExtensions"/>), bound from
/// the <c>PgNotifyHub:Backplane</c> configuration section. The database is the one of <see cref="PgNotifyHubOptions"/>.
/// </summary>
public sealed class PgNotifyHubBackplaneOptions
{
    /// <summary>The configuration section the options are bound from.</summary>
    public const string SectionName = PgNotifyHubOptions.SectionName + ":Backplane";

    /// <summary>
    /// The start of each hub's channel name; the rest is a hash of the hub's type name, so the channel stays within
    /// PostgreSQL's 63 bytes. At most 47 bytes. Nodes that share hubs must use the same prefix; deployments that share a
    /// database but must not see each other's messages use different ones. Default: <c>pgnotifyhub_backplane_</c>.
    /// </summary>
    public string ChannelPrefix { get; set; } = "pgnotifyhub_backplane_";

    /// <summary>
    /// How long adding a connection of another node to a group, or removing it, waits for that node's
    /// acknowledgement before it throws a <see cref="TimeoutException"/>; an unknown connection ends that way too.
    /// Default: 30 s.
    /// </summary>
    public TimeSpan AckTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a message too large for one NOTIFY stays in <c>pgnotifyhub.backplane_messages</c>; a node that reads
    /// its NOTIFY later than this misses it, and logs so. Default: 1 minute.
    /// </summary>
    public TimeSpan SpillRetention { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Applies <c>sql/pgnotifyhub-backplane.sql</c> (idempotent) before the first message that needs the table; the
    /// user then needs CREATE on the database. When <see langword="false"/>, apply it beforehand: without the table a
    /// message over 5,999 bytes fails to send. Default: <see langword="true"/>.
    /// </summary>
    public bool InstallSchema { get; set; } = true;
}
