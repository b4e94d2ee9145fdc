using Microsoft.Extensions.Logging;

namespace PgNotifyHub.Backplane;

/// <summary>The SignalR backplane's messages: event ids 500 to 599.</summary>
internal static partial class Log
{
    [LoggerMessage(500, LogLevel.Information, "PgNotifyHub backplane for hub {Hub} uses channel {Channel} as node {Node}.", EventName = "BackplaneStarted")]
    public static partial void BackplaneStarted(ILogger logger, string hub, string channel, Guid node);

    [LoggerMessage(501, LogLevel.Warning, "PgNotifyHub backplane for hub {Hub}: the listener reconnected. Messages other nodes published while it was disconnected did not reach this node's clients.", EventName = "BackplaneMessagesLost")]
    public static partial void BackplaneMessagesLost(ILogger logger, string hub);

    [LoggerMessage(502, LogLevel.Warning, "PgNotifyHub backplane cannot publish; sends fail until PostgreSQL answers again. Further failures are logged at Debug.", EventName = "BackplanePublishFailed")]
    public static partial void BackplanePublishFailed(ILogger logger, Exception exception);

    [LoggerMessage(503, LogLevel.Debug, "PgNotifyHub backplane publish attempt {Attempt} failed: {Error}", EventName = "BackplanePublishRetryFailed")]
    public static partial void BackplanePublishRetryFailed(ILogger logger, int attempt, string error);

    [LoggerMessage(504, LogLevel.Information, "PgNotifyHub backplane publishes again after {Failures} failed batches.", EventName = "BackplanePublishRecovered")]
    public static partial void BackplanePublishRecovered(ILogger logger, int failures);

    [LoggerMessage(505, LogLevel.Error, "PgNotifyHub backplane for hub {Hub} could not handle a received message; the following ones are not affected.", EventName = "BackplaneMessageFailed")]
    public static partial void BackplaneMessageFailed(ILogger logger, Exception exception, string hub);

    [LoggerMessage(506, LogLevel.Warning, "PgNotifyHub backplane for hub {Hub}: spilled message {Id} was deleted before this node read it (PgNotifyHub:Backplane:SpillRetention is {Retention}).", EventName = "BackplaneSpillMissing")]
    public static partial void BackplaneSpillMissing(ILogger logger, string hub, long id, TimeSpan retention);

    [LoggerMessage(507, LogLevel.Warning, "PgNotifyHub backplane for hub {Hub} is dropping received messages: {Capacity} are already waiting for this node's clients. Logged once; further drops at Debug.", EventName = "BackplaneReceiveQueueFull")]
    public static partial void BackplaneReceiveQueueFull(ILogger logger, string hub, int capacity);

    [LoggerMessage(508, LogLevel.Debug, "PgNotifyHub backplane for hub {Hub} dropped a received message.", EventName = "BackplaneMessageDropped")]
    public static partial void BackplaneMessageDropped(ILogger logger, string hub);

    [LoggerMessage(509, LogLevel.Information, "PgNotifyHub applied its backplane schema (sql/pgnotifyhub-backplane.sql).", EventName = "BackplaneSchemaInstalled")]
    public static partial void BackplaneSchemaInstalled(ILogger logger);

    [LoggerMessage(510, LogLevel.Debug, "PgNotifyHub backplane deleted {Deleted} spilled messages older than {Retention}.", EventName = "BackplaneSpillCleanedUp")]
    public static partial void BackplaneSpillCleanedUp(ILogger logger, int deleted, TimeSpan retention);

    [LoggerMessage(511, LogLevel.Warning, "PgNotifyHub backplane could not delete expired spilled messages: {Error}. Retrying after the retention period.", EventName = "BackplaneSpillCleanupFailed")]
    public static partial void BackplaneSpillCleanupFailed(ILogger logger, string error);
}
