namespace PgNotifyHub.Server;

/// <summary>The server's own log messages (event ids 1000 and up; 1000–1002 are next to what they are about).</summary>
internal static partial class ServerLog
{
    [LoggerMessage(1003, LogLevel.Information, "PgNotifyHub.Server {Version} starting on .NET {RuntimeVersion} in the {Environment} environment, content root {ContentRoot}.", EventName = "ServerStarting")]
    public static partial void Starting(ILogger logger, string version, string runtimeVersion, string environment, string contentRoot);
}
