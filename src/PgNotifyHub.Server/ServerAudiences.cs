namespace PgNotifyHub.Server;

/// <summary>Audiences from a request header that a trusted reverse proxy sets (<c>Audiences:Source=Header</c>).</summary>
internal static partial class ServerAudiences
{
    /// <summary>
    /// The comma-separated audiences of <paramref name="header"/>; none, so the connection is refused, when the request
    /// carries the header more than once: a proxy that appends its header instead of replacing the client's would
    /// otherwise hand the client every audience it wrote itself.
    /// </summary>
    public static IReadOnlyList<string> FromHeader(HttpContext context, string header)
    {
        var values = context.Request.Headers[header];
        if (values.Count > 1)
        {
            var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ServerAudiences).FullName!);
            LogRepeatedHeader(logger, context.TraceIdentifier, header, values.Count);
            return [];
        }

        return values.ToString().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    [LoggerMessage(1002, LogLevel.Warning, "Refused request {RequestId}: it carries the audience header {Header} {Count} times. The reverse proxy must replace the client's copy of the header, not add its own.", EventName = "AudienceHeaderRepeated")]
    private static partial void LogRepeatedHeader(ILogger logger, string requestId, string header, int count);
}
