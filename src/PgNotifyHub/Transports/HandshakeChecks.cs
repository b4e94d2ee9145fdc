using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using PgNotifyHub.Diagnostics;
using PgNotifyHub.Sequencing;

namespace PgNotifyHub.Transports;

/// <summary>
/// What every request of an endpoint must pass before its transport accepts anything, in the same order on both
/// transports: the page's origin (403), credentials that had expired when they arrived (401), and a readable resume
/// position (400). A refused request is answered, logged and counted, and nothing is held for it.
/// </summary>
internal sealed class HandshakeChecks(OriginPolicy origins, TimeProvider time, PgNotifyHubMetrics metrics, ILogger<HandshakeChecks> logger)
{
    /// <summary>Checks <paramref name="context"/>; answers it and returns null when it is refused.</summary>
    /// <param name="context">A request of the endpoint: a WebSocket handshake, a SignalR negotiation or poll.</param>
    /// <param name="transport">The transport, for logs and metrics.</param>
    /// <param name="refuseExpiredAuthentication">
    /// Whether connections are closed when their authentication expires: then one whose authentication has already
    /// expired (a scheme accepts credentials up to its clock skew late) would be closed at once, and is refused instead.
    /// </param>
    /// <param name="resumeRefusal">Why a <c>resume</c> parameter cannot be taken at all on this request; null when it can.</param>
    public ValueTask<Handshake?> CheckAsync(HttpContext context, string transport, bool refuseExpiredAuthentication, string? resumeRefusal) =>
        CheckAsync(
            context,
            transport,
            refuseExpiredAuthentication,
            resumeRefusal,
            context.Request.Query.TryGetValue(ResumePosition.QueryParameter, out var resume) ? new ResumeSource("The resume parameter", resume) : null);

    /// <summary>Checks <paramref name="context"/>, whose resume position the transport found in <paramref name="resume"/>.</summary>
    /// <param name="context">A request of the endpoint.</param>
    /// <param name="transport">The transport, for logs and metrics.</param>
    /// <param name="refuseExpiredAuthentication">Whether connections are closed when their authentication expires.</param>
    /// <param name="resumeRefusal">Why a resume position cannot be taken at all on this request; null when it can.</param>
    /// <param name="resume">Where the request gave a resume position, and what it gave; null when it gave none.</param>
    public async ValueTask<Handshake?> CheckAsync(HttpContext context, string transport, bool refuseExpiredAuthentication, string? resumeRefusal, ResumeSource? resume)
    {
        if (!origins.Allows(context, out var origin))
        {
            Log.OriginRefused(logger, transport, context.TraceIdentifier, origin);
            await RefuseAsync(context, transport, StatusCodes.Status403Forbidden, PgNotifyHubMetrics.Reasons.Origin, text: null);
            return null;
        }

        var expiresUtc = refuseExpiredAuthentication ? AuthenticationExpiry.Of(context) : null;
        if (expiresUtc is { } expired && expired <= time.GetUtcNow())
        {
            Log.ExpiredAuthenticationRefused(logger, transport, context.TraceIdentifier, expired);
            await RefuseAsync(context, transport, StatusCodes.Status401Unauthorized, PgNotifyHubMetrics.Reasons.AuthenticationExpired, text: null);
            return null;
        }

        // A client that passes resume, even empty on its first connection, asks to be told where it stands.
        if (resume is not { } given)
        {
            return new Handshake(expiresUtc, AsksForPosition: false, Resume: null);
        }

        ResumePosition? position = null;
        var refusal = resumeRefusal
            ?? (given.Values.Count != 1 ? given.Name + " must be given once."
                : given.Values[0] is { Length: > 0 } text && !ResumePosition.TryParse(text, out position)
                    ? given.Name + """ must be the position notice's stream, routeSet and numbers (stream.routeSet.0.0…), or {"stream":"…","positions":[{"channel":"…","audience":"…","seq":0}]}."""
                    : null);
        if (refusal is not null)
        {
            Log.ResumeRefused(logger, transport, context.TraceIdentifier, refusal);
            await RefuseAsync(context, transport, StatusCodes.Status400BadRequest, PgNotifyHubMetrics.Reasons.InvalidResume, refusal);
            return null;
        }

        return new Handshake(expiresUtc, AsksForPosition: true, position);
    }

    private async Task RefuseAsync(HttpContext context, string transport, int statusCode, string reason, string? text)
    {
        metrics.ConnectionRefused(transport, reason);
        context.Response.StatusCode = statusCode;
        if (text is not null)
        {
            await context.Response.WriteAsync(text, context.RequestAborted);
        }
    }
}

/// <summary>A request that passed the <see cref="HandshakeChecks"/>, with what it asked for.</summary>
/// <param name="AuthenticationExpiresUtc">When the request's authentication expires, when it does and that closes connections.</param>
/// <param name="AsksForPosition">Whether it passed <c>resume</c>, so it is told where it stands as it joins.</param>
/// <param name="Resume">Where it left off; null on a first connection.</param>
internal sealed record Handshake(DateTimeOffset? AuthenticationExpiresUtc, bool AsksForPosition, ResumePosition? Resume);
