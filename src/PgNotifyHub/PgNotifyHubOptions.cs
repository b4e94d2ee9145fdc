using Npgsql;

namespace PgNotifyHub;

/// <summary>
/// Configures PgNotifyHub. Bound from the <c>PgNotifyHub</c> configuration section and from code;
/// validated when the host starts, with errors that name the offending setting.
/// </summary>
public sealed class PgNotifyHubOptions
{
    /// <summary>The configuration section the options are bound from.</summary>
    public const string SectionName = "PgNotifyHub";

    /// <summary>
    /// The name of the connection string (<c>ConnectionStrings:Postgres</c>) used when <see cref="ConnectionString"/> is not
    /// set: <c>Postgres</c>.
    /// </summary>
    public const string ConnectionStringName = "Postgres";

    /// <summary>The channel listened on when <see cref="Channels"/> is left empty, as in pgws.</summary>
    public const string DefaultChannel = "pgws";

    /// <summary>The audience of every connection when no <see cref="AudienceResolver"/> is set, as in pgws.</summary>
    public const string DefaultAudience = "default";

    /// <summary>
    /// The Npgsql connection string of the listener's single connection. When not set, the connection string
    /// <c>ConnectionStrings:Postgres</c> of the application's configuration is used, and without it an
    /// <see cref="NpgsqlDataSource"/> registered in dependency injection; one of the three is required.
    /// The listener needs a direct session connection to the primary (not PgBouncer in transaction mode).
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>
    /// The PostgreSQL channels to <c>LISTEN</c> on. Default: <c>["pgws"]</c> (applied when the list is empty).
    /// Each must be a valid identifier: 1 to 63 bytes of UTF-8. Names are used exactly as given (quoted), so
    /// <c>Orders</c> and <c>orders</c> are different channels, as they are for <c>pg_notify</c>.
    /// </summary>
    public IList<string> Channels { get; set; } = [];

