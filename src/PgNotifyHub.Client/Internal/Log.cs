using Microsoft.Extensions.Logging;

namespace PgNotifyHub.Client.Internal;

/// <summary>
/// Every log message of the client, with stable event ids in the 700s. A connection that keeps failing is logged once
/// at Warning and then at Debug until it recovers; payloads and access tokens are never logged.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(700, LogLevel.Information, "PgNotifyHub client connected to {HubUrl}{Resuming}.", EventName = "Connected")]
    public static partial void Connected(ILogger logger, string hubUrl, string resuming);

    [LoggerMessage(701, LogLevel.Warning, "PgNotifyHub client cannot connect to {HubUrl}. Retrying every {MinDelay} to {MaxDelay}; further failures are logged at Debug until it connects.", EventName = "CannotConnect")]
    public static partial void CannotConnect(ILogger logger, Exception exception, string hubUrl, TimeSpan minDelay, TimeSpan maxDelay);

    [LoggerMessage(702, LogLevel.Debug, "PgNotifyHub client attempt {Attempt} to connect to {HubUrl} failed: {Error}. Next attempt in {Delay}.", EventName = "ConnectRetryFailed")]
    public static partial void ConnectRetryFailed(ILogger logger, int attempt, string hubUrl, string error, TimeSpan delay);

    [LoggerMessage(703, LogLevel.Information, "PgNotifyHub client connected to {HubUrl} after {Attempts} failed attempts.", EventName = "Recovered")]
    public static partial void Recovered(ILogger logger, string hubUrl, int attempts);

    [LoggerMessage(704, LogLevel.Information, "PgNotifyHub client lost its connection to {HubUrl}: {Error}. Reconnecting in {Delay}, resuming where it left off.", EventName = "ConnectionLost")]
    public static partial void ConnectionLost(ILogger logger, string hubUrl, string error, TimeSpan delay);

    [LoggerMessage(705, LogLevel.Information, "PgNotifyHub client reports a resync ({Reason}): messages may have been lost.", EventName = "Resync")]
    public static partial void Resync(ILogger logger, string reason);

    [LoggerMessage(706, LogLevel.Error, "A handler of the PgNotifyHub client's {Event} event threw; the client goes on with the next event.", EventName = "HandlerFailed")]
    public static partial void HandlerFailed(ILogger logger, Exception exception, string @event);

    [LoggerMessage(707, LogLevel.Debug, "PgNotifyHub client stopped.", EventName = "Stopped")]
    public static partial void Stopped(ILogger logger);

    [LoggerMessage(709, LogLevel.Information, "PgNotifyHub client's topic {Audience} was refused by the server: {Reason}.", EventName = "TopicRefused")]
    public static partial void TopicRefused(ILogger logger, string audience, string reason);

    [LoggerMessage(708, LogLevel.Error, "PgNotifyHub client stopped after an unexpected error; call StartAsync to start it again.", EventName = "Failed")]
    public static partial void Failed(ILogger logger, Exception exception);
}
