using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;

namespace PgNotifyHub.Transports;

/// <summary>
/// When the authentication of a raw socket's request expires, and the timer that acts on it. The expiry is the one
/// SignalR's <c>CloseOnAuthenticationExpiration</c> reads: the authentication result's <c>ExpiresUtc</c> (a JWT's
/// <c>exp</c>, a cookie ticket's expiry), which the authorization policy evaluator sets to the earliest of its schemes'.
/// </summary>
internal sealed class AuthenticationExpiry : IDisposable
{
    // A timer cannot wait longer than about 49 days; a later expiry is reached in steps of at most this.
    private static readonly TimeSpan LongestWait = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    private readonly DateTimeOffset _expiresUtc;
    private readonly TimeProvider _timeProvider;
    private readonly Action<DateTimeOffset> _expired;
    private readonly ITimer _timer;

    private AuthenticationExpiry(DateTimeOffset expiresUtc, TimeProvider timeProvider, Action<DateTimeOffset> expired)
    {
        _expiresUtc = expiresUtc;
        _timeProvider = timeProvider;
        _expired = expired;
        // Created disarmed, so the callback never runs before the field it re-arms is set.
        _timer = timeProvider.CreateTimer(static state => ((AuthenticationExpiry)state!).OnDue(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>When the request's authentication expires; null when it does not say, or when it is anonymous.</summary>
    public static DateTimeOffset? Of(HttpContext context) =>
        context.Features.Get<IAuthenticateResultFeature>()?.AuthenticateResult is { Succeeded: true, Properties.ExpiresUtc: { } expiresUtc }
            ? expiresUtc
            : null;

    /// <summary>Calls <paramref name="expired"/> once, at <paramref name="expiresUtc"/>, unless disposed first.</summary>
    public static AuthenticationExpiry Start(DateTimeOffset expiresUtc, TimeProvider timeProvider, Action<DateTimeOffset> expired)
    {
        var expiry = new AuthenticationExpiry(expiresUtc, timeProvider, expired);
        expiry.OnDue();
        return expiry;
    }

    public void Dispose() => _timer.Dispose();

    private void OnDue()
    {
        var remaining = _expiresUtc - _timeProvider.GetUtcNow();
        if (remaining <= TimeSpan.Zero)
        {
            _expired(_expiresUtc);
            return;
        }

        try
        {
            _timer.Change(remaining < LongestWait ? remaining : LongestWait, Timeout.InfiniteTimeSpan);
        }
        catch (ObjectDisposedException)
        {
            // The connection ended meanwhile: nothing is left to close.
        }
    }
}
