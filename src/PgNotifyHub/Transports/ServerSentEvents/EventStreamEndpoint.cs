using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using PgNotifyHub.Diagnostics;
using PgNotifyHub.Sequencing;

namespace PgNotifyHub.Transports.ServerSentEvents;

/// <summary>
/// One mapped Server-Sent Events endpoint: a GET whose response is an event stream, one event per notification on one
/// of its channels for one of the connection's audiences, each with the connection's position as its id. The request
/// lives as long as the stream.
/// </summary>
internal sealed class EventStreamEndpoint(
    EndpointSettings endpoint,
    HandshakeChecks checks,
    ConnectionAdmission admission,
    NotificationSequencer sequencer,
    IOptions<PgNotifyHubOptions> options,
    IHostApplicationLifetime lifetime,
    PgNotifyHubMetrics metrics,
    TimeProvider timeProvider,
    ILogger<EventStreamEndpoint> logger)
{
    /// <summary>The header a browser's <c>EventSource</c> sends back when it reconnects: the id of the last event it got.</summary>
    public const string LastEventIdHeader = "Last-Event-ID";

    /// <summary>The same, as a query parameter, for clients that open a new stream themselves and cannot set headers.</summary>
    public const string LastEventIdParameter = "lastEventId";

    /// <summary>
    /// The query parameter that names a topic, once per topic: a stream sends nothing once open, so it asks for its topics
    /// as it connects, and every reconnect asks, and is authorized, again.
    /// </summary>
    public const string TopicParameter = "topic";

    public async Task HandleAsync(HttpContext context)
    {
        var settings = options.Value;
        var resume = ResumeOf(context.Request);
        var handshake = await checks.CheckAsync(context, EventStreamSink.Transport, settings.CloseOnAuthenticationExpiration, resumeRefusal: null, resume);
        if (handshake is null)
        {
            return;
        }

        // A short id holds no position: the connection joins afresh, told first that what it missed cannot be known.
        string? unresumable = null;
        if (handshake.Resume is { } position && EventStreamPosition.IsShort(resume!.Value.Values.ToString()))
        {
            unresumable = position.Stream;
            handshake = handshake with { Resume = null };
        }

        var admitted = await admission.AdmitAsync(
            context,
            endpoint,
            handshake,
            EventStreamSink.Transport,
            context.TraceIdentifier,
            routes =>
            {
                var sink = new EventStreamSink(routes, settings.SendQueueCapacity, settings.SlowConsumerPolicy, settings.WebSocketCloseTimeout, context.TraceIdentifier, metrics, logger);
                if (unresumable is not null)
                {
                    var stream = sequencer.Stream;
                    var reason = unresumable == stream ? EventStreamPosition.GapUnknown : ResyncReason.StreamChanged;
                    metrics.Resynced(reason);
                    sink.Resync(new ResyncNotice(reason, stream));
                }

                return sink;
            },
            chosenTopics: context.Request.Query[TopicParameter]!);
        if (admitted.Registration is not { } registration)
        {
            context.Response.StatusCode = admitted.StatusCode;
            return;
        }

        using (registration)
        using (var sink = registration.Sink)
        using (handshake.AuthenticationExpiresUtc is { } expires ? AuthenticationExpiry.Start(expires, timeProvider, sink.CloseForExpiredAuthentication) : null)
        using (var keepAlive = new PeriodicTimer(settings.EventStreamKeepAliveInterval, timeProvider))
        {
            var response = context.Response;
            response.ContentType = EventStreamFormat.ContentType;
            response.Headers.CacheControl = "no-cache";
            // nginx buffers proxied responses unless told not to; other proxies and response compression are told by
            // the body feature that every flush must go out.
            response.Headers["X-Accel-Buffering"] = "no";
            context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
            await sink.RunAsync(response.BodyWriter, EventStreamFormat.Retry(RetryDelay(settings)), keepAlive, context.Abort, context.RequestAborted, lifetime.ApplicationStopping);
        }
    }

    // A browser that reconnects by itself sends the header, and the URL it reconnects to still has the query it was
    // opened with: the header is newer. A client that opens a new stream itself names the last id, or the position, in
    // the query, once.
    private static ResumeSource? ResumeOf(HttpRequest request)
    {
        if (request.Headers.TryGetValue(LastEventIdHeader, out var header))
        {
            return new ResumeSource(LastEventIdHeader, header);
        }

        var query = StringValues.Concat(request.Query[LastEventIdParameter], request.Query[ResumePosition.QueryParameter]);
        return query.Count == 0 ? null : new ResumeSource($"The {LastEventIdParameter} or {ResumePosition.QueryParameter} parameter", query);
    }

    // Each connection is told a delay between the setting and twice it, so the clients of a server that went away do not
    // all come back at the same moment: browsers wait exactly what they are told.
    private static TimeSpan RetryDelay(PgNotifyHubOptions settings) =>
        settings.EventStreamRetryDelay * (1 + Random.Shared.NextDouble());
}
