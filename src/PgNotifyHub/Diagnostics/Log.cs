using Microsoft.Extensions.Logging;

namespace PgNotifyHub.Diagnostics;

/// <summary>
/// Every log message of the library, with stable event ids: 100s listening, 200s parsing,
/// 300s delivery, 400s transports. Payloads are logged at Debug only; connection strings never.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(100, LogLevel.Information, "PgNotifyHub listener is listening on channels {Channels} (backend process {BackendProcessId}).", EventName = "Listening")]
    public static partial void Listening(ILogger logger, string channels, int backendProcessId);

    [LoggerMessage(101, LogLevel.Warning, "PgNotifyHub listener has no PostgreSQL connection; notifications sent until it reconnects are not delivered. Retrying every {MinDelay} to {MaxDelay}; further failures are logged at Debug.", EventName = "ListenerDisconnected")]
    public static partial void ListenerDisconnected(ILogger logger, Exception exception, TimeSpan minDelay, TimeSpan maxDelay);

    [LoggerMessage(102, LogLevel.Debug, "PgNotifyHub listener attempt {Attempt} failed: {Error}. Next attempt in {Delay}.", EventName = "ListenerRetryFailed")]
    public static partial void ListenerRetryFailed(ILogger logger, int attempt, string error, TimeSpan delay);

    [LoggerMessage(103, LogLevel.Information, "PgNotifyHub listener recovered after {Attempts} failed attempts and {Downtime} without a connection.", EventName = "ListenerRecovered")]
    public static partial void ListenerRecovered(ILogger logger, int attempts, TimeSpan downtime);

    [LoggerMessage(104, LogLevel.Debug, "PgNotifyHub listener heartbeat: the connection is alive and PostgreSQL's NOTIFY queue is {Usage:P4} full.", EventName = "ListenerHeartbeat")]
    public static partial void ListenerHeartbeat(ILogger logger, double usage);

    [LoggerMessage(105, LogLevel.Information, "PgNotifyHub listener changed its channels on backend process {BackendProcessId}: now listening on {Added}, no longer on {Removed}.", EventName = "ChannelsChanged")]
    public static partial void ChannelsChanged(ILogger logger, string added, string removed, int backendProcessId);

    [LoggerMessage(106, LogLevel.Information, "PgNotifyHub starting: database {Database}; default channels {Channels}; reconnect after {ReconnectDelayMin} to {ReconnectDelayMax}; heartbeat every {HeartbeatInterval}; send queue {SendQueueCapacity} messages per connection, then {SlowConsumerPolicy}; allowed origins {AllowedOrigins}; limits: {MaxConnections} connections, {MaxAudiencesPerConnection} audiences per connection.", EventName = "Starting")]
    public static partial void Starting(ILogger logger, string database, string channels, TimeSpan reconnectDelayMin, TimeSpan reconnectDelayMax, TimeSpan heartbeatInterval, int sendQueueCapacity, PgNotifyHubSlowConsumerPolicy slowConsumerPolicy, string allowedOrigins, string maxConnections, int maxAudiencesPerConnection);

    [LoggerMessage(107, LogLevel.Error, "PostgreSQL refused the PgNotifyHub listener's connection with {SqlState}: {Error}. {Hint} Notifications are not received until it is fixed. Retrying in {Delay}; logged again each time the retry delay reaches PgNotifyHub:ReconnectDelayMax.", EventName = "ListenerRefused")]
    public static partial void ListenerRefused(ILogger logger, string sqlState, string error, string hint, TimeSpan delay);

    [LoggerMessage(200, LogLevel.Warning, "Dropped a notification on channel {Channel}: {Reason}. The payload must be 'audience,{{json object}}'.", EventName = "InvalidPayload")]
    public static partial void InvalidPayload(ILogger logger, string channel, string reason);

    [LoggerMessage(201, LogLevel.Debug, "Dropped payload on channel {Channel}: {Payload}", EventName = "InvalidPayloadText")]
    public static partial void InvalidPayloadText(ILogger logger, string channel, string payload);

    [LoggerMessage(300, LogLevel.Error, "A connection failed to accept notification {NotificationId}; other connections are not affected.", EventName = "SinkFailed")]
    public static partial void SinkFailed(ILogger logger, Exception exception, Guid notificationId);

    [LoggerMessage(301, LogLevel.Warning, "Closing {Transport} connection {ConnectionId}: its send queue of {Capacity} messages is full because the client does not read fast enough.", EventName = "SlowConsumer")]
    public static partial void SlowConsumer(ILogger logger, string transport, string connectionId, int capacity);

    [LoggerMessage(302, LogLevel.Debug, "Subscription {SubscriptionId} to channel {Channel} opened.", EventName = "SubscriptionOpened")]
    public static partial void SubscriptionOpened(ILogger logger, string subscriptionId, string channel);

    [LoggerMessage(303, LogLevel.Debug, "Subscription {SubscriptionId} closed.", EventName = "SubscriptionClosed")]
    public static partial void SubscriptionClosed(ILogger logger, string subscriptionId);

    [LoggerMessage(304, LogLevel.Warning, "{Transport} connection {ConnectionId} fell {Capacity} messages behind: its oldest queued messages are being dropped (PgNotifyHub:SlowConsumerPolicy DropOldest). Logged once per connection; every drop is counted.", EventName = "SlowConsumerDropping")]
    public static partial void SlowConsumerDropping(ILogger logger, string transport, string connectionId, int capacity);

    [LoggerMessage(400, LogLevel.Debug, "{Transport} connection {ConnectionId} joined audiences {Audiences} on channels {Channels}.", EventName = "ConnectionOpened")]
    public static partial void ConnectionOpened(ILogger logger, string transport, string connectionId, string audiences, string channels);

    [LoggerMessage(401, LogLevel.Debug, "{Transport} connection {ConnectionId} closed.", EventName = "ConnectionClosed")]
    public static partial void ConnectionClosed(ILogger logger, string transport, string connectionId);

    [LoggerMessage(402, LogLevel.Warning, "Refused {Transport} connection {ConnectionId}: {Reason}", EventName = "ConnectionRefused")]
    public static partial void ConnectionRefused(ILogger logger, string transport, string connectionId, string reason);

    [LoggerMessage(403, LogLevel.Error, "Refused {Transport} connection {ConnectionId}: the audience resolver threw.", EventName = "AudienceResolverFailed")]
    public static partial void AudienceResolverFailed(ILogger logger, Exception exception, string transport, string connectionId);

    [LoggerMessage(404, LogLevel.Debug, "WebSocket connection {ConnectionId} ended: {Reason}", EventName = "WebSocketEnded")]
    public static partial void WebSocketEnded(ILogger logger, string connectionId, string reason);

    [LoggerMessage(405, LogLevel.Warning, "Refused {Transport} request {ConnectionId} from origin {Origin}: it is neither this server's origin nor listed in PgNotifyHub:AllowedOrigins.", EventName = "OriginRefused")]
    public static partial void OriginRefused(ILogger logger, string transport, string connectionId, string origin);

    [LoggerMessage(406, LogLevel.Warning, "Closing WebSocket connection {ConnectionId}: it sent a message larger than {MaxSize} bytes (PgNotifyHub:MaxClientMessageSize).", EventName = "ClientMessageTooBig")]
    public static partial void ClientMessageTooBig(ILogger logger, string connectionId, int maxSize);

    [LoggerMessage(407, LogLevel.Information, "Closing WebSocket connection {ConnectionId}: its authentication expired at {ExpiresUtc:O} (PgNotifyHub:CloseOnAuthenticationExpiration).", EventName = "AuthenticationExpired")]
    public static partial void AuthenticationExpired(ILogger logger, string connectionId, DateTimeOffset expiresUtc);

    [LoggerMessage(408, LogLevel.Information, "Refused {Transport} request {ConnectionId}: its authentication expired at {ExpiresUtc:O}.", EventName = "ExpiredAuthenticationRefused")]
    public static partial void ExpiredAuthenticationRefused(ILogger logger, string transport, string connectionId, DateTimeOffset expiresUtc);

    // Debug: the parameter is the client's to write, so a refusal is its mistake and must not let it fill the log.
    [LoggerMessage(409, LogLevel.Debug, "Refused {Transport} request {ConnectionId} with 400: {Reason}", EventName = "ResumeRefused")]
    public static partial void ResumeRefused(ILogger logger, string transport, string connectionId, string reason);

    // Debug: what a client asks for is its own to write, so a refusal must not let it fill the log.
    [LoggerMessage(410, LogLevel.Debug, "Refused {Transport} connection {ConnectionId} its request to {Request} channel {Channel} audience {Audience}: {Reason}", EventName = "TopicRefused")]
    public static partial void TopicRefused(ILogger logger, string transport, string connectionId, string request, string? channel, string? audience, string reason);

    [LoggerMessage(411, LogLevel.Debug, "{Transport} connection {ConnectionId} subscribed to channel {Channel} audience {Audience}.", EventName = "TopicSubscribed")]
    public static partial void TopicSubscribed(ILogger logger, string transport, string connectionId, string channel, string audience);

    [LoggerMessage(412, LogLevel.Debug, "{Transport} connection {ConnectionId} unsubscribed from channel {Channel} audience {Audience}.", EventName = "TopicUnsubscribed")]
    public static partial void TopicUnsubscribed(ILogger logger, string transport, string connectionId, string channel, string audience);

    [LoggerMessage(413, LogLevel.Error, "Refused {Transport} connection {ConnectionId} channel {Channel} audience {Audience}: the topic authorization threw.", EventName = "TopicAuthorizationFailed")]
    public static partial void TopicAuthorizationFailed(ILogger logger, Exception exception, string transport, string connectionId, string channel, string audience);

    [LoggerMessage(420, LogLevel.Debug, "Server-Sent Events connection {ConnectionId} ended: {Reason}", EventName = "EventStreamEnded")]
    public static partial void EventStreamEnded(ILogger logger, string connectionId, string reason);

    [LoggerMessage(421, LogLevel.Information, "Ending Server-Sent Events connection {ConnectionId}: its authentication expired at {ExpiresUtc:O} (PgNotifyHub:CloseOnAuthenticationExpiration).", EventName = "EventStreamAuthenticationExpired")]
    public static partial void EventStreamAuthenticationExpired(ILogger logger, string connectionId, DateTimeOffset expiresUtc);

    [LoggerMessage(600, LogLevel.Information, "PgNotifyHub outbox reader {ReaderName} is reading pgnotifyhub.outbox {Start}.", EventName = "OutboxReading")]
    public static partial void OutboxReading(ILogger logger, string readerName, string start);

    [LoggerMessage(601, LogLevel.Warning, "PgNotifyHub cannot read pgnotifyhub.outbox; messages wait in the table until it can. Retrying; further failures are not logged.", EventName = "OutboxFailed")]
    public static partial void OutboxFailed(ILogger logger, Exception exception);

    [LoggerMessage(602, LogLevel.Information, "PgNotifyHub reads pgnotifyhub.outbox again after {Failures} failed attempts.", EventName = "OutboxRecovered")]
    public static partial void OutboxRecovered(ILogger logger, int failures);

    [LoggerMessage(603, LogLevel.Information, "PgNotifyHub applied its outbox schema (sql/pgnotifyhub.sql).", EventName = "OutboxSchemaInstalled")]
    public static partial void OutboxSchemaInstalled(ILogger logger);

    [LoggerMessage(604, LogLevel.Warning, "PgNotifyHub outbox reader {ReaderName} last read more than {Retention} ago: messages older than that were deleted before it read them.", EventName = "OutboxReaderTooOld")]
    public static partial void OutboxReaderTooOld(ILogger logger, string readerName, TimeSpan retention);

    [LoggerMessage(605, LogLevel.Debug, "PgNotifyHub deleted {Deleted} outbox messages older than {Retention}.", EventName = "OutboxCleanedUp")]
    public static partial void OutboxCleanedUp(ILogger logger, int deleted, TimeSpan retention);
}