    /// <summary>
    /// The first delay before reconnecting after the listener's connection is lost. Default: 250 ms, so that
    /// the common case, a terminated backend or a restart of a healthy server, recovers at once.
    /// Each failed attempt doubles the delay (with jitter) up to <see cref="ReconnectDelayMax"/>.
    /// </summary>
    public TimeSpan ReconnectDelayMin { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// The longest delay between reconnection attempts. Default: 15 s, which bounds the time to recover
    /// after a long outage to seconds while a down server sees at most four attempts a minute per node.
    /// </summary>
    public TimeSpan ReconnectDelayMax { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// How often the listener runs a heartbeat query on its connection, busy or idle: it proves the connection
    /// alive, so one broken without an error is found within this interval plus the command timeout, and it
    /// measures PostgreSQL's NOTIFY queue (see <see cref="NotifyQueueUsageThreshold"/>). Default: 15 s.
    /// </summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// The fraction of PostgreSQL's NOTIFY queue (<c>pg_notification_queue_usage()</c>, measured at every heartbeat)
    /// from which the health check <c>pgnotifyhub-notify-queue</c> fails (<see cref="NotifyQueueHealthCheck"/>). Default: 0.5. A queue that
    /// fills up means a listening session does not consume; when it is full, every notifying transaction fails.
    /// Must be greater than 0 and at most 1.
    /// </summary>
    public double NotifyQueueUsageThreshold { get; set; } = 0.5;

    /// <summary>
    /// The health check <c>pgnotifyhub-listener</c>: healthy while LISTEN is in place on a live connection. Registered
    /// by default, tagged <c>ready</c>, Unhealthy when it fails.
    /// </summary>
    public PgNotifyHubHealthCheckOptions ListenerHealthCheck { get; set; } = new();

    /// <summary>
    /// The health check <c>pgnotifyhub-notify-queue</c>: failing while PostgreSQL's NOTIFY queue is at least
    /// <see cref="NotifyQueueUsageThreshold"/> full. Registered by default, tagged <c>ready</c>, Unhealthy when it fails;
    /// the queue is shared by the whole cluster, so every node fails it at once: Degraded keeps them in rotation.
    /// </summary>
    public PgNotifyHubHealthCheckOptions NotifyQueueHealthCheck { get; set; } = new();

    /// <summary>
    /// The number of messages queued for one connection (raw WebSocket or SignalR) or in-process subscription
    /// before it is treated as a slow consumer and closed, so it can neither hold memory without bound nor slow
    /// other recipients.
    /// Default: 8192. Messages are shared by all their recipients, so a queue entry costs one reference; the
    /// bound must exceed the largest burst (say, the NOTIFYs of one bulk update) a healthy client should absorb.
    /// </summary>
    public int SendQueueCapacity { get; set; } = 8192;

    /// <summary>
    /// What happens when a raw WebSocket's or an in-process subscription's send queue is full. Default:
    /// <see cref="PgNotifyHub.PgNotifyHubSlowConsumerPolicy.Close"/>. SignalR connections are always closed: a message handed
    /// to SignalR cannot be taken back, so there is no oldest message to drop. Every dropped message is counted
    /// (<c>pgnotifyhub.notification.dropped</c>).
    /// </summary>
    public PgNotifyHubSlowConsumerPolicy SlowConsumerPolicy { get; set; } = PgNotifyHubSlowConsumerPolicy.Close;

    /// <summary>
    /// The top-level property of a payload's JSON object that holds the time it was sent, from which the meter
    /// records commit-to-send latency (<c>pgnotifyhub.notification.latency</c>), e.g. <c>sent_at</c> filled with
    /// <c>to_json(clock_timestamp())</c>. Either an ISO 8601 string or a number of seconds since the Unix epoch
    /// (<c>extract(epoch from clock_timestamp())</c>). Default: <see langword="null"/>, not measured. The property stays
    /// in the payload; payloads without it are not measured. Meaningful only when the clocks of PostgreSQL and this
    /// server are synchronised.
    /// </summary>
    public string? LatencyTimestampProperty { get; set; }

    /// <summary>
    /// How many of the latest notifications of each channel and audience are kept for clients that reconnect and
    /// resume where they left off: they get what they missed, in order, before live notifications. Default: 1024;
    /// 0 keeps none, so every resume ends in a resync. Kept notifications are shared with the connections, so an
    /// entry costs one reference while it is young enough (see <see cref="ReplayWindow"/>).
    /// </summary>
    public int ReplayBufferSize { get; set; } = 1024;

    /// <summary>
    /// How long a notification stays available for replay. Default: 5 minutes, longer than a phone's usual
    /// reconnection; a client that was away longer is told to resync.
    /// </summary>
    public TimeSpan ReplayWindow { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// The memory the replay buffers and sequence counters of all channels and audiences may hold together, in bytes:
    /// about twice each kept payload (its two ready-made frames), and a few hundred bytes plus twice the audience
    /// for each channel and audience. Default: 64 MiB. Once it is reached, the channel and audience pairs without a
    /// connection are forgotten, least recently published first (a client that resumes one is told to resync), and then
    /// the one being published to gives up its oldest notifications. 0 keeps none.
    /// </summary>
    public long ReplayBufferMaxBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>Durable mode: messages sent with <c>pgnotifyhub.send(…)</c> through the outbox table. Off by default.</summary>
    public PgNotifyHubOutboxOptions Outbox { get; set; } = new();

    /// <summary>The interval of WebSocket keep-alive pings on the raw endpoint. Default: 30 s.</summary>
    public TimeSpan WebSocketKeepAliveInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long the raw endpoint waits for a close handshake (at shutdown, or when closing a slow consumer)
    /// before it aborts the socket; and how long a Server-Sent Events stream being ended for the same reasons may take
    /// to write what it has begun before its connection is aborted. Default: 5 s.
    /// </summary>
    public TimeSpan WebSocketCloseTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How often a Server-Sent Events stream that is waiting for notifications writes a comment line (<c>:</c>), so
    /// proxies and load balancers that end a response which stays silent (nginx after 60 s by default, many cloud load
    /// balancers after 60 s) keep it open, and a client that went away is noticed. Default: 15 s.
    /// </summary>
    public TimeSpan EventStreamKeepAliveInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// How long a browser waits before it reconnects a Server-Sent Events stream that ended (the server stopped, closed
    /// a slow consumer, or the network failed), sent as the stream's <c>retry</c> field. Each connection is told a random
    /// delay between this and twice this, so the clients of a server that restarts do not all come back at once.
    /// Default: 1 s.
    /// </summary>
    public TimeSpan EventStreamRetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The browser origins, besides the server's own, whose pages may connect, e.g. <c>https://app.example.com</c>;
    /// <c>*</c> allows every origin. Default: empty, so only pages served by this server (same scheme, host and
    /// port) may connect. A request with another <c>Origin</c> is refused with 403 on both endpoints: browsers send
    /// cookies with cross-site WebSocket handshakes and CORS does not cover them (cross-site WebSocket hijacking).
    /// Requests without an <c>Origin</c> header, from non-browser clients, are not affected. Behind a proxy that
    /// changes the host or scheme, forward them (<c>UseForwardedHeaders</c>) or list the public origin here.
    /// </summary>
    public IList<string> AllowedOrigins { get; set; } = [];

    /// <summary>
    /// Whether a connection is closed when the authentication of the request that opened it expires, as told by
    /// the authentication result's <c>ExpiresUtc</c> (a JWT's <c>exp</c>, a cookie ticket's expiry). Default:
    /// <see langword="true"/>, so a connection never outlives its credentials. A raw WebSocket is closed with status
    /// <c>4001</c> and the reason <c>authentication expired</c>, and one whose authentication has already expired
    /// when it connects is refused with 401; on SignalR this sets the hub's
    /// <c>HttpConnectionDispatcherOptions.CloseOnAuthenticationExpiration</c>, which the transport callback of
    /// <c>MapPgNotifyHub</c> may still override. Connections without an expiry are not affected.
    /// </summary>
    public bool CloseOnAuthenticationExpiration { get; set; } = true;

    /// <summary>
    /// The most connections, raw WebSocket and SignalR together, the process serves at once. Default:
    /// <see langword="null"/>, no limit. A connection over the limit is refused: the raw endpoint answers 503,
    /// and a SignalR connection is closed; both are logged. At least 1 when set.
    /// </summary>
    public int? MaxConnections { get; set; }

    /// <summary>
    /// The most audiences one connection may belong to, those its resolver gave it and the topics its client subscribed
    /// to together. Default: 1000. A resolver that returns more refuses the connection (403 on the raw endpoint, closed on
    /// SignalR), and a topic past it is refused with <c>too_many_audiences</c>, so a claim with a runaway list or a client
    /// that subscribes without end cannot make one connection cost thousands of routes. At least 1.
    /// </summary>
    public int MaxAudiencesPerConnection { get; set; } = 1000;

    /// <summary>
    /// How many requests to subscribe to or unsubscribe from a topic one connection may make per second, on average.
    /// Default: 20. A request over the rate is refused with <c>rate_limited</c>, logged at Debug and counted. Greater than 0.
    /// </summary>
    public double TopicRequestsPerSecond { get; set; } = 20;

    /// <summary>
    /// How many topic requests one connection may make at once before <see cref="TopicRequestsPerSecond"/> applies: a
    /// client that resubscribes its topics after a reconnect sends them together. Default: 100. At least 1.
    /// </summary>
    public int TopicRequestBurst { get; set; } = 100;

    /// <summary>
    /// The largest message a client may send, in bytes. Clients send only topic requests (subscribe, unsubscribe) and
    /// the protocols' own messages, and a raw client without the <c>pgnotifyhub.v1</c> subprotocol nothing that is read;
    /// this bounds what reading costs. Default: 4096. A raw socket that sends more is closed with 1009
    /// (message too big); on SignalR it is the <see cref="PgNotificationHub"/>'s <c>MaximumReceiveMessageSize</c>, and SignalR
    /// closes the connection with an error. At least 256.
    /// </summary>
    public int MaxClientMessageSize { get; set; } = 4096;

    /// <summary>
    /// Resolves the audiences of each connection from its HTTP request. Default: every connection is in the
    /// single audience <c>default</c>. Not bindable from configuration.
    /// </summary>
    public PgNotifyHubAudienceResolver AudienceResolver { get; set; } = static _ => new([DefaultAudience]);
}
