using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PgNotifyHub.Diagnostics;
using PgNotifyHub.Sequencing;

namespace PgNotifyHub.Transports;

/// <summary>
/// The one way a connection of either transport is let in, once its request passed the <see cref="HandshakeChecks"/>:
/// its audiences are resolved and checked, a place is taken under <see cref="PgNotifyHubOptions.MaxConnections"/>, and
/// its sink joins the sequencer. What it holds, topics included, is given back by disposing the
/// <see cref="Registration{TSink}"/>, the only way out, so no failure along the way can leak a place or a route.
/// </summary>
internal sealed class ConnectionAdmission(
    ConnectionLimit limit,
    NotificationSequencer sequencer,
    TopicRequests topicRequests,
    IOptions<PgNotifyHubOptions> options,
    PgNotifyHubMetrics metrics,
    ILogger<ConnectionAdmission> logger)
{
    private static readonly Func<ILogger, string, string, IDisposable?> ConnectionScope =
        LoggerMessage.DefineScope<string, string>("{Transport} connection {ConnectionId}");

    /// <summary>A log scope with the connection's transport and id, for whatever is logged while it is admitted, runs and ends.</summary>
    public static IDisposable? BeginConnectionScope(ILogger logger, string transport, string connectionId) =>
        ConnectionScope(logger, transport, connectionId);

    /// <param name="context">The request that opened the connection.</param>
    /// <param name="endpoint">The mapped endpoint: its channels and its resolver.</param>
    /// <param name="handshake">What the request asked for.</param>
    /// <param name="transport">The transport, for logs and metrics.</param>
    /// <param name="connectionId">The connection's id, for logs.</param>
    /// <param name="createSink">Makes the connection's sink for its routes.</param>
    /// <param name="beforeJoining">Runs with the connection's audiences once they are accepted, before it joins; null for nothing.</param>
    /// <param name="chosenTopics">
    /// Audiences the request itself asks for, which the endpoint's topic authorization must allow on each of its channels;
    /// they join as the resolved ones do, so the connection's position covers them. Null or empty for none.
    /// </param>
    /// <returns>The registration, or why the connection is refused; either way logged and counted.</returns>
    public async ValueTask<Admission<TSink>> AdmitAsync<TSink>(
        HttpContext context,
        EndpointSettings endpoint,
        Handshake handshake,
        string transport,
        string connectionId,
        Func<IReadOnlyList<Route>, TSink> createSink,
        Func<IReadOnlyList<string>, Task>? beforeJoining = null,
        IReadOnlyList<string>? chosenTopics = null)
        where TSink : INotificationSink
    {
        using var scope = BeginConnectionScope(logger, transport, connectionId);
        IReadOnlyList<string> audiences;
        string? refusal;
        try
        {
            (audiences, refusal) = await AudienceResolution.ResolveAsync(endpoint.AudienceResolver, context, options.Value.MaxAudiencesPerConnection);
        }
        catch (Exception exception)
        {
            Log.AudienceResolverFailed(logger, exception, transport, connectionId);
            metrics.ConnectionRefused(transport, PgNotifyHubMetrics.Reasons.ResolverFailed);
            return Admission<TSink>.Refused(StatusCodes.Status500InternalServerError);
        }

        if (refusal is not null)
        {
            Log.ConnectionRefused(logger, transport, connectionId, refusal);
            metrics.ConnectionRefused(transport, PgNotifyHubMetrics.Reasons.Audiences);
            return Admission<TSink>.Refused(StatusCodes.Status403Forbidden);
        }

        if (chosenTopics is { Count: > 0 })
        {
            var (withTopics, topicRefusal) = await topicRequests.AuthorizeAtConnectAsync(context, endpoint, audiences, chosenTopics, transport, connectionId);
            if (topicRefusal is not null)
            {
                Log.ConnectionRefused(logger, transport, connectionId, topicRefusal);
                metrics.ConnectionRefused(transport, PgNotifyHubMetrics.Reasons.Audiences);
                return Admission<TSink>.Refused(StatusCodes.Status403Forbidden);
            }

            audiences = withTopics;
        }

        if (beforeJoining is not null)
        {
            await beforeJoining(audiences);
        }

        // Taken last, right before what gives it back.
        if (!limit.TryAcquire())
        {
            Log.ConnectionRefused(logger, transport, connectionId, limit.Refusal);
            metrics.ConnectionRefused(transport, PgNotifyHubMetrics.Reasons.MaxConnections);
            return Admission<TSink>.Refused(StatusCodes.Status503ServiceUnavailable);
        }

        TSink sink;
        try
        {
            sink = createSink(endpoint.RoutesFor(audiences));
            sequencer.Join(sink, handshake.Resume);
        }
        catch
        {
            limit.Release();
            throw;
        }

        metrics.ConnectionOpened(transport, sink);
        Log.ConnectionOpened(logger, transport, connectionId, string.Join(", ", audiences), string.Join(", ", endpoint.Channels));
        var topics = new ConnectionTopics(topicRequests, context, endpoint, sink, audiences.Count, transport, connectionId);
        return new Admission<TSink>(new Registration<TSink>(this, sink, topics, transport, connectionId), StatusCodes.Status101SwitchingProtocols);
    }

    public void Release(INotificationSink sink, string transport, string connectionId)
    {
        using var scope = BeginConnectionScope(logger, transport, connectionId);
        sequencer.Leave(sink);
        limit.Release();
        metrics.ConnectionClosed(transport, sink);
        Log.ConnectionClosed(logger, transport, connectionId);
    }
}
